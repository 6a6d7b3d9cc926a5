/*
 * remap.c - the pure parts of a restore drill (see remap.h).
 */
#include "job/drill/remap.h"

#include <stdio.h>
#include <string.h>

bool drill_remap_path(const json_t *metadata, const char *files_dir, const char *path, char *out,
                      size_t len)
{
    const json_t *roots = json_object_get(metadata, "roots");
    size_t best = 0;
    bool found = false;
    size_t i;
    json_t *root;
    if (path == NULL || path[0] != '/')
        return false;
    json_array_foreach(roots, i, root)
    {
        const char *name = json_string_value(json_object_get(root, "name"));
        const char *rpath = json_string_value(json_object_get(root, "path"));
        if (name == NULL || rpath == NULL || rpath[0] != '/' || name[0] == '\0' ||
            strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        size_t n = strlen(rpath);
        while (n > 1 && rpath[n - 1] == '/')
            n--;
        if (n <= 1 || strncmp(path, rpath, n) != 0 || (path[n] != '\0' && path[n] != '/') ||
            n < best)
            continue;
        /* "/var/lib/mysql/../../etc" must not climb out of the copy */
        const char *rest = path + n;
        size_t rlen = strlen(rest);
        if (strstr(rest, "/../") != NULL || (rlen >= 3 && strcmp(rest + rlen - 3, "/..") == 0))
            continue;
        int w = snprintf(out, len, "%s/%s%s", files_dir, name, rest);
        if (w < 0 || (size_t)w >= len)
            continue;
        best = n;
        found = true;
    }
    return found;
}

mfb_status drill_manifest_counts(const struct manifest *m, uint64_t *databases, uint64_t *tables,
                                 struct mfb_error *err)
{
    *databases = *tables = 0;
    static const char prefix[] = "datadir/";
    json_t *seen = json_object(); /* database directory names */
    if (seen == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < m->count; i++) {
        const struct manifest_file *f = &m->files[i];
        if (strncmp(f->path, prefix, sizeof(prefix) - 1) != 0)
            continue;
        const char *rest = f->path + sizeof(prefix) - 1;
        const char *slash = strchr(rest, '/');
        if (slash == NULL || rest[0] == '#' || strncmp(rest, "performance_schema/", 19) == 0)
            continue; /* the server's own directories */
        char name[512];
        snprintf(name, sizeof(name), "%.*s", (int)(slash - rest), rest);
        /* MariaDB writes a database's name in its directory with [A-Za-z0-9_$]
         * and @XXXX; another directory (lost+found) is listed as
         * "#mysql50#NAME", which the drill does not count either */
        if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$@") !=
            strlen(name))
            continue;
        if (json_object_set_new(seen, name, json_true()) != 0) {
            json_decref(seen);
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        }
        size_t n = strlen(slash + 1);
        if (f->type != NULL && strcmp(f->type, "file") == 0 && strchr(slash + 1, '/') == NULL &&
            n > 4 && strcmp(slash + 1 + n - 4, ".frm") == 0 && strncmp(slash + 1, "#sql", 4) != 0)
            (*tables)++;
    }
    *databases = json_object_size(seen);
    json_decref(seen);
    return MFB_OK;
}

void drill_one_line(const char *text, char *out, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return;
    for (const char *p = text ? text : ""; *p && n + 1 < len; p++) {
        bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (blank && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = blank ? ' ' : *p;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}
