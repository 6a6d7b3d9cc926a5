/*
 * transfer_uploader_test.c - the uploader's threads against the scripted
 * fake receiver (tests/lib/fake_receiver.py, plaintext, in a child
 * process): a file that grows while it is uploaded (seal/finish), a resume
 * that finds a chunk changed and replaces it, cancellation, and the events
 * observers see; with a seal record or the producer's digests, a byte
 * changed on the disk after it was written refused before it is sent or
 * trusted. Runs under ThreadSanitizer in `make check-tsan`.
 */
#include "common/cancel.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/digest.h"
#include "scratch.h"
#include "transfer/chunk_record.h"
#include "transfer/receiver_api.h"
#include "transfer/uploader.h"

#define MiB (1u << 20)

struct fixture {
    pid_t pid;
    char dir[PATH_MAX];
    char url[256];
    char token[128];
    struct transfer_peer *client;
    struct transfer_conn *conn;
};

static void fake_path(char *out, size_t cap)
{
    const char *lib = getenv("MFB_TEST_LIB");
    if (lib) {
        snprintf(out, cap, "%s/fake_receiver.py", lib);
        return;
    }
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s", __FILE__);
    char *unit_dir = dirname(src);
    snprintf(out, cap, "%s/../../lib/fake_receiver.py", unit_dir);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!unit_scratch_dir("uploader", f->dir, sizeof(f->dir)))
        return -1;
    char script[PATH_MAX];
    fake_path(script, sizeof(script));
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    f->pid = fork();
    if (f->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, "--dir", f->dir, "--plaintext", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[512];
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "url ", 4) == 0)
            snprintf(f->url, sizeof(f->url), "%.200s", line + 4);
        if (strncmp(line, "token ", 6) == 0) {
            snprintf(f->token, sizeof(f->token), "%.100s", line + 6);
            break;
        }
    }
    fclose(in);
    if (f->token[0] == '\0')
        return -1;
    struct transfer_settings settings = TRANSFER_SETTINGS_DEFAULT;
    settings.retry.base_ms = 20;
    struct transfer_target target = {.url = f->url, .token = f->token, .allow_plaintext = true};
    if (transfer_peer_create(&target, &settings, &f->client, NULL) != MFB_OK)
        return -1;
    if (transfer_conn_open(f->client, NULL, &f->conn, NULL) != MFB_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    transfer_conn_close(f->conn);
    transfer_peer_free(f->client);
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
    assert_int_equal(unit_rmtree(f->dir), 0);
    free(f);
    return 0;
}

static void fill(uint8_t *buf, size_t len, uint64_t offset)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (offset + i) * 2654435761u;
        buf[i] = (uint8_t)(x >> 13);
    }
}

struct counts {
    pthread_mutex_t lock;
    int start, chunk, done, sent, verified, replaced;
    mfb_status status;
};

static void count_event(void *ctx, const struct transfer_event *ev)
{
    struct counts *c = ctx;
    pthread_mutex_lock(&c->lock);
    switch (ev->type) {
    case TRANSFER_EVENT_START:
        c->start++;
        break;
    case TRANSFER_EVENT_CHUNK:
        c->chunk++;
        c->sent += ev->chunk_outcome == CHUNK_SENT;
        c->verified += ev->chunk_outcome == CHUNK_VERIFIED;
        c->replaced += ev->chunk_outcome == CHUNK_REPLACED;
        break;
    case TRANSFER_EVENT_DONE:
        c->done++;
        c->status = ev->status;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&c->lock);
}

static int open_temp(struct fixture *f, const char *name, char *path, size_t cap)
{
    assert_true(snprintf(path, cap, "%s/%s", f->dir, name) < (int)cap);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    return fd;
}

