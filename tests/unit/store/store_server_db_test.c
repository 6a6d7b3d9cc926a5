/*
 * store_server_db_test.c - the migration runner and the receiver's catalog
 * (src/store/migrate.c, src/store/server_db.c).
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "store/migrate.h"
#include "store/server_db.h"

static char tmpdir[4096];

static int setup(void **state)
{
    return unit_scratch_dir("store-db", tmpdir, sizeof(tmpdir)) ? 0 : -1;
}

static int teardown(void **state)
{
    return unit_rmtree(tmpdir);
}

static void test_migrations(void **state)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    const struct migration two[] = {{1, "CREATE TABLE a(x);"}, {2, "ALTER TABLE a ADD y;"}};
    int v;
    assert_int_equal(migrate_version(db, &v, NULL), MFB_OK);
    assert_int_equal(v, 0);
    assert_int_equal(migrate_run(db, "test db", two, 1, NULL), MFB_OK);
    assert_int_equal(migrate_version(db, &v, NULL), MFB_OK);
    assert_int_equal(v, 1);
    assert_int_equal(migrate_run(db, "test db", two, 2, NULL), MFB_OK);
    assert_int_equal(migrate_run(db, "test db", two, 2, NULL), MFB_OK); /* idempotent */
    assert_int_equal(sqlite3_exec(db, "INSERT INTO a(x, y) VALUES(1, 2)", NULL, NULL, NULL),
                     SQLITE_OK);
    /* A failing step leaves the schema at the last whole step. */
    const struct migration bad[] = {{1, ""}, {2, ""}, {3, "CREATE TABLE b(x); SELECT nope();"}};
    struct mfb_error err = {0};
    assert_int_equal(migrate_run(db, "test db", bad, 3, &err), MFB_ERR_DATABASE);
    assert_non_null(strstr(err.message, "cannot migrate the test db to version 3"));
    assert_int_equal(migrate_version(db, &v, NULL), MFB_OK);
    assert_int_equal(v, 2);
    assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM b", NULL, NULL, NULL), SQLITE_OK);
    /* A database newer than the program is refused. */
    mfb_error_clear(&err);
    assert_int_equal(migrate_run(db, "test db", two, 1, &err), MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message,
                        "the test db has schema version 2, newer than this program knows (1)");
    sqlite3_close(db);
}

