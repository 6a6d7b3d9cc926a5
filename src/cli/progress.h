/*
 * progress.h - the terminal progress line of `mfb push` and `mfb fetch`:
 * bytes, rate and ETA on one line of stderr, redrawn in place a few times a
 * second. It is one transfer_observer among possible others, and it is
 * silent when stderr is not a terminal (logs and pipes get no carriage
 * returns).
 */
#ifndef MFB_CLI_PROGRESS_H
#define MFB_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rate.h"
#include "transfer/observer.h"

struct progress_bar {
    bool enabled;
    FILE *out;
    bool drawn;
    uint64_t last_draw_ms;
    struct rate_window rate; /* one sample per draw: the rate over the last seconds */
};

/* enabled when stderr is a terminal. */
void progress_bar_init(struct progress_bar *bar);

struct transfer_observer progress_bar_observer(struct progress_bar *bar);

/* Formats the line for an event (exposed for tests). rate is bytes/s. */
void progress_bar_format(const struct transfer_event *ev, double rate, char *buf, size_t len);

#endif