static void create_upload(struct fixture *f, bool size_known, uint64_t size,
                          struct upload_state *state)
{
    struct upload_request req = {.instance = "prod",
                                 .name = "grow.zip",
                                 .size_known = size_known,
                                 .size = size,
                                 .chunk_size = MiB};
    struct mfb_error err = {0};
    assert_int_equal(receiver_upload_create(f->conn, &req, state, &err), MFB_OK);
}

/* The producer writes 256 KiB at a time and seals as it goes; the uploader
 * must send each chunk once it is sealed and get the whole-file digest right. */
static void test_growing_file(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    int fd = open_temp(f, "grow.bin", path, sizeof(path));
    struct upload_state up;
    create_upload(f, false, 0, &up);

    struct counts counts = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct transfer_observer obs = {.notify = count_event, .ctx = &counts};
    struct uploader_config cfg = {.client = f->client,
                                  .upload_id = up.upload_id,
                                  .chunk_size = MiB,
                                  .connections = 3,
                                  .fd = fd,
                                  .path = path,
                                  .observers = &obs,
                                  .observer_count = 1};
    struct uploader *u = NULL;
    struct mfb_error err = {0};
    assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);

    const size_t piece = 256u << 10, total = 5 * MiB + MiB / 2 + 7;
    uint8_t *buf = malloc(piece);
    struct sha256 h;
    sha256_init(&h);
    for (size_t off = 0; off < total; off += piece) {
        size_t n = total - off < piece ? total - off : piece;
        fill(buf, n, off);
        assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
        sha256_update(&h, buf, n);
        uploader_seal(u, off + n);
        if (off + n == 2 * MiB) {
            /* Sealed chunks go out before the file is finished. */
            struct upload_state now = {0};
            for (int i = 0; i < 1000 && now.chunk_count < 2; i++) {
                upload_state_free(&now);
                assert_int_equal(receiver_upload_get(f->conn, up.upload_id, &now, &err), MFB_OK);
                if (now.chunk_count < 2)
                    usleep(10 * 1000);
            }
            assert_int_equal(now.chunk_count, 2);
            upload_state_free(&now);
        }
    }
    uploader_finish(u, total);
    uint8_t want[SHA256_LEN];
    sha256_final(&h, want);
    sha256_free(&h);
    free(buf);

    struct upload_result r;
    assert_int_equal(uploader_wait(u, &r, &err), MFB_OK);
    uploader_free(u);
    assert_int_equal(r.size, total);
    assert_memory_equal(r.sha256, want, SHA256_LEN);
    assert_int_equal(r.chunks, 6);
    assert_int_equal(r.chunks_sent, 6);
    assert_int_equal(r.bytes_sent, total);
    assert_int_equal(counts.start, 1);
    assert_int_equal(counts.chunk, 6);
    assert_int_equal(counts.sent, 6);
    assert_int_equal(counts.done, 1);
    assert_int_equal(counts.status, MFB_OK);

    struct backup_info b;
    assert_int_equal(receiver_upload_complete(f->conn, up.upload_id, r.size, r.sha256, &b, &err),
                     MFB_OK);
    assert_int_equal(b.size, total);
    upload_state_free(&up);
    close(fd);
}

static void upload_all(struct fixture *f, const char *id, int fd, const char *path,
                       const struct resume_plan *plan, uint64_t size, struct upload_result *r,
                       struct counts *counts)
{
    struct transfer_observer obs = {.notify = count_event, .ctx = counts};
    struct uploader_config cfg = {.client = f->client,
                                  .upload_id = id,
                                  .chunk_size = MiB,
                                  .connections = 2,
                                  .fd = fd,
                                  .path = path,
                                  .resume = plan,
                                  .observers = &obs,
                                  .observer_count = 1};
    struct uploader *u = NULL;
    struct mfb_error err = {0};
    assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
    uploader_finish(u, size);
    assert_int_equal(uploader_wait(u, r, &err), MFB_OK);
    uploader_free(u);
}

/* After a first pass, chunk 2 of the local file changes; the resume must
 * verify chunks 0, 1 and 3, and replace chunk 2 on the receiver. */
