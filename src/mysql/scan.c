/*
 * scan.c - the datadir cross-check of discovery (see scan.h).
 */
#include "mysql/scan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "mysql/connection.h"

static bool is_dir_entry(int dirfd, const struct dirent *de, bool *is_link)
{
    struct stat sb;
    *is_link = de->d_type == DT_LNK;
    if (de->d_type == DT_DIR)
        return true;
    if (de->d_type != DT_UNKNOWN)
        return false;
    if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return false;
    *is_link = S_ISLNK(sb.st_mode);
    return S_ISDIR(sb.st_mode);
}

/* A symbolic link at rel (relative to the datadir) that leads outside it. */
static mfb_status add_symlink(const char *datadir, struct mysql_roots *roots, const char *rel,
                              struct mfb_error *err)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", datadir, rel) < 0)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the data directory");
    char *target = realpath(path, NULL);
    if (target == NULL)
        log_warn("mysql_discover", "dangling_symlink=\"%s\"", path);
    free(path);
    if (target == NULL)
        return MFB_OK;
    mfb_status st = MFB_OK;
    if (!mysql_path_contains(datadir, target)) {
        struct stat sb;
        if (stat(target, &sb) == 0 && S_ISDIR(sb.st_mode))
            st = mysql_roots_add(roots, "tablespace", true, NULL, target, err,
                                 "symbolic link %s -> '%s'", rel, target);
        else
            st = mysql_roots_add_file(roots, "tablespace", true, NULL, target, err,
                                      "symbolic link %s -> '%s'", rel, target);
    }
    free(target);
    return st;
}

/* An .isl file: one line, the path of a remote .ibd file. */
static mfb_status add_isl(const char *datadir, struct mysql_roots *roots, const char *rel,
                          struct mfb_error *err)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", datadir, rel) < 0)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the data directory");
    char *text = NULL;
    size_t len = 0;
    struct mfb_error e = {0};
    mfb_status st = fs_read_file(path, 4096, &text, &len, &e);
    free(path);
    if (st == MFB_ERR_NOT_FOUND) /* the table was dropped meanwhile */
        return MFB_OK;
    if (st != MFB_OK)
        return mysql_error_forward(err, &e);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    if (len > 0) {
        st = mysql_roots_add_file(roots, "tablespace", true, datadir, text, err, "%s -> '%s'", rel,
                                  text);
    }
    free(text);
    return st;
}

static mfb_status datadir_unreadable(const char *path, int errnum, struct mfb_error *err)
{
    mfb_status st =
        mfb_error_errno(err, errnum, MFB_ERR_IO, "cannot read the data directory '%s'", path);
    mfb_error_hint(err, "run mfb as root or as the user the server runs as");
    return st;
}

/* One database directory: its .isl files and outbound symbolic links. */
static mfb_status scan_database(const char *datadir, struct mysql_roots *roots, int parent,
                                const char *db, struct mfb_error *err)
{
    int fd = openat(parent, db, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == ENOENT) /* the database was dropped meanwhile */
            return MFB_OK;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", datadir, db) < 0)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY,
                                 "out of memory reading the data directory");
        mfb_status st = datadir_unreadable(path, e, err);
        free(path);
        return st;
    }
    mfb_status st = MFB_OK;
    struct dirent *de;
    while (st == MFB_OK && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        bool is_link;
        is_dir_entry(dirfd(dir), de, &is_link);
        size_t n = strlen(de->d_name);
        bool is_isl = !is_link && n > 4 && strcmp(de->d_name + n - 4, ".isl") == 0;
        if (!is_link && !is_isl)
            continue;
        char *rel = NULL;
        if (asprintf(&rel, "%s/%s", db, de->d_name) < 0) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the data directory");
            break;
        }
        st = is_link ? add_symlink(datadir, roots, rel, err) : add_isl(datadir, roots, rel, err);
        free(rel);
    }
    closedir(dir);
    return st;
}

/* The cross-check: the datadir's own pointers to files elsewhere. */
mfb_status mysql_scan_datadir(const char *datadir, struct mysql_roots *roots, struct mfb_error *err)
{
    DIR *dir = opendir(datadir);
    if (dir == NULL)
        return datadir_unreadable(datadir, errno, err);
    mfb_status st = MFB_OK;
    struct dirent *de;
    while (st == MFB_OK && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        bool is_link;
        bool is_dir = is_dir_entry(dirfd(dir), de, &is_link);
        if (is_link) {
            st = add_symlink(datadir, roots, de->d_name, err);
            /* A database directory moved elsewhere may hold .isl files too. */
            struct stat sb;
            if (st == MFB_OK && fstatat(dirfd(dir), de->d_name, &sb, 0) == 0 && S_ISDIR(sb.st_mode))
                st = scan_database(datadir, roots, dirfd(dir), de->d_name, err);
        } else if (is_dir) {
            st = scan_database(datadir, roots, dirfd(dir), de->d_name, err);
        }
    }
    closedir(dir);
    return st;
}