static void test_open_and_clients(void **state)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/sub/catalog.db", tmpdir);
    struct server_db *db = NULL;
    struct mfb_error err = {0};
    assert_int_equal(server_db_open(path, false, &db, &err), MFB_ERR_NOT_FOUND);
    assert_int_equal(server_db_open(path, true, &db, NULL), MFB_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char wal[4300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_int_equal(stat(wal, &sb), 0); /* WAL mode */
    assert_int_equal(sb.st_mode & 0777, 0600);

    uint8_t h1[SHA256_LEN], h2[SHA256_LEN];
    sha256_buffer("token-one", 9, h1);
    sha256_buffer("token-two", 9, h2);
    assert_int_equal(server_db_client_add(db, "db1", h1, 0, NULL), MFB_OK);
    mfb_error_clear(&err);
    assert_int_equal(server_db_client_add(db, "db1", h2, 0, &err), MFB_ERR_EXISTS);
    assert_string_equal(err.message, "client 'db1' already exists");
    struct srv_client c;
    assert_int_equal(server_db_client_by_token(db, h1, &c, NULL), MFB_OK);
    assert_string_equal(c.name, "db1");
    assert_int_equal(server_db_client_remove(db, "db1", NULL), MFB_OK);
    assert_int_equal(server_db_client_by_token(db, h1, &c, NULL), MFB_ERR_NOT_FOUND);
    assert_int_equal(server_db_client_remove(db, "db1", NULL), MFB_ERR_NOT_FOUND);
    /* Re-adding a removed client: new token, same id (and namespace). */
    int64_t id = c.id;
    assert_int_equal(server_db_client_add(db, "db1", h2, 1000, NULL), MFB_OK);
    assert_int_equal(server_db_client_by_token(db, h2, &c, NULL), MFB_OK);
    assert_int_equal(c.id, id);
    assert_int_equal(c.quota, 1000);
    assert_int_equal(server_db_client_set_quota(db, "db1", 0, NULL), MFB_OK);
    assert_int_equal(server_db_client_set_quota(db, "nobody", 0, NULL), MFB_ERR_NOT_FOUND);
    server_db_close(db);
    /* Reopening runs no migration again and keeps the data. */
    assert_int_equal(server_db_open(path, false, &db, NULL), MFB_OK);
    assert_int_equal(server_db_client_by_name(db, "db1", &c, NULL), MFB_OK);
    assert_int_equal(c.quota, 0);
    server_db_close(db);
}

static void test_uploads_backups_policies(void **state)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/catalog2.db", tmpdir);
    struct server_db *db = NULL;
    assert_int_equal(server_db_open(path, true, &db, NULL), MFB_OK);
    uint8_t h[SHA256_LEN] = {1};
    assert_int_equal(server_db_client_add(db, "db1", h, 0, NULL), MFB_OK);
    struct srv_client c;
    assert_int_equal(server_db_client_by_name(db, "db1", &c, NULL), MFB_OK);

    struct srv_upload u = {.client_id = c.id,
                           .size_known = true,
                           .size = 3 << 20,
                           .chunk_size = 1 << 20,
                           .created = 1,
                           .updated = 1};
    snprintf(u.id, sizeof(u.id), "u_0123456789abcdef0123456789abcdef");
    snprintf(u.instance, sizeof(u.instance), "prod");
    snprintf(u.name, sizeof(u.name), "a.zip");
    assert_int_equal(server_db_upload_create(db, &u, NULL), MFB_OK);
    struct srv_chunk ch = {.index = 1, .size = 1 << 20};
    ch.sha256[0] = 0xab;
    assert_int_equal(server_db_chunk_insert(db, u.id, &ch, NULL), MFB_OK);
    assert_int_not_equal(server_db_chunk_insert(db, u.id, &ch, NULL), MFB_OK); /* once */
    uint64_t pending, usage;
    assert_int_equal(server_db_pending_bytes(db, &pending, NULL), MFB_OK);
    assert_int_equal(pending, 2 << 20);
    assert_int_equal(server_db_client_usage(db, c.id, &usage, NULL), MFB_OK);
    assert_int_equal(usage, 3 << 20);
    struct srv_upload got;
    assert_int_equal(server_db_upload_get(db, u.id, c.id + 1, &got, NULL), MFB_ERR_NOT_FOUND);
    assert_int_equal(server_db_upload_get(db, u.id, c.id, &got, NULL), MFB_OK);
    assert_true(got.size_known);
    assert_int_equal(got.size, 3 << 20);
    server_db_upload_free(&got);
    struct srv_chunk *chunks;
    size_t n;
    assert_int_equal(server_db_upload_chunks(db, u.id, &chunks, &n, NULL), MFB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(chunks[0].sha256[0], 0xab);
    free(chunks);

    struct srv_backup b = {.client_id = c.id, .size = 3 << 20, .created = 5};
    snprintf(b.id, sizeof(b.id), "b_0123456789abcdef0123456789abcdef");
    snprintf(b.instance, sizeof(b.instance), "prod");
    snprintf(b.name, sizeof(b.name), "a.zip");
    snprintf(b.sha256, sizeof(b.sha256), "%064d", 0);
    b.path = "db1/prod/a.zip";
    assert_int_equal(server_db_upload_finish(db, u.id, &b, NULL), MFB_OK);
    assert_int_equal(server_db_upload_chunks(db, u.id, &chunks, &n, NULL), MFB_OK);
    assert_int_equal(n, 0); /* resume state gone */
    free(chunks);
    assert_int_equal(server_db_upload_get(db, u.id, c.id, &got, NULL), MFB_OK);
    assert_true(got.complete);
    assert_string_equal(got.backup_id, b.id);
    server_db_upload_free(&got);
    struct srv_backup *list;
    assert_int_equal(server_db_backup_list(db, c.id, "prod", &list, &n, NULL), MFB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].path, "db1/prod/a.zip");
    assert_string_equal(list[0].client, "db1");
    server_db_backup_list_free(list, n);
    assert_int_equal(server_db_backup_list(db, c.id, "other", &list, &n, NULL), MFB_OK);
    assert_int_equal(n, 0);
    server_db_backup_list_free(list, n);

    struct srv_policy p = {.client_id = c.id, .keep_last = 3, .max_age_s = -1, .max_bytes = -1};
    assert_int_equal(server_db_policy_set(db, &p, NULL), MFB_OK);
    p.keep_last = -1;
    p.max_bytes = 500;
    assert_int_equal(server_db_policy_set(db, &p, NULL), MFB_OK); /* merges */
    struct srv_policy out;
    bool found;
    assert_int_equal(server_db_policy_get(db, c.id, "", &out, &found, NULL), MFB_OK);
    assert_true(found);
    assert_int_equal(out.keep_last, 3);
    assert_int_equal(out.max_bytes, 500);
    p.keep_last = -2; /* clear */
    p.max_bytes = -1;
    assert_int_equal(server_db_policy_set(db, &p, NULL), MFB_OK);
    assert_int_equal(server_db_policy_get(db, c.id, "", &out, &found, NULL), MFB_OK);
    assert_int_equal(out.keep_last, -1);
    assert_int_equal(out.max_bytes, 500);
    assert_int_equal(server_db_policy_get(db, c.id, "prod", &out, &found, NULL), MFB_OK);
    assert_false(found);

    /* Drills' verdicts: the newest passed one per client and instance, not
     * a later failed one; gone with the backup. */
    struct srv_verified *ver;
    assert_int_equal(server_db_verified_last(db, &ver, &n, NULL), MFB_OK);
    assert_int_equal(n, 0);
    free(ver);
    struct srv_verification v = {.client_id = c.id, .time = 10, .tables = 3};
    snprintf(v.backup_id, sizeof(v.backup_id), "%s", b.id);
    snprintf(v.verified_by, sizeof(v.verified_by), "db1");
    snprintf(v.result, sizeof(v.result), "failed");
    assert_int_equal(server_db_verification_add(db, &v, NULL), MFB_OK);
    assert_int_equal(server_db_verified_last(db, &ver, &n, NULL), MFB_OK);
    assert_int_equal(n, 0);
    free(ver);
    snprintf(v.result, sizeof(v.result), "passed");
    v.time = 20;
    assert_int_equal(server_db_verification_add(db, &v, NULL), MFB_OK);
    snprintf(v.result, sizeof(v.result), "failed");
    v.time = 30;
    assert_int_equal(server_db_verification_add(db, &v, NULL), MFB_OK);
    assert_int_equal(server_db_verified_last(db, &ver, &n, NULL), MFB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ver[0].client, "db1");
    assert_string_equal(ver[0].instance, "prod");
    assert_int_equal(ver[0].last, 20);
    free(ver);

    assert_int_equal(server_db_backup_delete(db, b.id, NULL), MFB_OK);
    assert_int_equal(server_db_backup_get(db, b.id, 0, &b, NULL), MFB_ERR_NOT_FOUND);
    assert_int_equal(server_db_verified_last(db, &ver, &n, NULL), MFB_OK);
    assert_int_equal(n, 0);
    free(ver);
    server_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_open_and_clients),
        cmocka_unit_test(test_uploads_backups_policies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
