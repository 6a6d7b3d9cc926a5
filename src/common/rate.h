/*
 * rate.h - the transfer rate over the last seconds and the time left at
 * that rate, for every progress display (the terminal's bar, the job's
 * progress events).
 *
 * A small ring of (time, bytes) samples: the rate is the bytes between the
 * oldest sample still inside the window and the newest one, divided by the
 * time between them, so a stall shows within the window and a burst does
 * not make the estimate jump. Not thread-safe: its owner locks.
 */
#ifndef MFB_COMMON_RATE_H
#define MFB_COMMON_RATE_H

#include <stdint.h>

#define RATE_SAMPLES 16

struct rate_window {
    uint64_t window_ms; /* samples older than this (from the newest) are ignored; 0: all */
    uint64_t sample_ms[RATE_SAMPLES];
    uint64_t sample_bytes[RATE_SAMPLES];
    unsigned count;
    unsigned next;
};

/* Empties w and sets its window. */
void rate_window_reset(struct rate_window *w, uint64_t window_ms);

/* Records that bytes were done at now_ms (monotonic). */
void rate_window_add(struct rate_window *w, uint64_t now_ms, uint64_t bytes);

/* Bytes per second over the window; 0 with fewer than two samples apart in
 * time, or when the byte count went back. */
double rate_window_rate(const struct rate_window *w);

/* Milliseconds left to reach total at rate, or -1 when unknown (no rate, no
 * total, or done past it). */
int64_t rate_eta_ms(double rate, uint64_t done, uint64_t total);

#endif
