/*
 * config_db.c - every SQL statement of the client's configuration database
 * (see config_db.h).
 *
 * Statements are prepared per call: the configuration is read a few times
 * per command and the job log written a few times per step, so a statement
 * cache would buy nothing and cost lifetime rules. Enumerations are stored
 * as the same words the commands and JSON use ("systemd", "pending_upload")
 * and CHECK constraints keep anything else out, so the file is readable
 * with the sqlite3 shell and a wrong value from a future bug fails loudly.
 *
 * Search. job_events_fts and jobs_fts are FTS5 indexes with external
 * content (the rows stay in job_events and jobs; triggers keep the indexes
 * in step), so `mfb logs --search` is an index lookup, not a LIKE scan of
 * every message. Each word the user types becomes one quoted FTS5 phrase,
 * so punctuation in a search never turns into query syntax.
 */
#include "store/config_db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "store/migrate.h"
#include "store/sqlutil.h"

struct config_db {
    sqlite3 *sql;
    pthread_mutex_t lock;
    char path[4096];
};

/* The job events and both full-text indexes, with the triggers that keep
 * them in step: made by migration 1 and made again by migration 3, which
 * rebuilds the jobs table. */
#define JOB_EVENTS_DDL                                                                             \
    "CREATE TABLE job_events ("                                                                    \
    "  id INTEGER PRIMARY KEY,"                                                                    \
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"                             \
    "  time INTEGER NOT NULL,"                                                                     \
    "  level TEXT NOT NULL CHECK (level IN ('error', 'warn', 'info', 'debug')),"                   \
    "  step TEXT NOT NULL DEFAULT '', message TEXT NOT NULL);"                                     \
    "CREATE INDEX job_events_by_job ON job_events(job_id, id);"                                    \
    "CREATE VIRTUAL TABLE job_events_fts USING fts5("                                              \
    "  step, message, content='job_events', content_rowid='id');"                                  \
    "CREATE TRIGGER job_events_fts_insert AFTER INSERT ON job_events BEGIN"                        \
    "  INSERT INTO job_events_fts(rowid, step, message)"                                           \
    "    VALUES (new.id, new.step, new.message); END;"                                             \
    "CREATE TRIGGER job_events_fts_delete AFTER DELETE ON job_events BEGIN"                        \
    "  INSERT INTO job_events_fts(job_events_fts, rowid, step, message)"                           \
    "    VALUES ('delete', old.id, old.step, old.message); END;"                                   \
    "CREATE TRIGGER job_events_fts_update AFTER UPDATE ON job_events BEGIN"                        \
    "  INSERT INTO job_events_fts(job_events_fts, rowid, step, message)"                           \
    "    VALUES ('delete', old.id, old.step, old.message);"                                        \
    "  INSERT INTO job_events_fts(rowid, step, message)"                                           \
    "    VALUES (new.id, new.step, new.message); END;"                                             \
    "CREATE VIRTUAL TABLE jobs_fts USING fts5("                                                    \
    "  instance, target, backup_name, error, hint, content='jobs', content_rowid='id');"           \
    "CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs BEGIN"                                    \
    "  INSERT INTO jobs_fts(rowid, instance, target, backup_name, error, hint)"                    \
    "    VALUES (new.id, new.instance, new.target, new.backup_name, new.error, new.hint);"         \
    "  END;"                                                                                       \
    "CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs BEGIN"                                    \
    "  INSERT INTO jobs_fts(jobs_fts, rowid, instance, target, backup_name, error, hint)"          \
    "    VALUES ('delete', old.id, old.instance, old.target, old.backup_name, old.error,"          \
    "            old.hint); END;"                                                                  \
    "CREATE TRIGGER jobs_fts_update AFTER UPDATE OF instance, target, backup_name, error,"         \
    "  hint ON jobs BEGIN"                                                                         \
    "  INSERT INTO jobs_fts(jobs_fts, rowid, instance, target, backup_name, error, hint)"          \
    "    VALUES ('delete', old.id, old.instance, old.target, old.backup_name, old.error,"          \
    "            old.hint);"                                                                       \
    "  INSERT INTO jobs_fts(rowid, instance, target, backup_name, error, hint)"                    \
    "    VALUES (new.id, new.instance, new.target, new.backup_name, new.error, new.hint);"         \
    "  END;"

#define JOB_INDEXES_DDL                                                                            \
    "CREATE INDEX jobs_by_started ON jobs(started);"                                               \
    "CREATE INDEX jobs_by_instance ON jobs(instance, started);"                                    \
    "CREATE INDEX jobs_by_status ON jobs(status);"

