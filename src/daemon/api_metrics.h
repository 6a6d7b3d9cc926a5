/*
 * api_metrics.h - the daemon's GET /metrics (docs/monitoring.md): the
 * backup, drill, queue and schedule figures of this client in the
 * Prometheus text format, computed from the configuration database on each
 * request. A page of its own, so that other listeners (the web UI's) can
 * serve the same text.
 */
#ifndef MFB_DAEMON_API_METRICS_H
#define MFB_DAEMON_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "daemon/api.h"
#include "store/config_db.h"

/* The page at now_s (Unix seconds, for the schedules' next runs). *out is
 * allocated (free()). */
mfb_status daemon_metrics_page(struct config_db *db, int64_t now_s, char **out, size_t *len,
                               struct mfb_error *err);

/* Answers GET /metrics (text, or a JSON error). */
void daemon_api_metrics(struct daemon *d, struct daemon_api_response *r);

#endif
