/*
 * config_db.h - the client's configuration database (SQLite): the MySQL
 * instances to back up, the receivers ("targets") to send backups to,
 * settings, and the job log with its events.
 *
 * All of the client's SQL lives in config_db.c; the rest of mfb sees the
 * typed records below. The schema is versioned with numbered migrations
 * (store/migrate.h) and only ever grows.
 *
 * Secrets. MySQL passwords and receiver tokens are stored here in clear
 * text: mfb must present them, so a hash would be useless, and encrypting
 * them would only move the problem to where the key is kept. The file is
 * therefore the secret: it is created with mode 0600 (its -wal and -shm
 * files inherit that mode), and config_db_open refuses a database that
 * group or others may read or write, with the chmod that fixes it. Records
 * carry secrets in memory only as long as needed; the _free functions wipe
 * them. Callers must never print them (the commands show "(set)").
 *
 * Concurrency. One connection per struct config_db, in WAL mode with a
 * busy timeout, so the CLI, a running backup and later the daemon can use
 * the file at once. A mutex serialises the connection's multi-statement
 * work, so one struct config_db may be shared by the daemon's worker
 * threads. synchronous=FULL: a job's resume token must survive a power
 * cut, and writes here are few.
 *
 * Times: created/updated of instances and targets are Unix seconds; job and
 * event times are Unix milliseconds, since step durations and downtime are
 * measured in milliseconds.
 */
#ifndef MFB_STORE_CONFIG_DB_H
#define MFB_STORE_CONFIG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "proto/proto.h"

#define CONFIG_DB_FILE "mfb.db" /* file name under the default directories */
#define CONFIG_NAME_BUF (PROTO_NAME_MAX + 1)
#define CONFIG_ID_BUF 128 /* upload and backup ids from the receiver */

#define CONFIG_DEFAULT_PORT 3306
#define CONFIG_DEFAULT_NAMING "{instance}_{time:%Y%m%d-%H%M%S}.zip"
#define CONFIG_DEFAULT_CHUNK_SIZE (16ULL << 20)
#define CONFIG_DEFAULT_CONNECTIONS 4

struct config_db;

/* ---- the database ---- */

/* Opens the database at path and brings its schema up to date. With create,
 * makes the file (mode 0600, parent directories 0700) when it is missing;
 * without, a missing file is MFB_ERR_NOT_FOUND with a hint to run
 * 'mfb init'. A file that group or others may access is refused
 * (MFB_ERR_PERMISSION), and so is another kind of database, such as the
 * receiver's catalog (MFB_ERR_INVALID). *created says whether the file was made now (may be
 * NULL). Allocates *db; release with config_db_close. */
mfb_status config_db_open(const char *path, bool create, struct config_db **db, bool *created,
                          struct mfb_error *err);
void config_db_close(struct config_db *db);

/* The path it was opened with. */
const char *config_db_path(const struct config_db *db);

/* The schema version (the number of the last migration applied). */
mfb_status config_db_schema_version(struct config_db *db, int *version, struct mfb_error *err);

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

/* When the server is started again (issue 4, section 3, step 5). */
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
    char *naming;      /* the naming pattern (job/naming.h) */
    uint64_t chunk_size;
    unsigned connections;
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

/* ---- jobs ---- */

/* A job runs, then ends with one of the final statuses of issue 5. */
enum config_job_status {
    CONFIG_JOB_RUNNING,
    CONFIG_JOB_OK,             /* done: the backup is stored (or restored) */
    CONFIG_JOB_FAILED,         /* it failed; the database server runs */
    CONFIG_JOB_PENDING_UPLOAD, /* the server runs again; Data.zip waits to be resumed */
    CONFIG_JOB_CANCELLED,
    CONFIG_JOB_CRITICAL, /* the database server did not come back: manual recovery */
    CONFIG_JOB_STATUS_COUNT
};

/* The steps whose duration a job records. */
enum config_step {
    CONFIG_STEP_PREFLIGHT,
    CONFIG_STEP_PREFLUSH,
    CONFIG_STEP_STOP,
    CONFIG_STEP_SNAPSHOT,
    CONFIG_STEP_ARCHIVE,
    CONFIG_STEP_UPLOAD,
    CONFIG_STEP_START,
    CONFIG_STEP_VERIFY,
    CONFIG_STEP_FINISH,
    CONFIG_STEP_COUNT
};

enum config_level { CONFIG_LEVEL_ERROR, CONFIG_LEVEL_WARN, CONFIG_LEVEL_INFO, CONFIG_LEVEL_DEBUG };

/* "running", "ok", "failed", "pending_upload", "cancelled", "critical". */
const char *config_job_status_str(enum config_job_status s);
bool config_job_status_parse(const char *text, enum config_job_status *s);
/* "preflight", "preflush", "stop", ... */
const char *config_step_name(enum config_step s);
bool config_step_parse(const char *text, enum config_step *s);
/* "error", "warn", "info", "debug". */
const char *config_level_str(enum config_level l);

