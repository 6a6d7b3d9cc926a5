/*
 * server_s3_test.c - the S3 client's pure pieces (src/server/s3_client.c):
 * key encoding (what is signed must be what S3 expects), the SigV4
 * signature, the XML it reads back, and the settings init refuses; and the
 * file driver through the storage interface (src/server/storage.c).
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/s3_client.h"
#include "server/storage.h"

static void test_encode(void **state)
{
    char out[256] = "";
    assert_true(s3_encode("db1/odd inst/2026/a b+c&d=e?f#g%h.zip", true, out, sizeof(out)));
    assert_string_equal(out, "db1/odd%20inst/2026/a%20b%2Bc%26d%3De%3Ff%23g%25h.zip");
    out[0] = '\0';
    assert_true(s3_encode("\xc3\xbc~-._/", false, out, sizeof(out)));
    assert_string_equal(out, "%C3%BC~-._%2F");
    char small[8] = "";
    assert_false(s3_encode("abcdefgh", true, small, sizeof(small)));
}

/* The signature of AWS's own example (the SigV4 documentation's GET
 * Object with a Range), and of an UploadPartCopy, whose headers must be
 * ordered by name: x-amz-copy-source before x-amz-copy-source-range (the
 * order libcurl 7.88 got wrong). Expected values from an independent
 * implementation (tests/lib/ceph.py's). */
