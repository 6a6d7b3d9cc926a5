/*
 * plan.c - pairing archive roots with destinations (see
 * plan.h).
 */
#include "job/restore/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/roots.h"

static mfb_status no_memory(struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory planning the restore");
}

static struct restore_top *find_top(struct restore_tops *tops, const char *name, size_t len)
{
    for (size_t i = 0; i < tops->count; i++)
        if (strlen(tops->items[i].name) == len && memcmp(tops->items[i].name, name, len) == 0)
            return &tops->items[i];
    return NULL;
}

mfb_status restore_tops_read(const struct archive_reader *r, struct restore_tops *tops,
                             struct mfb_error *err)
{
    memset(tops, 0, sizeof(*tops));
    size_t count = archive_reader_count(r);
    size_t manifest = archive_reader_manifest_index(r);
    tops->items = calloc(count ? count : 1, sizeof(*tops->items));
    if (tops->items == NULL)
        return no_memory(err);
    for (size_t i = 0; i < count; i++) {
        if (i == manifest)
            continue;
        const struct archive_entry *e = archive_reader_entry(r, i);
        const char *name = e->name;
        size_t len = e->name_len;
        while (len > 0 && name[0] == '/') /* the extractor refuses these anyway */
            name++, len--;
        const char *slash = memchr(name, '/', len);
        size_t top_len = slash ? (size_t)(slash - name) : len;
        bool below = slash != NULL && (size_t)(slash - name) + 1 < len;
        struct restore_top *t = find_top(tops, name, top_len);
        if (t == NULL) {
            t = &tops->items[tops->count];
            t->name = strndup(name, top_len);
            if (t->name == NULL) {
                restore_tops_free(tops);
                return no_memory(err);
            }
            tops->count++;
        }
        if (slash != NULL)
            t->is_dir = true;
        if (slash != NULL && !below && e->has_mode) { /* "name/" itself */
            t->has_mode = true;
            t->mode = e->mode;
        }
        if (below || slash == NULL) {
            t->entries++;
            if (e->type == ARCHIVE_ENTRY_FILE)
                t->bytes += e->size;
        }
    }
    return MFB_OK;
}

void restore_tops_free(struct restore_tops *tops)
{
    for (size_t i = 0; i < tops->count; i++)
        free(tops->items[i].name);
    free(tops->items);
    memset(tops, 0, sizeof(*tops));
}

mfb_status restore_map_parse(char *text, struct restore_map *map, struct mfb_error *err)
{
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || eq[1] == '\0') {
        mfb_error_set(err, MFB_ERR_USAGE, "--map: expected ROOT=DIR, got '%s'", text);
        mfb_error_hint(err, "like --map datadir=/srv/mysql-restored; 'mfb archive list' shows the "
                            "roots, the top-level directories of the backup");
        return MFB_ERR_USAGE;
    }
    *eq = '\0';
    if (eq[1] != '/') {
        mfb_error_set(err, MFB_ERR_USAGE, "--map %s: '%s' is not an absolute path", text, eq + 1);
        return MFB_ERR_USAGE;
    }
    map->name = text;
    map->dir = eq + 1;
    return MFB_OK;
}

/* The path metadata.roots records for name, or NULL. */
static const char *recorded_path(const json_t *roots, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(roots, i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        const char *p = json_string_value(json_object_get(r, "path"));
        if (n != NULL && p != NULL && p[0] == '/' && strcmp(n, name) == 0)
            return p;
    }
    return NULL;
}

static const struct restore_map *find_map(const struct restore_plan_input *in, const char *name)
{
    for (size_t i = 0; i < in->map_count; i++)
        if (strcmp(in->maps[i].name, name) == 0)
            return &in->maps[i];
    return NULL;
}

static mfb_status check_maps(const struct restore_plan_input *in, struct mfb_error *err)
{
    for (size_t i = 0; i < in->map_count; i++) {
        bool known = false;
        for (size_t t = 0; t < in->tops->count && !known; t++)
            known =
                in->tops->items[t].is_dir && strcmp(in->tops->items[t].name, in->maps[i].name) == 0;
        if (!known) {
            char names[512] = "";
            for (size_t t = 0; t < in->tops->count; t++)
                if (in->tops->items[t].is_dir)
                    snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                             names[0] ? ", " : "", in->tops->items[t].name);
            mfb_error_set(err, MFB_ERR_USAGE, "--map %s: the backup has no root named '%s'",
                          in->maps[i].name, in->maps[i].name);
            mfb_error_hint(err, "its roots are: %s", names[0] ? names : "(none)");
            return MFB_ERR_USAGE;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->maps[i].name, in->maps[j].name) == 0)
                return mfb_error_set(err, MFB_ERR_USAGE, "--map %s is given twice",
                                     in->maps[i].name);
    }
    return MFB_OK;
}

