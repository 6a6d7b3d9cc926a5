/*
 * daemon_api_test.c - the daemon's control API handlers (daemon/api.h)
 * driven without sockets over a daemon without workers: every refusal is
 * a 4xx with a JSON body carrying "error" and "message" (wrong methods,
 * bad JSON, unknown ids, paths and names, a body too large);
 * GET /v1/instances (state, last job, next run), GET /v1/schedules and
 * POST /v1/schedules/{name}/pause|resume; GET /v1/events hands out a
 * subscriber whose first event is a snapshot and that sees an entry
 * queued and cancelled, up to the subscriber bound (503 beyond).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/config_fixture.h"
#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "store/schedules.h"

/* A daemon over a database with instance prod (an ended job of it),
 * instance idle, one target, and a schedule "nightly" of prod. */
struct api_fixture {
    struct fixture f;
    struct daemon d;
};

static int api_setup(void **state)
{
    struct fixture *base = NULL;
    if (setup((void **)&base) != 0)
        return -1;
    struct api_fixture *a = calloc(1, sizeof(*a));
    a->f = *base;
    free(base);
    struct config_db *db = open_db(&a->f);
    const char *insts[] = {"prod", "idle"};
    for (size_t i = 0; i < 2; i++) {
        struct config_instance inst;
        fill_instance(&inst, insts[i]);
        assert_int_equal(config_instance_add(db, &inst, NULL), MFB_OK);
        config_instance_free(&inst);
    }
    struct config_target t;
    fill_target(&t, "offsite");
    assert_int_equal(config_target_add(db, &t, NULL), MFB_OK);
    config_target_free(&t);
    struct config_schedule s;
    config_schedule_init(&s);
    snprintf(s.name, sizeof(s.name), "nightly");
    snprintf(s.instance, sizeof(s.instance), "prod");
    assert_int_equal(config_str_set(&s.cron, "0 3 * * *", NULL), MFB_OK);
    assert_int_equal(config_schedule_add(db, &s, NULL), MFB_OK);
    config_schedule_free(&s);
    add_job(db, "prod", "offsite", JOB_STATUS_OK, 1700000000000, NULL);
    struct mfb_error err = {0};
    assert_int_equal(daemon_init(&a->d, db, 1, &err), MFB_OK);
    *state = a;
    return 0;
}

static int api_teardown(void **state)
{
    struct api_fixture *a = *state;
    daemon_destroy(&a->d);
    struct fixture *base = malloc(sizeof(*base));
    *base = a->f;
    free(a);
    return teardown((void **)&base);
}

/* One request; returns the parsed answer (NULL when it has no body) and
 * its status, and checks that every refusal is JSON error + message. */
static json_t *request(struct daemon *d, const char *method, const char *url, const char *body,
                       unsigned *status, struct event_sub **events)
{
    bool decided = false;
    struct daemon_api_call *c = daemon_api_begin(d, method, url, &decided);
    assert_non_null(c);
    if (!decided && body != NULL)
        assert_true(daemon_api_body(c, body, strlen(body)));
    struct daemon_api_response r;
    daemon_api_finish(c, &r);
    daemon_api_call_free(c);
    *status = r.status;
    json_t *o = r.body ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    if (r.body != NULL)
        assert_non_null(o);
    if (r.status >= 400) {
        assert_non_null(o);
        assert_true(json_is_string(json_object_get(o, "error")));
        assert_true(json_is_string(json_object_get(o, "message")));
        assert_null(r.events);
    }
    if (r.status == 405)
        assert_non_null(r.allow);
    if (events != NULL)
        *events = r.events;
    else
        assert_null(r.events);
    free(r.body);
    return o;
}

static void expect_error(struct daemon *d, const char *method, const char *url, const char *body,
                         unsigned status, const char *code)
{
    unsigned got = 0;
    json_t *o = request(d, method, url, body, &got, NULL);
    if (got != status || strcmp(json_string_value(json_object_get(o, "error")), code) != 0)
        fail_msg("%s %s: %u %s, wanted %u %s", method, url, got,
                 json_string_value(json_object_get(o, "error")), status, code);
    json_decref(o);
}