static void test_sign(void **state)
{
    struct s3_client s3;
    memset(&s3, 0, sizeof(s3));
    snprintf(s3.key, sizeof(s3.key), "AKIAIOSFODNN7EXAMPLE");
    snprintf(s3.secret, sizeof(s3.secret), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    snprintf(s3.region, sizeof(s3.region), "us-east-1");
    static const char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char auth[1024];
    const char *get_hdr[] = {"Range: bytes=0-9", NULL};
    assert_true(s3_sign(&s3, "GET", "examplebucket.s3.amazonaws.com", "/test.txt", NULL, get_hdr,
                        empty, "20130524T000000Z", auth, sizeof(auth)));
    assert_string_equal(auth, "Authorization: AWS4-HMAC-SHA256 "
                              "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6"
                              "036bdb41");
    const char *copy_hdr[] = {"x-amz-copy-source-range: bytes=5242880-10485759",
                              "x-amz-copy-source: examplebucket/.partial/u1", NULL};
    assert_true(s3_sign(&s3, "PUT", "127.0.0.1:7480", "/examplebucket/big.zip",
                        "partNumber=2&uploadId=abc", copy_hdr, empty, "20130524T000000Z", auth,
                        sizeof(auth)));
    assert_non_null(strstr(auth, "SignedHeaders=host;x-amz-content-sha256;x-amz-copy-source;"
                                 "x-amz-copy-source-range;x-amz-date, "));
    assert_non_null(strstr(auth, "Signature=87241e302d81a249d0daa8c100fc142647ce091aadf3c02df28b7"
                                 "6f2b515cd08"));
    char small[64];
    assert_false(s3_sign(&s3, "GET", "h", "/k", NULL, NULL, empty, "20130524T000000Z", small,
                         sizeof(small)));
}

static void test_xml(void **state)
{
    const char *xml = "<R><UploadId>2~a&amp;b</UploadId><Part><PartNumber>1</PartNumber>"
                      "<ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2</PartNumber>"
                      "<ETag>&#34;e2&#x22;</ETag></Part><Key>&#252;</Key></R>";
    char v[64], block[256];
    size_t pos = 0;
    assert_true(s3_xml_next(xml, "UploadId", &pos, v, sizeof(v)));
    assert_string_equal(v, "2~a&b");
    int parts = 0;
    while (s3_xml_next(xml, "Part", &pos, block, sizeof(block))) {
        size_t q = 0;
        assert_true(s3_xml_next(block, "ETag", &q, v, sizeof(v)));
        assert_string_equal(v, parts == 0 ? "\"e1\"" : "\"e2\"");
        parts++;
    }
    assert_int_equal(parts, 2);
    pos = 0;
    assert_true(s3_xml_next(xml, "Key", &pos, v, sizeof(v)));
    assert_string_equal(v, "\xc3\xbc");
    assert_false(s3_xml_next(xml, "Missing", &pos, v, sizeof(v)));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static void test_client_init_refusals(void **state)
{
    char dir[] = "/tmp/mfb-s3-test-XXXXXX", key[64], secret[64];
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof(key), "%s/key", dir);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    write_file(key, "AKID\n", 0600);
    write_file(secret, "SECRET\n", 0644);
    struct s3_client s3;
    struct mfb_error err = {0};
    assert_int_equal(
        s3_client_init(&s3, "s3://b/p/", "http://h:1", NULL, key, secret, NULL, true, &err),
        MFB_ERR_PERMISSION);
    assert_non_null(strstr(err.hint, "chmod 600"));
    chmod(secret, 0600);
    mfb_error_clear(&err);
    assert_int_equal(
        s3_client_init(&s3, "s3://b/p/q//", "http://h:1/", NULL, key, secret, NULL, true, &err),
        MFB_OK);
    assert_string_equal(s3.bucket, "b");
    assert_string_equal(s3.prefix, "p/q/");
    assert_string_equal(s3.endpoint, "http://h:1");
    assert_string_equal(s3.region, "us-east-1");
    assert_string_equal(s3.secret, "SECRET");
    assert_int_equal(s3_client_init(&s3, "s3:/b", "http://h", NULL, key, secret, NULL, true, NULL),
                     MFB_ERR_USAGE);
    assert_int_equal(s3_client_init(&s3, "s3://b", "ftp://h", NULL, key, secret, NULL, true, NULL),
                     MFB_ERR_USAGE);
    unlink(key);
    unlink(secret);
    rmdir(dir);
}

static void on_listed(void *ctx, const char *rel, uint64_t size)
{
    char *out = ctx;
    char line[256];
    snprintf(line, sizeof(line), "%s:%llu;", rel, (unsigned long long)size);
    strcat(out, line);
}

/* The file driver behind the interface: publish, companions, list, read,
 * delete. */
static void test_file_driver(void **state)
{
    char dir[] = "/tmp/mfb-storage-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct storage *st = NULL;
    struct storage_config cfg = {.root = dir};
    assert_int_equal(storage_init(dir, NULL), MFB_OK);
    assert_int_equal(storage_open(&cfg, &st, NULL), MFB_OK);
    assert_string_equal(storage_kind(st), "file");
    assert_false(storage_shared(st));
    assert_int_equal(storage_upload_open(st, "u_1", NULL), MFB_OK);
    char part[4200];
    storage_partial_path(dir, "u_1", part, sizeof(part));
    write_file(part, "hello world, and more", 0600);
    char rel[256], name[256];
    assert_int_equal(storage_publish(st, "u_1", 11, "c/i", "a.zip", NULL, NULL, rel, sizeof(rel),
                                     name, sizeof(name), NULL),
                     MFB_OK);
    assert_string_equal(rel, "c/i/a.zip");
    assert_true(storage_upload_published(st, "u_1"));
    assert_int_equal(storage_write_companions(st, rel, name, "00", "{}\n", false, NULL), MFB_OK);
    char listed[1024] = "";
    assert_int_equal(storage_list(st, on_listed, listed, NULL), MFB_OK);
    assert_string_equal(listed, "c/i/a.zip:11;");
    struct storage_read rd;
    assert_int_equal(storage_read_open(st, rel, &rd, NULL), MFB_OK);
    assert_int_equal(rd.size, 11);
    assert_true(rd.fd >= 0);
    storage_read_close(&rd);
    char *json = NULL;
    assert_int_equal(storage_read_json(st, rel, &json, NULL), MFB_OK);
    assert_string_equal(json, "{}\n");
    free(json);
    assert_int_equal(storage_claim_delete(st, "b_1", NULL), MFB_OK);
    assert_int_equal(storage_delete_backup(st, rel, NULL), MFB_OK);
    listed[0] = '\0';
    assert_int_equal(storage_list(st, on_listed, listed, NULL), MFB_OK);
    assert_string_equal(listed, "");
    storage_close(st);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),      cmocka_unit_test(test_sign),
        cmocka_unit_test(test_xml),         cmocka_unit_test(test_client_init_refusals),
        cmocka_unit_test(test_file_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
