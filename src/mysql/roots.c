/*
 * roots.c - canonical paths and the reduction of locations to roots (see
 * roots.h).
 */
#include "mysql/roots.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mfb_status no_memory(struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory listing the server's directories");
}

/* Lexical clean-up of an absolute path, in place: "//" and "/./" collapse,
 * "/x/.." goes away, no trailing slash except for "/" itself. */
static void normalize(char *path)
{
    char *out = path; /* path[0] is '/' */
    const char *in = path;
    while (*in != '\0') {
        while (*in == '/')
            in++;
        const char *end = in;
        while (*end != '\0' && *end != '/')
            end++;
        size_t len = (size_t)(end - in);
        if (len == 0 || (len == 1 && in[0] == '.')) {
            /* skip */
        } else if (len == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/') {
            }
        } else {
            *out++ = '/';
            memmove(out, in, len);
            out += len;
        }
        in = end;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

mfb_status mysql_path_resolve(const char *base, const char *path, char **out, struct mfb_error *err)
{
    *out = NULL;
    char *joined = NULL;
    if (path == NULL || path[0] == '\0')
        path = base;
    if (path == NULL || path[0] == '\0')
        return mfb_error_set(err, MFB_ERR_INVALID, "empty path");
    if (path[0] == '/') {
        joined = strdup(path);
    } else {
        if (base == NULL || base[0] != '/')
            return mfb_error_set(err, MFB_ERR_INVALID,
                                 "relative path '%s' without an absolute base", path);
        size_t n = strlen(base) + strlen(path) + 2;
        joined = malloc(n);
        if (joined != NULL)
            snprintf(joined, n, "%s/%s", base, path);
    }
    if (joined == NULL)
        return no_memory(err);
    char *real = realpath(joined, NULL);
    if (real != NULL) {
        free(joined);
        *out = real;
        return MFB_OK;
    }
    if (errno == ENOMEM) {
        free(joined);
        return no_memory(err);
    }
    normalize(joined);
    *out = joined;
    return MFB_OK;
}

bool mysql_path_contains(const char *outer, const char *inner)
{
    size_t n = strlen(outer);
    if (n == 1 && outer[0] == '/')
        return inner[0] == '/';
    return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* Takes path and why (both allocated; freed on failure). */
static mfb_status add_resolved(struct mysql_roots *r, const char *kind, bool numbered, char *path,
                               char *why, struct mfb_error *err)
{
    /* The same directory found the same way again adds nothing. */
    for (size_t i = 0; i < r->location_count; i++) {
        if (strcmp(r->locations[i].path, path) == 0 && strcmp(r->locations[i].kind, kind) == 0) {
            free(path);
            free(why);
            return MFB_OK;
        }
    }
    if (r->location_count == r->location_cap) {
        size_t cap = r->location_cap ? r->location_cap * 2 : 8;
        struct mysql_location *grown = realloc(r->locations, cap * sizeof(*grown));
        if (grown == NULL) {
            free(path);
            free(why);
            return no_memory(err);
        }
        r->locations = grown;
        r->location_cap = cap;
    }
    struct mysql_location *loc = &r->locations[r->location_count];
    memset(loc, 0, sizeof(*loc));
    loc->kind = strdup(kind);
    loc->why = why;
    loc->path = path;
    loc->numbered = numbered;
    if (loc->kind == NULL) {
        free(why);
        free(path);
        return no_memory(err);
    }
    r->location_count++;
    return MFB_OK;
}

/* Resolves path (or, for a file, its directory) and adds it. */
static mfb_status add_location(struct mysql_roots *r, const char *kind, bool numbered,
                               const char *base, const char *path, bool is_file,
                               struct mfb_error *err, const char *why_fmt, va_list ap)
{
    char *why = NULL;
    if (vasprintf(&why, why_fmt, ap) < 0)
        return no_memory(err);
    char *resolved = NULL;
    mfb_status st = mysql_path_resolve(base, path, &resolved, err);
    if (st != MFB_OK) {
        free(why);
        return st;
    }
    if (is_file) {
        char *slash = strrchr(resolved, '/');
        if (slash == resolved)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    return add_resolved(r, kind, numbered, resolved, why, err);
}

mfb_status mysql_roots_add(struct mysql_roots *roots, const char *kind, bool numbered,
                           const char *base, const char *path, struct mfb_error *err,
                           const char *why_fmt, ...)
{
    va_list ap;
    va_start(ap, why_fmt);
    mfb_status st = add_location(roots, kind, numbered, base, path, false, err, why_fmt, ap);
    va_end(ap);
    return st;
}

mfb_status mysql_roots_add_file(struct mysql_roots *roots, const char *kind, bool numbered,
                                const char *base, const char *file, struct mfb_error *err,
                                const char *why_fmt, ...)
{
    va_list ap;
    va_start(ap, why_fmt);
    mfb_status st = add_location(roots, kind, numbered, base, file, true, err, why_fmt, ap);
    va_end(ap);
    return st;
}

static void free_roots_only(struct mysql_roots *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->roots[i].name);
        free(r->roots[i].path);
        free(r->roots[i].why);
    }
    free(r->roots);
    r->roots = NULL;
    r->count = 0;
}

static bool name_taken(const struct mysql_roots *r, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(r->roots[i].name, name) == 0)
            return true;
    return false;
}