static void test_refusals_are_4xx_json(void **state)
{
    struct api_fixture *a = *state;
    struct daemon *d = &a->d;
    expect_error(d, "DELETE", "/v1/jobs", NULL, 405, "method_not_allowed");
    expect_error(d, "GET", "/v1/jobs/1/cancel", NULL, 405, "method_not_allowed");
    expect_error(d, "POST", "/v1/health", NULL, 405, "method_not_allowed");
    expect_error(d, "POST", "/v1/events", NULL, 405, "method_not_allowed");
    expect_error(d, "PUT", "/v1/instances", NULL, 405, "method_not_allowed");
    expect_error(d, "POST", "/v1/schedules", NULL, 405, "method_not_allowed");
    expect_error(d, "GET", "/v1/schedules/nightly/pause", NULL, 405, "method_not_allowed");
    expect_error(d, "POST", "/v1/jobs", "{not json", 400, "bad_json");
    expect_error(d, "POST", "/v1/jobs", "[1]", 400, "bad_json");
    expect_error(d, "POST", "/v1/jobs", "", 400, "bad_json");
    expect_error(d, "POST", "/v1/jobs", "{\"instance\": 7}", 400, "bad_request");
    expect_error(d, "POST", "/v1/jobs", "{\"instance\": \"prod\", \"trigger\": \"retry\"}", 400,
                 "bad_request");
    expect_error(d, "POST", "/v1/jobs", "{\"instance\": \"nosuch\"}", 404, "not_found");
    expect_error(d, "POST", "/v1/jobs", "{\"instance\": \"prod\", \"target\": \"nosuch\"}", 404,
                 "not_found");
    expect_error(d, "GET", "/v1/jobs/999999", NULL, 404, "not_found");
    expect_error(d, "GET", "/v1/jobs/0", NULL, 404, "not_found");
    expect_error(d, "GET", "/v1/jobs/abc", NULL, 404, "not_found");
    expect_error(d, "GET", "/v1/jobs/99999999999999999999", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/jobs/999999/cancel", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/jobs/1/nothing", NULL, 404, "not_found");
    expect_error(d, "GET", "/v1/nothing", NULL, 404, "not_found");
    expect_error(d, "GET", "", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/schedules/nosuch/pause", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/schedules/nightly/stop", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/schedules/nightly", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/schedules//pause", NULL, 404, "not_found");
    /* a name that is not UTF-8 cannot be told back in JSON: still 404 JSON */
    expect_error(d, "POST", "/v1/schedules/nightl\xff\xfe/pause", NULL, 404, "not_found");
    expect_error(d, "POST", "/v1/schedules/a%20b/pause", NULL, 404, "not_found");
    char *big = malloc(DAEMON_API_BODY_MAX + 2);
    memset(big, 'x', DAEMON_API_BODY_MAX + 1);
    big[DAEMON_API_BODY_MAX + 1] = '\0';
    expect_error(d, "POST", "/v1/jobs", big, 413, "too_large");
    free(big);
    /* a cancelled entry cannot be cancelled again */
    unsigned st = 0;
    json_t *o = request(d, "POST", "/v1/jobs", "{\"instance\": \"prod\"}", &st, NULL);
    assert_int_equal(st, 201);
    char url[64];
    snprintf(url, sizeof(url), "/v1/jobs/%lld/cancel",
             (long long)json_integer_value(json_object_get(o, "id")));
    json_decref(o);
    json_decref(request(d, "POST", url, NULL, &st, NULL));
    assert_int_equal(st, 202);
    expect_error(d, "POST", url, NULL, 409, "not_running");
}

static json_t *find(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            return v;
    }
    fail_msg("no %s", name);
    return NULL;
}

