/*
 * alert.h - telling people when a backup needs them (requirement 9.4,
 * 9.6): a webhook (JSON POST, optionally signed with HMAC-SHA256), an
 * e-mail (SMTP with STARTTLS, through libcurl), or a command (the alert in
 * its environment). Channels are stored in the configuration database
 * (`mfb alert add|list|remove|test`); each gets the alerts at or above its
 * minimum severity.
 *
 * Rules:
 * - An alert never fails a backup, and never delays a restart: the job
 *   sends its alerts at its end, after the server was started again.
 * - A channel that fails is tried ALERT_ATTEMPTS times with a growing pause
 *   (1 s, 2 s, ...), then logged (error level, with the reason) and given
 *   up; the other channels are tried regardless.
 * - Every attempt is bounded (ALERT_TIMEOUT_MS), so a dead mail server
 *   costs seconds.
 * - The text is plain and complete: a person reading only the alert knows
 *   what happened, what state the server is in and what to do (for a
 *   server that did not come back, the recovery steps of recovery.h).
 *
 * Formats are in docs/alerts.md; the alert itself is message.h, the channel
 * kinds channel.h.
 */
#ifndef MFB_ALERT_ALERT_H
#define MFB_ALERT_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "alert/message.h"
#include "common/status.h"
#include "store/config_records.h"
#include "store/job_log.h"

#define ALERT_ATTEMPTS 3
#define ALERT_RETRY_BASE_MS 1000

/* One attempt on one channel. */
mfb_status alert_send(const struct config_alert *channel, const struct alert *a,
                      struct mfb_error *err);

/* alert_send with the retries above; the first error is reported with the
 * number of attempts. retry_base_ms 0 means ALERT_RETRY_BASE_MS. */
mfb_status alert_send_retry(const struct config_alert *channel, const struct alert *a,
                            unsigned attempts, uint64_t retry_base_ms, struct mfb_error *err);

/* Sends a to every stored channel whose minimum severity it reaches.
 * Never fails: problems are logged. sent and failed (may be NULL) count
 * channels. */
void alert_dispatch(struct config_db *db, const struct alert *a, size_t *sent, size_t *failed);
/* The same, to the channels that `reach` reaches whatever a's own
 * severity: a recovery notice (info) goes where its alarm (critical) went. */
void alert_dispatch_as(struct config_db *db, const struct alert *a, enum config_severity reach,
                       size_t *sent, size_t *failed);
/* The same over a list of channels held elsewhere (the receiver's, in its
 * catalog); sent and failed must not be NULL. */
void alert_dispatch_list(const struct config_alert *list, size_t count, const struct alert *a,
                         enum config_severity reach, size_t *sent, size_t *failed);

#endif
