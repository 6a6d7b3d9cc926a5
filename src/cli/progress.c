/*
 * progress.c - the one-line terminal progress display (see progress.h).
 */
#include "cli/progress.h"

#include <string.h>
#include <unistd.h>

#include "common/parse.h"

#define DRAW_INTERVAL_MS 250

void progress_bar_init(struct progress_bar *bar)
{
    memset(bar, 0, sizeof(*bar));
    bar->out = stderr;
    bar->enabled = isatty(STDERR_FILENO) == 1;
}

/* Rate over the samples of the last few draws; the average until there
 * are two. */
static double sample_rate(struct progress_bar *bar, uint64_t now_ms, uint64_t bytes)
{
    rate_window_add(&bar->rate, now_ms, bytes);
    double rate = rate_window_rate(&bar->rate);
    if (rate == 0.0 && now_ms > 0)
        rate = (double)bytes * 1000.0 / (double)now_ms;
    return rate;
}

void progress_bar_format(const struct transfer_event *ev, double rate, char *buf, size_t len)
{
    char done[32], total[32], speed[32], eta[32] = "";
    format_size(ev->bytes_done, done, sizeof(done));
    format_size(rate > 0 ? (uint64_t)rate : 0, speed, sizeof(speed));
    if (ev->total_known) {
        format_size(ev->bytes_total, total, sizeof(total));
        unsigned pct = ev->bytes_total ? (unsigned)(ev->bytes_done * 100 / ev->bytes_total) : 100;
        int64_t left = rate_eta_ms(rate, ev->bytes_done, ev->bytes_total);
        if (left > 0) {
            char d[24];
            snprintf(eta, sizeof(eta), "  ETA %s",
                     format_duration_ms((uint64_t)left, d, sizeof(d)));
        }
        snprintf(buf, len, "%s %s  %s / %s  %3u%%  %s/s%s", ev->operation, ev->id, done, total, pct,
                 speed, eta);
    } else {
        snprintf(buf, len, "%s %s  %s  %s/s", ev->operation, ev->id, done, speed);
    }
}

static void notify(void *ctx, const struct transfer_event *ev)
{
    struct progress_bar *bar = ctx;
    if (!bar->enabled)
        return;
    bool final = ev->type == TRANSFER_EVENT_DONE;
    if (!final && ev->type != TRANSFER_EVENT_PROGRESS && ev->type != TRANSFER_EVENT_RETRY)
        return;
    if (!final && bar->drawn && ev->elapsed_ms - bar->last_draw_ms < DRAW_INTERVAL_MS)
        return;
    bar->last_draw_ms = ev->elapsed_ms;
    double rate = sample_rate(bar, ev->elapsed_ms, ev->bytes_done);
    if (final && ev->elapsed_ms > 0)
        rate = (double)ev->bytes_done * 1000.0 / (double)ev->elapsed_ms;
    char line[256];
    progress_bar_format(ev, rate, line, sizeof(line));
    const char *note = ev->type == TRANSFER_EVENT_RETRY ? "  (retrying)" : "";
    fprintf(bar->out, "\r%s%s\033[K%s", line, note, final ? "\n" : "");
    fflush(bar->out);
    bar->drawn = !final;
}

struct transfer_observer progress_bar_observer(struct progress_bar *bar)
{
    return (struct transfer_observer){.notify = notify, .ctx = bar};
}
