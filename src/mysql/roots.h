/*
 * roots.h - the set of directories a server's files live in, reduced to the
 * few "roots" a backup archives.
 *
 * Discovery finds locations one by one (the datadir, the redo log
 * directory, the binary log directory, each tablespace outside the datadir)
 * and adds them here with the reason it found each. mysql_roots_finish then
 * keeps a root for every location that no other location contains: a
 * location inside another one (the redo logs in the datadir, two tables in
 * the same external directory) is covered by it and gets no root of its own.
 * Every location remembers which root covers it, for the manifest.
 *
 * Paths are made absolute (a relative one is resolved against a base, the
 * datadir, as the server does) and canonical: realpath() where the path
 * exists, so a symlinked datadir and its target are recognised as one, and
 * plain lexical clean-up ("." and ".." and repeated slashes) where it does
 * not. Containment is by whole path components ("/data/a" does not contain
 * "/data/ab").
 */
#ifndef MFB_MYSQL_ROOTS_H
#define MFB_MYSQL_ROOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

struct mysql_location {
    char *kind;    /* what it is: "datadir", "innodb_log", "binlog", "tablespace", ... */
    char *path;    /* canonical absolute directory */
    char *why;     /* where it came from, for people ("@@log_bin_basename = '...'") */
    bool numbered; /* its root, if it gets one, is named "kind-N" */
    size_t root;   /* index into roots[] once mysql_roots_finish has run */
};

struct mysql_root {
    char *name; /* unique: the kind, numbered where needed ("tablespace-1") */
    char *path; /* canonical absolute directory */
    char *why;  /* the why of the location that made it a root */
};

struct mysql_roots {
    struct mysql_location *locations;
    size_t location_count;
    size_t location_cap;
    struct mysql_root *roots; /* filled by mysql_roots_finish */
    size_t count;
};

/* Adds a directory (nothing when one of the same kind and path is already
 * there: the first reason found is kept). path may be relative (resolved against base) or empty
 * (meaning base itself). When numbered, its root is named "kind-N" (N
 * counting the roots of that kind), else "kind". why_fmt and what follows
 * (printf-style) say where it came from. */
mfb_status mysql_roots_add(struct mysql_roots *roots, const char *kind, bool numbered,
                           const char *base, const char *path, struct mfb_error *err,
                           const char *why_fmt, ...) __attribute__((format(printf, 7, 8)));

/* Like mysql_roots_add for a file: its directory is the location. */
mfb_status mysql_roots_add_file(struct mysql_roots *roots, const char *kind, bool numbered,
                                const char *base, const char *file, struct mfb_error *err,
                                const char *why_fmt, ...) __attribute__((format(printf, 7, 8)));

/* Computes roots[] from the locations (see the top of this file). May be
 * called again after more locations were added. */
mfb_status mysql_roots_finish(struct mysql_roots *roots, struct mfb_error *err);

/* The root that holds path (a canonical absolute path), or NULL. */
const struct mysql_root *mysql_roots_find(const struct mysql_roots *roots, const char *path);

void mysql_roots_free(struct mysql_roots *roots);

/* Resolves path against base and makes it canonical (see above). Allocates
 * *out. An empty path is base; base is used only for a relative path and
 * must then be absolute. */
mfb_status mysql_path_resolve(const char *base, const char *path, char **out,
                              struct mfb_error *err);

/* True when inner is outer or lies below it (both canonical). */
bool mysql_path_contains(const char *outer, const char *inner);

#endif
