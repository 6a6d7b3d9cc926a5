/*
 * clock.c - monotonic time and cancellable sleeps (see clock.h).
 */
#include "mysql/clock.h"

#include <errno.h>
#include <time.h>

uint64_t mysql_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mysql_clock_left(uint64_t deadline_ms)
{
    uint64_t now = mysql_clock_ms();
    return now >= deadline_ms ? 0 : deadline_ms - now;
}

bool mysql_cancelled(const atomic_bool *cancel)
{
    return cancel != NULL && atomic_load(cancel);
}

static void sleep_exact_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool mysql_sleep_ms(uint64_t ms, const atomic_bool *cancel)
{
    uint64_t deadline = mysql_clock_ms() + ms;
    for (;;) {
        if (mysql_cancelled(cancel))
            return false;
        uint64_t left = mysql_clock_left(deadline);
        if (left == 0)
            return true;
        sleep_exact_ms(cancel != NULL && left > MYSQL_CANCEL_POLL_MS ? MYSQL_CANCEL_POLL_MS : left);
    }
}
