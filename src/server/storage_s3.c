/*
 * storage_s3.c - the S3 driver: published backups are objects in a bucket
 * of an S3-compatible store (AWS S3, Ceph RGW, MinIO), see storage.h and
 * docs/server.md ("S3 storage").
 *
 * An upload is an S3 multipart upload of the key <prefix>.partial/<id>,
 * created with the upload. Chunks are still received into the local
 * partial file (the staging directory: out-of-order chunks are hashed from
 * it, session.h); once a chunk's digest matched, it is sent as part
 * index + 1, signed with that very digest as its payload hash, and only
 * S3's acknowledgement lets the receiver record and acknowledge the chunk.
 * Hence S3's part rules become chunk rules: at least 5 MiB but for the
 * last, at most 10,000 (api_uploads.c raises the chunk size to fit).
 *
 * The multipart upload id is kept beside the partial file
 * (.partial/<id>.s3, fsynced), with the receiver's other state of the
 * upload, so that a restarted receiver goes on with the same multipart
 * upload; the parts' digests are the chunks' records in the catalog.
 *
 * complete (after the whole-file SHA-256 matched) completes the multipart
 * upload into the temporary key, then copies it to a unique final name:
 * the name is recorded in the catalog first (the publish hook, which also
 * refuses a name another upload claimed), the key and its companions must
 * be absent, and the copy carries If-None-Match: * so that a store that
 * supports conditional writes refuses to replace an object another
 * receiver wrote meanwhile. The temporary key, the sidecar and the local
 * partial file go last; the partial file's absence is what tells a
 * repeated complete that the data has been published.
 *
 * AWS S3 copies at most 5 GiB in one CopyObject, so a larger object is
 * published with a multipart copy instead: a multipart upload of the final
 * key whose parts are ranges of the temporary object (UploadPartCopy),
 * completed with If-None-Match: *. Until it is completed the final key
 * shows nothing, so a crash between the parts leaves no half backup under
 * its name; its id is kept in .partial/<id>.s3copy (with the key), so that
 * a repeated complete or the upload's expiry aborts it.
 *
 * Downloads read the object through ranged GETs of READ_WINDOW bytes into
 * one buffer per download: memory stays bounded whatever the size.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "server/s3_client.h"
#include "server/storage_internal.h"

#define S3_MIN_PART (5ULL << 20)
#define S3_MAX_PARTS 10000ULL
#define S3_MAX_OBJECT (5ULL << 40)
#define READ_WINDOW (4u << 20)
#define MPU_ID_MAX 1024
#define S3_COPY_LIMIT (5ULL << 30) /* the largest source of one CopyObject (AWS) */
#define S3_MAX_PART (5ULL << 30)
#define COPY_PART (256ULL << 20) /* a multipart copy's part, unless 10,000 need more */
#define COPY_THREADS 4           /* UploadPartCopy requests at once */

/* Test-only hooks (docs/testing.md): tests cannot make 5 GiB objects, so
 * they lower the copy limit and the part size, and fail or crash the
 * receiver at the Nth UploadPartCopy ("fail:N", "exit:N"). */
#define S3_COPY_LIMIT_ENV "MFB_TEST_S3_COPY_LIMIT"
#define S3_COPY_PART_ENV "MFB_TEST_S3_COPY_PART"
#define S3_COPY_FAULT_ENV "MFB_TEST_S3_COPY_FAULT"

struct s3_storage {
    struct storage base;
    struct s3_client s3;
    uint64_t copy_limit;    /* above it, publish by a multipart copy */
    uint64_t copy_part;     /* a multipart copy's part size (at least) */
    unsigned long fault_at; /* test hook: the UploadPartCopy that fails (0: none) */
    bool fault_exit;        /* ... by killing the receiver, as a crash would */
};

static const struct s3_client *client_of(struct storage *st)
{
    return &((struct s3_storage *)st)->s3;
}

static void temp_key(const char *upload_id, char *buf, size_t len)
{
    snprintf(buf, len, STORAGE_PARTIAL_DIR "/%s", upload_id);
}

static void sidecar_path(struct storage *st, const char *upload_id, char *buf, size_t len)
{
    if (snprintf(buf, len, "%s/" STORAGE_PARTIAL_DIR "/%s.s3", st->root, upload_id) >= (int)len)
        buf[0] = '\0';
}

static mfb_status mpu_id_read(struct storage *st, const char *upload_id, char *id, size_t len,
                              struct mfb_error *err)
{
    char path[PATH_MAX];
    sidecar_path(st, upload_id, path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", path);
    char *line = fgets(id, (int)len, f);
    fclose(f);
    if (line == NULL || id[0] == '\0')
        return mfb_error_set(err, MFB_ERR_CORRUPT, "'%s' holds no multipart upload id", path);
    id[strcspn(id, "\r\n")] = '\0';
    return MFB_OK;
}

static void free_answer(struct s3_answer *a)
{
    free(a->text);
    a->text = NULL;
}

/* A 200 answer can still carry an <Error> (CompleteMultipartUpload and
 * CopyObject report late failures that way). */
static mfb_status late_error(const struct s3_answer *a, const char *what, struct mfb_error *err)
{
    if (a->text == NULL || strstr(a->text, "<Error>") == NULL)
        return MFB_OK;
    char code[128] = "";
    size_t pos = 0;
    s3_xml_next(a->text, "Code", &pos, code, sizeof(code));
    return mfb_error_set(err, MFB_ERR_NETWORK, "S3 failed %s: %s", what, code);
}

/* An ETag as the text of a CompleteMultipartUpload's <ETag> (its quotes
 * escaped). */
static void xml_etag(const char *etag, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = etag; *p && strlen(out) + 7 < len; p++)
        if (*p == '"')
            strcat(out, "&quot;");
        else
            strncat(out, p, 1);
}

