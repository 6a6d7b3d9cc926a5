/*
 * backoff.h - when to try a failed request again, and how long to wait.
 *
 * The schedule is exponential with "equal jitter": the n-th retry waits
 * d/2 + random(0..d/2) where d = min(cap, base * 2^(n-1)). Half of the
 * delay is fixed, so a burst of failures still spaces the retries out; the
 * other half is random, so N connections that failed together do not all
 * come back in the same millisecond. A server's Retry-After raises the
 * delay (never beyond the cap). Two bounds stop the loop: the number of
 * attempts and the total time since the first attempt; whichever comes
 * first ends it.
 *
 * Everything here is a pure function of its inputs (time and randomness are
 * passed in), so the schedule is unit tested exactly.
 */
#ifndef MFB_TRANSFER_BACKOFF_H
#define MFB_TRANSFER_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct backoff_policy {
    uint64_t base_ms;      /* d before the first retry */
    uint64_t max_delay_ms; /* cap of one delay */
    unsigned max_attempts; /* attempts in all, the first one included (>= 1) */
    uint64_t max_total_ms; /* no attempt starts later than this after the first */
};

/* 500 ms doubling to 60 s, 12 attempts, 10 minutes: rides out a receiver
 * restart or a short network outage, and still ends in bounded time. */
#define BACKOFF_POLICY_DEFAULT                                                                     \
    (struct backoff_policy)                                                                        \
    {                                                                                              \
        .base_ms = 500, .max_delay_ms = 60000, .max_attempts = 12, .max_total_ms = 600000          \
    }

/* The delay before retry number `retry` (1 = the first retry), given 64
 * random bits. */
uint64_t backoff_delay_ms(const struct backoff_policy *policy, unsigned retry, uint64_t random);

/* The retry loop of one operation. */
struct backoff {
    struct backoff_policy policy;
    unsigned attempts;   /* attempts made so far */
    uint64_t started_ms; /* monotonic time of the first attempt */
    uint64_t rng;        /* splitmix64 state */
};

/* Starts a loop whose first attempt begins at now_ms. seed seeds the jitter. */
void backoff_start(struct backoff *b, const struct backoff_policy *policy, uint64_t now_ms,
                   uint64_t seed);

/* Called after a failed attempt that may be retried. Returns true and the
 * delay to wait when another attempt is allowed; false when the attempts or
 * the time are used up. retry_after_ms is the server's Retry-After (0 when
 * none). */
bool backoff_next(struct backoff *b, uint64_t now_ms, uint64_t retry_after_ms, uint64_t *delay_ms);

/* Forgets failures so far (a download that made progress starts afresh). */
void backoff_reset(struct backoff *b, uint64_t now_ms);

/* Whether an HTTP status is worth retrying: 408, 429 and 5xx; 507 only for
 * a chunk upload (the disk may be freed), since at upload creation it means
 * "no room for this size". */
bool backoff_http_retryable(long status, bool chunk_put);

/* Parses a Retry-After value in seconds ("120"); HTTP dates are ignored.
 * Returns milliseconds, or 0 when absent or unparsable. */
uint64_t backoff_parse_retry_after(const char *value);

/* A random 64-bit seed from the OS (falls back to time and address bits). */
uint64_t backoff_seed(void);

#endif