static void test_resume_replaces_changed_chunk(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    int fd = open_temp(f, "resume.bin", path, sizeof(path));
    const size_t size = 3 * MiB + 1000;
    uint8_t *data = malloc(size);
    fill(data, size, 0);
    assert_int_equal(pwrite(fd, data, size, 0), (ssize_t)size);
    struct upload_state up;
    create_upload(f, true, size, &up);
    struct upload_result r;
    struct counts first = {.lock = PTHREAD_MUTEX_INITIALIZER};
    upload_all(f, up.upload_id, fd, path, NULL, size, &r, &first);
    assert_int_equal(first.sent, 4);

    data[2 * MiB + 5] ^= 0xff;
    assert_int_equal(pwrite(fd, data, size, 0), (ssize_t)size);
    struct upload_state held;
    struct mfb_error err = {0};
    assert_int_equal(receiver_upload_get(f->conn, up.upload_id, &held, &err), MFB_OK);
    assert_int_equal(held.chunk_count, 4);
    struct resume_plan plan;
    assert_int_equal(plan_resume(size, held.chunk_size, (int64_t)held.size, held.chunks,
                                 held.chunk_count, &plan, &err),
                     MFB_OK);
    struct counts second = {.lock = PTHREAD_MUTEX_INITIALIZER};
    upload_all(f, up.upload_id, fd, path, &plan, size, &r, &second);
    assert_int_equal(r.chunks_verified, 3);
    assert_int_equal(r.chunks_replaced, 1);
    assert_int_equal(r.chunks_sent, 1);
    assert_int_equal(second.verified, 3);
    assert_int_equal(second.replaced, 1);
    uint8_t want[SHA256_LEN];
    sha256_buffer(data, size, want);
    assert_memory_equal(r.sha256, want, SHA256_LEN);
    struct backup_info b;
    assert_int_equal(receiver_upload_complete(f->conn, up.upload_id, size, r.sha256, &b, &err),
                     MFB_OK);
    resume_plan_free(&plan);
    upload_state_free(&held);
    upload_state_free(&up);
    free(data);
    close(fd);
}

struct canceller {
    struct uploader *u;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    usleep(200 * 1000);
    uploader_cancel(c->u);
    return NULL;
}

/* A producer that never finishes: cancelling from another thread must end
 * the wait with MFB_ERR_CANCELLED (a parent token works the same way). */
static void test_cancel(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    int fd = open_temp(f, "cancel.bin", path, sizeof(path));
    uint8_t *data = malloc(MiB);
    fill(data, MiB, 0);
    assert_int_equal(pwrite(fd, data, MiB, 0), (ssize_t)MiB);
    free(data);
    struct upload_state up;
    create_upload(f, false, 0, &up);
    struct cancel_token parent;
    cancel_token_init(&parent, NULL);
    for (int round = 0; round < 2; round++) {
        struct uploader_config cfg = {.client = f->client,
                                      .upload_id = up.upload_id,
                                      .chunk_size = MiB,
                                      .connections = 2,
                                      .fd = fd,
                                      .path = path,
                                      .cancel = &parent};
        struct uploader *u = NULL;
        struct mfb_error err = {0};
        assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
        uploader_seal(u, MiB); /* one chunk, then nothing more */
        pthread_t t;
        struct canceller c = {.u = u};
        if (round == 0)
            pthread_create(&t, NULL, cancel_later, &c);
        else
            cancel_token_request(&parent);
        struct upload_result r;
        assert_int_equal(uploader_wait(u, &r, &err), MFB_ERR_CANCELLED);
        assert_non_null(strstr(err.message, "cancelled"));
        if (round == 0)
            pthread_join(t, NULL);
        uploader_free(u);
    }
    cancel_token_destroy(&parent);
    upload_state_free(&up);
    close(fd);
}

