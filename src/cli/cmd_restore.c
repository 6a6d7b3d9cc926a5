/*
 * cmd_restore.c - `mfb restore INSTANCE BACKUP`: put a backup back into an
 * instance (or only extract it with --to DIR). The pipeline is
 * src/job/restore/restore.c; this file turns options into its configuration, shows
 * the download's progress and each step as it happens, and ends with where
 * the old directories were kept.
 *
 * Ctrl-C or SIGTERM cancels: before the stop nothing has changed, after it
 * the restore takes its way back (old directories back, server started).
 * A second signal does not end the process then: leaving a server down
 * with its directories moved is worse than waiting a few seconds.
 *
 * MFB_TEST_RESTORE_FAULT=extract:ROOT (tests only) makes the extraction of
 * ROOT fail, to exercise the way back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/restore_cli.h"
#include "common/parse.h"
#include "job/restore/restore.h"

static const struct cli_option options[] = {
    RESTORE_CLI_TARGET_OPTION,
    {.name = "to",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help =
         "only extract the backup into DIR (each root under DIR/ROOT); the server is not touched"},
    {.name = "map",
     .type = CLI_STRING,
     .repeated = true,
     .metavar = "ROOT=DIR",
     .help = "restore ROOT into DIR instead of where it came from"},
    {.name = "in-place",
     .type = CLI_FLAG,
     .help = "stop the server first, then extract into place (the old method: longer "
             "downtime); else the backup is staged beside each directory while the server "
             "runs"},
    {.name = "force",
     .type = CLI_FLAG,
     .help = "restore even a backup of another flavour or a newer release than the server"},
    {.name = "keep-download",
     .type = CLI_FLAG,
     .help = "keep the downloaded backup in the spool afterwards"},
    {.name = "spool",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help = "download into DIR",
     .def_doc = "the instance's spool"},
    TRANSFER_RETRY_OPTIONS,
    CLI_OPTIONS_END,
};

/* --map values made absolute; paths[] owns the strings. */
struct maps {
    struct restore_map items[CLI_MAX_VALUES];
    char *names[CLI_MAX_VALUES];
    char *paths[CLI_MAX_VALUES];
    size_t count;
};

static mfb_status read_maps(const struct cli_args *args, struct maps *m, struct mfb_error *err)
{
    const char *values[CLI_MAX_VALUES];
    size_t n = cli_all(args, "map", values, CLI_MAX_VALUES);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(values[i], '=');
        if (eq == NULL || eq == values[i] || eq[1] == '\0') {
            mfb_error_set(err, MFB_ERR_USAGE, "--map: expected ROOT=DIR, got '%s'", values[i]);
            mfb_error_hint(err, "like --map datadir=/srv/mysql; the roots are the top-level "
                                "directories 'mfb archive list' shows");
            return MFB_ERR_USAGE;
        }
        m->names[i] = strndup(values[i], (size_t)(eq - values[i]));
        if (m->names[i] == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        m->count = i + 1;
        mfb_status st = config_cli_set_path(&m->paths[i], "map", eq + 1, err);
        if (st != MFB_OK)
            return st;
        m->items[i].name = m->names[i];
        m->items[i].dir = m->paths[i];
    }
    return MFB_OK;
}

static void free_maps(struct maps *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->names[i]);
        free(m->paths[i]);
    }
}

static void print_result(const struct restore_options *o, const struct restore_result *r, bool ok)
{
    if (!ok) {
        /* the error says what failed; the way back was shown step by step */
    } else if (o->to_dir != NULL) {
        printf("extracted backup %s into %s\n", r->backup.backup_id, o->to_dir);
    } else {
        char down[32];
        printf("restored backup %s (%s) into instance '%s'", r->backup.backup_id, r->backup.name,
               o->instance->record.name);
        if (r->downtime_ms >= 0)
            printf("; downtime %s",
                   format_duration_ms((uint64_t)r->downtime_ms, down, sizeof(down)));
        printf("\n");
    }
    if (r->moved_count > 0) {
        printf("the old directories are kept; remove them once the restored server is fine:\n");
        for (size_t i = 0; i < r->moved_count; i++)
            printf("  %s  (was %s)\n", r->moved[i].aside, r->moved[i].dir);
    }
    if (r->file_kept)
        printf("the downloaded backup is kept: %s\n", r->file);
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct maps maps = {0};
    char *to_dir = NULL, *spool = NULL;
    struct restore_result result = {0};
    struct restore_cli c;
    mfb_status st = restore_cli_begin(&c, args, err);
    /* a second signal while the restore takes its way back is only logged */
    c.watch.patient = true;
    c.watch.patient_note = "already_cancelling:_waiting_for_the_restore_to_finish_safely";
    if (st == MFB_OK)
        st = read_maps(args, &maps, err);
    const char *v;
    if (st == MFB_OK && (v = cli_string(args, "to")) != NULL)
        st = config_cli_set_path(&to_dir, "to", v, err);
    if (st == MFB_OK && (v = cli_string(args, "spool")) != NULL)
        st = config_cli_set_path(&spool, "spool", v, err);
    if (st == MFB_OK && to_dir != NULL && maps.count > 0) {
        st = mfb_error_set(err, MFB_ERR_USAGE, "--to and --map exclude each other");
        mfb_error_hint(err, "--to extracts every root under DIR/ROOT; --map moves roots of an "
                            "in-place restore");
    }
    if (st == MFB_OK && to_dir != NULL && cli_flag(args, "in-place")) {
        st = mfb_error_set(err, MFB_ERR_USAGE, "--to and --in-place exclude each other");
        mfb_error_hint(err, "--to only extracts into DIR; --in-place chooses how a restore into "
                            "the instance's directories is made");
    }
    if (st == MFB_OK)
        st = restore_cli_open(&c, args, err);
    struct restore_options o = {
        .db = c.db,
        .instance = &c.inst,
        .target = &c.target,
        .backup = args->positional[1],
        .to_dir = to_dir,
        .maps = maps.items,
        .map_count = maps.count,
        .force = cli_flag(args, "force"),
        .in_place = cli_flag(args, "in-place"),
        .keep_download = cli_flag(args, "keep-download"),
        .spool = spool,
        .cancel = &c.cancel,
        .observers = &c.observer,
        .observer_count = 1,
        .report = restore_cli_print_line,
        .fault = getenv("MFB_TEST_RESTORE_FAULT"),
    };
    if (st == MFB_OK) {
        st = restore_run(&o, &result, err);
        print_result(&o, &result, st == MFB_OK);
    }
    restore_cli_end(&c);
    restore_result_free(&result);
    free_maps(&maps);
    free(to_dir);
    free(spool);
    return st;
}

const struct cli_command cmd_restore = {
    .name = "restore",
    .usage = "INSTANCE BACKUP [--to DIR] [--map ROOT=DIR]... [--in-place] [--target T] [--force]",
    .summary = "download a backup (id, name or 'latest'), verify it and put it back",
    .options = options,
    .min_args = 2,
    .max_args = 2,
    .run = run,
};