static const struct migration migrations[] = {
    {1,
     "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE instances ("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
     "  socket TEXT, host TEXT, port INTEGER NOT NULL DEFAULT 0,"
     "  user TEXT, password TEXT,"
     "  control TEXT NOT NULL"
     "    CHECK (control IN ('systemd', 'sysv', 'shutdown-sql', 'command')),"
     "  service TEXT, start_cmd TEXT, stop_cmd TEXT,"
     "  datadir TEXT NOT NULL, spool TEXT NOT NULL,"
     "  restart_after TEXT NOT NULL DEFAULT 'upload'"
     "    CHECK (restart_after IN ('upload', 'archive', 'snapshot')),"
     "  preflush_timeout_ms INTEGER NOT NULL, stop_timeout_ms INTEGER NOT NULL,"
     "  archive_timeout_ms INTEGER NOT NULL, upload_timeout_ms INTEGER NOT NULL,"
     "  start_timeout_ms INTEGER NOT NULL, verify_timeout_ms INTEGER NOT NULL,"
     "  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
     "  CHECK ((socket IS NULL) <> (host IS NULL)));"
     "CREATE TABLE targets ("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
     "  url TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT, ca_file TEXT,"
     "  directory TEXT, naming TEXT NOT NULL,"
     "  chunk_size INTEGER NOT NULL, connections INTEGER NOT NULL,"
     "  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
     "  CHECK ((fingerprint IS NULL) <> (ca_file IS NULL)));"
     /* Jobs name their instance and target by name, without foreign
      * keys: the history outlives a removed instance or target. */
     "CREATE TABLE jobs ("
     "  id INTEGER PRIMARY KEY, instance TEXT NOT NULL, target TEXT,"
     "  kind TEXT NOT NULL,"
     "  status TEXT NOT NULL CHECK (status IN"
     "    ('running', 'succeeded', 'failed', 'pending_upload', 'cancelled')),"
     "  pid INTEGER NOT NULL, started INTEGER NOT NULL, ended INTEGER,"
     "  preflight_ms INTEGER, preflush_ms INTEGER, stop_ms INTEGER, snapshot_ms INTEGER,"
     "  archive_ms INTEGER, upload_ms INTEGER, start_ms INTEGER, verify_ms INTEGER,"
     "  finish_ms INTEGER, downtime_ms INTEGER,"
     "  bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
     "  upload_id TEXT, backup_name TEXT, backup_id TEXT, error TEXT, hint TEXT);" JOB_INDEXES_DDL
         JOB_EVENTS_DDL},
    /* Alert channels (docs/alerts.md). */
    {2, "CREATE TABLE alerts ("
        "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email', 'command')),"
        "  min_severity TEXT NOT NULL DEFAULT 'warning'"
        "    CHECK (min_severity IN ('info', 'warning', 'error', 'critical')),"
        "  url TEXT, secret TEXT, smtp_user TEXT, mail_from TEXT, mail_to TEXT,"
        "  ca_file TEXT, command TEXT,"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"},
    /* The final statuses of issue 5 ('ok' for 'succeeded', and 'critical':
     * the server did not come back), the host that ran a job, its chunk
     * and retry counts, and the detail of a failed job: its failing step,
     * the stack of the failing thread and the system state.
     * A CHECK cannot be altered, so jobs is rebuilt; job_events is copied
     * aside first, since dropping jobs (foreign keys on) would delete its
     * rows. Ids are kept, and the FTS indexes rebuilt from the content. */
    {3, "CREATE TEMP TABLE job_events_copy AS SELECT * FROM job_events;"
        "DROP TABLE job_events_fts; DROP TABLE jobs_fts; DROP TABLE job_events;"
        "CREATE TABLE jobs_v3 ("
        "  id INTEGER PRIMARY KEY, instance TEXT NOT NULL, target TEXT,"
        "  kind TEXT NOT NULL,"
        "  status TEXT NOT NULL CHECK (status IN"
        "    ('running', 'ok', 'failed', 'pending_upload', 'cancelled', 'critical')),"
        "  pid INTEGER NOT NULL, started INTEGER NOT NULL, ended INTEGER,"
        "  preflight_ms INTEGER, preflush_ms INTEGER, stop_ms INTEGER, snapshot_ms INTEGER,"
        "  archive_ms INTEGER, upload_ms INTEGER, start_ms INTEGER, verify_ms INTEGER,"
        "  finish_ms INTEGER, downtime_ms INTEGER,"
        "  bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
        "  upload_id TEXT, backup_name TEXT, backup_id TEXT, error TEXT, hint TEXT,"
        "  error_step TEXT, backtrace TEXT, system_state TEXT,"
        "  host TEXT, chunks INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO jobs_v3 (id, instance, target, kind, status, pid, started, ended,"
        "  preflight_ms, preflush_ms, stop_ms, snapshot_ms, archive_ms, upload_ms, start_ms,"
        "  verify_ms, finish_ms, downtime_ms, bytes_in, bytes_out, upload_id, backup_name,"
        "  backup_id, error, hint, error_step)"
        "  SELECT id, instance, target, kind,"
        "    CASE status WHEN 'succeeded' THEN 'ok' ELSE status END, pid, started, ended,"
        "    preflight_ms, preflush_ms, stop_ms, snapshot_ms, archive_ms, upload_ms, start_ms,"
        "    verify_ms, finish_ms, downtime_ms, bytes_in, bytes_out, upload_id, backup_name,"
        "    backup_id, error, hint,"
        "    (SELECT NULLIF(e.step, '') FROM job_events_copy e"
        "       WHERE e.job_id = jobs.id AND e.level = 'error' ORDER BY e.id LIMIT 1)"
        "  FROM jobs;"
        "DROP TABLE jobs;"
        "ALTER TABLE jobs_v3 RENAME TO jobs;" JOB_INDEXES_DDL JOB_EVENTS_DDL
        "INSERT INTO job_events (id, job_id, time, level, step, message)"
        "  SELECT id, job_id, time, level, step, message FROM job_events_copy;"
        "DROP TABLE job_events_copy;"
        "INSERT INTO job_events_fts(job_events_fts) VALUES ('rebuild');"
        "INSERT INTO jobs_fts(jobs_fts) VALUES ('rebuild');"},
    /* The {seq} of backup names: the last number each instance used. It
     * was the count of backup jobs in the log, which log retention lowers
     * (names repeated); it only grows now, starting from that count. */
    {4, "CREATE TABLE name_seq (instance TEXT PRIMARY KEY, last INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO name_seq (instance, last)"
        "  SELECT instance, COUNT(*) FROM jobs WHERE kind = 'backup' GROUP BY instance;"},
};

#define MIGRATION_COUNT (sizeof(migrations) / sizeof(migrations[0]))

/* PRAGMA application_id of the client's database: "mfbc". */
#define CONFIG_DB_APPLICATION_ID 0x6d666263

/* ---- names of the enumerations ---- */

static const char *const timeout_names[CONFIG_TIMEOUT_COUNT] = {
    "preflush", "stop", "archive", "upload", "start", "verify",
};

/* Defaults: the pre-flush is a best effort and gives up quietly; a clean
 * InnoDB shutdown after it takes seconds, but a crash-safe one of a big
 * buffer pool may take minutes; archive and upload scale with the data
 * (hours for hundreds of GB); a start includes crash recovery if any. */
static const uint64_t timeout_defaults[CONFIG_TIMEOUT_COUNT] = {
    5 * 60 * 1000ULL,    /* preflush */
    10 * 60 * 1000ULL,   /* stop */
    6 * 3600 * 1000ULL,  /* archive */
    12 * 3600 * 1000ULL, /* upload */
    10 * 60 * 1000ULL,   /* start */
    5 * 60 * 1000ULL,    /* verify */
};

static const char *const control_names[] = {"systemd", "sysv", "shutdown-sql", "command"};
static const char *const restart_names[] = {"upload", "archive", "snapshot"};
static const char *const status_names[CONFIG_JOB_STATUS_COUNT] = {
    "running", "ok", "failed", "pending_upload", "cancelled", "critical",
};
static const char *const step_names[CONFIG_STEP_COUNT] = {
    "preflight", "preflush", "stop", "snapshot", "archive", "upload", "start", "verify", "finish",
};
static const char *const level_names[] = {"error", "warn", "info", "debug"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *names, size_t count, const char *text)
{
    for (size_t i = 0; text && i < count; i++) {
        if (strcmp(names[i], text) == 0)
            return (int)i;
    }
    return -1;
}

const char *config_timeout_name(enum config_timeout t)
{
    return (unsigned)t < CONFIG_TIMEOUT_COUNT ? timeout_names[t] : "?";
}

uint64_t config_timeout_default(enum config_timeout t)
{
    return (unsigned)t < CONFIG_TIMEOUT_COUNT ? timeout_defaults[t] : 0;
}

const char *config_control_kind_str(enum config_control c)
{
    return (unsigned)c < COUNT_OF(control_names) ? control_names[c] : "?";
}

const char *config_restart_after_str(enum config_restart_after r)
{
    return (unsigned)r < COUNT_OF(restart_names) ? restart_names[r] : "?";
}

const char *config_job_status_str(enum config_job_status s)
{
    return (unsigned)s < CONFIG_JOB_STATUS_COUNT ? status_names[s] : "?";
}

bool config_job_status_parse(const char *text, enum config_job_status *s)
{
    int i = lookup(status_names, CONFIG_JOB_STATUS_COUNT, text);
    if (i >= 0)
        *s = (enum config_job_status)i;
    return i >= 0;
}

const char *config_step_name(enum config_step s)
{
    return (unsigned)s < CONFIG_STEP_COUNT ? step_names[s] : "?";
}

bool config_step_parse(const char *text, enum config_step *s)
{
    int i = lookup(step_names, CONFIG_STEP_COUNT, text);
    if (i >= 0)
        *s = (enum config_step)i;
    return i >= 0;
}

const char *config_level_str(enum config_level l)
{
    return (unsigned)l < COUNT_OF(level_names) ? level_names[l] : "?";
}

mfb_status config_control_parse(const char *text, enum config_control *control, char **service,
                                struct mfb_error *err)
{
    *service = NULL;
    const char *colon = strchr(text, ':');
    size_t kind_len = colon ? (size_t)(colon - text) : strlen(text);
    int kind = -1;
    for (size_t i = 0; i < COUNT_OF(control_names); i++) {
        if (strlen(control_names[i]) == kind_len && strncmp(control_names[i], text, kind_len) == 0)
            kind = (int)i;
    }
    bool needs_name = kind == CONFIG_CONTROL_SYSTEMD || kind == CONFIG_CONTROL_SYSV;
    if (kind < 0 || (needs_name && (colon == NULL || colon[1] == '\0')) ||
        (!needs_name && colon != NULL)) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid control method '%s'", text);
        mfb_error_hint(err, "use systemd:UNIT, sysv:NAME, shutdown-sql or command");
        return MFB_ERR_USAGE;
    }
    if (needs_name) {
        const char *name = colon + 1;
        *service = strdup(name);
        if (*service == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    *control = (enum config_control)kind;
    return MFB_OK;
}

const char *config_control_format(enum config_control control, const char *service, char *buf,
                                  size_t len)
{
    if (control == CONFIG_CONTROL_SYSTEMD || control == CONFIG_CONTROL_SYSV)
        snprintf(buf, len, "%s:%s", config_control_kind_str(control), service ? service : "");
    else
        snprintf(buf, len, "%s", config_control_kind_str(control));
    return buf;
}

mfb_status config_restart_after_parse(const char *text, enum config_restart_after *r,
                                      struct mfb_error *err)
{
    int i = lookup(restart_names, COUNT_OF(restart_names), text);
    if (i < 0) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid restart policy '%s'", text);
        mfb_error_hint(err, "use upload, archive or snapshot");
        return MFB_ERR_USAGE;
    }
    *r = (enum config_restart_after)i;
    return MFB_OK;
}

/* ---- strings and secrets ---- */

void config_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

mfb_status config_str_set(char **field, const char *value, struct mfb_error *err)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    config_secret_free(*field);
    *field = copy;
    return MFB_OK;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- opening ---- */

/* The file must be a regular file that only its owner may read or write. */
static mfb_status check_mode(const char *path, struct mfb_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    if (!S_ISREG(sb.st_mode)) {
        mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not a database file", path);
        mfb_error_hint(err, "pass --db with the path of a file");
        return MFB_ERR_INVALID;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        mfb_error_set(err, MFB_ERR_PERMISSION,
                      "configuration database '%s' is accessible by group or others (mode %04o)",
                      path, (unsigned)(sb.st_mode & 07777));
        mfb_error_hint(err, "it holds passwords and tokens; run: chmod 600 '%s'", path);
        return MFB_ERR_PERMISSION;
    }
    return MFB_OK;
}

mfb_status config_db_open(const char *path, bool create, struct config_db **out, bool *created,
                          struct mfb_error *err)
{
    *out = NULL;
    if (created)
        *created = false;
    bool made = false;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
        if (!create) {
            mfb_error_set(err, MFB_ERR_NOT_FOUND, "no configuration database at '%s'", path);
            mfb_error_hint(err, "run 'mfb init' first, or pass --db PATH");
            return MFB_ERR_NOT_FOUND;
        }
        mfb_status st = sqlutil_create_private(path, err);
        if (st != MFB_OK)
            return st;
        made = true;
    }
    mfb_status st = check_mode(path, err);
    if (st != MFB_OK)
        return st;
    struct config_db *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&db->lock, NULL);
    snprintf(db->path, sizeof(db->path), "%s", path);
    st = sqlutil_open(path, "configuration database", CONFIG_DB_APPLICATION_ID, migrations,
                      MIGRATION_COUNT, &db->sql, err);
    if (st != MFB_OK) {
        config_db_close(db);
        if (made)
            unlink(path);
        return st;
    }
    if (created)
        *created = made;
    *out = db;
    return MFB_OK;
}

