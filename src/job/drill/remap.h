/*
 * remap.h - the pure parts of a restore drill (docs/drill.md), kept apart
 * so that each rule has a unit test: where a path of the backed-up server
 * lies in the scratch copy, what the manifest says the datadir holds, and
 * a server's message on one line.
 */
#ifndef MFB_JOB_DRILL_REMAP_H
#define MFB_JOB_DRILL_REMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/manifest.h"
#include "common/status.h"

/* The place of path (absolute, as the backed-up server knew it) in the
 * scratch copy whose roots were extracted under files_dir: the root of the
 * manifest's metadata ({"roots": [{"name", "path"}, ...]}) that holds it,
 * by whole path components (the deepest one), and the rest of the path.
 * false when no root holds it, when the rest climbs out with "..", or
 * when out is too small: the drill's server must never open a file of the
 * real one. */
bool drill_remap_path(const json_t *metadata, const char *files_dir, const char *path, char *out,
                      size_t len);

/* What the manifest says the datadir root holds: databases (its
 * directories, but the server's own "#..." ones, performance_schema, and
 * those whose names are not a database's file name, like lost+found, which
 * the server lists as "#mysql50#lost+found") and tables
 * (.frm files, views included, temporary "#sql..." ones not). MySQL 8
 * keeps its tables in a data dictionary: tables is 0 there. */
mfb_status drill_manifest_counts(const struct manifest *m, uint64_t *databases, uint64_t *tables,
                                 struct mfb_error *err);

/* text on one line: runs of blanks and line breaks become one space, none
 * at either end (servers pad their messages). */
void drill_one_line(const char *text, char *out, size_t len);

#endif
