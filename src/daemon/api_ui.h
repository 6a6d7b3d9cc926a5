/*
 * api_ui.h - the web UI's own API routes under /v1/ui/ (docs/ui.md), served
 * by the daemon's API (daemon/api.h) on the UNIX socket and, behind the
 * login, on the UI's listener: whatever a page shows, curl can fetch.
 *
 *   GET  /v1/ui/instances          GET /v1/instances (daemon/overview.h)
 *                                  and each instance's expectations: last
 *                                  good backup and drill, overdue
 *   GET  /v1/ui/jobs?..            the job log, newest first, paginated and
 *                                  filtered, by kind too (api_joblog.c)
 *   GET  /v1/ui/jobs/{id}          one job with its events (api_joblog.c)
 *   GET  /v1/ui/report?..          `mfb report`'s figures and one point per
 *                                  job, JSON or CSV (api_report.c)
 *   GET  /v1/ui/cron?expr=&tz=     a cron expression checked, next five runs
 *   GET  /v1/ui/schedules          GET /v1/schedules (daemon/overview.h)
 *   POST /v1/ui/schedules          add {"name","instance","cron","tz"}
 *   POST /v1/ui/schedules/{name}   change one (same body)
 *   POST /v1/ui/schedules/{name}/pause|resume   overview_schedule_pause
 *                                  (api_schedules.c)
 *   GET  /v1/ui/settings           instances, targets, alert channels,
 *                                  without secrets (api_settings.c)
 *   POST /v1/ui/instances/{name}/check   `mfb instance check`
 *   POST /v1/ui/targets/{name}/check     `mfb target check`
 *   POST /v1/ui/alerts/{name}/test       `mfb alert test NAME`
 *
 * Each handler file gets the call and fills the response with the helpers
 * below; the routing is here.
 */
#ifndef MFB_DAEMON_API_UI_H
#define MFB_DAEMON_API_UI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/api.h"
#include "store/job_log.h"

struct api_ui_call {
    struct daemon *d;
    bool post;
    char *path;  /* after "/v1/ui", without the query */
    char *query; /* "a=1&b=2" (percent-encoded), "" when none */
};

/* Never fails: NULL (out of memory) answers 500 at finish. */
struct api_ui_call *api_ui_begin(struct daemon *d, const char *method, const char *url);
void api_ui_finish(struct api_ui_call *c, const char *body, size_t len,
                   struct daemon_api_response *r);
void api_ui_free(struct api_ui_call *c);

/* ---- helpers for the handlers ---- */
void api_ui_json(struct daemon_api_response *r, unsigned status, json_t *o);
void api_ui_error(struct daemon_api_response *r, unsigned status, const char *code,
                  const char *message, const char *hint);
void api_ui_mfb_error(struct daemon_api_response *r, const struct mfb_error *err);
/* The decoded value of query argument name into out; false when absent
 * or too long. An empty value counts as absent. */
bool api_ui_arg(const struct api_ui_call *c, const char *name, char *out, size_t len);
/* Unix ms from an argument: digits (ms) or "Nd"/"Nh" ago; 0 when absent. */
bool api_ui_arg_time(const struct api_ui_call *c, const char *name, int64_t *ms);
/* A job of the log as JSON (no events). */
json_t *api_ui_job_json(const struct job_record *j);

/* ---- handlers ---- */
void api_ui_instances(struct api_ui_call *c, struct daemon_api_response *r);
void api_joblog_list(struct api_ui_call *c, struct daemon_api_response *r);
void api_joblog_get(struct api_ui_call *c, int64_t id, struct daemon_api_response *r);
void api_report(struct api_ui_call *c, struct daemon_api_response *r);
void api_schedules_list(struct api_ui_call *c, struct daemon_api_response *r);
void api_schedules_cron(struct api_ui_call *c, struct daemon_api_response *r);
void api_settings_get(struct api_ui_call *c, struct daemon_api_response *r);
void api_settings_check_instance(struct api_ui_call *c, const char *name,
                                 struct daemon_api_response *r);
void api_settings_check_target(struct api_ui_call *c, const char *name,
                               struct daemon_api_response *r);
void api_settings_test_alert(struct api_ui_call *c, const char *name,
                             struct daemon_api_response *r);
void api_schedules_save(struct api_ui_call *c, const char *name, const char *body, size_t len,
                        struct daemon_api_response *r);
void api_schedules_pause(struct api_ui_call *c, const char *name, bool pause,
                         struct daemon_api_response *r);

#endif