static mfb_status s3_probe(struct storage *st, struct mfb_error *err)
{
    const struct s3_client *s3 = client_of(st);
    char key[64], id[17];
    unsigned char raw[8];
    FILE *f = fopen("/dev/urandom", "re");
    if (f == NULL || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
        if (f)
            fclose(f);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot read /dev/urandom");
    }
    fclose(f);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    snprintf(key, sizeof(key), ".mfb-probe-%s", id);
    static const char text[] = "mfb-server checks that it may write here\n";
    struct s3_body body = {.data = text, .len = sizeof(text) - 1, .fd = -1};
    struct s3_answer a = {0};
    mfb_status s = s3_request(s3, "PUT", key, NULL, NULL, &body, &a, err);
    free_answer(&a);
    if (s == MFB_OK) {
        s = s3_request(s3, "DELETE", key, NULL, NULL, NULL, &a, err);
        free_answer(&a);
    }
    if (s != MFB_OK)
        mfb_error_hint(err,
                       "check --s3-endpoint, the bucket '%s' (it must exist), the key and the "
                       "secret, and that they may write and delete under the prefix",
                       s3->bucket);
    return s;
}

static mfb_status s3_upload_open(struct storage *st, const char *upload_id, struct mfb_error *err)
{
    char key[128], id[MPU_ID_MAX], path[PATH_MAX];
    temp_key(upload_id, key, sizeof(key));
    struct s3_answer a = {0};
    mfb_status s = s3_request(client_of(st), "POST", key, "uploads=", NULL, NULL, &a, err);
    size_t pos = 0;
    if (s == MFB_OK && (a.text == NULL || !s3_xml_next(a.text, "UploadId", &pos, id, sizeof(id))))
        s = mfb_error_set(err, MFB_ERR_PROTOCOL, "S3 started a multipart upload without an id");
    free_answer(&a);
    if (s != MFB_OK)
        return s;
    sidecar_path(st, upload_id, path, sizeof(path));
    char line[MPU_ID_MAX + 2];
    int n = snprintf(line, sizeof(line), "%s\n", id);
    return fs_write_file_atomic(path, line, (size_t)n, 0600, true, err);
}

/* "partNumber=N&uploadId=ID" or "uploadId=ID", canonical (sorted, encoded). */
static void mpu_query(const char *mpu, uint64_t part, char *buf, size_t len)
{
    char enc[3 * MPU_ID_MAX + 1] = "";
    s3_encode(mpu, false, enc, sizeof(enc));
    if (part > 0)
        snprintf(buf, len, "partNumber=%llu&uploadId=%s", (unsigned long long)part, enc);
    else
        snprintf(buf, len, "uploadId=%s", enc);
}

