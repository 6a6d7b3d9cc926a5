/*
 * ownership.c - owner and mode of restored trees (see ownership.h).
 *
 * The walk uses fts(3) with FTS_PHYSICAL: it never follows a symbolic link
 * and, unlike nftw, needs no global to pass the owner to its callback.
 */
#include "job/restore/ownership.h"

#include <errno.h>
#include <fts.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

void ownership_of_process(pid_t pid, struct ownership *out)
{
    memset(out, 0, sizeof(*out));
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = pid > 0 ? fopen(path, "re") : NULL;
    if (f == NULL)
        return;
    bool have_uid = false, have_gid = false;
    unsigned long id;
    while (fgets(line, sizeof(line), f) != NULL && !(have_uid && have_gid)) {
        if (sscanf(line, "Uid: %lu", &id) == 1) {
            out->uid = (uid_t)id;
            have_uid = true;
        } else if (sscanf(line, "Gid: %lu", &id) == 1) {
            out->gid = (gid_t)id;
            have_gid = true;
        }
    }
    fclose(f);
    out->set = have_uid && have_gid;
    out->why = "the user the server ran as";
}

void ownership_decide(const char *user, const struct ownership *server, const char *aside,
                      struct ownership *out)
{
    memset(out, 0, sizeof(*out));
    if (server != NULL && server->set && server->uid != 0) {
        *out = *server;
        out->why = "the user the server ran as";
        return;
    }
    struct stat sb;
    bool aside_known = aside != NULL && lstat(aside, &sb) == 0;
    if (aside_known && sb.st_uid != 0) {
        out->set = true;
        out->uid = sb.st_uid;
        out->gid = sb.st_gid;
        out->why = "the owner of the moved-aside directory";
        return;
    }
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (user != NULL && getpwnam_r(user, &pw, buf, sizeof(buf), &found) == 0 && found != NULL) {
        out->set = true;
        out->uid = found->pw_uid;
        out->gid = found->pw_gid;
        out->why = "the mysql user";
        return;
    }
    if (aside_known) {
        out->set = true;
        out->uid = sb.st_uid;
        out->gid = sb.st_gid;
        out->why = "the owner of the moved-aside directory";
        return;
    }
    out->why = "the owners recorded in the archive";
}

mfb_status ownership_apply(const char *dir, const struct ownership *o, mode_t dir_mode,
                           struct mfb_error *err)
{
    mfb_status st = MFB_OK;
    if (o->set && geteuid() == 0) {
        char *paths[] = {(char *)dir, NULL};
        FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
        if (fts == NULL)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot walk '%s'", dir);
        FTSENT *e;
        while (st == MFB_OK && (e = fts_read(fts)) != NULL) {
            if (e->fts_info == FTS_DP)
                continue; /* each directory once, in pre-order */
            if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR || e->fts_info == FTS_NS) {
                st =
                    mfb_error_errno(err, e->fts_errno, MFB_ERR_IO, "cannot read '%s'", e->fts_path);
                break;
            }
            /* one that has it already is left alone: a staged file keeps
             * the ctime its staging record holds (resume.h) */
            if (e->fts_statp->st_uid == o->uid && e->fts_statp->st_gid == o->gid)
                continue;
            if (lchown(e->fts_accpath, o->uid, o->gid) != 0)
                st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot give '%s' to %u:%u",
                                     e->fts_path, (unsigned)o->uid, (unsigned)o->gid);
        }
        fts_close(fts);
        if (st == MFB_OK)
            log_info("restore", "dir=\"%s\" owner=%u:%u why=\"%s\"", dir, (unsigned)o->uid,
                     (unsigned)o->gid, o->why);
    } else if (o->set) {
        log_info("restore", "dir=\"%s\" owner=unchanged why=\"not running as root\"", dir);
    }
    if (st == MFB_OK && chmod(dir, dir_mode) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the mode of '%s'", dir);
    return st;
}
