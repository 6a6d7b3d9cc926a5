/*
 * stage.c - staging directories, the swap and its journal (see stage.h).
 */
#include "job/restore/stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "job/restore/swap.h"
#include "job/spool.h"

#define JOURNAL_MAX (1u << 20)

mfb_status stage_place(const char *dest, char *place, size_t len, bool *is_link,
                       struct mfb_error *err)
{
    struct stat sb;
    *is_link = false;
    if (lstat(dest, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        char real[PATH_MAX];
        if (realpath(dest, real) == NULL)
            return mfb_error_errno(err, errno, MFB_ERR_INVALID,
                                   "'%s' is a symbolic link that does not lead to a directory",
                                   dest);
        if (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return mfb_error_set(err, MFB_ERR_INVALID,
                                 "'%s' is a symbolic link to '%s', which is not a directory", dest,
                                 real);
        *is_link = true;
        dest = real;
        if (strlen(real) >= len)
            return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", real);
        memmove(place, real, strlen(real) + 1);
        return MFB_OK;
    }
    if (strlen(dest) >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", dest);
    memmove(place, dest, strlen(dest) + 1);
    return MFB_OK;
}

/* Splits place into its directory and base name. */
static void split(const char *place, char *dir, size_t dlen, char *base, size_t blen)
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof(a), "%s", place);
    snprintf(b, sizeof(b), "%s", place);
    snprintf(dir, dlen, "%s", dirname(a));
    snprintf(base, blen, "%s", basename(b));
}

mfb_status stage_dir_name(const char *place, const char *tag, char *out, size_t len,
                          struct mfb_error *err)
{
    char dir[PATH_MAX], base[PATH_MAX];
    split(place, dir, sizeof(dir), base, sizeof(base));
    int n =
        snprintf(out, len, "%s/.%s%s%s", strcmp(dir, "/") == 0 ? "" : dir, base, STAGE_SUFFIX, tag);
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: staging beside '%s'", place);
    return MFB_OK;
}

mfb_status stage_remove_stale(const char *place, const char *keep, int *removed,
                              struct mfb_error *err)
{
    char dir[PATH_MAX], base[PATH_MAX], prefix[PATH_MAX + 32];
    split(place, dir, sizeof(dir), base, sizeof(base));
    snprintf(prefix, sizeof(prefix), ".%s%s", base, STAGE_SUFFIX);
    *removed = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? MFB_OK
                               : mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", dir);
    mfb_status st = MFB_OK;
    struct dirent *de;
    while (st == MFB_OK && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (keep != NULL && strcmp(path, keep) == 0)
            continue; /* adopted by this run (resume.h) */
        st = spool_remove_tree(path, err);
        if (st == MFB_OK) {
            log_info("restore", "removed_stale_staging=\"%s\"", path);
            (*removed)++;
        }
    }
    closedir(d);
    return st;
}

mfb_status stage_journal_path(const char *spool, const char *instance, char *out, size_t len,
                              struct mfb_error *err)
{
    int n = snprintf(out, len, "%s/.mfb-%s.restore-swap", spool, instance);
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: the swap journal in '%s'",
                             spool);
    return MFB_OK;
}

mfb_status stage_journal_write(const char *path, int64_t job_id, const struct stage_root *roots,
                               size_t count, struct mfb_error *err)
{
    json_t *doc = json_object(), *arr = json_array();
    json_object_set_new(doc, "job", json_integer(job_id));
    json_object_set(doc, "roots", arr);
    for (size_t i = 0; i < count; i++) {
        const struct stage_root *r = &roots[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:I, s:I}", "place", r->place,
                                             "staging", r->staging, "aside", r->aside, "existed",
                                             r->existed, "dev", (json_int_t)r->staged_dev, "ino",
                                             (json_int_t)r->staged_ino));
    }
    json_decref(arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the swap journal");
    mfb_status st = fs_write_file_atomic(path, text, strlen(text), 0600, false, err);
    free(text);
    return st;
}

mfb_status stage_journal_remove(const char *path, struct mfb_error *err)
{
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return MFB_OK;
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove the swap journal '%s'", path);
    }
    return fs_fsync_dir_of(path, false, err);
}

mfb_status stage_swap(const struct stage_root *root, bool *in_place, bool *moved_aside,
                      bool *old_at_staging, struct mfb_error *err)
{
    *in_place = *moved_aside = *old_at_staging = false;
    if (!root->existed) {
        char parent[PATH_MAX];
        fs_dirname(root->place, parent, sizeof(parent));
        mfb_status st = fs_mkdir_p(parent, 0755, err);
        if (st == MFB_OK)
            st = swap_move(root->staging, root->place, err);
        *in_place = st == MFB_OK;
        return st;
    }
    if (renameat2(AT_FDCWD, root->staging, AT_FDCWD, root->place, RENAME_EXCHANGE) == 0) {
        log_info("restore", "exchanged=\"%s\" with=\"%s\"", root->staging, root->place);
        *in_place = *old_at_staging = true;
        mfb_status st = fs_fsync_dir_of(root->place, false, err);
        if (st == MFB_OK)
            st = swap_move(root->staging, root->aside, err);
        if (st == MFB_OK)
            *old_at_staging = false, *moved_aside = true;
        return st;
    }
    if (errno != EINVAL && errno != ENOSYS)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot exchange '%s' with '%s'",
                               root->staging, root->place);
    /* a file system without RENAME_EXCHANGE: two renames */
    mfb_status st = swap_move(root->place, root->aside, err);
    if (st != MFB_OK)
        return st;
    *moved_aside = true;
    st = swap_move(root->staging, root->place, err);
    *in_place = st == MFB_OK;
    return st;
}