static mfb_status s3_chunk_commit(struct storage *st, const char *upload_id, uint64_t index,
                                  uint64_t off, uint64_t len, const uint8_t *sha256,
                                  struct mfb_error *err)
{
    char key[128], mpu[MPU_ID_MAX], query[4 * MPU_ID_MAX], part[PATH_MAX], hex[SHA256_HEX_LEN + 1];
    mfb_status s = mpu_id_read(st, upload_id, mpu, sizeof(mpu), err);
    if (s != MFB_OK)
        return s;
    temp_key(upload_id, key, sizeof(key));
    mpu_query(mpu, index + 1, query, sizeof(query));
    storage_partial_path(st->root, upload_id, part, sizeof(part));
    int fd = open(part, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", part);
    digest_to_hex(sha256, hex);
    struct s3_body body = {.fd = fd, .off = off, .len = (size_t)len, .sha256_hex = hex};
    struct s3_answer a = {0};
    s = s3_request(client_of(st), "PUT", key, query, NULL, &body, &a, err);
    free_answer(&a);
    close(fd);
    return s;
}

/* .partial/<id>.s3copy: "<multipart upload id>\n<final key>\n" while a
 * multipart copy is under way. */
static void copy_sidecar_path(struct storage *st, const char *upload_id, char *buf, size_t len)
{
    if (snprintf(buf, len, "%s/" STORAGE_PARTIAL_DIR "/%s.s3copy", st->root, upload_id) >= (int)len)
        buf[0] = '\0';
}

/* Aborts the multipart copy a publish left (a crash, a failure) and
 * forgets it: its parts are invisible and would otherwise be kept (and
 * billed) for ever. The final key itself is never touched. False when
 * S3 refused or did not answer the abort (the .s3copy file stays). */
static bool copy_forget(struct storage *st, const char *upload_id)
{
    char path[PATH_MAX], text[MPU_ID_MAX + PATH_MAX + 4], query[4 * MPU_ID_MAX];
    copy_sidecar_path(st, upload_id, path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return true;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *nl = strchr(text, '\n');
    char *key = nl ? nl + 1 : NULL;
    if (nl != NULL && nl > text && key[0] != '\0') {
        *nl = '\0';
        key[strcspn(key, "\n")] = '\0';
        mpu_query(text, 0, query, sizeof(query));
        struct s3_answer a = {0};
        struct mfb_error err = {0};
        if (s3_request(client_of(st), "DELETE", key, query, NULL, NULL, &a, &err) != MFB_OK &&
            err.status != MFB_ERR_NOT_FOUND) {
            /* Kept: the next repeated complete or the expiry tries again. */
            log_warn("s3-copy-abort-failed", "upload=%s key=%s error=%s", upload_id, LOG_Q(key),
                     LOG_Q(err.message));
            free_answer(&a);
            return false;
        }
        free_answer(&a);
    }
    unlink(path);
    return true;
}

static void s3_upload_abort(struct storage *st, const char *upload_id)
{
    char key[128], mpu[MPU_ID_MAX], query[4 * MPU_ID_MAX], path[PATH_MAX];
    temp_key(upload_id, key, sizeof(key));
    struct s3_answer a = {0};
    copy_forget(st, upload_id);
    if (mpu_id_read(st, upload_id, mpu, sizeof(mpu), NULL) == MFB_OK) {
        mpu_query(mpu, 0, query, sizeof(query));
        struct mfb_error err = {0};
        if (s3_request(client_of(st), "DELETE", key, query, NULL, NULL, &a, &err) != MFB_OK &&
            err.status != MFB_ERR_NOT_FOUND)
            log_warn("s3-abort-failed", "upload=%s error=%s", upload_id, LOG_Q(err.message));
        free_answer(&a);
    }
    /* A publish interrupted after the multipart upload was completed left
     * the temporary object. */
    s3_request(client_of(st), "DELETE", key, NULL, NULL, NULL, &a, NULL);
    free_answer(&a);
    sidecar_path(st, upload_id, path, sizeof(path));
    unlink(path);
}

struct part {
    unsigned long number;
    uint64_t size;
    char etag[160];
};

/* Every part S3 holds for the multipart upload, in order (ListParts, a
 * thousand at a time). *parts is allocated. */
static mfb_status list_parts(struct storage *st, const char *key, const char *mpu,
                             struct part **parts, size_t *count, struct mfb_error *err)
{
    *parts = NULL;
    *count = 0;
    size_t cap = 0;
    unsigned long marker = 0;
    char enc[3 * MPU_ID_MAX + 1] = "", query[4 * MPU_ID_MAX];
    s3_encode(mpu, false, enc, sizeof(enc));
    for (;;) {
        snprintf(query, sizeof(query), "max-parts=1000&part-number-marker=%lu&uploadId=%s", marker,
                 enc);
        struct s3_answer a = {0};
        mfb_status s = s3_request(client_of(st), "GET", key, query, NULL, NULL, &a, err);
        if (s != MFB_OK) {
            free_answer(&a);
            return s;
        }
        size_t pos = 0;
        char block[4096], v[200];
        while (a.text && s3_xml_next(a.text, "Part", &pos, block, sizeof(block))) {
            if (*count == cap) {
                cap = cap ? cap * 2 : 64;
                struct part *bigger = realloc(*parts, cap * sizeof(**parts));
                if (bigger == NULL) {
                    free_answer(&a);
                    return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                }
                *parts = bigger;
            }
            struct part *p = &(*parts)[*count];
            memset(p, 0, sizeof(*p));
            size_t q = 0;
            if (s3_xml_next(block, "PartNumber", &q, v, sizeof(v)))
                p->number = strtoul(v, NULL, 10);
            q = 0;
            if (s3_xml_next(block, "Size", &q, v, sizeof(v)))
                p->size = strtoull(v, NULL, 10);
            q = 0;
            s3_xml_next(block, "ETag", &q, p->etag, sizeof(p->etag));
            marker = p->number;
            (*count)++;
        }
        pos = 0;
        bool more = a.text && s3_xml_next(a.text, "IsTruncated", &pos, v, sizeof(v)) &&
                    strcmp(v, "true") == 0;
        free_answer(&a);
        if (!more)
            return MFB_OK;
    }
}

/* Completes the multipart upload into its temporary key, from the parts
 * that make up [0, size); a temporary object of that size already there
 * (a repeated complete) is fine. */
static mfb_status complete_multipart(struct storage *st, const char *upload_id, uint64_t size,
                                     struct mfb_error *err)
{
    char key[128], mpu[MPU_ID_MAX], query[4 * MPU_ID_MAX];
    temp_key(upload_id, key, sizeof(key));
    struct s3_answer a = {0};
    struct mfb_error local = {0};
    if (s3_request(client_of(st), "HEAD", key, NULL, NULL, NULL, &a, &local) == MFB_OK &&
        a.content_length == size) {
        free_answer(&a);
        return MFB_OK;
    }
    free_answer(&a);
    mfb_status s = mpu_id_read(st, upload_id, mpu, sizeof(mpu), err);
    struct part *parts = NULL;
    size_t n = 0;
    if (s == MFB_OK)
        s = list_parts(st, key, mpu, &parts, &n, err);
    char *xml = NULL;
    size_t cap = 64 + n * 220, len = 0;
    if (s == MFB_OK && (xml = malloc(cap)) == NULL)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    uint64_t total = 0;
    if (s == MFB_OK) {
        len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
        for (size_t i = 0; i < n && total < size; i++) {
            if (parts[i].number != i + 1) {
                s = mfb_error_set(err, MFB_ERR_CORRUPT,
                                  "S3 lacks part %zu of the multipart upload of '%s'", i + 1,
                                  upload_id);
                break;
            }
            char etag[200];
            xml_etag(parts[i].etag, etag, sizeof(etag));
            len += (size_t)snprintf(xml + len, cap - len,
                                    "<Part><PartNumber>%lu</PartNumber><ETag>%s</ETag></Part>",
                                    parts[i].number, etag);
            total += parts[i].size;
        }
        len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    }
    if (s == MFB_OK && total != size)
        s = mfb_error_set(err, MFB_ERR_CORRUPT,
                          "S3 holds %llu bytes of parts for upload '%s', not %llu",
                          (unsigned long long)total, upload_id, (unsigned long long)size);
    if (s == MFB_OK) {
        mpu_query(mpu, 0, query, sizeof(query));
        struct s3_body body = {.data = xml, .len = len, .fd = -1};
        static const char *const hdr[] = {"Content-Type: application/xml", NULL};
        s = s3_request(client_of(st), "POST", key, query, hdr, &body, &a, err);
        if (s == MFB_OK)
            s = late_error(&a, "completing the multipart upload", err);
        free_answer(&a);
    }
    free(xml);
    free(parts);
    return s;
}

static bool key_exists(struct storage *st, const char *key, mfb_status *failure,
                       struct mfb_error *err)
{
    struct s3_answer a = {0};
    struct mfb_error local = {0};
    mfb_status s = s3_request(client_of(st), "HEAD", key, NULL, NULL, NULL, &a, &local);
    free_answer(&a);
    if (s == MFB_OK)
        return true;
    if (s != MFB_ERR_NOT_FOUND) {
        *failure = mfb_error_copy(err, &local);
        return true;
    }
    return false;
}

/* Claims a name for upload_id with a conditional PUT of .claims/<rel>:
 * RGW, like older S3, ignores If-None-Match on a copy, so two receivers
 * publishing the same name at once are kept apart here. A claim holding
 * upload_id already is this upload's own (a repeated complete). */
static mfb_status claim_name(struct storage *st, const char *rel, const char *upload_id,
                             struct mfb_error *err)
{
    char key[PATH_MAX + 16];
    if (snprintf(key, sizeof(key), ".claims/%s", rel) >= (int)sizeof(key))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", rel);
    static const char *const hdr[] = {"If-None-Match: *", NULL};
    struct s3_body body = {.data = upload_id, .len = strlen(upload_id), .fd = -1};
    struct s3_answer a = {0};
    struct mfb_error local = {0};
    mfb_status s = s3_request(client_of(st), "PUT", key, NULL, hdr, &body, &a, &local);
    free_answer(&a);
    if (s != MFB_ERR_EXISTS)
        return s == MFB_OK ? MFB_OK : mfb_error_copy(err, &local);
    s = s3_request(client_of(st), "GET", key, NULL, NULL, NULL, &a, err);
    bool mine = s == MFB_OK && a.text != NULL && strcmp(a.text, upload_id) == 0;
    free_answer(&a);
    if (s != MFB_OK)
        return s;
    return mine ? MFB_OK : MFB_ERR_EXISTS;
}

/* Whether the name's claim holds upload_id. */
static bool claimed_by(struct storage *st, const char *rel, const char *upload_id)
{
    char key[PATH_MAX + 16];
    if (snprintf(key, sizeof(key), ".claims/%s", rel) >= (int)sizeof(key))
        return false;
    struct s3_answer a = {0};
    bool mine = s3_request(client_of(st), "GET", key, NULL, NULL, NULL, &a, NULL) == MFB_OK &&
                a.text != NULL && strcmp(a.text, upload_id) == 0;
    free_answer(&a);
    return mine;
}

/* After the copy: the staging file goes first (its absence is what says
 * "published" to a repeated complete), then the temporary object and the
 * multipart ids (the upload's, and a multipart copy's, completed by now).
 * What a crash leaves of the latter goes when the upload's record expires
 * (storage_upload_abort). */
static mfb_status publish_cleanup(struct storage *st, const char *upload_id, struct mfb_error *err)
{
    char path[PATH_MAX], key[128];
    storage_partial_path(st->root, upload_id, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove '%s'", path);
    mfb_status s = fs_fsync_dir_of(path, false, err);
    temp_key(upload_id, key, sizeof(key));
    struct s3_answer a = {0};
    s3_request(client_of(st), "DELETE", key, NULL, NULL, NULL, &a, NULL);
    free_answer(&a);
    sidecar_path(st, upload_id, path, sizeof(path));
    unlink(path);
    copy_sidecar_path(st, upload_id, path, sizeof(path));
    unlink(path);
    return s;
}

/* The part size of a multipart copy of size bytes: COPY_PART (or the test
 * hook's), larger when 10,000 parts would not hold the object. */
static uint64_t copy_part_size(const struct s3_storage *s, uint64_t size)
{
    uint64_t part = s->copy_part;
    uint64_t need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    if (need > part)
        part = (need + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
    return part;
}

#define ETAG_MAX 160

/* The parts of one multipart copy, shared by its copiers. */
struct copy_job {
    struct s3_storage *s3s;
    const char *upload_id, *rel, *src_hdr, *mpu;
    uint64_t size, part;
    unsigned long parts;
    char *etags; /* parts x ETAG_MAX: part i's ETag at (i - 1) * ETAG_MAX */
    pthread_mutex_t lock;
    unsigned long next; /* the next part to copy */
    bool failed;
    struct mfb_error err; /* the first failure */
};

/* One UploadPartCopy: bytes [(i - 1) * part, i * part) of the source. */
static mfb_status copy_one_part(struct copy_job *j, unsigned long i, char *etag,
                                struct mfb_error *err)
{
    if (j->s3s->fault_at == i) {
        if (j->s3s->fault_exit) {
            log_warn("s3-copy-test-crash", "upload=%s part=%lu", j->upload_id, i);
            _exit(70);
        }
        return mfb_error_set(err, MFB_ERR_NETWORK, "S3 failed copying part %lu (%s)", i,
                             S3_COPY_FAULT_ENV);
    }
    uint64_t from = (i - 1) * j->part, to = i * j->part < j->size ? i * j->part - 1 : j->size - 1;
    char range[96], query[4 * MPU_ID_MAX];
    snprintf(range, sizeof(range), "x-amz-copy-source-range: bytes=%llu-%llu",
             (unsigned long long)from, (unsigned long long)to);
    const char *hdr[] = {j->src_hdr, range, NULL};
    mpu_query(j->mpu, i, query, sizeof(query));
    struct s3_answer a = {0};
    mfb_status s = s3_request(&j->s3s->s3, "PUT", j->rel, query, hdr, NULL, &a, err);
    if (s == MFB_OK)
        s = late_error(&a, "copying a part of the upload into place", err);
    size_t pos = 0;
    if (s == MFB_OK &&
        (a.text == NULL || !s3_xml_next(a.text, "ETag", &pos, etag, ETAG_MAX) || etag[0] == '\0'))
        s = mfb_error_set(err, MFB_ERR_PROTOCOL, "S3 copied part %lu without an ETag", i);
    free_answer(&a);
    return s;
}

/* A copier thread of a multipart copy: takes the next part until none is
 * left or one failed. S3 does the copying; the threads only wait for it,
 * so that a large backup's complete does not take COPY_THREADS times
 * longer than it must. */
static void *copier(void *arg)
{
    struct copy_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        unsigned long i = j->failed || j->next > j->parts ? 0 : j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i == 0)
            return NULL;
        struct mfb_error err = {0};
        if (copy_one_part(j, i, j->etags + (i - 1) * ETAG_MAX, &err) != MFB_OK) {
            pthread_mutex_lock(&j->lock);
            j->failed = true;
            mfb_error_copy(&j->err, &err);
            pthread_mutex_unlock(&j->lock);
            return NULL;
        }
    }
}

/* Copies every part, COPY_THREADS at once (fewer for few parts), into
 * etags; after a failure no copier starts another part. */
static mfb_status copy_parts(struct s3_storage *s3s, const char *upload_id, const char *rel,
                             const char *src_hdr, const char *mpu, uint64_t size, uint64_t part,
                             unsigned long parts, char *etags, struct mfb_error *err)
{
    struct copy_job j = {.s3s = s3s,
                         .upload_id = upload_id,
                         .rel = rel,
                         .src_hdr = src_hdr,
                         .mpu = mpu,
                         .size = size,
                         .part = part,
                         .parts = parts,
                         .etags = etags,
                         .next = 1};
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[COPY_THREADS];
    size_t started = 0;
    for (; started < COPY_THREADS && started < parts; started++)
        if (pthread_create(&tid[started], NULL, copier, &j) != 0)
            break;
    if (started == 0)
        copier(&j); /* no thread to be had: copy here, one part after the other */
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    return j.failed ? mfb_error_copy(err, &j.err) : MFB_OK;
}

/* Copies the temporary object (src_hdr: its x-amz-copy-source header) to
 * rel with a multipart copy, for objects larger than one CopyObject may
 * copy. MFB_ERR_EXISTS when the completion found rel taken (a store that
 * honours If-None-Match: * there). On failure the multipart upload is
 * aborted; after a crash, the .s3copy file lets the next try abort it. */
static mfb_status multipart_copy(struct storage *st, const char *upload_id, const char *rel,
                                 const char *src_hdr, uint64_t size, struct mfb_error *err)
{
    struct s3_storage *s3s = (struct s3_storage *)st;
    const struct s3_client *s3 = client_of(st);
    uint64_t part = copy_part_size(s3s, size);
    unsigned long parts = (unsigned long)((size + part - 1) / part);
    char mpu[MPU_ID_MAX], query[4 * MPU_ID_MAX], path[PATH_MAX];
    char *xml = NULL;
    size_t cap = 128 + (size_t)parts * 240, len = 0;
    struct s3_answer a = {0};
    if (!copy_forget(st, upload_id)) { /* what a crash in an earlier try left */
        mfb_error_set(err, MFB_ERR_NETWORK, "cannot abort the multipart copy of an earlier try");
        mfb_error_hint(err, "check that the S3 endpoint %s is up; complete again then",
                       s3->endpoint);
        return MFB_ERR_NETWORK;
    }
    mfb_status s = s3_request(s3, "POST", rel, "uploads=", NULL, NULL, &a, err);
    size_t pos = 0;
    if (s == MFB_OK && (a.text == NULL || !s3_xml_next(a.text, "UploadId", &pos, mpu, sizeof(mpu))))
        s = mfb_error_set(err, MFB_ERR_PROTOCOL, "S3 started a multipart copy without an id");
    free_answer(&a);
    if (s != MFB_OK)
        return s;
    /* Kept (fsynced) before the first part, so that nothing a crash leaves
     * is unknown to the receiver. */
    copy_sidecar_path(st, upload_id, path, sizeof(path));
    char *line = malloc(MPU_ID_MAX + PATH_MAX + 4);
    if (line == NULL)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (s == MFB_OK) {
        int n = snprintf(line, MPU_ID_MAX + PATH_MAX + 4, "%s\n%s\n", mpu, rel);
        s = fs_write_file_atomic(path, line, (size_t)n, 0600, true, err);
    }
    free(line);
    char *etags = NULL;
    if (s == MFB_OK && ((xml = malloc(cap)) == NULL || (etags = calloc(parts, ETAG_MAX)) == NULL))
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (s == MFB_OK) {
        log_info("s3-copy-start", "upload=%s key=%s bytes=%llu parts=%lu part_bytes=%llu",
                 upload_id, LOG_Q(rel), (unsigned long long)size, parts, (unsigned long long)part);
        len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    }
    if (s == MFB_OK)
        s = copy_parts(s3s, upload_id, rel, src_hdr, mpu, size, part, parts, etags, err);
    for (unsigned long i = 1; s == MFB_OK && i <= parts; i++) {
        char xetag[200];
        xml_etag(etags + (i - 1) * ETAG_MAX, xetag, sizeof(xetag));
        len +=
            (size_t)snprintf(xml + len, cap - len,
                             "<Part><PartNumber>%lu</PartNumber><ETag>%s</ETag></Part>", i, xetag);
    }
    if (s == MFB_OK) {
        len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
        mpu_query(mpu, 0, query, sizeof(query));
        struct s3_body body = {.data = xml, .len = len, .fd = -1};
        static const char *const hdr[] = {"Content-Type: application/xml", "If-None-Match: *",
                                          NULL};
        s = s3_request(s3, "POST", rel, query, hdr, &body, &a, err);
        if (s == MFB_OK)
            s = late_error(&a, "completing the multipart copy", err);
        free_answer(&a);
    }
    free(xml);
    free(etags);
    if (s != MFB_OK) {
        log_warn("s3-copy-failed", "upload=%s key=%s error=%s", upload_id, LOG_Q(rel),
                 LOG_Q(err ? err->message : ""));
        copy_forget(st, upload_id);
        if (s != MFB_ERR_EXISTS)
            mfb_error_hint(err,
                           "the upload and its name '%s' are kept: complete it again once S3 "
                           "answers (mfb retries)",
                           rel);
    }
    return s;
}

static mfb_status s3_publish(struct storage *st, const char *upload_id, uint64_t size,
                             const char *reldir, const char *name, storage_publish_hook hook,
                             void *ctx, char *rel_path, size_t rel_len, char *final_name,
                             size_t final_len, struct mfb_error *err)
{
    const struct s3_client *s3 = client_of(st);
    if (size > S3_MAX_OBJECT)
        return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "an S3 object holds at most 5 TiB");
    mfb_status s = complete_multipart(st, upload_id, size, err);
    if (s != MFB_OK)
        return s;
    char tkey[128], src_full[4096], src_hdr[4200];
    temp_key(upload_id, tkey, sizeof(tkey));
    snprintf(src_full, sizeof(src_full), "%s/%s%s", s3->bucket, s3->prefix, tkey);
    strcpy(src_hdr, "x-amz-copy-source: ");
    s3_encode(src_full, true, src_hdr, sizeof(src_hdr));
    for (unsigned attempt = 0; attempt < 10000; attempt++) {
        char candidate[PATH_MAX], rel[PATH_MAX], side[PATH_MAX + 16];
        storage_candidate_name(name, attempt, candidate, sizeof(candidate));
        if (snprintf(rel, sizeof(rel), "%s%s%s", reldir, reldir[0] ? "/" : "", candidate) >=
            (int)sizeof(rel))
            return mfb_error_set(err, MFB_ERR_INVALID, "path too long in '%s'", reldir);
        mfb_status failure = MFB_OK;
        bool taken = key_exists(st, rel, &failure, err);
        if (taken && failure == MFB_OK && claimed_by(st, rel, upload_id)) {
            /* This upload's own copy, made before a crash: finish it. */
            if (hook != NULL) {
                struct mfb_error claimed = {0};
                s = hook(ctx, rel, &claimed);
                if (s != MFB_OK && s != MFB_ERR_EXISTS)
                    return mfb_error_copy(err, &claimed);
            }
            snprintf(final_name, final_len, "%s", candidate);
            snprintf(rel_path, rel_len, "%s", rel);
            return publish_cleanup(st, upload_id, err);
        }
        snprintf(side, sizeof(side), "%s.sha256", rel);
        taken = taken || key_exists(st, side, &failure, err);
        snprintf(side, sizeof(side), "%s.json", rel);
        taken = taken || key_exists(st, side, &failure, err);
        if (failure != MFB_OK)
            return failure;
        if (taken)
            continue;
        if (hook != NULL) {
            struct mfb_error claimed = {0};
            s = hook(ctx, rel, &claimed);
            if (s == MFB_ERR_EXISTS) /* in the catalog: the name is not free */
                continue;
            if (s != MFB_OK)
                return mfb_error_copy(err, &claimed);
        }
        s = claim_name(st, rel, upload_id, err);
        if (s == MFB_ERR_EXISTS) /* another receiver is publishing this name */
            continue;
        if (s != MFB_OK)
            return s;
        struct mfb_error local = {0};
        if (size > ((struct s3_storage *)st)->copy_limit) {
            s = multipart_copy(st, upload_id, rel, src_hdr, size, &local);
        } else {
            const char *hdr[] = {src_hdr, "If-None-Match: *", NULL};
            struct s3_answer a = {0};
            s = s3_request(s3, "PUT", rel, NULL, hdr, NULL, &a, &local);
            if (s == MFB_OK)
                s = late_error(&a, "copying the upload into place", &local);
            free_answer(&a);
        }
        if (s == MFB_ERR_EXISTS) /* another receiver wrote it meanwhile */
            continue;
        if (s != MFB_OK)
            return mfb_error_copy(err, &local);
        snprintf(final_name, final_len, "%s", candidate);
        snprintf(rel_path, rel_len, "%s", rel);
        return publish_cleanup(st, upload_id, err);
    }
    return mfb_error_set(err, MFB_ERR_EXISTS, "no free name for '%s' in '%s'", name, reldir);
}

static mfb_status s3_write_file(struct storage *st, const char *rel_path, const char *data,
                                size_t len, bool replace, struct mfb_error *err)
{
    const char *hdr[] = {replace ? NULL : "If-None-Match: *", NULL};
    struct s3_body body = {.data = data, .len = len, .fd = -1};
    struct s3_answer a = {0};
    mfb_status s = s3_request(client_of(st), "PUT", rel_path, NULL, hdr, &body, &a, err);
    free_answer(&a);
    return s;
}

static mfb_status s3_read_file(struct storage *st, const char *rel_path, char **text,
                               struct mfb_error *err)
{
    struct s3_answer a = {0};
    mfb_status s = s3_request(client_of(st), "GET", rel_path, NULL, NULL, NULL, &a, err);
    if (s == MFB_OK && a.text == NULL)
        a.text = strdup("");
    if (s != MFB_OK) {
        free_answer(&a);
        return s;
    }
    *text = a.text;
    return *text ? MFB_OK : mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
}

static mfb_status s3_delete_backup(struct storage *st, const char *rel_path, struct mfb_error *err)
{
    char key[PATH_MAX + 16];
    static const char *const suffixes[] = {".sha256", ".json", "", ""};
    for (size_t i = 0; i < 4; i++) {
        /* The name's claim goes last: the name is free again only when
         * nothing of the backup is left. */
        snprintf(key, sizeof(key), "%s%s%s", i == 3 ? ".claims/" : "", rel_path, suffixes[i]);
        struct s3_answer a = {0};
        mfb_status s = s3_request(client_of(st), "DELETE", key, NULL, NULL, NULL, &a, err);
        free_answer(&a);
        if (s != MFB_OK && s != MFB_ERR_NOT_FOUND)
            return s;
    }
    return MFB_OK;
}

static void delete_claim_key(const char *backup_id, char *key, size_t len)
{
    snprintf(key, len, ".deleted/%s", backup_id);
}

static mfb_status s3_claim_delete(struct storage *st, const char *backup_id, struct mfb_error *err)
{
    char key[128];
    delete_claim_key(backup_id, key, sizeof(key));
    static const char *const hdr[] = {"If-None-Match: *", NULL};
    struct s3_body body = {.data = "", .len = 0, .fd = -1};
    struct s3_answer a = {0};
    struct mfb_error local = {0};
    mfb_status s = s3_request(client_of(st), "PUT", key, NULL, hdr, &body, &a, &local);
    free_answer(&a);
    if (s == MFB_ERR_EXISTS)
        return s;
    return s == MFB_OK ? MFB_OK : mfb_error_copy(err, &local);
}

static mfb_status s3_delete_claimed(struct storage *st, const char *backup_id, bool *claimed,
                                    struct mfb_error *err)
{
    char key[128];
    delete_claim_key(backup_id, key, sizeof(key));
    mfb_status failure = MFB_OK;
    *claimed = key_exists(st, key, &failure, err);
    return failure;
}

/* A download's state: a window of the object, refilled by ranged GETs. */
struct s3_reader {
    const struct s3_client *s3;
    char key[PATH_MAX];
    uint64_t size;
    uint64_t win_off;
    size_t win_len;
    char *win;
};

static long s3_read(void *ctx, uint64_t off, char *buf, size_t len)
{
    struct s3_reader *r = ctx;
    if (off >= r->size)
        return 0;
    if (off < r->win_off || off >= r->win_off + r->win_len) {
        uint64_t want = r->size - off < READ_WINDOW ? r->size - off : READ_WINDOW;
        char range[80];
        snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + want - 1));
        const char *hdr[] = {range, NULL};
        struct s3_answer a = {.buf = r->win, .buf_cap = READ_WINDOW};
        struct mfb_error err = {0};
        if (s3_request(r->s3, "GET", r->key, NULL, hdr, NULL, &a, &err) != MFB_OK || a.len == 0) {
            log_error("s3-read-failed", "key=%s offset=%llu error=%s", LOG_Q(r->key),
                      (unsigned long long)off, LOG_Q(err.message[0] ? err.message : "empty"));
            return -1;
        }
        r->win_off = off;
        r->win_len = a.len;
    }
    size_t have = (size_t)(r->win_off + r->win_len - off);
    size_t n = len < have ? len : have;
    memcpy(buf, r->win + (off - r->win_off), n);
    return (long)n;
}

