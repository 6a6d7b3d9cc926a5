/*
 * clock.c - the monotonic clock, deadlines, sleeps and wall-clock time (see clock.h).
 */
#include "common/clock.h"

#include "common/cancel.h"

#include <errno.h>
#include <time.h>

uint64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct timespec clock_deadline_ts(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

uint64_t clock_left_ms(uint64_t deadline_ms)
{
    uint64_t now = clock_now_ms();
    return now >= deadline_ms ? 0 : deadline_ms - now;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_exact_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool clock_sleep_ms(uint64_t ms, const atomic_bool *cancel)
{
    uint64_t deadline = clock_now_ms() + ms;
    for (;;) {
        if (cancel_flag_raised(cancel))
            return false;
        uint64_t left = clock_left_ms(deadline);
        if (left == 0)
            return true;
        sleep_exact_ms(cancel != NULL && left > CLOCK_CANCEL_POLL_MS ? CLOCK_CANCEL_POLL_MS : left);
    }
}
