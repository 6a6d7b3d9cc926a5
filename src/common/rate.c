/*
 * rate.c - the transfer rate over a window of samples (see rate.h).
 */
#include "common/rate.h"

#include <assert.h>
#include <string.h>

void rate_window_reset(struct rate_window *w, uint64_t window_ms)
{
    memset(w, 0, sizeof(*w));
    w->window_ms = window_ms;
}

void rate_window_add(struct rate_window *w, uint64_t now_ms, uint64_t bytes)
{
    assert(w->next < RATE_SAMPLES && w->count <= RATE_SAMPLES);
    w->sample_ms[w->next] = now_ms;
    w->sample_bytes[w->next] = bytes;
    w->next = (w->next + 1) % RATE_SAMPLES;
    if (w->count < RATE_SAMPLES)
        w->count++;
}

double rate_window_rate(const struct rate_window *w)
{
    if (w->count < 2)
        return 0.0;
    unsigned newest = (w->next + RATE_SAMPLES - 1) % RATE_SAMPLES;
    unsigned first = (w->next + RATE_SAMPLES - w->count) % RATE_SAMPLES;
    unsigned oldest = newest;
    for (unsigned i = 0; i < w->count; i++) { /* the oldest sample within the window */
        unsigned k = (first + i) % RATE_SAMPLES;
        if (w->window_ms == 0 || w->sample_ms[newest] - w->sample_ms[k] <= w->window_ms) {
            oldest = k;
            break;
        }
    }
    uint64_t dt = w->sample_ms[newest] - w->sample_ms[oldest];
    if (dt == 0 || w->sample_bytes[newest] < w->sample_bytes[oldest])
        return 0.0;
    return (double)(w->sample_bytes[newest] - w->sample_bytes[oldest]) * 1000.0 / (double)dt;
}

int64_t rate_eta_ms(double rate, uint64_t done, uint64_t total)
{
    if (rate <= 0 || total == 0 || done > total)
        return -1;
    return (int64_t)((double)(total - done) * 1000.0 / rate);
}