void config_db_close(struct config_db *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->sql);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

const char *config_db_path(const struct config_db *db)
{
    return db->path;
}

mfb_status config_db_schema_version(struct config_db *db, int *version, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = migrate_version(db->sql, version, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* A failed UNIQUE constraint: the name is taken. */
static bool is_duplicate(struct config_db *db)
{
    return sqlite3_extended_errcode(db->sql) == SQLITE_CONSTRAINT_UNIQUE;
}

/* ---- instances ---- */

void config_instance_init(struct config_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    inst->control = CONFIG_CONTROL_SYSTEMD;
    inst->restart_after = CONFIG_RESTART_AFTER_UPLOAD;
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        inst->timeout_ms[i] = timeout_defaults[i];
}

void config_instance_free(struct config_instance *inst)
{
    if (inst == NULL)
        return;
    free(inst->socket);
    free(inst->host);
    free(inst->user);
    config_secret_free(inst->password);
    free(inst->service);
    free(inst->start_cmd);
    free(inst->stop_cmd);
    free(inst->datadir);
    free(inst->spool);
    memset(inst, 0, sizeof(*inst));
}

static mfb_status not_found(struct mfb_error *err, const char *group, const char *name)
{
    mfb_error_set(err, MFB_ERR_NOT_FOUND, "no %s named '%s'", group, name);
    mfb_error_hint(err, "'mfb %s list' shows the configured %ss", group, group);
    return MFB_ERR_NOT_FOUND;
}

static mfb_status exists(struct mfb_error *err, const char *group, const char *name)
{
    mfb_error_set(err, MFB_ERR_EXISTS, "%s '%s' already exists", group, name);
    mfb_error_hint(err, "change it with 'mfb %s set %s ...', or choose another name", group, name);
    return MFB_ERR_EXISTS;
}

/* Grows *list by one zeroed element of `size` bytes. */
static mfb_status grow(void **list, size_t *count, size_t *cap, size_t size, struct mfb_error *err)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *n = realloc(*list, ncap * size);
        if (n == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        *list = n;
        *cap = ncap;
    }
    memset((char *)*list + *count * size, 0, size);
    return MFB_OK;
}

/* Reads one row into a record; void * so that one list reader serves all. */
typedef mfb_status (*row_reader)(sqlite3_stmt *stmt, void *out, struct mfb_error *err);
typedef void (*row_dropper)(void *row);

/* Steps stmt (prepared and bound, under the lock) and reads every row into
 * a growing array of `size`-byte records; finalizes stmt. On failure drops
 * what was read and returns an empty list. */
static mfb_status read_rows(struct config_db *db, sqlite3_stmt *stmt, size_t size, row_reader read,
                            row_dropper drop, void **list, size_t *count, const char *what,
                            struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    size_t cap = 0;
    mfb_status st = MFB_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        st = grow(list, count, &cap, size, err);
        if (st == MFB_OK)
            st = read(stmt, (char *)*list + *count * size, err);
        if (st != MFB_OK)
            break;
        (*count)++;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, what, err);
    sqlite3_finalize(stmt);
    if (st != MFB_OK) {
        for (size_t i = 0; i < *count; i++)
            drop((char *)*list + i * size);
        free(*list);
        *list = NULL;
        *count = 0;
    }
    return st;
}

