/*
 * job_phase_test.c - the backup job's phases (job/backup/phase.c): each
 * has a name, the three restart policies and the failure paths walk only
 * moves the table allows, every other move is refused, the server's own
 * states move one way, and every phase with every outcome ends in the
 * status docs/backup.md promises.
 */
#include "unit.h"

#include <stdbool.h>
#include <string.h>

#include "job/backup/phase.h"

#define P(x) BACKUP_PHASE_##x

static void test_names(void **state)
{
    const char *want[BACKUP_PHASE_COUNT] = {"setup",      "preflight", "preflush",  "stopping",
                                            "snapshot",   "archiving", "uploading", "restarting",
                                            "completing", "ending",    "done"};
    for (int p = 0; p < BACKUP_PHASE_COUNT; p++)
        assert_string_equal(backup_phase_name((enum backup_phase)p), want[p]);
    assert_string_equal(backup_phase_name(BACKUP_PHASE_COUNT), "?");
    assert_string_equal(backup_server_name(BACKUP_SERVER_LOST), "lost");
    assert_string_equal(backup_server_name((enum backup_server)9), "?");
}

/* Every move the pipeline takes, written out here on its own. */
static const enum backup_phase legal[][2] = {
    {P(SETUP), P(PREFLIGHT)},      {P(SETUP), P(DONE)},
    {P(PREFLIGHT), P(PREFLUSH)},   {P(PREFLIGHT), P(ENDING)},
    {P(PREFLUSH), P(STOPPING)},    {P(PREFLUSH), P(ENDING)},
    {P(STOPPING), P(SNAPSHOT)},    {P(STOPPING), P(ARCHIVING)},
    {P(STOPPING), P(RESTARTING)},  {P(STOPPING), P(ENDING)},
    {P(SNAPSHOT), P(RESTARTING)},  {P(ARCHIVING), P(UPLOADING)},
    {P(ARCHIVING), P(RESTARTING)}, {P(ARCHIVING), P(ENDING)},
    {P(UPLOADING), P(RESTARTING)}, {P(UPLOADING), P(COMPLETING)},
    {P(UPLOADING), P(ENDING)},     {P(RESTARTING), P(ARCHIVING)},
    {P(RESTARTING), P(UPLOADING)}, {P(RESTARTING), P(COMPLETING)},
    {P(RESTARTING), P(ENDING)},    {P(COMPLETING), P(ENDING)},
    {P(ENDING), P(DONE)},
};

static bool is_legal(int from, int to)
{
    for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
        if ((int)legal[i][0] == from && (int)legal[i][1] == to)
            return true;
    return false;
}

/* Every pair of phases: allowed exactly when listed above; everything
 * else (staying put, going back, skipping the restart while the server is
 * down, leaving DONE) is refused. */
static void test_table(void **state)
{
    for (int from = 0; from < BACKUP_PHASE_COUNT; from++)
        for (int to = 0; to < BACKUP_PHASE_COUNT; to++) {
            bool want = is_legal(from, to);
            if (backup_phase_allowed((enum backup_phase)from, (enum backup_phase)to) != want)
                fail_msg("%s -> %s: allowed %d, want %d",
                         backup_phase_name((enum backup_phase)from),
                         backup_phase_name((enum backup_phase)to), !want, want);
        }
    assert_false(backup_phase_allowed(P(PREFLIGHT), P(STOPPING))); /* no stop without pre-flush */
    assert_false(backup_phase_allowed(P(SNAPSHOT), P(ENDING)));    /* down: restart first */
    assert_false(backup_phase_allowed(P(COMPLETING), P(RESTARTING))); /* never a second start */
    assert_false(backup_phase_allowed(P(DONE), P(PREFLIGHT)));
    assert_false(backup_phase_allowed(P(ARCHIVING), P(ARCHIVING)));
    assert_false(backup_phase_allowed(P(COUNT), P(DONE)));
    assert_false(backup_phase_allowed(P(SETUP), P(COUNT)));
}

