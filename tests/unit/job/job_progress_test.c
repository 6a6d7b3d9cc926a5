/*
 * job_progress_test.c - the job's progress hub (job/progress.c) and its two
 * displays (cli/job_progress.c): steps and their durations, byte updates
 * throttled but the last one always delivered, rate and ETA, downtime that
 * grows while the server is down and stops when it answers, observers
 * called from several threads never at once, the terminal line and the
 * JSON object.
 */
#include "unit.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/job_progress.h"
#include "job/progress.h"

#define MAX_EVENTS 4096

struct recorder {
    struct job_progress events[MAX_EVENTS];
    char messages[MAX_EVENTS][64];
    size_t count;
    int inside; /* observers are never called concurrently */
};

static void record(void *ctx, const struct job_progress *p)
{
    struct recorder *r = ctx;
    assert_int_equal(__atomic_add_fetch(&r->inside, 1, __ATOMIC_SEQ_CST), 1);
    if (r->count < MAX_EVENTS) {
        r->events[r->count] = *p;
        if (p->message)
            snprintf(r->messages[r->count], sizeof(r->messages[0]), "%s", p->message);
        r->count++;
    }
    __atomic_sub_fetch(&r->inside, 1, __ATOMIC_SEQ_CST);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t count_kind(const struct recorder *r, enum job_progress_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += r->events[i].kind == k;
    return n;
}

static void test_steps_bytes_and_downtime(void **state)
{
    struct recorder *r = calloc(1, sizeof(*r));
    struct job_observer obs = {.notify = record, .ctx = r};
    struct job_progress_hub hub;
    job_progress_init(&hub, &obs, 1, "prod");
    job_progress_set_job(&hub, 7);

    job_progress_step_begin(&hub, JOB_STEP_STOP, 0);
    job_progress_server(&hub, true);
    sleep_ms(30);
    job_progress_step_end(&hub, JOB_STEP_STOP, 30);
    job_progress_step_begin(&hub, JOB_STEP_ARCHIVE, 1000);
    for (uint64_t b = 1; b <= 1000; b++)
        job_progress_bytes(&hub, b, 1000); /* throttled, the last one is delivered */
    assert_true(count_kind(r, JOB_PROGRESS_BYTES) < 10);
    const struct job_progress *last = &r->events[r->count - 1];
    assert_int_equal(last->kind, JOB_PROGRESS_BYTES);
    assert_int_equal(last->bytes_done, 1000);
    assert_int_equal(last->bytes_total, 1000);
    assert_true(last->server_down);
    assert_true(last->downtime_ms >= 30);
    assert_int_equal(last->job_id, 7);
    assert_string_equal(last->instance, "prod");

    sleep_ms(20);
    job_progress_server(&hub, false);
    uint64_t down = job_progress_downtime(&hub);
    assert_true(down >= 50);
    sleep_ms(20);
    assert_int_equal(job_progress_downtime(&hub), down); /* it stops growing */

    job_progress_message(&hub, JOB_LEVEL_WARN, "a warning");
    job_progress_done(&hub, JOB_STATUS_OK, NULL, NULL);
    last = &r->events[r->count - 1];
    assert_int_equal(last->kind, JOB_PROGRESS_DONE);
    assert_int_equal(last->status, JOB_STATUS_OK);
    assert_false(last->server_down);
    assert_int_equal(last->downtime_ms, down);
    assert_string_equal(r->messages[r->count - 2], "a warning");
    assert_int_equal(r->events[0].kind, JOB_PROGRESS_STEP);
    assert_int_equal(r->events[0].step, JOB_STEP_STOP);
    assert_false(r->events[0].step_done);
    assert_true(r->events[1].server_down); /* the stop was issued */
    assert_true(r->events[2].step_done);
    assert_int_equal(r->events[2].step_ms, 30);
    job_progress_destroy(&hub);
    free(r);
}

/* The server going down and answering again reach the observers at once,
 * even right after a byte update (no throttling) and with no byte moving:
 * a long stop step has none, and the dashboard's downtime clock must run. */
static void test_server_change_is_delivered(void **state)
{
    struct recorder *r = calloc(1, sizeof(*r));
    struct job_observer obs = {.notify = record, .ctx = r};
    struct job_progress_hub hub;
    job_progress_init(&hub, &obs, 1, "prod");
    job_progress_step_begin(&hub, JOB_STEP_STOP, 0);
    size_t before = r->count;
    job_progress_server(&hub, true);
    assert_int_equal(r->count, before + 1);
    assert_int_equal(r->events[before].kind, JOB_PROGRESS_BYTES);
    assert_int_equal(r->events[before].step, JOB_STEP_STOP);
    assert_true(r->events[before].server_down);
    job_progress_server(&hub, true); /* no change: nothing to tell */
    assert_int_equal(r->count, before + 1);
    sleep_ms(10);
    job_progress_server(&hub, false);
    assert_int_equal(r->count, before + 2);
    assert_false(r->events[before + 1].server_down);
    assert_true(r->events[before + 1].downtime_ms >= 10);
    job_progress_destroy(&hub);
    free(r);
}

static void test_rate_and_eta(void **state)
{
    struct recorder *r = calloc(1, sizeof(*r));
    struct job_observer obs = {.notify = record, .ctx = r};
    struct job_progress_hub hub;
    job_progress_init(&hub, &obs, 1, "prod");
    job_progress_step_begin(&hub, JOB_STEP_ARCHIVE, 100000000);
    for (int i = 1; i <= 4; i++) {
        sleep_ms(JOB_PROGRESS_INTERVAL_MS + 20);
        job_progress_bytes(&hub, (uint64_t)i * 1000000, 0);
    }
    const struct job_progress *p = &r->events[r->count - 1];
    /* No assertion on how fast: only that the ETA follows from the rate. */
    assert_true(p->rate > 0);
    int64_t want = (int64_t)((double)(100000000 - 4000000) * 1000.0 / p->rate);
    assert_true(p->eta_ms >= want - 1 && p->eta_ms <= want + 1);
    job_progress_destroy(&hub);
    free(r);
}

struct worker {
    struct job_progress_hub *hub;
    int n;
};

static void *upload_thread(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        job_progress_upload(w->hub, (uint64_t)i);
        if (i % 50 == 0)
            job_progress_message(w->hub, JOB_LEVEL_INFO, "retry");
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct recorder *r = calloc(1, sizeof(*r));
    struct job_observer obs = {.notify = record, .ctx = r};
    struct job_progress_hub hub;
    job_progress_init(&hub, &obs, 1, "prod");
    job_progress_step_begin(&hub, JOB_STEP_UPLOAD, 0);
    pthread_t t[4];
    struct worker w = {.hub = &hub, .n = 2000};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, upload_thread, &w);
    for (int i = 0; i < 2000; i++)
        job_progress_bytes(&hub, (uint64_t)i, 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(count_kind(r, JOB_PROGRESS_MESSAGE), 4 * 40);
    job_progress_destroy(&hub);
    free(r);
}

static void test_terminal_line(void **state)
{
    struct job_progress p = {.kind = JOB_PROGRESS_BYTES,
                             .step = JOB_STEP_ARCHIVE,
                             .bytes_done = 512ull << 20,
                             .bytes_total = 2048ull << 20,
                             .rate = 256.0 * 1048576,
                             .eta_ms = 6000,
                             .upload_bytes = 100ull << 20,
                             .server_down = true,
                             .downtime_ms = 3200};
    char line[256];
    job_display_format(&p, line, sizeof(line));
    assert_string_equal(line, "archive   512.0 MiB / 2.0 GiB  25%  256.0 MiB/s  ETA 6.0s  sent "
                              "100.0 MiB  server DOWN 3.2s");
    struct job_progress q = {.kind = JOB_PROGRESS_STEP, .step = JOB_STEP_PREFLIGHT, .eta_ms = -1};
    job_display_format(&q, line, sizeof(line));
    assert_string_equal(line, "preflight");
}

static void test_json_line(void **state)
{
    struct job_progress p = {.kind = JOB_PROGRESS_DONE,
                             .job_id = 12,
                             .instance = "prod",
                             .step = JOB_STEP_FINISH,
                             .elapsed_ms = 5000,
                             .eta_ms = -1,
                             .downtime_ms = 800,
                             .status = JOB_STATUS_PENDING_UPLOAD,
                             .error = "receiver gone"};
    char *text = job_progress_json(&p);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "done");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pending_upload");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "receiver gone");
    assert_true(json_is_null(json_object_get(j, "hint")));
    assert_true(json_is_null(json_object_get(j, "eta_ms")));
    assert_int_equal(json_integer_value(json_object_get(j, "downtime_ms")), 800);
    assert_null(strchr(text, '\n'));
    json_decref(j);
    free(text);
}

static void test_mode_parse(void **state)
{
    enum job_progress_mode m;
    struct mfb_error err = {0};
    assert_int_equal(job_progress_mode_parse("json", &m, NULL), MFB_OK);
    assert_int_equal(m, JOB_PROGRESS_JSON);
    assert_int_equal(job_progress_mode_parse("none", &m, NULL), MFB_OK);
    assert_int_equal(m, JOB_PROGRESS_NONE);
    assert_int_equal(job_progress_mode_parse("fancy", &m, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "invalid --progress 'fancy'");
    assert_string_equal(err.hint, "use auto, tty, json or none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_bytes_and_downtime),
        cmocka_unit_test(test_server_change_is_delivered),
        cmocka_unit_test(test_rate_and_eta),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_terminal_line),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_mode_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