/* Every row of a query without parameters. */
static mfb_status list_all(struct config_db *db, const char *sql, size_t size, row_reader read,
                           row_dropper drop, void **list, size_t *count, const char *what,
                           struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st == MFB_OK)
        st = read_rows(db, stmt, size, read, drop, list, count, what, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* The one row of `group` (instance, target) called name; sql has one
 * parameter. */
static mfb_status get_named(struct config_db *db, const char *sql, const char *name,
                            row_reader read, void *out, const char *group, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        st = read(stmt, out, err);
    } else if (rc == SQLITE_DONE) {
        st = not_found(err, group, name);
    } else {
        char what[64];
        snprintf(what, sizeof(what), "read the %s", group);
        st = sqlutil_fail(db->sql, what, err);
    }
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Binds a record's columns, its name at ?2 and the rest after it. */
typedef void (*row_binder)(sqlite3_stmt *stmt, const void *rec);

/* Inserts a record of `group` (insert: sql is an INSERT, *id gets the new
 * row's id) or updates the one with its name (an UPDATE ... WHERE name =
 * ?2). A taken name is MFB_ERR_EXISTS, a missing one MFB_ERR_NOT_FOUND. */
static mfb_status save_named(struct config_db *db, const char *sql, row_binder bind,
                             const void *rec, const char *group, const char *name, int64_t *id,
                             struct mfb_error *err)
{
    char what[64];
    snprintf(what, sizeof(what), "save the %s", group);
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    bind(stmt, rec);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = is_duplicate(db) ? exists(err, group, name) : sqlutil_fail(db->sql, what, err);
    else if (id != NULL)
        *id = sqlite3_last_insert_rowid(db->sql);
    else if (sqlite3_changes(db->sql) == 0)
        st = not_found(err, group, name);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

#define INSTANCE_COLUMNS                                                                           \
    "id, name, socket, host, port, user, password, control, service, start_cmd, stop_cmd, "        \
    "datadir, spool, restart_after, preflush_timeout_ms, stop_timeout_ms, archive_timeout_ms, "    \
    "upload_timeout_ms, start_timeout_ms, verify_timeout_ms, created, updated"

/* Binds the columns after id and name (3..), in INSTANCE_COLUMNS order. */
static void bind_instance(sqlite3_stmt *stmt, const void *rec)
{
    const struct config_instance *inst = rec;
    sqlite3_bind_text(stmt, 2, inst->name, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 3, inst->socket);
    sqlutil_bind_text(stmt, 4, inst->host);
    sqlite3_bind_int64(stmt, 5, inst->port);
    sqlutil_bind_text(stmt, 6, inst->user);
    sqlutil_bind_text(stmt, 7, inst->password);
    sqlutil_bind_text(stmt, 8, config_control_kind_str(inst->control));
    sqlutil_bind_text(stmt, 9, inst->service);
    sqlutil_bind_text(stmt, 10, inst->start_cmd);
    sqlutil_bind_text(stmt, 11, inst->stop_cmd);
    sqlutil_bind_text(stmt, 12, inst->datadir);
    sqlutil_bind_text(stmt, 13, inst->spool);
    sqlutil_bind_text(stmt, 14, config_restart_after_str(inst->restart_after));
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        sqlite3_bind_int64(stmt, 15 + i, (sqlite3_int64)inst->timeout_ms[i]);
    sqlite3_bind_int64(stmt, 21, inst->created);
    sqlite3_bind_int64(stmt, 22, inst->updated);
}

static mfb_status read_instance(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_instance *out = row;
    config_instance_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    out->socket = sqlutil_dup_text(stmt, 2, &oom);
    out->host = sqlutil_dup_text(stmt, 3, &oom);
    out->port = (unsigned)sqlite3_column_int64(stmt, 4);
    out->user = sqlutil_dup_text(stmt, 5, &oom);
    out->password = sqlutil_dup_text(stmt, 6, &oom);
    int control =
        lookup(control_names, COUNT_OF(control_names), (const char *)sqlite3_column_text(stmt, 7));
    out->service = sqlutil_dup_text(stmt, 8, &oom);
    out->start_cmd = sqlutil_dup_text(stmt, 9, &oom);
    out->stop_cmd = sqlutil_dup_text(stmt, 10, &oom);
    out->datadir = sqlutil_dup_text(stmt, 11, &oom);
    out->spool = sqlutil_dup_text(stmt, 12, &oom);
    int restart =
        lookup(restart_names, COUNT_OF(restart_names), (const char *)sqlite3_column_text(stmt, 13));
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        out->timeout_ms[i] = (uint64_t)sqlite3_column_int64(stmt, 14 + i);
    out->created = sqlite3_column_int64(stmt, 20);
    out->updated = sqlite3_column_int64(stmt, 21);
    if (oom) {
        config_instance_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    if (control < 0 || restart < 0) {
        config_instance_free(out);
        return mfb_error_set(err, MFB_ERR_CORRUPT, "the stored instance has an unknown value");
    }
    out->control = (enum config_control)control;
    out->restart_after = (enum config_restart_after)restart;
    return MFB_OK;
}

/* MFB_ERR_EXISTS when sql (SELECT ... WHERE name = ?) finds a row. */
static mfb_status check_new(struct config_db *db, const char *sql, const char *name,
                            const char *what, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        st = exists(err, what, name);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "look up the name", err);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_instance_check_new(struct config_db *db, const char *name, struct mfb_error *err)
{
    return check_new(db, "SELECT 1 FROM instances WHERE name = ?", name, "instance", err);
}

mfb_status config_instance_add(struct config_db *db, struct config_instance *inst,
                               struct mfb_error *err)
{
    inst->created = inst->updated = now_s();
    return save_named(db,
                      "INSERT INTO instances (" INSTANCE_COLUMNS ") VALUES "
                      "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                      "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
                      bind_instance, inst, "instance", inst->name, &inst->id, err);
}

mfb_status config_instance_get(struct config_db *db, const char *name, struct config_instance *out,
                               struct mfb_error *err)
{
    config_instance_init(out);
    return get_named(db, "SELECT " INSTANCE_COLUMNS " FROM instances WHERE name = ?", name,
                     read_instance, out, "instance", err);
}

static void drop_instance(void *row)
{
    config_instance_free(row);
}

mfb_status config_instance_list(struct config_db *db, struct config_instance **list, size_t *count,
                                struct mfb_error *err)
{
    return list_all(db, "SELECT " INSTANCE_COLUMNS " FROM instances ORDER BY name", sizeof(**list),
                    read_instance, drop_instance, (void **)list, count, "list the instances", err);
}

void config_instance_list_free(struct config_instance *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_instance_free(&list[i]);
    free(list);
}

mfb_status config_instance_update(struct config_db *db, struct config_instance *inst,
                                  struct mfb_error *err)
{
    inst->updated = now_s();
    return save_named(
        db,
        "UPDATE instances SET socket = ?3, host = ?4, port = ?5, user = ?6, password = ?7, "
        "control = ?8, service = ?9, start_cmd = ?10, stop_cmd = ?11, datadir = ?12, "
        "spool = ?13, restart_after = ?14, preflush_timeout_ms = ?15, stop_timeout_ms = ?16, "
        "archive_timeout_ms = ?17, upload_timeout_ms = ?18, start_timeout_ms = ?19, "
        "verify_timeout_ms = ?20, updated = ?22 WHERE name = ?2",
        bind_instance, inst, "instance", inst->name, NULL, err);
}

/* Sets *job_id to a job of `column` = name with status `status`, or 0. */
static mfb_status find_job(struct config_db *db, const char *sql, const char *name, int64_t *job_id,
                           struct mfb_error *err)
{
    *job_id = 0;
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *job_id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "look for running jobs", err);
    sqlite3_finalize(stmt);
    return st;
}

/* Deletes the row called name from table inside the open transaction. */
static mfb_status delete_named(struct config_db *db, const char *sql, const char *name,
                               const char *what, const char *group, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "remove it", err);
    if (st == MFB_OK && sqlite3_changes(db->sql) == 0)
        st = not_found(err, group, name);
    return st;
}

/* Ends the open transaction: COMMIT when st is MFB_OK, else ROLLBACK. */
static mfb_status finish_tx(struct config_db *db, mfb_status st, struct mfb_error *err)
{
    if (st == MFB_OK)
        return sqlutil_exec(db->sql, "COMMIT", "commit", err);
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

mfb_status config_instance_remove(struct config_db *db, const char *name, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "remove the instance", err);
    if (st != MFB_OK)
        goto done;
    int64_t job = 0;
    st = find_job(db,
                  "SELECT id FROM jobs WHERE instance = ? AND status = 'running' "
                  "ORDER BY id LIMIT 1",
                  name, &job, err);
    if (st == MFB_OK && job != 0) {
        mfb_error_set(err, MFB_ERR_BUSY, "instance '%s' has a running job (#%lld)", name,
                      (long long)job);
        mfb_error_hint(err, "wait until the job has finished, or cancel it, then remove again");
        st = MFB_ERR_BUSY;
    }
    if (st == MFB_OK)
        st = delete_named(db, "DELETE FROM instances WHERE name = ?", name, "instance", "instance",
                          err);
    st = finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- targets ---- */

void config_target_init(struct config_target *t)
{
    memset(t, 0, sizeof(*t));
    t->chunk_size = CONFIG_DEFAULT_CHUNK_SIZE;
    t->connections = CONFIG_DEFAULT_CONNECTIONS;
}

void config_target_free(struct config_target *t)
{
    if (t == NULL)
        return;
    free(t->url);
    config_secret_free(t->token);
    free(t->fingerprint);
    free(t->ca_file);
    free(t->directory);
    free(t->naming);
    memset(t, 0, sizeof(*t));
}

#define TARGET_COLUMNS                                                                             \
    "id, name, url, token, fingerprint, ca_file, directory, naming, chunk_size, connections, "     \
    "created, updated"

static void bind_target(sqlite3_stmt *stmt, const void *rec)
{
    const struct config_target *t = rec;
    sqlite3_bind_text(stmt, 2, t->name, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 3, t->url);
    sqlutil_bind_text(stmt, 4, t->token);
    sqlutil_bind_text(stmt, 5, t->fingerprint);
    sqlutil_bind_text(stmt, 6, t->ca_file);
    sqlutil_bind_text(stmt, 7, t->directory);
    sqlutil_bind_text(stmt, 8, t->naming ? t->naming : CONFIG_DEFAULT_NAMING);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)t->chunk_size);
    sqlite3_bind_int64(stmt, 10, t->connections);
    sqlite3_bind_int64(stmt, 11, t->created);
    sqlite3_bind_int64(stmt, 12, t->updated);
}