/* Walks a path through backup_phase_move; every move must be allowed. */
static void walk(const enum backup_phase *path, size_t n)
{
    atomic_int phase;
    atomic_init(&phase, P(SETUP));
    for (size_t i = 0; i < n; i++) {
        assert_true(backup_phase_move(&phase, path[i]));
        assert_int_equal(atomic_load(&phase), path[i]);
    }
}

#define WALK(...)                                                                                  \
    do {                                                                                           \
        const enum backup_phase path_[] = {__VA_ARGS__};                                           \
        walk(path_, sizeof(path_) / sizeof(path_[0]));                                             \
    } while (0)

static void test_policies_and_failures(void **state)
{
    /* The three restart policies (docs/backup.md, "The pipeline"). */
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(ARCHIVING), P(UPLOADING), P(RESTARTING),
         P(COMPLETING), P(ENDING), P(DONE));
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(ARCHIVING), P(RESTARTING), P(UPLOADING),
         P(COMPLETING), P(ENDING), P(DONE));
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(SNAPSHOT), P(RESTARTING), P(ARCHIVING),
         P(UPLOADING), P(COMPLETING), P(ENDING), P(DONE));
    /* Refused before the job exists; failed before the stop. */
    WALK(P(DONE));
    WALK(P(PREFLIGHT), P(ENDING), P(DONE));
    WALK(P(PREFLIGHT), P(PREFLUSH), P(ENDING), P(DONE));
    /* A failed stop: the server still answers, or it is started again. */
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(ENDING), P(DONE));
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(RESTARTING), P(ENDING), P(DONE));
    /* The archive fails while the server is down, or after a snapshot. */
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(ARCHIVING), P(RESTARTING), P(ENDING), P(DONE));
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(SNAPSHOT), P(RESTARTING), P(ARCHIVING),
         P(ENDING), P(DONE));
    /* The upload fails after the start (archive policy). */
    WALK(P(PREFLIGHT), P(PREFLUSH), P(STOPPING), P(ARCHIVING), P(RESTARTING), P(UPLOADING),
         P(ENDING), P(DONE));
}

#ifdef NDEBUG
/* A release build logs a refused move and goes on (the server must still
 * be started); a debug build asserts instead, so this runs only here. */
static void test_refused_move_goes_on(void **state)
{
    atomic_int phase;
    atomic_init(&phase, P(PREFLIGHT));
    assert_false(backup_phase_move(&phase, P(STOPPING)));
    assert_int_equal(atomic_load(&phase), P(STOPPING));
    enum backup_server s = BACKUP_SERVER_BACK;
    assert_false(backup_server_move(&s, BACKUP_SERVER_DOWN));
}
#endif

static void test_server(void **state)
{
    for (int from = 0; from <= BACKUP_SERVER_LOST; from++)
        for (int to = 0; to <= BACKUP_SERVER_LOST; to++) {
            bool want = (from == BACKUP_SERVER_RUNNING && to == BACKUP_SERVER_DOWN) ||
                        (from == BACKUP_SERVER_DOWN &&
                         (to == BACKUP_SERVER_BACK || to == BACKUP_SERVER_LOST));
            assert_int_equal(
                backup_server_allowed((enum backup_server)from, (enum backup_server)to), want);
        }
    enum backup_server s = BACKUP_SERVER_RUNNING;
    assert_true(backup_server_move(&s, BACKUP_SERVER_DOWN));
    assert_true(backup_server_move(&s, BACKUP_SERVER_LOST));
    assert_int_equal(s, BACKUP_SERVER_LOST);
}