/* ---- recovery ---- */

static bool is_staged(const char *path, const struct stage_root *r)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && (uint64_t)sb.st_dev == r->staged_dev &&
           (uint64_t)sb.st_ino == r->staged_ino;
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static mfb_status read_journal(const char *path, struct stage_root **roots, size_t *count,
                               struct mfb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *roots = NULL;
    *count = 0;
    mfb_status st = fs_read_file(path, JOURNAL_MAX, &text, &len, err);
    if (st != MFB_OK)
        return st;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    json_t *arr = doc ? json_object_get(doc, "roots") : NULL;
    if (!json_is_array(arr)) {
        json_decref(doc);
        mfb_error_set(err, MFB_ERR_PROTOCOL, "the swap journal '%s' cannot be read", path);
        mfb_error_hint(err, "compare the directories named '*.mfb-before-restore-*' and "
                            "'.*.mfb-staging-*' beside the server's, put the old ones back by "
                            "hand, then remove the journal");
        return MFB_ERR_PROTOCOL;
    }
    size_t n = json_array_size(arr);
    *roots = calloc(n ? n : 1, sizeof(**roots));
    if (*roots == NULL) {
        json_decref(doc);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        struct stage_root *r = &(*roots)[i];
        const char *place = json_string_value(json_object_get(o, "place"));
        const char *staging = json_string_value(json_object_get(o, "staging"));
        const char *aside = json_string_value(json_object_get(o, "aside"));
        if (place == NULL || staging == NULL || aside == NULL) {
            free(*roots);
            *roots = NULL;
            json_decref(doc);
            return mfb_error_set(err, MFB_ERR_PROTOCOL, "the swap journal '%s' is incomplete",
                                 path);
        }
        snprintf(r->place, sizeof(r->place), "%s", place);
        snprintf(r->staging, sizeof(r->staging), "%s", staging);
        snprintf(r->aside, sizeof(r->aside), "%s", aside);
        r->existed = json_is_true(json_object_get(o, "existed"));
        r->staged_dev = (uint64_t)json_integer_value(json_object_get(o, "dev"));
        r->staged_ino = (uint64_t)json_integer_value(json_object_get(o, "ino"));
    }
    *count = n;
    json_decref(doc);
    return MFB_OK;
}

mfb_status stage_recover(const char *journal, bool server_down, const char *stamp,
                         enum stage_recovery *what, char *detail, size_t detail_len,
                         struct mfb_error *err)
{
    *what = STAGE_RECOVERY_NONE;
    detail[0] = '\0';
    if (!exists(journal))
        return MFB_OK;
    struct stage_root *roots = NULL;
    size_t count = 0;
    mfb_status st = read_journal(journal, &roots, &count, err);
    if (st != MFB_OK)
        return st;
    bool all = true, any = false;
    for (size_t i = 0; i < count; i++) {
        const struct stage_root *r = &roots[i];
        bool swapped = is_staged(r->place, r);
        all &= swapped;
        any |= swapped || (r->existed && !exists(r->place) && exists(r->aside));
    }
    size_t len = 0;
    if (!any) {
        /* killed before its first rename: nothing to put right */
        *what = STAGE_RECOVERY_UNDONE;
        snprintf(detail, detail_len, "nothing had been swapped yet");
    } else if (all) {
        /* the restored set is complete: only the renames aside may be left */
        for (size_t i = 0; i < count && st == MFB_OK; i++) {
            const struct stage_root *r = &roots[i];
            if (r->existed && exists(r->staging) && !exists(r->aside))
                st = swap_move(r->staging, r->aside, err);
            if (st == MFB_OK && len < detail_len)
                len += (size_t)snprintf(detail + len, detail_len - len, "%s%s", len ? ", " : "",
                                        r->place);
        }
        *what = STAGE_RECOVERY_FINISHED;
    } else if (!server_down) {
        st = mfb_error_set(err, MFB_ERR_INVALID,
                           "a restore was interrupted while it swapped the directories, and "
                           "the server runs");
        mfb_error_hint(err,
                       "stop the server and run the same command again: mfb puts the old "
                       "directories back first (the swap journal is '%s')",
                       journal);
    } else {
        for (size_t i = 0; i < count && st == MFB_OK; i++) {
            const struct stage_root *r = &roots[i];
            if (!is_staged(r->place, r)) {
                /* not swapped, or killed between the two renames of a file
                 * system without RENAME_EXCHANGE: the old tree is aside */
                if (r->existed && !exists(r->place) && exists(r->aside))
                    st = swap_move(r->aside, r->place, err);
                continue;
            }
            char failed[PATH_MAX];
            st = swap_sibling(r->place, SWAP_FAILED_SUFFIX, stamp, failed, sizeof(failed), err);
            if (st == MFB_OK)
                st = swap_move(r->place, failed, err);
            if (st == MFB_OK && r->existed)
                st = swap_move(exists(r->aside) ? r->aside : r->staging, r->place, err);
            if (st == MFB_OK && len < detail_len)
                len +=
                    (size_t)snprintf(detail + len, detail_len - len, "%s%s (restored files in %s)",
                                     len ? ", " : "", r->place, failed);
        }
        *what = STAGE_RECOVERY_UNDONE;
    }
    if (st == MFB_OK)
        st = stage_journal_remove(journal, err);
    free(roots);
    return st;
}
