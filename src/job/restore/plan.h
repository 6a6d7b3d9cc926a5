/*
 * plan.h - where each part of a backup goes back to.
 *
 * A backup archive holds the server's files under named roots: "datadir/",
 * "binlog/", "tablespace-1/", ..., one top-level directory each, and its
 * manifest's metadata lists every root with the absolute path it came
 * from ({"roots":[{"name":"datadir","path":"/var/lib/mysql"}, ...]}, as
 * discovery recorded it). The plan pairs each root in the archive with its
 * destination: the recorded path, or the directory given with
 * `--map NAME=DIR`.
 *
 * The plan is refused, before anything is touched, when:
 * - the archive holds something outside a root directory, or a root its
 *   manifest does not list (not a backup made by mfb backup);
 * - a root has no recorded path and no --map (an archive without
 *   metadata: its "datadir" root then goes to the instance's datadir);
 * - a --map names no root of the archive, or one root twice;
 * - the datadir would go anywhere but the instance's configured data
 *   directory without an explicit --map (the server would not see it);
 * - two destinations overlap, or one is "/".
 * Pure logic on names and paths, so every rule has a unit test.
 */
#ifndef MFB_JOB_RESTORE_PLAN_H
#define MFB_JOB_RESTORE_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/reader.h"
#include "common/status.h"

#define RESTORE_DATADIR_ROOT "datadir"

/* A top-level name of the archive, with what lies under it. */
struct restore_top {
    char *name;
    bool is_dir; /* it has entries below it ("name/...") */
    uint64_t bytes;
    uint64_t entries;
    bool has_mode; /* the archive has an entry for the directory itself */
    uint32_t mode;
};

struct restore_tops {
    struct restore_top *items;
    size_t count;
};

/* The top-level names of an archive (the manifest entry left out). */
mfb_status restore_tops_read(const struct archive_reader *r, struct restore_tops *tops,
                             struct mfb_error *err);
void restore_tops_free(struct restore_tops *tops);

/* One --map NAME=DIR (DIR absolute). */
struct restore_map {
    const char *name;
    const char *dir;
};

struct restore_root {
    char *name;
    char *recorded; /* the path the manifest recorded, or NULL */
    char *dest;     /* where it is restored */
    bool mapped;    /* dest came from --map */
    uint64_t bytes;
    uint64_t entries;
    bool has_mode;
    uint32_t mode;
};

struct restore_plan {
    struct restore_root *roots; /* in the order of the archive */
    size_t count;
};

struct restore_plan_input {
    const json_t *metadata; /* the manifest's metadata object, or NULL */
    const struct restore_tops *tops;
    const char *instance;         /* for messages */
    const char *instance_datadir; /* the instance's configured datadir */
    const struct restore_map *maps;
    size_t map_count;
};

/* Builds the plan (see the rules above). Allocates; restore_plan_free. */
mfb_status restore_plan_build(const struct restore_plan_input *in, struct restore_plan *plan,
                              struct mfb_error *err);
void restore_plan_free(struct restore_plan *plan);

/* Splits "NAME=DIR" (pointing into text, which is modified). DIR must be
 * absolute. */
mfb_status restore_map_parse(char *text, struct restore_map *map, struct mfb_error *err);

#endif