/* A file that shrinks under the uploader is an error, not a short upload. */
static void test_file_shrinks(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    int fd = open_temp(f, "shrink.bin", path, sizeof(path));
    uint8_t *data = calloc(1, MiB);
    assert_int_equal(pwrite(fd, data, MiB, 0), (ssize_t)MiB);
    free(data);
    struct upload_state up;
    create_upload(f, true, 2 * MiB, &up);
    struct uploader_config cfg = {.client = f->client,
                                  .upload_id = up.upload_id,
                                  .chunk_size = MiB,
                                  .connections = 1,
                                  .fd = fd,
                                  .path = path};
    struct uploader *u = NULL;
    struct mfb_error err = {0};
    assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
    uploader_finish(u, 2 * MiB);
    struct upload_result r;
    assert_int_equal(uploader_wait(u, &r, &err), MFB_ERR_CHANGED);
    assert_non_null(strstr(err.message, "shrank while it was being uploaded"));
    uploader_free(u);
    upload_state_free(&up);
    close(fd);
}

static void record_of(const uint8_t *data, size_t size, struct chunk_record *r)
{
    chunk_record_begin(r, MiB);
    assert_int_equal(chunk_record_update(r, data, size, NULL), MFB_OK);
    assert_int_equal(chunk_record_end(r, NULL), MFB_OK);
}

/* With a seal record, a resume that finds chunk 2 changed on the disk
 * stops there: the receiver's good copy is not deleted or replaced, and the
 * error names the chunk and its bytes. An intact file resumes, verifying. */
static void test_record_refuses_changed_chunk(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    int fd = open_temp(f, "record.bin", path, sizeof(path));
    const size_t size = 3 * MiB + 1000;
    uint8_t *data = malloc(size);
    fill(data, size, 0);
    assert_int_equal(pwrite(fd, data, size, 0), (ssize_t)size);
    struct chunk_record rec;
    record_of(data, size, &rec);
    struct upload_state up;
    create_upload(f, true, size, &up);
    struct upload_result r;
    struct counts first = {.lock = PTHREAD_MUTEX_INITIALIZER};
    upload_all(f, up.upload_id, fd, path, NULL, size, &r, &first);

    uint8_t bad = data[2 * MiB + 5] ^ 0x01;
    assert_int_equal(pwrite(fd, &bad, 1, 2 * MiB + 5), 1);
    struct upload_state held;
    struct mfb_error err = {0};
    assert_int_equal(receiver_upload_get(f->conn, up.upload_id, &held, &err), MFB_OK);
    struct resume_plan plan;
    assert_int_equal(plan_resume(size, held.chunk_size, (int64_t)held.size, held.chunks,
                                 held.chunk_count, &plan, &err),
                     MFB_OK);
    struct uploader_config cfg = {.client = f->client,
                                  .upload_id = up.upload_id,
                                  .chunk_size = MiB,
                                  .connections = 2,
                                  .fd = fd,
                                  .path = path,
                                  .resume = &plan,
                                  .record = &rec};
    struct uploader *u = NULL;
    assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
    uploader_finish(u, size);
    assert_int_equal(uploader_wait(u, &r, &err), MFB_ERR_CHANGED);
    uploader_free(u);
    char want[PATH_MAX + 200];
    snprintf(want, sizeof(want),
             "'%s' no longer matches its seal record: chunk 2 (bytes 2097152-3145727) has "
             "changed since it was written",
             path);
    assert_string_equal(err.message, want);
    assert_int_equal(r.chunks_replaced, 0);
    struct upload_state after;
    assert_int_equal(receiver_upload_get(f->conn, up.upload_id, &after, &err), MFB_OK);
    assert_int_equal(after.chunk_count, held.chunk_count);
    for (size_t i = 0; i < after.chunk_count; i++)
        for (size_t j = 0; j < held.chunk_count; j++)
            if (after.chunks[i].index == held.chunks[j].index)
                assert_memory_equal(after.chunks[i].sha256, held.chunks[j].sha256, SHA256_LEN);

    /* Put back, the file resumes against the same record. */
    assert_int_equal(pwrite(fd, data + 2 * MiB + 5, 1, 2 * MiB + 5), 1);
    memset(&err, 0, sizeof(err));
    assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
    uploader_finish(u, size);
    assert_int_equal(uploader_wait(u, &r, &err), MFB_OK);
    uploader_free(u);
    assert_int_equal(r.chunks_verified, 4);
    assert_memory_equal(r.sha256, rec.sha256, SHA256_LEN);
    upload_state_free(&after);
    resume_plan_free(&plan);
    upload_state_free(&held);
    upload_state_free(&up);
    chunk_record_free(&rec);
    free(data);
    close(fd);
}

