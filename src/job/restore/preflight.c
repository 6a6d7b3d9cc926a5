/*
 * preflight.c - what a restore checks while the server still runs
 * (restore.h, step 4): --to's directory, the plan of where each root goes
 * (plan.h), the running server and its data directory, the flavour and
 * release of the backup against the server (compat.h), and each
 * destination: that it can be moved aside and that the restored files
 * have room beside the old ones. A refusal here changes nothing.
 */
#include "job/restore/preflight.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/parse.h"
#include "job/restore/compat.h"
#include "job/restore/report.h"
#include "job/restore/staging_record.h"
#include "job/restore/swap.h"
#include "mysql/connection.h"
#include "mysql/stopped.h"

/* Before the download: DIR is new or empty. */
mfb_status preflight_to_dir(const char *dir, struct mfb_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return MFB_OK;
    if (!S_ISDIR(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "--to '%s' is not a directory", dir);
    if (!swap_dir_is_empty(dir)) {
        mfb_error_set(err, MFB_ERR_EXISTS, "--to '%s' is not empty", dir);
        mfb_error_hint(err, "give a new or empty directory; mfb never overwrites files");
        return MFB_ERR_EXISTS;
    }
    return MFB_OK;
}

mfb_status preflight_plan(struct run *r, struct mfb_error *err)
{
    struct restore_plan_input in = {.metadata = r->metadata,
                                    .tops = &r->tops,
                                    .instance = r->inst->name,
                                    .instance_datadir = r->inst->datadir,
                                    .maps = r->o->maps,
                                    .map_count = r->o->map_count};
    mfb_status st = restore_plan_build(&in, &r->plan, err);
    if (st != MFB_OK)
        return st;
    r->roots = calloc(r->plan.count, sizeof(*r->roots));
    if (r->roots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < r->plan.count; i++) {
        r->roots[i].plan = &r->plan.roots[i];
        snprintf(r->roots[i].place, sizeof(r->roots[i].place), "%s", r->plan.roots[i].dest);
    }
    return MFB_OK;
}

/* Is the server up? If so, what is it and where are its pid file and socket. */
mfb_status preflight_inspect_server(struct run *r, struct mfb_error *err)
{
    struct mysql_conn *c = NULL;
    struct mfb_error local = {0};
    mfb_status st = mysql_conn_connect(r->ep, CONNECT_MS, &c, &local);
    if (st == MFB_ERR_NETWORK) {
        r->was_running = false;
        report_say(r, "preflight", "the server of instance '%s' is not running (%s)", r->inst->name,
                   local.message);
        return MFB_OK;
    }
    if (st != MFB_OK)
        return mysql_error_forward(err, &local);
    st = mysql_discover(c, &r->info, err);
    mysql_conn_close(c);
    if (st != MFB_OK)
        return st;
    r->was_running = true;
    pid_t pid = 0;
    if (r->info->pid_file != NULL && mysql_pid_file_read(r->info->pid_file, &pid, NULL) == MFB_OK)
        ownership_of_process(pid, &r->server_user);
    char *want = NULL;
    st = mysql_path_resolve(NULL, r->inst->datadir, &want, err);
    if (st == MFB_OK && strcmp(want, r->info->datadir) != 0) {
        st = mfb_error_set(err, MFB_ERR_INVALID,
                           "instance '%s' is configured with the data directory '%s', but its "
                           "server uses '%s'",
                           r->inst->name, r->inst->datadir, r->info->datadir);
        mfb_error_hint(err, "fix the configuration first: mfb instance set %s --datadir %s",
                       r->inst->name, r->info->datadir);
    }
    free(want);
    return st;
}

mfb_status preflight_compat(struct run *r, struct mfb_error *err)
{
    struct server_identity backup, server;
    struct mfb_error local = {0};
    mfb_status st = compat_from_metadata(r->metadata, &backup, &local);
    if (st == MFB_OK) {
        if (r->was_running) {
            if (!compat_parse_version(r->info->version, &server))
                st = mfb_error_set(&local, MFB_ERR_PROTOCOL,
                                   "cannot read the server's version "
                                   "'%s'",
                                   r->info->version);
        } else {
            st = compat_installed(VERSION_MS, &server, &local);
        }
    }
    if (st == MFB_OK)
        st = compat_check(&backup, &server, r->inst->name, &local);
    if (st == MFB_OK) {
        char a[160], b[160];
        report_say(r, "preflight", "the backup was made by %s; the server is %s",
                   compat_describe(&backup, a, sizeof(a)), compat_describe(&server, b, sizeof(b)));
        return MFB_OK;
    }
    if (r->o->force) {
        log_warn("restore", "compat=ignored reason=\"%s\"", local.message);
        report_event(r, JOB_LEVEL_WARN, "preflight", local.message);
        if (r->o->report) {
            char line[1400];
            snprintf(line, sizeof(line), "warning: %s; restoring anyway (--force)", local.message);
            r->o->report(r->o->report_ctx, line);
        }
        return MFB_OK;
    }
    mysql_error_forward(err, &local);
    if (st == MFB_ERR_NOT_FOUND)
        mfb_error_hint(err, "without them the backup cannot be checked against the server: pass "
                            "--force to restore it anyway, or extract it with --to DIR");
    return st;
}

/* Every destination can be moved aside and has room. A staged restore
 * swaps the directory a symbolic link points to (the link stays), and
 * needs the room beside each place (the staging directory is there). */
mfb_status preflight_places(struct run *r, bool staged, struct mfb_error *err)
{
    mfb_status st = staged ? staging_record_adopt(r, err) : MFB_OK;
    size_t n = r->plan.count;
    uint64_t *dev = calloc(n, sizeof(*dev)), *avail = calloc(n, sizeof(*avail));
    if (dev == NULL || avail == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        struct root_state *rs = &r->roots[i];
        const char *dest = rs->plan->dest;
        char what[200];
        snprintf(what, sizeof(what), "root '%s'", rs->plan->name);
        struct swap_state state;
        if (staged) {
            st = stage_place(dest, rs->place, sizeof(rs->place), &rs->is_link, err);
            if (st == MFB_OK)
                dest = rs->place;
        }
        /* before the room is counted: what a killed staged restore left
         * takes room too, and is of no use (but the staging this run
         * adopted from its record) */
        int removed = 0;
        if (st == MFB_OK)
            st = stage_remove_stale(dest, rs->adopted ? rs->staging : NULL, &removed, err);
        if (removed > 0)
            report_say(r, "preflight",
                       "removed %d staging director%s an interrupted restore left beside %s",
                       removed, removed == 1 ? "y" : "ies", dest);
        if (st == MFB_OK)
            st =
                swap_sibling(dest, SWAP_BEFORE_SUFFIX, r->stamp, rs->aside, sizeof(rs->aside), err);
        if (st == MFB_OK)
            st = swap_check(dest, rs->aside, what, &state, err);
        char real[PATH_MAX], hint[4 * PATH_MAX + 200];
        struct stat lsb;
        if (st == MFB_ERR_UNSUPPORTED && lstat(dest, &lsb) == 0 && S_ISLNK(lsb.st_mode) &&
            realpath(dest, real) != NULL) {
            /* the exact option, for a DBA who has to type it */
            snprintf(hint, sizeof(hint),
                     "nothing was changed; '%s' points to '%s': restore into that directory "
                     "with --map %s=%s, and the link stays as it is",
                     dest, real, rs->plan->name, real);
            report_set_hint(err, hint);
        }
        if (st == MFB_OK && state.exists) {
            struct stat sb;
            rs->existed = true;
            rs->old_mode = stat(dest, &sb) == 0 ? (sb.st_mode & 07777) : DATADIR_MODE;
        }
        if (st == MFB_OK)
            st = swap_free_space(dest, &dev[i], &avail[i], err);
    }
    /* the old files stay where they are: the restored ones need room of their own */
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        uint64_t need = 0;
        for (size_t j = 0; j < n; j++)
            if (dev[j] == dev[i])
                need += r->plan.roots[j].bytes + r->plan.roots[j].entries * ENTRY_OVERHEAD -
                        r->roots[j].reused_bytes; /* staged already */
        if (need > avail[i]) {
            char a[32], b[32];
            format_size(need, a, sizeof(a));
            format_size(avail[i], b, sizeof(b));
            if (staged) {
                st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                                   "not enough room to stage root '%s' beside '%s': it needs "
                                   "%s, %s are free",
                                   r->plan.roots[i].name, r->roots[i].place, a, b);
                mfb_error_hint(err, "nothing was changed; free that much space, restore elsewhere "
                                    "with --map or --to, or use --in-place (the server stays down "
                                    "during the whole extraction, and needs the same room: the old "
                                    "files are kept either way)");
            } else {
                st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                                   "not enough room to restore root '%s' into '%s': it needs "
                                   "%s, %s are free",
                                   r->plan.roots[i].name, r->plan.roots[i].dest, a, b);
                mfb_error_hint(err, "nothing was changed; the old files are kept beside the new "
                                    "ones, so free that much space or restore elsewhere with "
                                    "--map or --to");
            }
        }
    }
    free(dev);
    free(avail);
    return st;
}