struct config_job {
    int64_t id;
    char instance[CONFIG_NAME_BUF];
    char target[CONFIG_NAME_BUF]; /* "" when none */
    char kind[32];                /* "backup", "resume", "restore", ... */
    enum config_job_status status;
    char host[256];                     /* the machine that runs (ran) it; "" unknown */
    int64_t pid;                        /* process that runs (or ran) it */
    int64_t started_ms;                 /* Unix ms */
    int64_t ended_ms;                   /* 0 while running */
    int64_t step_ms[CONFIG_STEP_COUNT]; /* -1: the step did not run */
    int64_t downtime_ms;                /* -1: the server was not stopped */
    uint64_t bytes_in;                  /* bytes read from the server's files */
    uint64_t bytes_out;                 /* bytes of Data.zip sent */
    uint64_t chunks;                    /* chunks of Data.zip (0: no upload) */
    uint64_t retries;                   /* chunk uploads retried */
    char upload_id[CONFIG_ID_BUF];      /* the resume token; "" when none */
    char backup_name[CONFIG_NAME_BUF];
    char backup_id[CONFIG_ID_BUF];
    char *error;         /* the first error, or NULL; allocated */
    char *hint;          /* what to do about it, or NULL; allocated */
    char error_step[32]; /* the step the first error happened in, or "" */
    char *backtrace;     /* the failing thread's stack at the first error, one
                            frame a line (mfb_error_backtrace), or NULL; allocated */
    char *system_state;  /* free space, load, memory, descriptors when the job
                            failed (job/sysstate.h), or NULL; allocated */
};

struct config_job_event {
    int64_t id;
    int64_t job_id;
    int64_t time_ms;
    enum config_level level;
    char step[32]; /* a config_step name, or "" */
    char *message; /* allocated */
};

/* Records a new running job of this process (started now). Fills job's
 * id, host, pid, started_ms and resets the rest. */
mfb_status config_job_create(struct config_db *db, const char *instance, const char *target,
                             const char *kind, struct config_job *job, struct mfb_error *err);
/* Stores every mutable field of job (status, ended, steps, downtime, bytes,
 * chunks, retries, ids, name, error, hint, error step, backtrace, system
 * state). */
mfb_status config_job_save(struct config_db *db, const struct config_job *job,
                           struct mfb_error *err);
mfb_status config_job_get(struct config_db *db, int64_t id, struct config_job *out,
                          struct mfb_error *err);
void config_job_free(struct config_job *job);

/* Appends an event to a job's log. */
mfb_status config_job_event(struct config_db *db, int64_t job_id, enum config_level level,
                            const char *step, const char *message, struct mfb_error *err);
/* The same, for an event that happened at time_ms (Unix ms): written
 * later, as the backup job does for what it logs while the database is
 * stopped. */
mfb_status config_job_event_at(struct config_db *db, int64_t job_id, int64_t time_ms,
                               enum config_level level, const char *step, const char *message,
                               struct mfb_error *err);
/* A job's events, oldest first. *list is allocated; config_job_events_free. */
mfb_status config_job_events(struct config_db *db, int64_t job_id, struct config_job_event **list,
                             size_t *count, struct mfb_error *err);
void config_job_events_free(struct config_job_event *list, size_t count);

/* Filters for config_job_list; zero/NULL fields match everything. */
struct config_job_filter {
    const char *instance;
    const char *target;
    bool by_status;
    enum config_job_status status;
    int64_t since_ms;   /* started at or after */
    int64_t until_ms;   /* started before; 0: no bound */
    const char *search; /* words that must all appear in one of the job's
                           events (full-text, FTS5) or in its error */
    size_t limit;       /* 0: no limit */
};

/* Matching jobs, newest first. *list is allocated; config_job_list_free. */
mfb_status config_job_list(struct config_db *db, const struct config_job_filter *filter,
                           struct config_job **list, size_t *count, struct mfb_error *err);
void config_job_list_free(struct config_job *list, size_t count);

/* Marks as failed every running job whose process is gone (a crash or a
 * kill -9 left it "running"); *count says how many (may be NULL).
 * job/orphans.h settles them first (a sealed Data.zip, leftover files):
 * call job_orphans_settle, which ends with this. */
mfb_status config_job_fail_orphans(struct config_db *db, size_t *count, struct mfb_error *err);

/* The running jobs whose process is gone, newest first. *list is
 * allocated; config_job_list_free. */
mfb_status config_job_orphans(struct config_db *db, struct config_job **list, size_t *count,
                              struct mfb_error *err);

/* Ends orphan job id with status, error and hint, only if it is still
 * running under pid (a guardian that took it over in the meantime keeps
 * it). *settled (may be NULL) says whether it was. */
mfb_status config_job_settle_orphan(struct config_db *db, int64_t id, int64_t pid,
                                    enum config_job_status status, const char *error,
                                    const char *hint, bool *settled, struct mfb_error *err);

/* Records pid as the process that runs job id from now on (the backup's
 * guardian, when the job's own process died while the server was down),
 * so that the job is not taken for an orphan while the guardian works. */
mfb_status config_job_take_over(struct config_db *db, int64_t id, int64_t pid,
                                struct mfb_error *err);

/* Deletes finished jobs (and their events) that ended before before_ms.
 * Jobs waiting to resume an upload are kept whatever their age. */
mfb_status config_job_prune(struct config_db *db, int64_t before_ms, size_t *deleted,
                            struct mfb_error *err);
/* Deletes the finished jobs (and their events) beyond the newest keep ones;
 * running jobs and jobs waiting to resume an upload are neither deleted nor
 * counted. */
mfb_status config_job_prune_count(struct config_db *db, size_t keep, size_t *deleted,
                                  struct mfb_error *err);
/* The step of a job's first error event, in step (size len); "" when none. */
mfb_status config_job_error_step(struct config_db *db, int64_t job_id, char *step, size_t len,
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