static void test_instances_and_schedules(void **state)
{
    struct api_fixture *a = *state;
    struct daemon *d = &a->d;
    unsigned st = 0;
    json_t *o = request(d, "GET", "/v1/instances", NULL, &st, NULL);
    assert_int_equal(st, 200);
    json_t *prod = find(json_object_get(o, "instances"), "prod");
    assert_string_equal(json_string_value(json_object_get(prod, "state")), "idle");
    assert_true(json_is_null(json_object_get(prod, "queue_id")));
    json_t *last = json_object_get(prod, "last_job");
    assert_string_equal(json_string_value(json_object_get(last, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(last, "ended_ms")), 1700000000000);
    json_t *next = json_object_get(prod, "next_run");
    assert_string_equal(json_string_value(json_object_get(next, "schedule")), "nightly");
    assert_true(json_integer_value(json_object_get(next, "at_ms")) > 0);
    json_t *idle = find(json_object_get(o, "instances"), "idle");
    assert_true(json_is_null(json_object_get(idle, "last_job")));
    assert_true(json_is_null(json_object_get(idle, "next_run")));
    json_decref(o);

    /* queued: the instance says so, with the entry */
    o = request(d, "POST", "/v1/jobs", "{\"instance\": \"prod\"}", &st, NULL);
    json_int_t qid = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    o = request(d, "GET", "/v1/instances", NULL, &st, NULL);
    prod = find(json_object_get(o, "instances"), "prod");
    assert_string_equal(json_string_value(json_object_get(prod, "state")), "queued");
    assert_int_equal(json_integer_value(json_object_get(prod, "queue_id")), qid);
    json_decref(o);

    o = request(d, "GET", "/v1/schedules", NULL, &st, NULL);
    assert_int_equal(st, 200);
    json_t *s = find(json_object_get(o, "schedules"), "nightly");
    assert_int_equal(json_array_size(json_object_get(s, "next_runs")), 3);
    assert_false(json_is_true(json_object_get(s, "paused")));
    json_decref(o);

    o = request(d, "POST", "/v1/schedules/nightly/pause", NULL, &st, NULL);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(o, "paused")));
    json_decref(o);
    /* a paused schedule gives the instance no next run */
    o = request(d, "GET", "/v1/instances", NULL, &st, NULL);
    assert_true(
        json_is_null(json_object_get(find(json_object_get(o, "instances"), "prod"), "next_run")));
    json_decref(o);
    o = request(d, "POST", "/v1/schedules/nightly/resume", NULL, &st, NULL);
    assert_int_equal(st, 200);
    assert_false(json_is_true(json_object_get(o, "paused")));
    json_decref(o);
}

/* The next event's kind and JSON (NULL for a snapshot). */
static json_t *next_event(struct event_sub *sub, enum event_kind kind)
{
    struct event ev;
    uint64_t wait = 0;
    assert_int_equal(event_sub_take(sub, 0, &ev, &wait), EVENT_TAKEN);
    assert_int_equal(ev.kind, kind);
    json_t *o = ev.data ? json_loads(ev.data, 0, NULL) : NULL;
    free(ev.data);
    return o;
}

static void test_events_subscriber(void **state)
{
    struct api_fixture *a = *state;
    struct daemon *d = &a->d;
    unsigned st = 0;
    struct event_sub *sub = NULL;
    json_t *o = request(d, "GET", "/v1/events", NULL, &st, &sub);
    assert_int_equal(st, 200);
    assert_null(o);
    assert_non_null(sub);
    next_event(sub, EVENT_SNAPSHOT);
    struct event snap = {.kind = EVENT_SNAPSHOT};
    char *text = daemon_api_event_text(d, &snap);
    assert_non_null(text);
    assert_memory_equal(text, "event: snapshot\ndata: {\"jobs\":", 29);
    free(text);

    o = request(d, "POST", "/v1/jobs", "{\"instance\": \"prod\"}", &st, NULL);
    json_int_t qid = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    json_t *e = next_event(sub, EVENT_STATE);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), qid);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "queued");
    json_decref(e);
    char url[64];
    snprintf(url, sizeof(url), "/v1/jobs/%lld/cancel", (long long)qid);
    json_decref(request(d, "POST", url, NULL, &st, NULL));
    e = next_event(sub, EVENT_STATE);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "cancelled");
    json_decref(e);

    /* the bound: one subscriber is there, EVENT_SUBSCRIBERS_MAX - 1 more */
    struct event_sub *more[EVENT_SUBSCRIBERS_MAX];
    for (int i = 0; i < EVENT_SUBSCRIBERS_MAX - 1; i++) {
        json_decref(request(d, "GET", "/v1/events", NULL, &st, &more[i]));
        assert_int_equal(st, 200);
    }
    o = request(d, "GET", "/v1/health", NULL, &st, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "event_clients")),
                     EVENT_SUBSCRIBERS_MAX);
    json_decref(o);
    struct event_sub *none = NULL;
    o = request(d, "GET", "/v1/events", NULL, &st, &none);
    assert_int_equal(st, 503);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "busy");
    json_decref(o);
    for (int i = 0; i < EVENT_SUBSCRIBERS_MAX - 1; i++)
        event_hub_unsubscribe(more[i]);
    event_hub_unsubscribe(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals_are_4xx_json, api_setup, api_teardown),
        cmocka_unit_test_setup_teardown(test_instances_and_schedules, api_setup, api_teardown),
        cmocka_unit_test_setup_teardown(test_events_subscriber, api_setup, api_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
