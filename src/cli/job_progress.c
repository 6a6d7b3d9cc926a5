/*
 * job_progress.c - terminal and JSON displays of a job (see
 * job_progress.h).
 */
#include "cli/job_progress.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"

mfb_status job_progress_mode_parse(const char *text, enum job_progress_mode *mode,
                                   struct mfb_error *err)
{
    if (text == NULL || strcmp(text, "auto") == 0)
        *mode = isatty(STDERR_FILENO) == 1 ? JOB_PROGRESS_TTY : JOB_PROGRESS_NONE;
    else if (strcmp(text, "tty") == 0)
        *mode = JOB_PROGRESS_TTY;
    else if (strcmp(text, "json") == 0)
        *mode = JOB_PROGRESS_JSON;
    else if (strcmp(text, "none") == 0)
        *mode = JOB_PROGRESS_NONE;
    else {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid --progress '%s'", text);
        mfb_error_hint(err, "use auto, tty, json or none");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

void job_display_format(const struct job_progress *p, char *buf, size_t len)
{
    char done[32], total[32], rate[32], d[32];
    int n = snprintf(buf, len, "%-9s", job_step_name(p->step));
    if (n < 0 || (size_t)n >= len)
        return;
    size_t used = (size_t)n;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int k = snprintf(buf + used, len - used, __VA_ARGS__);                                     \
        if (k > 0 && (size_t)k < len - used)                                                       \
            used += (size_t)k;                                                                     \
    } while (0)
    if (p->bytes_total > 0) {
        unsigned pct =
            (unsigned)(p->bytes_done >= p->bytes_total ? 100
                                                       : p->bytes_done * 100 / p->bytes_total);
        ADD(" %s / %s %3u%%", format_size(p->bytes_done, done, sizeof(done)),
            format_size(p->bytes_total, total, sizeof(total)), pct);
    } else if (p->bytes_done > 0) {
        ADD(" %s", format_size(p->bytes_done, done, sizeof(done)));
    }
    if (p->rate > 0)
        ADD("  %s/s", format_size((uint64_t)p->rate, rate, sizeof(rate)));
    if (p->eta_ms >= 0)
        ADD("  ETA %s", format_duration_ms((uint64_t)p->eta_ms, d, sizeof(d)));
    if (p->step == JOB_STEP_ARCHIVE && p->upload_bytes > 0)
        ADD("  sent %s", format_size(p->upload_bytes, done, sizeof(done)));
    if (p->server_down)
        ADD("  server DOWN %s", format_duration_ms(p->downtime_ms, d, sizeof(d)));
    else if (p->downtime_ms > 0)
        ADD("  downtime %s", format_duration_ms(p->downtime_ms, d, sizeof(d)));
#undef ADD
}

static void end_line(struct job_display *d)
{
    if (d->line_open) {
        fprintf(d->out, "\r\033[K");
        d->line_open = false;
    }
}

static void notify_tty(void *ctx, const struct job_progress *p)
{
    struct job_display *d = ctx;
    char line[512], dur[32];
    switch (p->kind) {
    case JOB_PROGRESS_STEP:
        if (!p->step_done) {
            job_display_format(p, line, sizeof(line));
            end_line(d);
            fprintf(d->out, "%s\033[K", line);
            d->line_open = true;
            break;
        }
        end_line(d);
        fprintf(d->out, "  %-9s done in %s%s\n", job_step_name(p->step),
                format_duration_ms(p->step_ms, dur, sizeof(dur)),
                p->server_down ? "   (server down)" : "");
        break;
    case JOB_PROGRESS_BYTES:
        job_display_format(p, line, sizeof(line));
        fprintf(d->out, "\r%s\033[K", line);
        d->line_open = true;
        break;
    case JOB_PROGRESS_MESSAGE:
        end_line(d);
        fprintf(d->out, "%s%s\n",
                p->level == JOB_LEVEL_ERROR  ? "  error: "
                : p->level == JOB_LEVEL_WARN ? "  warning: "
                                             : "  ",
                p->message);
        break;
    case JOB_PROGRESS_DONE:
        end_line(d);
        fprintf(d->out, "job %lld %s after %s", (long long)p->job_id, job_status_str(p->status),
                format_duration_ms(p->elapsed_ms, dur, sizeof(dur)));
        if (p->server_down)
            fprintf(d->out, "; the server is still DOWN (%s)",
                    format_duration_ms(p->downtime_ms, dur, sizeof(dur)));
        else if (p->downtime_ms > 0)
            fprintf(d->out, ", downtime %s", format_duration_ms(p->downtime_ms, dur, sizeof(dur)));
        fprintf(d->out, "\n");
        break;
    }
    fflush(d->out);
}

char *job_progress_json(const struct job_progress *p)
{
    static const char *const kinds[] = {"step", "progress", "message", "done"};
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(kinds[p->kind]));
    json_object_set_new(o, "job_id", json_integer(p->job_id));
    json_object_set_new(o, "instance", json_string(p->instance ? p->instance : ""));
    json_object_set_new(o, "step", json_string(job_step_name(p->step)));
    if (p->kind == JOB_PROGRESS_STEP) {
        json_object_set_new(o, "step_done", json_boolean(p->step_done));
        if (p->step_done)
            json_object_set_new(o, "step_ms", json_integer((json_int_t)p->step_ms));
    }
    json_object_set_new(o, "elapsed_ms", json_integer((json_int_t)p->elapsed_ms));
    json_object_set_new(o, "bytes_done", json_integer((json_int_t)p->bytes_done));
    json_object_set_new(o, "bytes_total",
                        p->bytes_total ? json_integer((json_int_t)p->bytes_total) : json_null());
    json_object_set_new(o, "upload_bytes", json_integer((json_int_t)p->upload_bytes));
    json_object_set_new(o, "rate", json_integer((json_int_t)p->rate));
    json_object_set_new(o, "eta_ms", p->eta_ms >= 0 ? json_integer(p->eta_ms) : json_null());
    json_object_set_new(o, "server_down", json_boolean(p->server_down));
    json_object_set_new(o, "downtime_ms", json_integer((json_int_t)p->downtime_ms));
    if (p->kind == JOB_PROGRESS_MESSAGE) {
        json_object_set_new(o, "level", json_string(job_level_str(p->level)));
        json_object_set_new(o, "message", json_string(p->message ? p->message : ""));
    }
    if (p->kind == JOB_PROGRESS_DONE) {
        json_object_set_new(o, "status", json_string(job_status_str(p->status)));
        json_object_set_new(o, "error", p->error ? json_string(p->error) : json_null());
        json_object_set_new(o, "hint", p->hint ? json_string(p->hint) : json_null());
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void notify_json(void *ctx, const struct job_progress *p)
{
    struct job_display *d = ctx;
    char *text = job_progress_json(p);
    if (text) {
        fprintf(d->out, "%s\n", text);
        fflush(d->out);
    }
    free(text);
}

void job_display_init(struct job_display *d, enum job_progress_mode mode)
{
    memset(d, 0, sizeof(*d));
    d->mode = mode;
    d->out = mode == JOB_PROGRESS_JSON ? stdout : stderr;
}

size_t job_display_observer(struct job_display *d, struct job_observer *obs)
{
    if (d->mode == JOB_PROGRESS_NONE)
        return 0;
    obs->ctx = d;
    obs->notify = d->mode == JOB_PROGRESS_JSON ? notify_json : notify_tty;
    return 1;
}
