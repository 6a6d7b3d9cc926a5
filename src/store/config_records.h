/*
 * config_records.h - the client's configuration records in its database
 * (store/config_db.h): the MySQL instances to back up, the receivers
 * ("targets") to send backups to, settings, the backup-name sequence and
 * the alert channels, with the names and parsers of their enumerations.
 *
 * Secrets. Records carry passwords, tokens and alert secrets in memory
 * only as long as needed; the _free functions wipe them. Callers must
 * never print them (the commands show "(set)").
 *
 * Times: created/updated are Unix seconds.
 */
#ifndef MFB_STORE_CONFIG_RECORDS_H
#define MFB_STORE_CONFIG_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

#define CONFIG_DEFAULT_PORT 3306
#define CONFIG_DEFAULT_NAMING "{instance}_{time:%Y%m%d-%H%M%S}.zip"
#define CONFIG_DEFAULT_CHUNK_SIZE (16ULL << 20)
#define CONFIG_DEFAULT_CONNECTIONS 4
#define CONFIG_DEFAULT_MAX_JOBS 1

/* ---- strings and secrets ---- */

/* Frees a string after overwriting it with zeros (for secrets). NULL is fine. */
void config_secret_free(char *secret);

/* Replaces *field with a copy of value (NULL clears it). The old value is
 * wiped before it is freed, so it is safe for secrets. */
mfb_status config_str_set(char **field, const char *value, struct mfb_error *err);

/* ---- instances ---- */

/* How mfb stops and starts a server. */
enum config_control {
    CONFIG_CONTROL_SYSTEMD,      /* systemctl stop|start UNIT */
    CONFIG_CONTROL_SYSV,         /* service NAME stop|start */
    CONFIG_CONTROL_SHUTDOWN_SQL, /* the SHUTDOWN statement, then start_cmd */
    CONFIG_CONTROL_COMMAND,      /* stop_cmd and start_cmd */
};

/* When the server is started again (docs/backup.md, "The pipeline"). */
enum config_restart_after {
    CONFIG_RESTART_AFTER_UPLOAD,   /* after the upload completed (the default) */
    CONFIG_RESTART_AFTER_ARCHIVE,  /* as soon as Data.zip is sealed */
    CONFIG_RESTART_AFTER_SNAPSHOT, /* after a copy of the files was made */
};

/* The steps that have a timeout. */
enum config_timeout {
    CONFIG_TIMEOUT_PREFLUSH,
    CONFIG_TIMEOUT_STOP,
    CONFIG_TIMEOUT_ARCHIVE,
    CONFIG_TIMEOUT_UPLOAD,
    CONFIG_TIMEOUT_START,
    CONFIG_TIMEOUT_VERIFY,
    CONFIG_TIMEOUT_COUNT
};

struct config_instance {
    int64_t id;
    char name[CONFIG_NAME_BUF];
    char *socket;   /* unix socket path, or NULL when host is used */
    char *host;     /* TCP host, or NULL when socket is used */
    unsigned port;  /* with host; 0 otherwise */
    char *user;     /* MySQL user */
    char *password; /* secret; NULL for none */
    enum config_control control;
    char *service;   /* systemd unit or SysV service name; NULL for the others */
    char *start_cmd; /* shell command; shutdown-sql and command */
    char *stop_cmd;  /* shell command; command only */
    char *datadir;   /* absolute */
    char *spool;     /* absolute; where Data.zip is written */
    enum config_restart_after restart_after;
    uint64_t timeout_ms[CONFIG_TIMEOUT_COUNT];
    /* Silence alarms (docs/monitoring.md): a good backup (drill) at least
     * this often, else the daemon alerts; 0: no expectation. */
    uint64_t expect_every_ms;
    uint64_t expect_drill_every_ms;
    int64_t created;
    int64_t updated;
};

/* "preflush", "stop", ...: the name of a timeout in options and JSON. */
const char *config_timeout_name(enum config_timeout t);
/* Its default in milliseconds. */
uint64_t config_timeout_default(enum config_timeout t);

/* "systemd", "sysv", "shutdown-sql", "command". */
const char *config_control_kind_str(enum config_control c);
/* Splits what --control takes ("systemd:UNIT", "sysv:NAME", "shutdown-sql"
 * or "command") into the kind and the name; *service gets the allocated
 * UNIT or NAME, or NULL. Only the form is checked here: whether the name
 * and the commands make a usable method is mysql_method_parse's call. */
mfb_status config_control_parse(const char *text, enum config_control *control, char **service,
                                struct mfb_error *err);
/* The --control form of an instance's method ("systemd:mariadb.service"). */
const char *config_control_format(enum config_control control, const char *service, char *buf,
                                  size_t len);

/* "upload", "archive", "snapshot". */
const char *config_restart_after_str(enum config_restart_after r);
mfb_status config_restart_after_parse(const char *text, enum config_restart_after *r,
                                      struct mfb_error *err);

/* Zeroes inst and sets the defaults (timeouts, restart after upload). */
void config_instance_init(struct config_instance *inst);
/* Frees the strings (wiping the password); inst may be reused after init. */
void config_instance_free(struct config_instance *inst);

/* Stores a new instance; MFB_ERR_EXISTS when the name is taken. Sets
 * created, updated and id in inst. */
mfb_status config_instance_add(struct config_db *db, struct config_instance *inst,
                               struct mfb_error *err);
/* MFB_ERR_EXISTS, with a hint, when an instance has this name: lets a
 * command refuse a taken name before slower checks run. */
mfb_status config_instance_check_new(struct config_db *db, const char *name, struct mfb_error *err);
/* MFB_ERR_NOT_FOUND, with a hint, when there is none. Fills *out
 * (allocated strings; config_instance_free). */
