/*
 * silence.c - the silence alarms' decision (see silence.h).
 */
#include "alert/silence.h"

uint64_t silence_repeat_ms(uint64_t every_ms)
{
    uint64_t r = every_ms / 4;
    if (r < SILENCE_REPEAT_MIN_MS)
        r = SILENCE_REPEAT_MIN_MS;
    if (r > SILENCE_REPEAT_MAX_MS)
        r = SILENCE_REPEAT_MAX_MS;
    return r;
}

uint64_t silence_poll_ms(uint64_t every_ms, uint64_t current)
{
    uint64_t p = every_ms / 4;
    if (p < SILENCE_POLL_MIN_MS)
        p = SILENCE_POLL_MIN_MS;
    return p < current ? p : current;
}

enum silence_action silence_decide(uint64_t every_ms, int64_t last_ms, int64_t base_ms,
                                   int64_t now_ms, bool firing, int64_t last_sent_ms)
{
    int64_t from = last_ms > 0 ? last_ms : base_ms;
    bool overdue = now_ms - from > (int64_t)every_ms;
    if (!overdue)
        return firing ? SILENCE_RECOVER : SILENCE_NOTHING;
    if (!firing)
        return SILENCE_FIRE;
    /* a clock that went back counts as "just sent" */
    if (now_ms - last_sent_ms >= (int64_t)silence_repeat_ms(every_ms))
        return SILENCE_REPEAT;
    return SILENCE_NOTHING;
}