static mfb_status read_target(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_target *out = row;
    config_target_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    out->url = sqlutil_dup_text(stmt, 2, &oom);
    out->token = sqlutil_dup_text(stmt, 3, &oom);
    out->fingerprint = sqlutil_dup_text(stmt, 4, &oom);
    out->ca_file = sqlutil_dup_text(stmt, 5, &oom);
    out->directory = sqlutil_dup_text(stmt, 6, &oom);
    out->naming = sqlutil_dup_text(stmt, 7, &oom);
    out->chunk_size = (uint64_t)sqlite3_column_int64(stmt, 8);
    out->connections = (unsigned)sqlite3_column_int64(stmt, 9);
    out->created = sqlite3_column_int64(stmt, 10);
    out->updated = sqlite3_column_int64(stmt, 11);
    if (oom) {
        config_target_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    return MFB_OK;
}

mfb_status config_target_check_new(struct config_db *db, const char *name, struct mfb_error *err)
{
    return check_new(db, "SELECT 1 FROM targets WHERE name = ?", name, "target", err);
}

mfb_status config_target_add(struct config_db *db, struct config_target *t, struct mfb_error *err)
{
    t->created = t->updated = now_s();
    return save_named(db,
                      "INSERT INTO targets (" TARGET_COLUMNS ") VALUES "
                      "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                      bind_target, t, "target", t->name, &t->id, err);
}

mfb_status config_target_get(struct config_db *db, const char *name, struct config_target *out,
                             struct mfb_error *err)
{
    config_target_init(out);
    return get_named(db, "SELECT " TARGET_COLUMNS " FROM targets WHERE name = ?", name, read_target,
                     out, "target", err);
}

static void drop_target(void *row)
{
    config_target_free(row);
}

mfb_status config_target_list(struct config_db *db, struct config_target **list, size_t *count,
                              struct mfb_error *err)
{
    return list_all(db, "SELECT " TARGET_COLUMNS " FROM targets ORDER BY name", sizeof(**list),
                    read_target, drop_target, (void **)list, count, "list the targets", err);
}

void config_target_list_free(struct config_target *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_target_free(&list[i]);
    free(list);
}

mfb_status config_target_update(struct config_db *db, struct config_target *t,
                                struct mfb_error *err)
{
    t->updated = now_s();
    return save_named(db,
                      "UPDATE targets SET url = ?3, token = ?4, fingerprint = ?5, ca_file = ?6, "
                      "directory = ?7, naming = ?8, chunk_size = ?9, connections = ?10, "
                      "updated = ?12 WHERE name = ?2",
                      bind_target, t, "target", t->name, NULL, err);
}

mfb_status config_target_remove(struct config_db *db, const char *name, bool force,
                                struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "remove the target", err);
    if (st != MFB_OK)
        goto done;
    int64_t job = 0;
    st = find_job(db,
                  "SELECT id FROM jobs WHERE target = ? AND status = 'running' "
                  "ORDER BY id LIMIT 1",
                  name, &job, err);
    if (st == MFB_OK && job != 0) {
        mfb_error_set(err, MFB_ERR_BUSY, "target '%s' is used by a running job (#%lld)", name,
                      (long long)job);
        mfb_error_hint(err, "wait until the job has finished, or cancel it, then remove again");
        st = MFB_ERR_BUSY;
    }
    if (st == MFB_OK && !force) {
        st = find_job(db,
                      "SELECT id FROM jobs WHERE target = ? AND status = 'pending_upload' "
                      "ORDER BY id LIMIT 1",
                      name, &job, err);
        if (st == MFB_OK && job != 0) {
            mfb_error_set(err, MFB_ERR_BUSY,
                          "target '%s' has an upload waiting to be resumed (job #%lld)", name,
                          (long long)job);
            mfb_error_hint(err, "run 'mfb resume' first, or pass --force to give it up");
            st = MFB_ERR_BUSY;
        }
    }
    if (st == MFB_OK)
        st = delete_named(db, "DELETE FROM targets WHERE name = ?", name, "target", "target", err);
    st = finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- settings ---- */

mfb_status config_setting_get(struct config_db *db, const char *key, char **value,
                              struct mfb_error *err)
{
    *value = NULL;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT value FROM settings WHERE key = ?", &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int oom = 0;
    if (rc == SQLITE_ROW)
        *value = sqlutil_dup_text(stmt, 0, &oom);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read a setting", err);
    if (oom)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_setting_set(struct config_db *db, const char *key, const char *value,
                              struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    value ? "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                                          : "DELETE FROM settings WHERE key = ?1",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "save a setting", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_name_seq_next(struct config_db *db, const char *instance, uint64_t *seq,
                                struct mfb_error *err)
{
    *seq = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO name_seq (instance, last) VALUES (?1, 1) "
                                    "ON CONFLICT (instance) DO UPDATE SET last = last + 1 "
                                    "RETURNING last",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(stmt, 0);
    if (rc != SQLITE_ROW || sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "number a backup name", err);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- jobs ---- */

#define JOB_COLUMNS                                                                                \
    "id, instance, target, kind, status, pid, started, ended, preflight_ms, preflush_ms, "         \
    "stop_ms, snapshot_ms, archive_ms, upload_ms, start_ms, verify_ms, finish_ms, downtime_ms, "   \
    "bytes_in, bytes_out, upload_id, backup_name, backup_id, error, hint, error_step, backtrace, " \
    "system_state, host, chunks, retries"
#define JOB_STEP_COLUMN 8 /* preflight_ms, in the order of enum config_step */

static void job_reset(struct config_job *job)
{
    memset(job, 0, sizeof(*job));
    for (int i = 0; i < CONFIG_STEP_COUNT; i++)
        job->step_ms[i] = -1;
    job->downtime_ms = -1;
}

void config_job_free(struct config_job *job)
{
    if (job == NULL)
        return;
    free(job->error);
    free(job->hint);
    free(job->backtrace);
    free(job->system_state);
    job->error = job->hint = job->backtrace = job->system_state = NULL;
}

static int64_t column_or(sqlite3_stmt *stmt, int col, int64_t fallback)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL ? fallback
                                                         : sqlite3_column_int64(stmt, col);
}

static mfb_status read_job(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_job *out = row;
    job_reset(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->instance, sizeof(out->instance), stmt, 1);
    sqlutil_copy_text(out->target, sizeof(out->target), stmt, 2);
    sqlutil_copy_text(out->kind, sizeof(out->kind), stmt, 3);
    int status =
        lookup(status_names, CONFIG_JOB_STATUS_COUNT, (const char *)sqlite3_column_text(stmt, 4));
    out->pid = sqlite3_column_int64(stmt, 5);
    out->started_ms = sqlite3_column_int64(stmt, 6);
    out->ended_ms = column_or(stmt, 7, 0);
    for (int i = 0; i < CONFIG_STEP_COUNT; i++)
        out->step_ms[i] = column_or(stmt, JOB_STEP_COLUMN + i, -1);
    out->downtime_ms = column_or(stmt, 17, -1);
    out->bytes_in = (uint64_t)sqlite3_column_int64(stmt, 18);
    out->bytes_out = (uint64_t)sqlite3_column_int64(stmt, 19);
    sqlutil_copy_text(out->upload_id, sizeof(out->upload_id), stmt, 20);
    sqlutil_copy_text(out->backup_name, sizeof(out->backup_name), stmt, 21);
    sqlutil_copy_text(out->backup_id, sizeof(out->backup_id), stmt, 22);
    out->error = sqlutil_dup_text(stmt, 23, &oom);
    out->hint = sqlutil_dup_text(stmt, 24, &oom);
    sqlutil_copy_text(out->error_step, sizeof(out->error_step), stmt, 25);
    out->backtrace = sqlutil_dup_text(stmt, 26, &oom);
    out->system_state = sqlutil_dup_text(stmt, 27, &oom);
    sqlutil_copy_text(out->host, sizeof(out->host), stmt, 28);
    out->chunks = (uint64_t)sqlite3_column_int64(stmt, 29);
    out->retries = (uint64_t)sqlite3_column_int64(stmt, 30);
    out->status = status < 0 ? CONFIG_JOB_FAILED : (enum config_job_status)status;
    if (oom) {
        config_job_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    return MFB_OK;
}

static void drop_job(void *row)
{
    config_job_free(row);
}

static const char *empty_to_null(const char *s)
{
    return s && *s ? s : NULL;
}

mfb_status config_job_create(struct config_db *db, const char *instance, const char *target,
                             const char *kind, struct config_job *job, struct mfb_error *err)
{
    job_reset(job);
    snprintf(job->instance, sizeof(job->instance), "%s", instance);
    snprintf(job->target, sizeof(job->target), "%s", target ? target : "");
    snprintf(job->kind, sizeof(job->kind), "%s", kind);
    job->status = CONFIG_JOB_RUNNING;
    job->pid = (int64_t)getpid();
    job->started_ms = now_ms();
    if (gethostname(job->host, sizeof(job->host)) != 0)
        job->host[0] = '\0';
    job->host[sizeof(job->host) - 1] = '\0';
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO jobs (instance, target, kind, status, pid, "
                                    "started, host) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, job->instance, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 2, empty_to_null(job->target));
    sqlite3_bind_text(stmt, 3, job->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, job->pid);
    sqlite3_bind_int64(stmt, 5, job->started_ms);
    sqlutil_bind_text(stmt, 6, empty_to_null(job->host));
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "record the job", err);
    else
        job->id = sqlite3_last_insert_rowid(db->sql);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void bind_or_null(sqlite3_stmt *stmt, int col, int64_t value, int64_t null_value)
{
    if (value == null_value)
        sqlite3_bind_null(stmt, col);
    else
        sqlite3_bind_int64(stmt, col, value);
}

mfb_status config_job_save(struct config_db *db, const struct config_job *job,
                           struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        "UPDATE jobs SET target = ?2, status = ?3, ended = ?4, preflight_ms = ?5, "
        "preflush_ms = ?6, stop_ms = ?7, snapshot_ms = ?8, archive_ms = ?9, upload_ms = ?10, "
        "start_ms = ?11, verify_ms = ?12, finish_ms = ?13, downtime_ms = ?14, bytes_in = ?15, "
        "bytes_out = ?16, upload_id = ?17, backup_name = ?18, backup_id = ?19, error = ?20, "
        "hint = ?21, error_step = ?22, backtrace = ?23, system_state = ?24, chunks = ?25, "
        "retries = ?26 WHERE id = ?1",
        &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, job->id);
    sqlutil_bind_text(stmt, 2, empty_to_null(job->target));
    sqlutil_bind_text(stmt, 3, config_job_status_str(job->status));
    bind_or_null(stmt, 4, job->ended_ms, 0);
    for (int i = 0; i < CONFIG_STEP_COUNT; i++)
        bind_or_null(stmt, 5 + i, job->step_ms[i], -1);
    bind_or_null(stmt, 14, job->downtime_ms, -1);
    sqlite3_bind_int64(stmt, 15, (sqlite3_int64)job->bytes_in);
    sqlite3_bind_int64(stmt, 16, (sqlite3_int64)job->bytes_out);
    sqlutil_bind_text(stmt, 17, empty_to_null(job->upload_id));
    sqlutil_bind_text(stmt, 18, empty_to_null(job->backup_name));
    sqlutil_bind_text(stmt, 19, empty_to_null(job->backup_id));
    sqlutil_bind_text(stmt, 20, job->error);
    sqlutil_bind_text(stmt, 21, job->hint);
    sqlutil_bind_text(stmt, 22, empty_to_null(job->error_step));
    sqlutil_bind_text(stmt, 23, job->backtrace);
    sqlutil_bind_text(stmt, 24, job->system_state);
    sqlite3_bind_int64(stmt, 25, (sqlite3_int64)job->chunks);
    sqlite3_bind_int64(stmt, 26, (sqlite3_int64)job->retries);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "save the job", err);
    else if (sqlite3_changes(db->sql) == 0)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)job->id);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_job_get(struct config_db *db, int64_t id, struct config_job *out,
                          struct mfb_error *err)
{
    job_reset(out);
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?", &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        st = read_job(stmt, out, err);
    } else if (rc == SQLITE_DONE) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)id);
        mfb_error_hint(err, "'mfb logs' lists the jobs");
        st = MFB_ERR_NOT_FOUND;
    } else {
        st = sqlutil_fail(db->sql, "read the job", err);
    }
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_job_event(struct config_db *db, int64_t job_id, enum config_level level,
                            const char *step, const char *message, struct mfb_error *err)
{
    return config_job_event_at(db, job_id, now_ms(), level, step, message, err);
}