/* The producer's digests are the Content-Digest, and the worker that
 * streams a chunk from the file checks it before the last byte goes: a
 * byte that changed on the disk after the producer wrote it (the test
 * flips it between the write and the upload) fails the upload with an
 * error naming the chunk and its bytes, and the receiver stores nothing
 * of that chunk; without the change, the upload completes with the
 * producer's whole-file digest. */
static void test_producer_digests(void **state)
{
    struct fixture *f = *state;
    const size_t size = 2 * MiB + 77;
    uint8_t *data = malloc(size);
    fill(data, size, 0);
    struct chunk_record rec;
    record_of(data, size, &rec);
    for (int round = 0; round < 2; round++) {
        char path[PATH_MAX];
        int fd = open_temp(f, round ? "producer-ok.bin" : "producer-bad.bin", path, sizeof(path));
        assert_int_equal(pwrite(fd, data, size, 0), (ssize_t)size);
        if (round == 0) {
            uint8_t bad = data[MiB + 9] ^ 0x40;
            assert_int_equal(pwrite(fd, &bad, 1, MiB + 9), 1);
        }
        struct upload_state up;
        create_upload(f, true, size, &up);
        struct uploader_config cfg = {.client = f->client,
                                      .upload_id = up.upload_id,
                                      .chunk_size = MiB,
                                      .connections = 1,
                                      .fd = fd,
                                      .path = path,
                                      .producer_digests = true};
        struct uploader *u = NULL;
        struct mfb_error err = {0};
        assert_int_equal(uploader_start(&cfg, &u, &err), MFB_OK);
        for (uint64_t i = 0; i < rec.count; i++)
            uploader_seal_chunk(u, i, rec.chunks[i]);
        uploader_finish_digest(u, size, rec.sha256);
        struct upload_result r;
        mfb_status st = uploader_wait(u, &r, &err);
        uploader_free(u);
        if (round == 0) {
            assert_int_equal(st, MFB_ERR_CHANGED);
            char want[PATH_MAX + 200];
            snprintf(want, sizeof(want),
                     "'%s' changed on the disk after it was written: chunk 1 (bytes "
                     "1048576-2097151) read back does not match the digest taken as it was "
                     "written",
                     path);
            assert_string_equal(err.message, want);
            struct upload_state after;
            assert_int_equal(receiver_upload_get(f->conn, up.upload_id, &after, &err), MFB_OK);
            for (size_t i = 0; i < after.chunk_count; i++)
                assert_int_not_equal(after.chunks[i].index, 1);
            upload_state_free(&after);
        } else {
            assert_int_equal(st, MFB_OK);
            assert_memory_equal(r.sha256, rec.sha256, SHA256_LEN);
            struct backup_info b;
            assert_int_equal(
                receiver_upload_complete(f->conn, up.upload_id, size, r.sha256, &b, &err), MFB_OK);
        }
        upload_state_free(&up);
        close(fd);
    }
    chunk_record_free(&rec);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growing_file),
        cmocka_unit_test(test_resume_replaces_changed_chunk),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_file_shrinks),
        cmocka_unit_test(test_record_refuses_changed_chunk),
        cmocka_unit_test(test_producer_digests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
