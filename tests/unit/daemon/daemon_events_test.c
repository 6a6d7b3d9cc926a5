/*
 * daemon_events_test.c - the live event stream's hub (daemon/events.h):
 * a snapshot first, state and progress in order, progress coalesced (the
 * newest figures win) and paced per job, a state event dropping the job's
 * waiting progress, a full ring dropping progress before state and
 * falling back to a snapshot, the subscriber bound, unsubscribe, close,
 * and publishers racing readers (run it under ThreadSanitizer: MFB_TSAN).
 */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/events.h"

/* Takes the next event at now and checks its kind, id and data. */
static void expect(struct event_sub *s, uint64_t now, enum event_kind kind, int64_t id,
                   const char *data)
{
    struct event ev;
    uint64_t wait = 0;
    assert_int_equal(event_sub_take(s, now, &ev, &wait), EVENT_TAKEN);
    assert_int_equal(ev.kind, kind);
    assert_int_equal(ev.id, id);
    if (data == NULL)
        assert_null(ev.data);
    else
        assert_string_equal(ev.data, data);
    free(ev.data);
}

static void expect_none(struct event_sub *s, uint64_t now, uint64_t wait_expected)
{
    struct event ev;
    uint64_t wait = 0;
    assert_int_equal(event_sub_take(s, now, &ev, &wait), EVENT_NONE);
    assert_int_equal(wait, wait_expected);
}

static void test_snapshot_first_then_events_in_order(void **state)
{
    (void)state;
    struct event_hub *h = event_hub_new(4);
    struct event_sub *s = event_hub_subscribe(h);
    assert_non_null(s);
    assert_int_equal(event_hub_subscribers(h), 1);
    /* published before the snapshot is taken: the snapshot covers it */
    event_hub_publish(h, EVENT_STATE, 1, "{\"q\":1}");
    expect(s, 1000, EVENT_SNAPSHOT, 0, NULL);
    expect_none(s, 1000, UINT64_MAX);
    event_hub_publish(h, EVENT_STATE, 1, "{\"s\":\"running\"}");
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"p\":1}");
    event_hub_publish(h, EVENT_STATE, 2, "{\"s\":\"queued\"}");
    expect(s, 1000, EVENT_STATE, 1, "{\"s\":\"running\"}");
    expect(s, 1000, EVENT_PROGRESS, 1, "{\"p\":1}");
    expect(s, 1000, EVENT_STATE, 2, "{\"s\":\"queued\"}");
    expect_none(s, 1000, UINT64_MAX);
    event_hub_unsubscribe(s);
    assert_int_equal(event_hub_subscribers(h), 0);
    /* no subscriber: publishing is a no-op */
    event_hub_publish(h, EVENT_STATE, 3, "{}");
    event_hub_free(h);
}

static void test_progress_coalesces_and_is_paced(void **state)
{
    (void)state;
    struct event_hub *h = event_hub_new(4);
    struct event_sub *s = event_hub_subscribe(h);
    expect(s, 0, EVENT_SNAPSHOT, 0, NULL);
    /* a slow reader: three reports of job 1, one of job 2 */
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"done\":10}");
    event_hub_publish(h, EVENT_PROGRESS, 2, "{\"done\":5}");
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"done\":20}");
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"done\":30}");
    uint64_t t = 10000;
    expect(s, t, EVENT_PROGRESS, 1, "{\"done\":30}");
    expect(s, t, EVENT_PROGRESS, 2, "{\"done\":5}");
    expect_none(s, t, UINT64_MAX);
    /* sooner than the interval: held, the next one replaces it */
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"done\":40}");
    expect_none(s, t + 100, EVENT_PROGRESS_INTERVAL_MS - 100);
    event_hub_publish(h, EVENT_PROGRESS, 1, "{\"done\":50}");
    /* a state event of another job passes the held one */
    event_hub_publish(h, EVENT_STATE, 3, "{\"s\":\"queued\"}");
    expect(s, t + 100, EVENT_STATE, 3, "{\"s\":\"queued\"}");
    expect_none(s, t + 200, EVENT_PROGRESS_INTERVAL_MS - 200);
    expect(s, t + EVENT_PROGRESS_INTERVAL_MS, EVENT_PROGRESS, 1, "{\"done\":50}");
    /* a state event of the job drops its waiting progress */
    event_hub_publish(h, EVENT_PROGRESS, 2, "{\"done\":6}");
    event_hub_publish(h, EVENT_STATE, 2, "{\"s\":\"done\"}");
    expect(s, t + 5000, EVENT_STATE, 2, "{\"s\":\"done\"}");
    expect_none(s, t + 5000, UINT64_MAX);
    assert_int_equal(event_sub_overflows(s), 0);
    event_hub_unsubscribe(s);
    event_hub_free(h);
}