mfb_status config_job_event_at(struct config_db *db, int64_t job_id, int64_t time_ms,
                               enum config_level level, const char *step, const char *message,
                               struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO job_events (job_id, time, level, step, message) "
                                    "VALUES (?, ?, ?, ?, ?)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, job_id);
    sqlite3_bind_int64(stmt, 2, time_ms);
    sqlite3_bind_text(stmt, 3, config_level_str(level), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, step ? step : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, message, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "record a job event", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static mfb_status read_event(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_job_event *e = row;
    int oom = 0;
    e->id = sqlite3_column_int64(stmt, 0);
    e->job_id = sqlite3_column_int64(stmt, 1);
    e->time_ms = sqlite3_column_int64(stmt, 2);
    int level =
        lookup(level_names, COUNT_OF(level_names), (const char *)sqlite3_column_text(stmt, 3));
    e->level = level < 0 ? CONFIG_LEVEL_INFO : (enum config_level)level;
    sqlutil_copy_text(e->step, sizeof(e->step), stmt, 4);
    e->message = sqlutil_dup_text(stmt, 5, &oom);
    if (oom)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    return MFB_OK;
}

static void drop_event(void *row)
{
    free(((struct config_job_event *)row)->message);
}

mfb_status config_job_events(struct config_db *db, int64_t job_id, struct config_job_event **list,
                             size_t *count, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "SELECT id, job_id, time, level, step, message "
                                    "FROM job_events WHERE job_id = ? ORDER BY id",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, job_id);
        st = read_rows(db, stmt, sizeof(**list), read_event, drop_event, (void **)list, count,
                       "read the job's events", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

void config_job_events_free(struct config_job_event *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i].message);
    free(list);
}

/* Turns the words a person typed into an FTS5 query in which every word is
 * a quoted phrase, all of which must match: `disk "full"` becomes
 * `"disk" """full"""`. Allocates; NULL when there is no word. */
static char *fts_query(const char *text, int *oom)
{
    size_t len = strlen(text);
    char *q = malloc(len * 5 + 4); /* each byte doubled, plus quotes and blanks */
    if (q == NULL) {
        *oom = 1;
        return NULL;
    }
    size_t n = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        if (n > 0)
            q[n++] = ' ';
        q[n++] = '"';
        for (; *p && *p != ' ' && *p != '\t' && *p != '\n'; p++) {
            if (*p == '"')
                q[n++] = '"';
            q[n++] = *p;
        }
        q[n++] = '"';
    }
    q[n] = '\0';
    if (n == 0) {
        free(q);
        return NULL;
    }
    return q;
}