mfb_status config_instance_get(struct config_db *db, const char *name, struct config_instance *out,
                               struct mfb_error *err);
/* Every instance, by name. *list is allocated; config_instance_list_free. */
mfb_status config_instance_list(struct config_db *db, struct config_instance **list, size_t *count,
                                struct mfb_error *err);
void config_instance_list_free(struct config_instance *list, size_t count);
/* Replaces the stored instance of the same name with inst; sets updated. */
mfb_status config_instance_update(struct config_db *db, struct config_instance *inst,
                                  struct mfb_error *err);
/* Removes an instance. Refused (MFB_ERR_BUSY) while it has a running job;
 * its job history is kept. */
mfb_status config_instance_remove(struct config_db *db, const char *name, struct mfb_error *err);

/* ---- targets ---- */

struct config_target {
    int64_t id;
    char name[CONFIG_NAME_BUF];
    char *url;         /* https://HOST:PORT[/PREFIX] */
    char *token;       /* secret */
    char *fingerprint; /* SHA-256 of the receiver's certificate, or NULL */
    char *ca_file;     /* CA bundle, or NULL; exactly one of the two is set */
    char *directory;   /* sub-directory in this client's namespace, or NULL */
    char *naming;      /* the naming pattern (job/backup/naming.h) */
    uint64_t chunk_size;
    unsigned connections;
    unsigned max_jobs; /* the daemon's jobs that may send to it at once (>= 1) */
    int64_t created;
    int64_t updated;
};

/* Zeroes t and sets the defaults (naming, chunk size, connections). */
void config_target_init(struct config_target *t);
/* Frees the strings (wiping the token). */
void config_target_free(struct config_target *t);

/* MFB_ERR_EXISTS, with a hint, when a target has this name. */
mfb_status config_target_check_new(struct config_db *db, const char *name, struct mfb_error *err);
mfb_status config_target_add(struct config_db *db, struct config_target *t, struct mfb_error *err);
mfb_status config_target_get(struct config_db *db, const char *name, struct config_target *out,
                             struct mfb_error *err);
mfb_status config_target_list(struct config_db *db, struct config_target **list, size_t *count,
                              struct mfb_error *err);
void config_target_list_free(struct config_target *list, size_t count);
mfb_status config_target_update(struct config_db *db, struct config_target *t,
                                struct mfb_error *err);
/* Removes a target. Refused while a job using it runs, and, unless force,
 * while a job waits to resume its upload there (pending_upload). */
mfb_status config_target_remove(struct config_db *db, const char *name, bool force,
                                struct mfb_error *err);

/* ---- settings ---- */

/* *value is allocated, NULL when the key is unset. */
mfb_status config_setting_get(struct config_db *db, const char *key, char **value,
                              struct mfb_error *err);
/* A NULL value removes the key. */
mfb_status config_setting_set(struct config_db *db, const char *key, const char *value,
                              struct mfb_error *err);

/* The next {seq} for a backup name of `instance`: 1, 2, 3, ... never the
 * same twice, whatever log retention removes. */
mfb_status config_name_seq_next(struct config_db *db, const char *instance, uint64_t *seq,
                                struct mfb_error *err);

/* ---- alert channels (docs/alerts.md) ---- */

enum config_alert_kind {
    CONFIG_ALERT_WEBHOOK, /* JSON POST, optionally HMAC-signed */
    CONFIG_ALERT_EMAIL,   /* SMTP with STARTTLS */
    CONFIG_ALERT_COMMAND, /* a shell command with the alert in its environment */
};

/* How bad an alert is; a channel gets the alerts at or above its minimum. */
enum config_severity {
    CONFIG_SEVERITY_INFO,     /* a backup succeeded */
    CONFIG_SEVERITY_WARNING,  /* the upload waits to be resumed */
    CONFIG_SEVERITY_ERROR,    /* a backup failed; the server runs */
    CONFIG_SEVERITY_CRITICAL, /* the server did not come back */
};

struct config_alert {
    int64_t id;
    char name[CONFIG_NAME_BUF];
    enum config_alert_kind kind;
    enum config_severity min_severity;
    char *url;       /* webhook: https://...; email: smtp://HOST:PORT or smtps:// */
    char *secret;    /* webhook: HMAC-SHA256 key; email: SMTP password; secret; or NULL */
    char *smtp_user; /* email, or NULL */
    char *mail_from; /* email */
    char *mail_to;   /* email: recipients, separated by commas */
    char *ca_file;   /* CA bundle for the TLS of url, or NULL for the system's */
    char *command;   /* command */
    int64_t created;
    int64_t updated;
};

/* "webhook", "email", "command". */
const char *config_alert_kind_str(enum config_alert_kind k);
/* "info", "warning", "error", "critical". */
const char *config_severity_str(enum config_severity s);
mfb_status config_severity_parse(const char *text, enum config_severity *s, struct mfb_error *err);

/* Zeroes a and sets the defaults (minimum severity warning). */
void config_alert_init(struct config_alert *a);
/* Frees the strings (wiping the secret). */
void config_alert_free(struct config_alert *a);
/* MFB_ERR_EXISTS when the name is taken. */
mfb_status config_alert_add(struct config_db *db, struct config_alert *a, struct mfb_error *err);
/* Every channel, by name. *list is allocated; config_alert_list_free. */
mfb_status config_alert_list(struct config_db *db, struct config_alert **list, size_t *count,
                             struct mfb_error *err);
void config_alert_list_free(struct config_alert *list, size_t count);
mfb_status config_alert_remove(struct config_db *db, const char *name, struct mfb_error *err);

#endif
