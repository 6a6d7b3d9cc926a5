/*
 * config_db.c - the client's configuration database itself (see
 * config_db.h): opening and closing the file, its mode check, the schema
 * version and the numbered migrations that make and change every table.
 *
 * The SQL that reads and writes the records lives with them:
 * config_records.c (instances, targets, settings, alert channels),
 * schedules.c (the daemon's schedules) and
 * job_log.c (jobs, events, search, pruning). The migrations stay here, in
 * one table, so the schema's history reads in one place.
 */
#include "store/config_db.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/config_db_internal.h"
#include "store/migrate.h"
#include "store/sqlutil.h"

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
    /* The final statuses of docs/logs.md ('ok' for 'succeeded', and 'critical':
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
    /* The daemon's schedules (docs/schedules.md). Instance and target by
     * name, like the jobs; a NULL target is the only stored target, as
     * `mfb backup` chooses. No foreign keys: removing a used instance or
     * target is refused by config_records.c with a message naming the
     * schedule, which a constraint error could not give. */
    {5, "CREATE TABLE schedules ("
        "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  instance TEXT NOT NULL, target TEXT,"
        "  kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup')),"
        "  cron TEXT NOT NULL, tz TEXT NOT NULL DEFAULT 'UTC',"
        "  catch_up TEXT NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'skip')),"
        "  jitter_ms INTEGER NOT NULL DEFAULT 0 CHECK (jitter_ms >= 0),"
        "  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
        "  last_run_job_id INTEGER);"},
    /* The daemon's persistent queue (docs/daemon.md, store/job_queue.h):
     * what waits, what runs, what ran. An instance is queued at most once
     * at a time (the partial unique index); job_id is the job log's row
     * once the entry runs, error says why an entry ended without one. */
    {6, "CREATE TABLE queue ("
        "  id INTEGER PRIMARY KEY, instance TEXT NOT NULL, target TEXT,"
        "  kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup')),"
        "  trigger TEXT NOT NULL CHECK (trigger IN ('api', 'cli', 'retry', 'catch-up')"
        "    OR trigger LIKE 'schedule:_%'),"
        "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done')),"
        "  job_id INTEGER, enqueued INTEGER NOT NULL, started INTEGER, ended INTEGER,"
        "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER,"
        "  cancelled INTEGER NOT NULL DEFAULT 0, error TEXT);"
        "CREATE UNIQUE INDEX queue_one_queued ON queue(instance) WHERE state = 'queued';"
        "CREATE INDEX queue_by_state ON queue(state, id);"},
    /* How many of the daemon's jobs may send to a target at once
     * (`mfb target set --max-jobs`, docs/daemon.md). */
    {7, "ALTER TABLE targets ADD COLUMN max_jobs INTEGER NOT NULL DEFAULT 1"
        "  CHECK (max_jobs >= 1);"},
    /* The daemon's upload retries and cancels (docs/daemon.md): a retry
     * entry names the pending_upload job it resumes (resume_job), and may
     * wait beside a queued backup of its instance, but there is one queued
     * retry per pending job; a cancelled entry records the step it was
     * cancelled in; a schedule's entry (on time or catch-up) names the
     * schedule, so that a catch-up is its own schedule's alone. */
    {8, "ALTER TABLE queue ADD COLUMN resume_job INTEGER;"
        "ALTER TABLE queue ADD COLUMN cancelled_step TEXT;"
        "ALTER TABLE queue ADD COLUMN schedule TEXT;"
        "UPDATE queue SET schedule = substr(trigger, 10) WHERE trigger LIKE 'schedule:_%';"
        "DROP INDEX queue_one_queued;"
        "CREATE UNIQUE INDEX queue_one_queued ON queue(instance)"
        "  WHERE state = 'queued' AND trigger <> 'retry';"
        "CREATE UNIQUE INDEX queue_one_retry ON queue(resume_job)"
        "  WHERE state = 'queued' AND trigger = 'retry';"},
    /* Restore drills (docs/drill.md): schedules and queue entries of kind
     * 'drill'. An instance may now wait once per kind (a backup and a
     * drill); the queue still never runs two entries of one instance at a
     * time. A CHECK cannot be altered, so both tables are rebuilt with
     * their ids. */
    {9, "CREATE TABLE schedules_v9 ("
        "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  instance TEXT NOT NULL, target TEXT,"
        "  kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'drill')),"
        "  cron TEXT NOT NULL, tz TEXT NOT NULL DEFAULT 'UTC',"
        "  catch_up TEXT NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'skip')),"
        "  jitter_ms INTEGER NOT NULL DEFAULT 0 CHECK (jitter_ms >= 0),"
        "  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
        "  last_run_job_id INTEGER);"
        "INSERT INTO schedules_v9 SELECT * FROM schedules;"
        "DROP TABLE schedules;"
        "ALTER TABLE schedules_v9 RENAME TO schedules;"
        "CREATE TABLE queue_v9 ("
        "  id INTEGER PRIMARY KEY, instance TEXT NOT NULL, target TEXT,"
        "  kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'drill')),"
        "  trigger TEXT NOT NULL CHECK (trigger IN ('api', 'cli', 'retry', 'catch-up')"
        "    OR trigger LIKE 'schedule:_%'),"
        "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done')),"
        "  job_id INTEGER, enqueued INTEGER NOT NULL, started INTEGER, ended INTEGER,"
        "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER,"
        "  cancelled INTEGER NOT NULL DEFAULT 0, error TEXT,"
        "  resume_job INTEGER, cancelled_step TEXT, schedule TEXT);"
        "INSERT INTO queue_v9 SELECT * FROM queue;"
        "DROP TABLE queue;"
        "ALTER TABLE queue_v9 RENAME TO queue;"
        "CREATE UNIQUE INDEX queue_one_queued ON queue(instance, kind)"
        "  WHERE state = 'queued' AND trigger <> 'retry';"
        "CREATE UNIQUE INDEX queue_one_retry ON queue(resume_job)"
        "  WHERE state = 'queued' AND trigger = 'retry';"
        "CREATE INDEX queue_by_state ON queue(state, id);"},
    /* Silence alarms (docs/monitoring.md): how often an instance must get
     * a good backup and a good drill (0: no expectation), and the alarms
     * that fire now, with when they were last sent, so a restarted daemon
     * neither repeats an alarm early nor forgets to send its recovery. */
    {10, "ALTER TABLE instances ADD COLUMN expect_every_ms INTEGER NOT NULL DEFAULT 0"
         "  CHECK (expect_every_ms >= 0);"
         "ALTER TABLE instances ADD COLUMN expect_drill_every_ms INTEGER NOT NULL DEFAULT 0"
         "  CHECK (expect_drill_every_ms >= 0);"
         "CREATE TABLE expect_alarms ("
         "  instance TEXT NOT NULL, what TEXT NOT NULL CHECK (what IN ('backup', 'drill')),"
         "  since INTEGER NOT NULL, last_sent INTEGER NOT NULL,"
         "  PRIMARY KEY (instance, what)) WITHOUT ROWID;"},
};

#define MIGRATION_COUNT (sizeof(migrations) / sizeof(migrations[0]))

/* PRAGMA application_id of the client's database: "mfbc". */
#define CONFIG_DB_APPLICATION_ID 0x6d666263

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