/* Named cases first: what docs/backup.md's failure table promises. */
static void test_status_cases(void **state)
{
    struct {
        enum backup_phase phase;
        struct backup_outcome o;
        enum job_status want;
    } cases[] = {
        /* a stored backup with the server back */
        {P(COMPLETING), {BACKUP_SERVER_BACK, true, true, false}, JOB_STATUS_OK},
        /* preflight failed, or was cancelled: never stopped */
        {P(PREFLIGHT), {BACKUP_SERVER_RUNNING, false, false, false}, JOB_STATUS_FAILED},
        {P(PREFLUSH), {BACKUP_SERVER_RUNNING, false, false, true}, JOB_STATUS_CANCELLED},
        /* the stop failed but the server still answers */
        {P(STOPPING), {BACKUP_SERVER_BACK, false, false, false}, JOB_STATUS_FAILED},
        /* the stop half-worked and the server neither answered nor exited */
        {P(STOPPING), {BACKUP_SERVER_LOST, false, false, false}, JOB_STATUS_CRITICAL},
        /* the archive failed; the server was started again */
        {P(RESTARTING), {BACKUP_SERVER_BACK, false, false, false}, JOB_STATUS_FAILED},
        {P(ARCHIVING), {BACKUP_SERVER_BACK, false, false, true}, JOB_STATUS_CANCELLED},
        /* the upload failed or was cancelled after the seal */
        {P(UPLOADING), {BACKUP_SERVER_BACK, true, false, false}, JOB_STATUS_PENDING_UPLOAD},
        {P(RESTARTING), {BACKUP_SERVER_BACK, true, false, true}, JOB_STATUS_PENDING_UPLOAD},
        /* the receiver refused the completion */
        {P(COMPLETING), {BACKUP_SERVER_BACK, true, false, false}, JOB_STATUS_PENDING_UPLOAD},
        /* the server did not come back, even with the backup stored */
        {P(COMPLETING), {BACKUP_SERVER_LOST, true, true, false}, JOB_STATUS_CRITICAL},
        {P(RESTARTING), {BACKUP_SERVER_LOST, false, false, true}, JOB_STATUS_CRITICAL},
        /* never recorded */
        {P(SETUP), {BACKUP_SERVER_RUNNING, false, false, true}, JOB_STATUS_FAILED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (backup_phase_status(cases[i].phase, &cases[i].o) != cases[i].want)
            fail_msg("case %zu (%s): %s, want %s", i, backup_phase_name(cases[i].phase),
                     job_status_str(backup_phase_status(cases[i].phase, &cases[i].o)),
                     job_status_str(cases[i].want));
}

/* Then every phase with every outcome, against the rules one by one. */
static void test_status_every_phase_and_outcome(void **state)
{
    for (int p = 0; p < BACKUP_PHASE_COUNT; p++)
        for (int srv = 0; srv <= BACKUP_SERVER_LOST; srv++)
            for (int bits = 0; bits < 8; bits++) {
                struct backup_outcome o = {.server = (enum backup_server)srv,
                                           .sealed = bits & 1,
                                           .stored = bits & 2,
                                           .cancelled = bits & 4};
                enum job_status got = backup_phase_status((enum backup_phase)p, &o);
                enum job_status want;
                if (p == P(SETUP))
                    want = JOB_STATUS_FAILED; /* no job: nothing else happened */
                else if (o.server == BACKUP_SERVER_LOST)
                    want = JOB_STATUS_CRITICAL; /* whatever else: the server is down */
                else if (o.stored)
                    want = JOB_STATUS_OK;
                else if (o.sealed)
                    want = JOB_STATUS_PENDING_UPLOAD; /* kept, even on a cancel */
                else
                    want = o.cancelled ? JOB_STATUS_CANCELLED : JOB_STATUS_FAILED;
                if (got != want)
                    fail_msg("%s server=%s sealed=%d stored=%d cancelled=%d: %s, want %s",
                             backup_phase_name((enum backup_phase)p), backup_server_name(o.server),
                             o.sealed, o.stored, o.cancelled, job_status_str(got),
                             job_status_str(want));
                assert_true(got != JOB_STATUS_RUNNING);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_policies_and_failures),
#ifdef NDEBUG
        cmocka_unit_test(test_refused_move_goes_on),
#endif
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_status_cases),
        cmocka_unit_test(test_status_every_phase_and_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