mfb_status mysql_roots_finish(struct mysql_roots *roots, struct mfb_error *err)
{
    free_roots_only(roots);
    size_t n = roots->location_count;
    if (n == 0)
        return MFB_OK;
    size_t *owner = malloc(n * sizeof(*owner));
    size_t *index = malloc(n * sizeof(*index));
    roots->roots = calloc(n, sizeof(*roots->roots));
    if (owner == NULL || index == NULL || roots->roots == NULL) {
        free(owner);
        free(index);
        free(roots->roots);
        roots->roots = NULL;
        return no_memory(err);
    }
    /* A location is "top" when no other one holds it (of equal paths, the
     * first found is top). Tops never hold each other, and every location
     * lies in exactly one top: its owner. */
    for (size_t i = 0; i < n; i++) {
        const char *pi = roots->locations[i].path;
        owner[i] = i;
        for (size_t j = 0; j < n && owner[i] == i; j++)
            if (j != i && mysql_path_contains(roots->locations[j].path, pi) &&
                (j < i || strcmp(roots->locations[j].path, pi) != 0))
                owner[i] = SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n && owner[i] == SIZE_MAX; j++)
            if (owner[j] == j &&
                mysql_path_contains(roots->locations[j].path, roots->locations[i].path))
                owner[i] = j;
    /* Build the roots in the order their owning locations were found. */
    mfb_status st = MFB_OK;
    for (size_t i = 0; i < n; i++) {
        index[i] = SIZE_MAX;
        if (owner[i] != i)
            continue;
        const struct mysql_location *loc = &roots->locations[i];
        char name[128];
        unsigned k = 1;
        if (loc->numbered)
            snprintf(name, sizeof(name), "%s-%u", loc->kind, k);
        else
            snprintf(name, sizeof(name), "%s", loc->kind);
        while (name_taken(roots, roots->count, name))
            snprintf(name, sizeof(name), "%s-%u", loc->kind, ++k);
        struct mysql_root *root = &roots->roots[roots->count];
        root->name = strdup(name);
        root->path = strdup(loc->path);
        root->why = strdup(loc->why);
        index[i] = roots->count++;
        if (root->name == NULL || root->path == NULL || root->why == NULL) {
            st = no_memory(err);
            break;
        }
    }
    for (size_t i = 0; st == MFB_OK && i < n; i++)
        roots->locations[i].root = index[owner[i]];
    free(owner);
    free(index);
    if (st != MFB_OK)
        free_roots_only(roots);
    return st;
}

const struct mysql_root *mysql_roots_find(const struct mysql_roots *roots, const char *path)
{
    for (size_t i = 0; i < roots->count; i++)
        if (mysql_path_contains(roots->roots[i].path, path))
            return &roots->roots[i];
    return NULL;
}

void mysql_roots_free(struct mysql_roots *roots)
{
    free_roots_only(roots);
    for (size_t i = 0; i < roots->location_count; i++) {
        free(roots->locations[i].kind);
        free(roots->locations[i].path);
        free(roots->locations[i].why);
    }
    free(roots->locations);
    memset(roots, 0, sizeof(*roots));
}