static void test_full_ring_drops_progress_then_resyncs(void **state)
{
    (void)state;
    struct event_hub *h = event_hub_new(4);
    struct event_sub *s = event_hub_subscribe(h);
    struct event_sub *fast = event_hub_subscribe(h);
    expect(s, 0, EVENT_SNAPSHOT, 0, NULL);
    expect(fast, 0, EVENT_SNAPSHOT, 0, NULL);
    char json[32];
    /* one progress event, then state events up to the ring's size and
     * one more: the progress event goes, every state event stays */
    event_hub_publish(h, EVENT_PROGRESS, 1000, "{\"p\":1}");
    for (int i = 1; i <= EVENT_RING; i++) {
        snprintf(json, sizeof(json), "{\"n\":%d}", i);
        event_hub_publish(h, EVENT_STATE, i, json);
        if (i == 1)
            expect(fast, 0, EVENT_PROGRESS, 1000, "{\"p\":1}");
        expect(fast, 0, EVENT_STATE, i, json); /* a reader that keeps up loses nothing */
    }
    assert_int_equal(event_sub_overflows(s), 0);
    for (int i = 1; i <= EVENT_RING; i++) {
        snprintf(json, sizeof(json), "{\"n\":%d}", i);
        expect(s, 0, EVENT_STATE, i, json);
    }
    /* a ring full of state events cannot take another: a fresh snapshot */
    for (int i = 1; i <= EVENT_RING + 1; i++)
        event_hub_publish(h, EVENT_STATE, i, "{}");
    assert_int_equal(event_sub_overflows(s), 1);
    expect(s, 0, EVENT_SNAPSHOT, 0, NULL);
    expect_none(s, 0, UINT64_MAX);
    /* and it follows on from there */
    event_hub_publish(h, EVENT_STATE, 7, "{\"after\":1}");
    expect(s, 0, EVENT_STATE, 7, "{\"after\":1}");
    event_hub_unsubscribe(s);
    event_hub_unsubscribe(fast);
    event_hub_free(h);
}

static void test_subscriber_bound_and_close(void **state)
{
    (void)state;
    struct event_hub *h = event_hub_new(2);
    struct event_sub *a = event_hub_subscribe(h), *b = event_hub_subscribe(h);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(event_hub_subscribe(h));
    event_hub_unsubscribe(a);
    a = event_hub_subscribe(h);
    assert_non_null(a);
    event_hub_close(h);
    struct event ev;
    uint64_t wait;
    assert_int_equal(event_sub_take(a, 0, &ev, &wait), EVENT_CLOSED);
    assert_int_equal(event_sub_wait(b, 60000, &ev), EVENT_CLOSED);
    event_hub_unsubscribe(a);
    event_hub_unsubscribe(b);
    assert_null(event_hub_subscribe(h));
    event_hub_free(h);
    assert_string_equal(event_kind_name(EVENT_SNAPSHOT), "snapshot");
    assert_string_equal(event_kind_name(EVENT_PROGRESS), "progress");
    assert_string_equal(event_kind_name(EVENT_STATE), "state");
}

/* Publishers (as workers) race readers that wait, take and unsubscribe. */
#define RACE_EVENTS 2000

static void *race_publisher(void *arg)
{
    struct event_hub *h = arg;
    for (int i = 0; i < RACE_EVENTS; i++)
        event_hub_publish(h, i % 5 == 0 ? EVENT_STATE : EVENT_PROGRESS, i % 3 + 1, "{\"x\":1}");
    return NULL;
}

static void *race_reader(void *arg)
{
    struct event_hub *h = arg;
    for (int round = 0; round < 20; round++) {
        struct event_sub *s = event_hub_subscribe(h);
        if (s == NULL)
            continue;
        for (int i = 0; i < 50; i++) {
            struct event ev;
            if (event_sub_wait(s, 1, &ev) == EVENT_TAKEN)
                free(ev.data);
        }
        event_hub_unsubscribe(s);
    }
    return NULL;
}

static void test_publishers_race_readers(void **state)
{
    (void)state;
    struct event_hub *h = event_hub_new(EVENT_SUBSCRIBERS_MAX);
    pthread_t pub[2], rd[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, race_reader, h), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&pub[i], NULL, race_publisher, h), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(pub[i], NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(rd[i], NULL);
    assert_int_equal(event_hub_subscribers(h), 0);
    event_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_first_then_events_in_order),
        cmocka_unit_test(test_progress_coalesces_and_is_paced),
        cmocka_unit_test(test_full_ring_drops_progress_then_resyncs),
        cmocka_unit_test(test_subscriber_bound_and_close),
        cmocka_unit_test(test_publishers_race_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