mfb_status config_job_list(struct config_db *db, const struct config_job_filter *filter,
                           struct config_job **list, size_t *count, struct mfb_error *err)
{
    static const struct config_job_filter all = {0};
    const struct config_job_filter *f = filter ? filter : &all;
    *list = NULL;
    *count = 0;
    int oom = 0;
    char *query = f->search ? fts_query(f->search, &oom) : NULL;
    if (oom)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        query ? "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR instance = ?1) "
                "AND (?2 IS NULL OR target = ?2) AND (?3 IS NULL OR status = ?3) "
                "AND started >= ?4 AND (?7 <= 0 OR started < ?7) "
                "AND (id IN (SELECT e.job_id FROM job_events e "
                "JOIN job_events_fts ON job_events_fts.rowid = e.id "
                "WHERE job_events_fts MATCH ?6) "
                "OR id IN (SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ?6)) "
                "ORDER BY started DESC, id DESC LIMIT ?5"
              : "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR instance = ?1) "
                "AND (?2 IS NULL OR target = ?2) AND (?3 IS NULL OR status = ?3) "
                "AND started >= ?4 AND (?7 <= 0 OR started < ?7) "
                "ORDER BY started DESC, id DESC LIMIT ?5",
        &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlutil_bind_text(stmt, 1, f->instance);
    sqlutil_bind_text(stmt, 2, f->target);
    sqlutil_bind_text(stmt, 3, f->by_status ? config_job_status_str(f->status) : NULL);
    sqlite3_bind_int64(stmt, 4, f->since_ms);
    sqlite3_bind_int64(stmt, 5, f->limit ? (sqlite3_int64)f->limit : -1);
    if (query)
        sqlite3_bind_text(stmt, 6, query, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 7, f->until_ms);
    st = read_rows(db, stmt, sizeof(**list), read_job, drop_job, (void **)list, count,
                   "list the jobs", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    free(query);
    return st;
}

void config_job_list_free(struct config_job *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_job_free(&list[i]);
    free(list);
}

/* True when no process has this pid (so the job it ran cannot be running). */
static bool process_gone(int64_t pid)
{
    if (pid <= 0 || pid == (int64_t)getpid())
        return pid <= 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

mfb_status config_job_fail_orphans(struct config_db *db, size_t *count, struct mfb_error *err)
{
    if (count)
        *count = 0;
    sqlite3_stmt *stmt = NULL;
    sqlite3_stmt *upd = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "check running jobs", err);
    if (st != MFB_OK)
        goto done;
    st = sqlutil_prepare(db->sql, "SELECT id, pid FROM jobs WHERE status = 'running'", &stmt, err);
    if (st == MFB_OK)
        st = sqlutil_prepare(db->sql,
                             "UPDATE jobs SET status = 'failed', ended = ?2, "
                             "error = 'interrupted: the process that ran it (pid ' || ?3 || "
                             "') is gone', hint = ?4 WHERE id = ?1 AND status = 'running'",
                             &upd, err);
    int rc = SQLITE_DONE;
    while (st == MFB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(stmt, 1);
        if (!process_gone(pid))
            continue;
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(stmt, 0));
        sqlite3_bind_int64(upd, 2, now_ms());
        sqlite3_bind_int64(upd, 3, pid);
        sqlite3_bind_text(upd, 4,
                          "check that the database server is running (its log tells whether "
                          "mfb stopped it) and whether the backup reached the receiver ('mfb "
                          "list'): a job whose last record could not be saved (a full disk) "
                          "may have finished",
                          -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "mark an interrupted job", err);
        else if (count)
            (*count)++;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "check running jobs", err);
    sqlite3_finalize(stmt);
    sqlite3_finalize(upd);
    st = finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_job_orphans(struct config_db *db, struct config_job **list, size_t *count,
                              struct mfb_error *err)
{
    struct config_job_filter f = {.by_status = true, .status = CONFIG_JOB_RUNNING};
    struct config_job *all = NULL;
    size_t n = 0;
    *list = NULL;
    *count = 0;
    mfb_status st = config_job_list(db, &f, &all, &n, err);
    if (st != MFB_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!process_gone(all[i].pid))
            config_job_free(&all[i]);
        else
            all[kept++] = all[i];
    }
    *list = all;
    *count = kept;
    return MFB_OK;
}

mfb_status config_job_settle_orphan(struct config_db *db, int64_t id, int64_t pid,
                                    enum config_job_status status, const char *error,
                                    const char *hint, bool *settled, struct mfb_error *err)
{
    if (settled)
        *settled = false;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "UPDATE jobs SET status = ?3, ended = ?4, error = ?5, "
                                    "hint = ?6 WHERE id = ?1 AND pid = ?2 AND status = 'running'",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, pid);
        sqlite3_bind_text(stmt, 3, config_job_status_str(status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, now_ms());
        sqlutil_bind_text(stmt, 5, error);
        sqlutil_bind_text(stmt, 6, hint);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "mark an interrupted job", err);
        else if (settled)
            *settled = sqlite3_changes(db->sql) > 0;
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_job_take_over(struct config_db *db, int64_t id, int64_t pid,
                                struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, "UPDATE jobs SET pid = ?2 WHERE id = ?1", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, pid);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "take over a job", err);
        else if (sqlite3_changes(db->sql) == 0)
            st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)id);
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Deletes the jobs whose ids `ids` (SQL with one parameter, ?1 = param)
 * selects, events first, explicitly: the FTS delete trigger needs each row. */