static void s3_read_close(void *ctx)
{
    struct s3_reader *r = ctx;
    if (r == NULL)
        return;
    free(r->win);
    free(r);
}

static mfb_status s3_read_open(struct storage *st, const char *rel_path, struct storage_read *rd,
                               struct mfb_error *err)
{
    struct s3_answer a = {0};
    mfb_status s = s3_request(client_of(st), "HEAD", rel_path, NULL, NULL, NULL, &a, err);
    free_answer(&a);
    if (s != MFB_OK)
        return s;
    struct s3_reader *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->win = malloc(READ_WINDOW)) == NULL) {
        free(r);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    r->s3 = client_of(st);
    snprintf(r->key, sizeof(r->key), "%s", rel_path);
    r->size = a.content_length;
    rd->size = r->size;
    rd->ctx = r;
    rd->read = s3_read;
    rd->close = s3_read_close;
    return MFB_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static mfb_status s3_list(struct storage *st, storage_list_fn fn, void *ctx, struct mfb_error *err)
{
    const struct s3_client *s3 = client_of(st);
    char **keys = NULL;
    uint64_t *sizes = NULL;
    size_t n = 0, cap = 0;
    char token[2048] = "", penc[3 * sizeof(s3->prefix)] = "";
    s3_encode(s3->prefix, false, penc, sizeof(penc));
    mfb_status s = MFB_OK;
    size_t plen = strlen(s3->prefix);
    for (;;) {
        char query[8192], tenc[3 * sizeof(token)] = "";
        s3_encode(token, false, tenc, sizeof(tenc));
        if (token[0])
            snprintf(query, sizeof(query), "continuation-token=%s&list-type=2&prefix=%s", tenc,
                     penc);
        else
            snprintf(query, sizeof(query), "list-type=2&prefix=%s", penc);
        struct s3_answer a = {0};
        s = s3_request(s3, "GET", NULL, query, NULL, NULL, &a, err);
        size_t pos = 0;
        char block[8192], key[4096], v[64];
        while (s == MFB_OK && a.text &&
               s3_xml_next(a.text, "Contents", &pos, block, sizeof(block))) {
            size_t q = 0;
            if (!s3_xml_next(block, "Key", &q, key, sizeof(key)) || strlen(key) <= plen)
                continue;
            q = 0;
            uint64_t size =
                s3_xml_next(block, "Size", &q, v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                char **k2 = realloc(keys, cap * sizeof(*keys));
                uint64_t *s2 = k2 ? realloc(sizes, cap * sizeof(*sizes)) : NULL;
                if (k2)
                    keys = k2;
                if (s2)
                    sizes = s2;
                if (k2 == NULL || s2 == NULL) {
                    s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                    break;
                }
            }
            /* Key and size in one allocation, sorted together below. */
            char *copy = malloc(strlen(key + plen) + 1 + sizeof(uint64_t));
            if (copy == NULL) {
                s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                break;
            }
            strcpy(copy, key + plen);
            memcpy(copy + strlen(copy) + 1, &size, sizeof(size));
            keys[n++] = copy;
        }
        pos = 0;
        bool more = s == MFB_OK && a.text &&
                    s3_xml_next(a.text, "IsTruncated", &pos, v, sizeof(v)) &&
                    strcmp(v, "true") == 0;
        pos = 0;
        if (more && !s3_xml_next(a.text, "NextContinuationToken", &pos, token, sizeof(token)))
            more = false;
        free_answer(&a);
        if (!more)
            break;
    }
    if (s == MFB_OK && n > 0) {
        qsort(keys, n, sizeof(*keys), cmp_str);
        for (size_t i = 0; i < n; i++) {
            const char *k = keys[i];
            size_t kl = strlen(k);
            if (strncmp(k, STORAGE_PARTIAL_DIR "/", strlen(STORAGE_PARTIAL_DIR) + 1) == 0 ||
                strncmp(k, ".claims/", 8) == 0 || strncmp(k, ".deleted/", 9) == 0 ||
                strncmp(k, ".mfb-probe-", 11) == 0 ||
                (kl > 5 && strcmp(k + kl - 5, ".json") == 0) ||
                (kl > 7 && strcmp(k + kl - 7, ".sha256") == 0))
                continue;
            char json[4200], *jp = json;
            snprintf(json, sizeof(json), "%s.json", k);
            if (bsearch(&jp, keys, n, sizeof(*keys), cmp_str) != NULL) {
                uint64_t size;
                memcpy(&size, k + kl + 1, sizeof(size));
                fn(ctx, k, size);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(sizes);
    return s;
}

static mfb_status s3_free_bytes(struct storage *st, uint64_t *avail, uint64_t *total,
                                struct mfb_error *err)
{
    (void)st;
    (void)err;
    /* A bucket has no free space to speak of: quotas bound what clients store. */
    *avail = 1ULL << 62;
    if (total)
        *total = 1ULL << 62;
    return MFB_OK;
}

static mfb_status s3_max_file_bytes(struct storage *st, uint64_t *max, struct mfb_error *err)
{
    (void)st;
    (void)err;
    *max = S3_MAX_OBJECT;
    return MFB_OK;
}

static void s3_close(struct storage *st)
{
    struct s3_storage *s = (struct s3_storage *)st;
    explicit_bzero(s->s3.secret, sizeof(s->s3.secret));
    free(s);
}

static const struct storage_ops s3_ops = {
    .kind = "s3",
    .close = s3_close,
    .probe = s3_probe,
    .min_chunk = S3_MIN_PART,
    .max_chunks = S3_MAX_PARTS,
    .upload_open = s3_upload_open,
    .chunk_commit = s3_chunk_commit,
    .upload_abort = s3_upload_abort,
    .publish = s3_publish,
    .write_file = s3_write_file,
    .read_file = s3_read_file,
    .delete_backup = s3_delete_backup,
    .claim_delete = s3_claim_delete,
    .delete_claimed = s3_delete_claimed,
    .read_open = s3_read_open,
    .list = s3_list,
    .free_bytes = s3_free_bytes,
    .max_file_bytes = s3_max_file_bytes,
};

/* A byte count from a test hook's variable; false when it is set but not
 * a number. */
static bool env_bytes(const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return true;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-')
        return false;
    *out = n;
    return true;
}

/* The copy settings: the limits of AWS S3, or the test hooks' (tests
 * cannot make objects of 5 GiB). */
static mfb_status copy_settings(struct s3_storage *s, struct mfb_error *err)
{
    s->copy_limit = S3_COPY_LIMIT;
    s->copy_part = COPY_PART;
    if (!env_bytes(S3_COPY_LIMIT_ENV, &s->copy_limit) ||
        !env_bytes(S3_COPY_PART_ENV, &s->copy_part) || s->copy_part < S3_MIN_PART ||
        s->copy_part > S3_MAX_PART || s->copy_limit > S3_COPY_LIMIT) {
        mfb_error_set(err, MFB_ERR_USAGE, "%s or %s is not a valid byte count", S3_COPY_LIMIT_ENV,
                      S3_COPY_PART_ENV);
        mfb_error_hint(err, "these are for tests only: unset them (a part is 5 MiB to 5 GiB, the "
                            "limit at most 5 GiB)");
        return MFB_ERR_USAGE;
    }
    const char *fault = getenv(S3_COPY_FAULT_ENV);
    if (fault != NULL && fault[0] != '\0') {
        s->fault_exit = strncmp(fault, "exit:", 5) == 0;
        const char *n = strchr(fault, ':');
        char *end = NULL;
        s->fault_at = n ? strtoul(n + 1, &end, 10) : 0;
        if ((!s->fault_exit && strncmp(fault, "fail:", 5) != 0) || s->fault_at == 0 ||
            end == NULL || *end != '\0') {
            mfb_error_set(err, MFB_ERR_USAGE, "%s must be fail:N or exit:N", S3_COPY_FAULT_ENV);
            mfb_error_hint(err, "it is for tests only: unset it");
            return MFB_ERR_USAGE;
        }
    }
    if (s->copy_limit != S3_COPY_LIMIT || s->copy_part != COPY_PART || s->fault_at != 0)
        log_warn("s3-copy-test-hooks", "copy_limit=%llu copy_part=%llu fault=%s",
                 (unsigned long long)s->copy_limit, (unsigned long long)s->copy_part,
                 fault && fault[0] ? fault : "none");
    return MFB_OK;
}

mfb_status storage_s3_open(const struct storage_config *cfg, struct storage **out,
                           struct mfb_error *err)
{
    *out = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread makes requests */
    struct s3_storage *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    s->base.ops = &s3_ops;
    snprintf(s->base.root, sizeof(s->base.root), "%s", cfg->root);
    const struct storage_s3_config *c = cfg->s3;
    mfb_status st = s3_client_init(&s->s3, c->url, c->endpoint, c->region, c->key_file,
                                   c->secret_file, c->ca_file, c->path_style, err);
    if (st == MFB_OK)
        st = copy_settings(s, err);
    if (st != MFB_OK) {
        s3_close(&s->base);
        return st;
    }
    *out = &s->base;
    return MFB_OK;
}
