/*
 * overview.c - instances and schedules for the daemon's monitoring clients
 * (see overview.h).
 *
 * An instance's state is the daemon's view, not the database server's:
 * "running" while a queue entry of it runs (with the step from the
 * worker's progress copy), "queued" while one waits, else "idle". Its last
 * job is the newest ended one in the job log, whatever ran it (the daemon,
 * `mfb backup`, a restore), since that is the one a person asks about. Its
 * next run is the earliest next run time of its schedules that are not
 * paused.
 */
#include "daemon/overview.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "daemon/schedule_view.h"
#include "daemon/scheduler.h"
#include "store/config_records.h"
#include "store/job_log.h"
#include "store/job_queue.h"
#include "store/schedules.h"

static json_t *opt_int(int64_t v, bool present)
{
    return present ? json_integer(v) : json_null();
}

/* The newest ended job of instance, as JSON, or null. */
static json_t *last_job_json(struct daemon *d, const char *instance)
{
    struct job_log_filter f = {.instance = instance, .limit = 2};
    struct job_record *jobs = NULL;
    size_t count = 0;
    struct mfb_error err = {0};
    if (job_log_list(d->db, &f, &jobs, &count, &err) != MFB_OK)
        return json_null();
    json_t *o = json_null();
    for (size_t i = 0; i < count; i++) {
        const struct job_record *j = &jobs[i];
        if (j->ended_ms <= 0)
            continue; /* the running one: the instance's state says so */
        o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "id", (json_int_t)j->id,
                      "kind", j->kind, "status", job_status_str(j->status), "started_ms",
                      (json_int_t)j->started_ms, "ended_ms", (json_int_t)j->ended_ms, "bytes_in",
                      (json_int_t)j->bytes_in, "bytes_out", (json_int_t)j->bytes_out, "downtime_ms",
                      opt_int(j->downtime_ms, j->downtime_ms >= 0), "backup_name",
                      j->backup_name[0] ? json_string(j->backup_name) : json_null());
        if (o == NULL)
            o = json_null();
        break;
    }
    job_log_list_free(jobs, count);
    return o;
}

/* The earliest next run of the instance's schedules that are not paused. */
static json_t *next_run_json(const struct config_schedule *list, size_t count, const char *instance,
                             int64_t now)
{
    const struct config_schedule *best = NULL;
    struct schedule_next_runs best_runs = {0};
    for (size_t i = 0; i < count; i++) {
        if (list[i].paused || strcmp(list[i].instance, instance) != 0)
            continue;
        struct schedule_next_runs n;
        schedule_view_next_runs(&list[i], now, &n);
        if (n.count > 0 && (best == NULL || n.at[0] < best_runs.at[0])) {
            best = &list[i];
            best_runs = n;
        }
    }
    if (best == NULL)
        return json_null();
    json_t *o = json_pack("{s:s, s:I, s:s}", "schedule", best->name, "at_ms",
                          (json_int_t)best_runs.at[0] * 1000, "at", best_runs.when[0]);
    return o ? o : json_null();
}

json_t *overview_instances_json(struct daemon *d, struct mfb_error *err)
{
    struct config_instance *insts = NULL;
    struct config_schedule *scheds = NULL;
    struct queue_entry *queue = NULL;
    size_t ninst = 0, nsched = 0, nqueue = 0;
    json_t *out = NULL;
    if (config_instance_list(d->db, &insts, &ninst, err) != MFB_OK ||
        config_schedule_list(d->db, &scheds, &nsched, err) != MFB_OK ||
        job_queue_list(d->db, false, 0, &queue, &nqueue, err) != MFB_OK)
        goto done;
    int64_t now = (int64_t)(clock_wall_ms() / 1000);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < ninst; i++) {
        const char *name = insts[i].name;
        const char *state = "idle";
        const struct queue_entry *entry = NULL;
        for (size_t q = 0; q < nqueue; q++) {
            if (strcmp(queue[q].instance, name) != 0)
                continue;
            if (queue[q].state == QUEUE_RUNNING) {
                state = "running";
                entry = &queue[q];
                break;
            }
            state = "queued";
            entry = &queue[q];
        }
        json_t *step = json_null();
        struct daemon_progress p;
        if (entry && entry->state == QUEUE_RUNNING && daemon_running(d, entry->id, &p))
            step = json_string(job_step_name(p.step));
        json_t *o =
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", name, "state", state, "queue_id",
                      opt_int(entry ? entry->id : 0, entry != NULL), "step", step, "last_job",
                      last_job_json(d, name), "next_run", next_run_json(scheds, nsched, name, now));
        json_array_append_new(arr, o);
    }
    out = json_pack("{s:o?}", "instances", arr);
    if (out == NULL)
        mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
done:
    config_instance_list_free(insts, ninst);
    config_schedule_list_free(scheds, nsched);
    free(queue);
    return out;
}

json_t *overview_schedules_json(struct daemon *d, struct mfb_error *err)
{
    struct config_schedule *list = NULL;
    size_t count = 0;
    if (config_schedule_list(d->db, &list, &count, err) != MFB_OK)
        return NULL;
    int64_t now = (int64_t)(clock_wall_ms() / 1000);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++)
        json_array_append_new(arr, schedule_view_json(&list[i], now));
    config_schedule_list_free(list, count);
    json_t *out = json_pack("{s:o?}", "schedules", arr);
    if (out == NULL)
        mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    return out;
}

mfb_status overview_schedule_pause(struct daemon *d, const char *name, bool paused, json_t **out,
                                   struct mfb_error *err)
{
    *out = NULL;
    mfb_status st = config_schedule_set_paused(d->db, name, paused, err);
    if (st != MFB_OK)
        return st;
    scheduler_reload(d);
    struct config_schedule s;
    config_schedule_init(&s);
    st = config_schedule_get(d->db, name, &s, err);
    if (st == MFB_OK) {
        *out = schedule_view_json(&s, (int64_t)(clock_wall_ms() / 1000));
        if (*out == NULL)
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    config_schedule_free(&s);
    return st;
}