#define DELETE_JOBS(ids)                                                                           \
    "DELETE FROM job_events WHERE job_id IN (" ids ")", "DELETE FROM jobs WHERE id IN (" ids ")"

static mfb_status delete_jobs(struct config_db *db, const char *events_sql, const char *jobs_sql,
                              int64_t param, size_t *deleted, struct mfb_error *err)
{
    if (deleted)
        *deleted = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "prune the job log", err);
    if (st != MFB_OK)
        goto done;
    const char *const sql[2] = {events_sql, jobs_sql};
    for (int i = 0; i < 2 && st == MFB_OK; i++) {
        st = sqlutil_prepare(db->sql, sql[i], &stmt, err);
        if (st != MFB_OK)
            break;
        sqlite3_bind_int64(stmt, 1, param);
        st = sqlutil_run(db->sql, stmt, "prune the job log", err);
        if (st == MFB_OK && i == 1 && deleted)
            *deleted = (size_t)sqlite3_changes(db->sql);
    }
    st = finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_job_prune(struct config_db *db, int64_t before_ms, size_t *deleted,
                            struct mfb_error *err)
{
    return delete_jobs(db,
                       DELETE_JOBS("SELECT id FROM jobs WHERE ended IS NOT NULL AND ended < ?1 "
                                   "AND status NOT IN ('running', 'pending_upload')"),
                       before_ms, deleted, err);
}

mfb_status config_job_prune_count(struct config_db *db, size_t keep, size_t *deleted,
                                  struct mfb_error *err)
{
    /* The finished jobs beyond the newest keep ones. */
    return delete_jobs(db,
                       DELETE_JOBS("SELECT id FROM jobs WHERE ended IS NOT NULL "
                                   "AND status NOT IN ('running', 'pending_upload') "
                                   "ORDER BY started DESC, id DESC LIMIT -1 OFFSET ?1"),
                       (int64_t)keep, deleted, err);
}

mfb_status config_job_error_step(struct config_db *db, int64_t job_id, char *step, size_t len,
                                 struct mfb_error *err)
{
    step[0] = '\0';
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "SELECT step FROM job_events WHERE job_id = ? "
                                    "AND level = 'error' ORDER BY id LIMIT 1",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, job_id);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            sqlutil_copy_text(step, len, stmt, 0);
        else if (rc != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "read the job's events", err);
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- alert channels ---- */

static const char *const alert_kind_names[] = {"webhook", "email", "command"};
static const char *const severity_names[] = {"info", "warning", "error", "critical"};

const char *config_alert_kind_str(enum config_alert_kind k)
{
    return (unsigned)k < COUNT_OF(alert_kind_names) ? alert_kind_names[k] : "?";
}

const char *config_severity_str(enum config_severity s)
{
    return (unsigned)s < COUNT_OF(severity_names) ? severity_names[s] : "?";
}

mfb_status config_severity_parse(const char *text, enum config_severity *s, struct mfb_error *err)
{
    int i = lookup(severity_names, COUNT_OF(severity_names), text);
    if (i < 0) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid severity '%s'", text ? text : "");
        mfb_error_hint(err, "use info, warning, error or critical");
        return MFB_ERR_USAGE;
    }
    *s = (enum config_severity)i;
    return MFB_OK;
}

void config_alert_init(struct config_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->min_severity = CONFIG_SEVERITY_WARNING;
}

void config_alert_free(struct config_alert *a)
{
    if (a == NULL)
        return;
    free(a->url);
    config_secret_free(a->secret);
    free(a->smtp_user);
    free(a->mail_from);
    free(a->mail_to);
    free(a->ca_file);
    free(a->command);
    memset(a, 0, sizeof(*a));
}

#define ALERT_COLUMNS                                                                              \
    "id, name, kind, min_severity, url, secret, smtp_user, mail_from, mail_to, ca_file, "          \
    "command, created, updated"

static mfb_status read_alert(sqlite3_stmt *stmt, struct config_alert *out, struct mfb_error *err)
{
    config_alert_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    int kind = lookup(alert_kind_names, COUNT_OF(alert_kind_names),
                      (const char *)sqlite3_column_text(stmt, 2));
    int sev = lookup(severity_names, COUNT_OF(severity_names),
                     (const char *)sqlite3_column_text(stmt, 3));
    out->url = sqlutil_dup_text(stmt, 4, &oom);
    out->secret = sqlutil_dup_text(stmt, 5, &oom);
    out->smtp_user = sqlutil_dup_text(stmt, 6, &oom);
    out->mail_from = sqlutil_dup_text(stmt, 7, &oom);
    out->mail_to = sqlutil_dup_text(stmt, 8, &oom);
    out->ca_file = sqlutil_dup_text(stmt, 9, &oom);
    out->command = sqlutil_dup_text(stmt, 10, &oom);
    out->created = sqlite3_column_int64(stmt, 11);
    out->updated = sqlite3_column_int64(stmt, 12);
    if (oom) {
        config_alert_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    if (kind < 0 || sev < 0) {
        config_alert_free(out);
        return mfb_error_set(err, MFB_ERR_CORRUPT, "the stored alert channel has an unknown value");
    }
    out->kind = (enum config_alert_kind)kind;
    out->min_severity = (enum config_severity)sev;
    return MFB_OK;
}

mfb_status config_alert_add(struct config_db *db, struct config_alert *a, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    a->created = a->updated = now_s();
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO alerts (" ALERT_COLUMNS ") VALUES "
                                    "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 2, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, config_alert_kind_str(a->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, config_severity_str(a->min_severity), -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 5, a->url);
    sqlutil_bind_text(stmt, 6, a->secret);
    sqlutil_bind_text(stmt, 7, a->smtp_user);
    sqlutil_bind_text(stmt, 8, a->mail_from);
    sqlutil_bind_text(stmt, 9, a->mail_to);
    sqlutil_bind_text(stmt, 10, a->ca_file);
    sqlutil_bind_text(stmt, 11, a->command);
    sqlite3_bind_int64(stmt, 12, a->created);
    sqlite3_bind_int64(stmt, 13, a->updated);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        if (is_duplicate(db)) {
            mfb_error_set(err, MFB_ERR_EXISTS, "alert channel '%s' already exists", a->name);
            mfb_error_hint(err,
                           "remove it first with 'mfb alert remove %s', or choose another "
                           "name",
                           a->name);
            st = MFB_ERR_EXISTS;
        } else {
            st = sqlutil_fail(db->sql, "save the alert channel", err);
        }
        goto done;
    }
    a->id = sqlite3_last_insert_rowid(db->sql);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_alert_list(struct config_db *db, struct config_alert **list, size_t *count,
                             struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    size_t cap = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT " ALERT_COLUMNS " FROM alerts ORDER BY name", &stmt, err);
    int rc = SQLITE_DONE;
    while (st == MFB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        st = grow((void **)list, count, &cap, sizeof(**list), err);
        if (st == MFB_OK)
            st = read_alert(stmt, &(*list)[*count], err);
        if (st == MFB_OK)
            (*count)++;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "list the alert channels", err);
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    if (st != MFB_OK) {
        config_alert_list_free(*list, *count);
        *list = NULL;
        *count = 0;
    }
    return st;
}

void config_alert_list_free(struct config_alert *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_alert_free(&list[i]);
    free(list);
}

mfb_status config_alert_remove(struct config_db *db, const char *name, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        delete_named(db, "DELETE FROM alerts WHERE name = ?", name, "alert channel", "alert", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}
