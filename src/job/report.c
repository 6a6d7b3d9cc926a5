/*
 * report.c - per-instance aggregation of job records (see report.h).
 *
 * Two passes: sort the input by (instance, start) so each instance is one
 * run of records and "first" and "last" success are simply the ends of that
 * run, then fold each run. Averages are integer means; the causes list is a
 * small linear table (a period has few distinct causes).
 */
#include "job/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_instance_start(const void *a, const void *b)
{
    const struct job_record *x = ((const struct report_input *)a)->job;
    const struct job_record *y = ((const struct report_input *)b)->job;
    int c = strcmp(x->instance, y->instance);
    if (c != 0)
        return c;
    if (x->started_ms != y->started_ms)
        return x->started_ms < y->started_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

bool report_counts_kind(const char *kind)
{
    return strcmp(kind, "restore") != 0 && strcmp(kind, "resume") != 0 &&
           strcmp(kind, "drill") != 0;
}

static int by_count(const void *a, const void *b)
{
    const struct report_cause *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->cause, y->cause);
}

static mfb_status add_cause(struct report_instance *r, const char *cause, struct mfb_error *err)
{
    for (size_t i = 0; i < r->cause_count; i++)
        if (strcmp(r->causes[i].cause, cause) == 0) {
            r->causes[i].count++;
            return MFB_OK;
        }
    struct report_cause *c = realloc(r->causes, (r->cause_count + 1) * sizeof(*c));
    if (c == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    r->causes = c;
    snprintf(c[r->cause_count].cause, sizeof(c->cause), "%s", cause);
    c[r->cause_count++].count = 1;
    return MFB_OK;
}

/* Folds the run jobs[0..n) of one instance into r. */
static mfb_status fold(const struct report_input *jobs, size_t n, struct report_instance *r,
                       struct mfb_error *err)
{
    snprintf(r->instance, sizeof(r->instance), "%s", jobs[0].job->instance);
    int64_t duration_sum = 0, downtime_sum = 0;
    size_t downtime_n = 0;
    bool have_first = false;
    uint64_t first_size = 0, last_size = 0;
    for (size_t i = 0; i < n; i++) {
        const struct job_record *j = jobs[i].job;
        if (j->status == JOB_STATUS_RUNNING || j->ended_ms <= 0)
            continue;
        r->jobs++;
        int64_t d = j->ended_ms - j->started_ms;
        d = d < 0 ? 0 : d;
        duration_sum += d;
        if (d > r->max_duration_ms)
            r->max_duration_ms = d;
        if (j->downtime_ms >= 0) {
            downtime_n++;
            downtime_sum += j->downtime_ms;
            if (j->downtime_ms > r->max_downtime_ms)
                r->max_downtime_ms = j->downtime_ms;
        }
        if (j->status == JOB_STATUS_OK) {
            r->ok++;
            if (j->ended_ms > r->last_success_ms)
                r->last_success_ms = j->ended_ms;
            r->total_size += j->bytes_out;
            if (!have_first) {
                have_first = true;
                first_size = j->bytes_out;
            }
            last_size = j->bytes_out;
            continue;
        }
        char cause[64];
        const char *step = jobs[i].failed_step;
        snprintf(cause, sizeof(cause), "%s %s", step && step[0] ? step : "-",
                 job_status_str(j->status));
        mfb_status st = add_cause(r, cause, err);
        if (st != MFB_OK)
            return st;
    }
    if (r->jobs > 0) {
        r->avg_duration_ms = duration_sum / (int64_t)r->jobs;
        r->success_rate = (double)r->ok / (double)r->jobs;
    }
    if (downtime_n > 0)
        r->avg_downtime_ms = downtime_sum / (int64_t)downtime_n;
    if (r->ok > 0)
        r->avg_size = r->total_size / r->ok;
    r->growth = (int64_t)last_size - (int64_t)first_size;
    if (r->cause_count > 1)
        qsort(r->causes, r->cause_count, sizeof(*r->causes), by_count);
    return MFB_OK;
}

mfb_status report_build(const struct report_input *jobs, size_t count, struct report_instance **out,
                        size_t *out_count, struct mfb_error *err)
{
    *out = NULL;
    *out_count = 0;
    if (count == 0)
        return MFB_OK;
    struct report_input *sorted = malloc(count * sizeof(*sorted));
    struct report_instance *list = calloc(count, sizeof(*list));
    mfb_status st = MFB_OK;
    size_t n = 0;
    if (sorted == NULL || list == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    memcpy(sorted, jobs, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), by_instance_start);
    for (size_t i = 0; i < count && st == MFB_OK;) {
        size_t end = i + 1;
        while (end < count && strcmp(sorted[end].job->instance, sorted[i].job->instance) == 0)
            end++;
        st = fold(sorted + i, end - i, &list[n++], err);
        i = end;
    }
done:
    free(sorted);
    if (st != MFB_OK) {
        report_free(list, n);
        return st;
    }
    *out = list;
    *out_count = n;
    return MFB_OK;
}

void report_free(struct report_instance *list, size_t count)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(list[i].causes);
    free(list);
}
