/*
 * backoff.c - the retry schedule (see backoff.h).
 */
#include "transfer/backoff.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t backoff_delay_ms(const struct backoff_policy *policy, unsigned retry, uint64_t random)
{
    if (retry == 0)
        return 0;
    uint64_t d = policy->base_ms;
    for (unsigned i = 1; i < retry && d < policy->max_delay_ms; i++)
        d *= 2;
    if (d > policy->max_delay_ms)
        d = policy->max_delay_ms;
    uint64_t half = d / 2;
    return (d - half) + random % (half + 1);
}

void backoff_start(struct backoff *b, const struct backoff_policy *policy, uint64_t now_ms,
                   uint64_t seed)
{
    b->policy = *policy;
    if (b->policy.max_attempts == 0)
        b->policy.max_attempts = 1;
    b->attempts = 1;
    b->started_ms = now_ms;
    b->rng = seed;
}

bool backoff_next(struct backoff *b, uint64_t now_ms, uint64_t retry_after_ms, uint64_t *delay_ms)
{
    *delay_ms = 0;
    if (b->attempts >= b->policy.max_attempts)
        return false;
    uint64_t delay = backoff_delay_ms(&b->policy, b->attempts, splitmix64(&b->rng));
    if (retry_after_ms > delay)
        delay = retry_after_ms < b->policy.max_delay_ms ? retry_after_ms : b->policy.max_delay_ms;
    uint64_t elapsed = now_ms >= b->started_ms ? now_ms - b->started_ms : 0;
    if (elapsed + delay > b->policy.max_total_ms)
        return false;
    b->attempts++;
    *delay_ms = delay;
    return true;
}

void backoff_reset(struct backoff *b, uint64_t now_ms)
{
    b->attempts = 1;
    b->started_ms = now_ms;
}

bool backoff_http_retryable(long status, bool chunk_put)
{
    if (status == 408 || status == 429)
        return true;
    if (status == 507)
        return chunk_put;
    return status >= 500 && status <= 599;
}

uint64_t backoff_parse_retry_after(const char *value)
{
    if (value == NULL)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value < '0' || *value > '9')
        return 0;
    char *end;
    unsigned long long s = strtoull(value, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (*end != '\0' || s > 86400)
        return 0;
    return (uint64_t)s * 1000;
}

uint64_t backoff_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)&seed;
    }
    return seed;
}