/* The datadir must land where the instance's server reads it. */
static mfb_status check_datadir(const struct restore_plan_input *in, const struct restore_root *r,
                                struct mfb_error *err)
{
    if (r->mapped || strcmp(r->name, RESTORE_DATADIR_ROOT) != 0 || in->instance_datadir == NULL)
        return MFB_OK;
    char *want = NULL, *got = NULL;
    mfb_status st = mysql_path_resolve(NULL, in->instance_datadir, &want, err);
    if (st == MFB_OK)
        st = mysql_path_resolve(NULL, r->dest, &got, err);
    if (st == MFB_OK && strcmp(want, got) != 0) {
        st = mfb_error_set(err, MFB_ERR_INVALID,
                           "the backup's data directory was '%s', but instance '%s' uses '%s'",
                           r->dest, in->instance, in->instance_datadir);
        mfb_error_hint(err,
                       "to restore into the instance's data directory add --map datadir=%s; "
                       "to look at the files elsewhere use --to DIR",
                       in->instance_datadir);
    }
    free(want);
    free(got);
    return st;
}

static mfb_status check_overlaps(const struct restore_plan *plan, struct mfb_error *err)
{
    for (size_t i = 0; i < plan->count; i++) {
        const struct restore_root *a = &plan->roots[i];
        if (strcmp(a->dest, "/") == 0)
            return mfb_error_set(err, MFB_ERR_INVALID, "root '%s' cannot be restored to '/'",
                                 a->name);
        for (size_t j = 0; j < plan->count; j++) {
            const struct restore_root *b = &plan->roots[j];
            if (i != j && mysql_path_contains(a->dest, b->dest)) {
                mfb_error_set(err, MFB_ERR_INVALID,
                              "roots '%s' and '%s' would be restored into overlapping "
                              "directories '%s' and '%s'",
                              a->name, b->name, a->dest, b->dest);
                mfb_error_hint(err, "give each root a directory of its own with --map");
                return MFB_ERR_INVALID;
            }
        }
    }
    return MFB_OK;
}

mfb_status restore_plan_build(const struct restore_plan_input *in, struct restore_plan *plan,
                              struct mfb_error *err)
{
    memset(plan, 0, sizeof(*plan));
    const json_t *roots = in->metadata ? json_object_get(in->metadata, "roots") : NULL;
    if (roots != NULL && !json_is_array(roots))
        roots = NULL;
    mfb_status st = check_maps(in, err);
    if (st != MFB_OK)
        return st;
    plan->roots = calloc(in->tops->count ? in->tops->count : 1, sizeof(*plan->roots));
    if (plan->roots == NULL)
        return no_memory(err);
    for (size_t i = 0; i < in->tops->count && st == MFB_OK; i++) {
        const struct restore_top *t = &in->tops->items[i];
        if (!t->is_dir) {
            st = mfb_error_set(err, MFB_ERR_INVALID,
                               "the backup holds '%s' outside any root directory: it was not "
                               "made by mfb backup",
                               t->name);
            mfb_error_hint(err, "extract it with --to DIR and put the files in place yourself");
            break;
        }
        const char *rec = roots ? recorded_path(roots, t->name) : NULL;
        if (roots != NULL && rec == NULL) {
            st = mfb_error_set(err, MFB_ERR_INVALID,
                               "the backup holds a directory '%s' that its manifest does not "
                               "list as a root",
                               t->name);
            mfb_error_hint(err, "extract it with --to DIR and put the files in place yourself");
            break;
        }
        const struct restore_map *m = find_map(in, t->name);
        const char *dest = m ? m->dir : rec;
        if (dest == NULL && strcmp(t->name, RESTORE_DATADIR_ROOT) == 0)
            dest = in->instance_datadir;
        if (dest == NULL) {
            st = mfb_error_set(err, MFB_ERR_INVALID,
                               "the backup's manifest does not record where root '%s' came from",
                               t->name);
            mfb_error_hint(err, "say where it goes with --map %s=DIR", t->name);
            break;
        }
        struct restore_root *r = &plan->roots[plan->count++];
        r->name = strdup(t->name);
        r->recorded = rec ? strdup(rec) : NULL;
        r->dest = strdup(dest);
        r->mapped = m != NULL;
        r->bytes = t->bytes;
        r->entries = t->entries;
        r->has_mode = t->has_mode;
        r->mode = t->mode;
        if (r->name == NULL || r->dest == NULL || (rec && r->recorded == NULL))
            st = no_memory(err);
        if (st == MFB_OK) {
            size_t n = strlen(r->dest);
            while (n > 1 && r->dest[n - 1] == '/')
                r->dest[--n] = '\0';
            st = check_datadir(in, r, err);
        }
    }
    if (st == MFB_OK && plan->count == 0)
        st = mfb_error_set(err, MFB_ERR_INVALID, "the backup holds no files to restore");
    if (st == MFB_OK)
        st = check_overlaps(plan, err);
    if (st != MFB_OK)
        restore_plan_free(plan);
    return st;
}

void restore_plan_free(struct restore_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->roots[i].name);
        free(plan->roots[i].recorded);
        free(plan->roots[i].dest);
    }
    free(plan->roots);
    memset(plan, 0, sizeof(*plan));
}
