/*
 * manifest.c - generating and parsing mfb-manifest.json, and reading it
 * from an archive (see manifest.h).
 *
 * jansson encodes every value (string escaping included); the generator
 * only joins the encoded records, so the text stays valid JSON without
 * holding the whole document as a json_t tree.
 */
#include "archive/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive/reader.h"
#include "archive/zipfmt.h"

enum gen_stage { GEN_HEAD, GEN_FILES, GEN_TAIL, GEN_DONE };

struct manifest_gen {
    const struct scan_list *list;
    size_t count;
    const json_t *metadata;
    int64_t created;
    enum gen_stage stage;
    size_t index;
    bool emitted;  /* a file record was written: the next needs a comma */
    char *pending; /* encoded text not yet handed out */
    size_t pending_len;
    size_t pending_pos;
};

static const char *type_name(uint8_t type)
{
    switch (type) {
    case SCAN_DIR:
        return "dir";
    case SCAN_SYMLINK:
        return "symlink";
    default:
        return "file";
    }
}

static void format_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* Encodes one file record (without separator). Returns a malloc'ed string or NULL. */
static char *encode_file(const struct scan_entry *e)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    char crc[16], mode[16];
    snprintf(crc, sizeof(crc), "%08x", e->crc);
    snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
    size_t len = e->name_len;
    if (e->type == SCAN_DIR && len > 0)
        len--; /* the manifest names directories without the trailing '/' */
    int rc = 0;
    if (zip_utf8_valid(e->name, len)) {
        rc |= json_object_set_new(o, "path", json_stringn(e->name, len));
    } else {
        char *hex = malloc(len * 2 + 1);
        if (hex == NULL) {
            json_decref(o);
            return NULL;
        }
        for (size_t i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)e->name[i]);
        rc |= json_object_set_new(o, "path_hex", json_string(hex));
        free(hex);
    }
    rc |= json_object_set_new(o, "type", json_string(type_name(e->type)));
    rc |= json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    rc |= json_object_set_new(o, "crc32", json_string(crc));
    rc |= json_object_set_new(o, "mode", json_string(mode));
    rc |= json_object_set_new(o, "mtime", json_integer((json_int_t)e->mtime));
    rc |= json_object_set_new(o, "uid", json_integer((json_int_t)e->uid));
    rc |= json_object_set_new(o, "gid", json_integer((json_int_t)e->gid));
    char *text = rc == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static char *encode_head(const struct manifest_gen *g)
{
    char created[32];
    format_time(g->created, created, sizeof(created));
    json_t *c = json_string(created);
    json_t *t = json_string("mfb " MFB_VERSION);
    char *cs = c ? json_dumps(c, JSON_ENCODE_ANY) : NULL;
    char *ts = t ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
    json_decref(c);
    json_decref(t);
    char *out = NULL;
    if (cs && ts) {
        size_t len = strlen(cs) + strlen(ts) + 64;
        out = malloc(len);
        if (out)
            snprintf(out, len, "{\"format\":%d,\"created\":%s,\"tool\":%s,\"files\":[\n",
                     MANIFEST_FORMAT, cs, ts);
    }
    free(cs);
    free(ts);
    return out;
}

static char *encode_tail(const struct manifest_gen *g)
{
    char *meta = NULL;
    if (g->metadata && json_is_object(g->metadata))
        meta = json_dumps(g->metadata, JSON_COMPACT | JSON_PRESERVE_ORDER);
    else
        meta = strdup("{}");
    if (meta == NULL)
        return NULL;
    size_t len = strlen(meta) + 32;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "\n],\"metadata\":%s}\n", meta);
    free(meta);
    return out;
}

/* Prepares the next piece of text in g->pending, or moves to GEN_DONE. */
static mfb_status next_piece(struct manifest_gen *g, struct mfb_error *err)
{
    free(g->pending);
    g->pending = NULL;
    g->pending_len = g->pending_pos = 0;
    char *text = NULL;
    bool comma = false;
    switch (g->stage) {
    case GEN_HEAD:
        text = encode_head(g);
        g->stage = GEN_FILES;
        break;
    case GEN_FILES:
        while (g->index < g->count && g->list->entries[g->index].type == SCAN_MANIFEST)
            g->index++;
        if (g->index < g->count) {
            comma = g->emitted;
            g->emitted = true;
            text = encode_file(&g->list->entries[g->index++]);
            break;
        }
        g->stage = GEN_TAIL;
        /* fall through */
    case GEN_TAIL:
        text = encode_tail(g);
        g->stage = GEN_DONE;
        break;
    case GEN_DONE:
        return MFB_OK;
    }
    if (text == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the manifest");
    if (comma) {
        size_t len = strlen(text);
        char *with = malloc(len + 3);
        if (with == NULL) {
            free(text);
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the manifest");
        }
        memcpy(with, ",\n", 2);
        memcpy(with + 2, text, len + 1);
        free(text);
        text = with;
    }
    g->pending = text;
    g->pending_len = strlen(text);
    return MFB_OK;
}

mfb_status manifest_gen_create(const struct scan_list *list, size_t count, const json_t *metadata,
                               int64_t created, struct manifest_gen **out, struct mfb_error *err)
{
    *out = NULL;
    struct manifest_gen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the manifest");
    g->list = list;
    g->count = count;
    g->metadata = metadata;
    g->created = created;
    g->stage = GEN_HEAD;
    mfb_status s = next_piece(g, err);
    if (s != MFB_OK) {
        manifest_gen_free(g);
        return s;
    }
    *out = g;
    return MFB_OK;
}

mfb_status manifest_gen_fill(struct manifest_gen *g, uint8_t *buf, size_t cap, size_t *len,
                             bool *done, struct mfb_error *err)
{
    size_t used = 0;
    while (used < cap && g->pending != NULL) {
        size_t n = g->pending_len - g->pending_pos;
        if (n > cap - used)
            n = cap - used;
        memcpy(buf + used, g->pending + g->pending_pos, n);
        used += n;
        g->pending_pos += n;
        if (g->pending_pos == g->pending_len) {
            if (g->stage == GEN_DONE) {
                free(g->pending);
                g->pending = NULL;
            } else {
                mfb_status s = next_piece(g, err);
                if (s != MFB_OK)
                    return s;
            }
        }
    }
    *len = used;
    *done = g->pending == NULL;
    return MFB_OK;
}

void manifest_gen_free(struct manifest_gen *g)
{
    if (g == NULL)
        return;
    free(g->pending);
    free(g);
}

uint64_t manifest_size_bound(const struct scan_list *list, size_t count, const json_t *metadata)
{
    /* a name escapes to at most 6 bytes per byte (\u00XX); the rest of a record is < 256 */
    uint64_t bound = 4096;
    for (size_t i = 0; i < count; i++)
        bound += (uint64_t)list->entries[i].name_len * 6 + 256;
    if (metadata) {
        char *m = json_dumps(metadata, JSON_COMPACT);
        if (m) {
            bound += strlen(m);
            free(m);
        }
    }
    return bound;
}

/* Decodes "path" or "path_hex" of a file record. */
static bool decode_path(json_t *file, struct manifest_file *f)
{
    json_t *p = json_object_get(file, "path");
    if (json_is_string(p)) {
        f->path_len = json_string_length(p);
        f->path = malloc(f->path_len + 1);
        if (f->path == NULL)
            return false;
        memcpy(f->path, json_string_value(p), f->path_len + 1);
        return true;
    }
    p = json_object_get(file, "path_hex");
    if (!json_is_string(p) || json_string_length(p) % 2 != 0)
        return false;
    const char *hex = json_string_value(p);
    f->path_len = json_string_length(p) / 2;
    f->path = malloc(f->path_len + 1);
    if (f->path == NULL)
        return false;
    for (size_t i = 0; i < f->path_len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        f->path[i] = (char)v;
    }
    f->path[f->path_len] = '\0';
    return true;
}

static const char *known_type(const char *t)
{
    static const char *const types[] = {"file", "dir", "symlink"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(t, types[i]) == 0)
            return types[i];
    return NULL;
}

/* One file record into f; i counts from 0, for messages. */
static mfb_status decode_file(json_t *o, size_t i, struct manifest_file *f, struct mfb_error *err)
{
    json_t *type = json_object_get(o, "type");
    json_t *size = json_object_get(o, "size");
    json_t *crc = json_object_get(o, "crc32");
    json_t *mode = json_object_get(o, "mode");
    json_t *mtime = json_object_get(o, "mtime");
    json_t *uid = json_object_get(o, "uid");
    json_t *gid = json_object_get(o, "gid");
    char *end;
    if (!json_is_object(o) || !decode_path(o, f) || !json_is_string(type) ||
        !known_type(json_string_value(type)) || !json_is_integer(size) ||
        json_integer_value(size) < 0 || !json_is_string(crc) || !json_is_string(mode) ||
        !json_is_integer(mtime))
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest entry %zu is malformed", i + 1);
    unsigned long crc_v = strtoul(json_string_value(crc), &end, 16);
    if (*end != '\0' || json_string_length(crc) != 8)
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest entry %zu has a bad crc32", i + 1);
    unsigned long mode_v = strtoul(json_string_value(mode), &end, 8);
    if (*end != '\0' || mode_v > 07777)
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest entry %zu has a bad mode", i + 1);
    f->type = known_type(json_string_value(type));
    f->size = (uint64_t)json_integer_value(size);
    f->crc = (uint32_t)crc_v;
    f->mode = (uint32_t)mode_v;
    f->mtime = (int64_t)json_integer_value(mtime);
    if (json_is_integer(uid) && json_is_integer(gid)) {
        f->has_owner = true;
        f->uid = (uint32_t)json_integer_value(uid);
        f->gid = (uint32_t)json_integer_value(gid);
    }
    return MFB_OK;
}

static mfb_status check_format(json_t *root, struct mfb_error *err)
{
    json_t *format = json_object_get(root, "format");
    if (!json_is_integer(format))
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest lacks \"format\"");
    if (json_integer_value(format) != MANIFEST_FORMAT) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED, "manifest format %lld is not supported",
                      (long long)json_integer_value(format));
        mfb_error_hint(err, "use a newer mfb to read this archive");
        return MFB_ERR_UNSUPPORTED;
    }
    return MFB_OK;
}

static mfb_status push_file(struct manifest *m, size_t *cap, struct manifest_file **f,
                            struct mfb_error *err)
{
    if (m->count == *cap) {
        size_t next = *cap ? *cap * 2 : 1024;
        struct manifest_file *files = realloc(m->files, next * sizeof(*files));
        if (files == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the manifest");
        m->files = files;
        *cap = next;
    }
    *f = &m->files[m->count++];
    memset(*f, 0, sizeof(**f));
    return MFB_OK;
}

/* The layout the generator writes: a head line ending in "files":[, one
 * record per line, then "],"metadata":...}". Decoding a line at a time keeps
 * memory at the compact records instead of a JSON tree of the whole list.
 * Returns MFB_ERR_UNSUPPORTED (without touching err) for another layout. */
static mfb_status parse_lines(const char *text, size_t len, struct manifest *m,
                              struct mfb_error *err)
{
    static const char head_end[] = "\"files\":[";
    static const char tail_start[] = "],\"metadata\":";
    const char *nl = memchr(text, '\n', len);
    size_t hlen = nl ? (size_t)(nl - text) : 0;
    if (nl == NULL || hlen < sizeof(head_end) ||
        memcmp(nl - (sizeof(head_end) - 1), head_end, sizeof(head_end) - 1) != 0)
        return MFB_ERR_UNSUPPORTED;
    char *head = malloc(hlen + 3);
    if (head == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the manifest");
    memcpy(head, text, hlen);
    memcpy(head + hlen, "]}", 3);
    m->root = json_loadb(head, hlen + 2, 0, NULL);
    free(head);
    if (m->root == NULL)
        return MFB_ERR_UNSUPPORTED;
    mfb_status s = check_format(m->root, err);
    size_t cap = 0;
    const char *p = nl + 1, *end = text + len;
    while (s == MFB_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t llen = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (llen > 0 && p[0] == '{') {
            size_t rlen = p[llen - 1] == ',' ? llen - 1 : llen;
            json_t *o = json_loadb(p, rlen, 0, NULL);
            if (o == NULL)
                return MFB_ERR_UNSUPPORTED;
            struct manifest_file *f;
            s = push_file(m, &cap, &f, err);
            if (s == MFB_OK)
                s = decode_file(o, m->count - 1, f, err);
            json_decref(o);
        } else if (llen >= sizeof(tail_start) - 1 &&
                   memcmp(p, tail_start, sizeof(tail_start) - 1) == 0) {
            /* "{" + the rest must be one object holding the metadata object */
            size_t rest_len = (size_t)(end - p) - 1;
            char *rest = malloc(rest_len + 1);
            if (rest == NULL)
                return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the manifest");
            rest[0] = '{';
            memcpy(rest + 1, p + 2, rest_len - 1);
            json_t *tail = json_loadb(rest, rest_len, 0, NULL);
            free(rest);
            json_t *meta = json_object_get(tail, "metadata");
            bool ok = json_is_object(meta);
            if (ok) /* root keeps everything but "files": the metadata too */
                json_object_set(m->root, "metadata", meta);
            json_decref(tail);
            return ok ? s : MFB_ERR_UNSUPPORTED;
        } else {
            return MFB_ERR_UNSUPPORTED;
        }
        if (eol == NULL)
            return MFB_ERR_UNSUPPORTED;
        p = eol + 1;
    }
    return s;
}

/* Any other layout: the whole document as one JSON tree. */
static mfb_status parse_whole(const char *text, size_t len, struct manifest *m,
                              struct mfb_error *err)
{
    json_error_t jerr;
    m->root = json_loadb(text, len, 0, &jerr);
    if (m->root == NULL)
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest is not valid JSON (line %d: %s)",
                             jerr.line, jerr.text);
    json_t *files = json_object_get(m->root, "files");
    if (!json_is_array(files))
        return mfb_error_set(err, MFB_ERR_CORRUPT, "manifest lacks \"files\"");
    mfb_status s = check_format(m->root, err);
    size_t cap = 0;
    for (size_t i = 0; i < json_array_size(files) && s == MFB_OK; i++) {
        struct manifest_file *f;
        s = push_file(m, &cap, &f, err);
        if (s == MFB_OK)
            s = decode_file(json_array_get(files, i), i, f, err);
    }
    return s;
}

mfb_status manifest_parse(const char *text, size_t len, struct manifest *m, struct mfb_error *err)
{
    memset(m, 0, sizeof(*m));
    mfb_status s = parse_lines(text, len, m, err);
    if (s == MFB_ERR_UNSUPPORTED && !mfb_error_is_set(err)) {
        manifest_free(m);
        s = parse_whole(text, len, m, err);
    }
    return s;
}

void manifest_free(struct manifest *m)
{
    for (size_t i = 0; i < m->count && m->files; i++)
        free(m->files[i].path);
    free(m->files);
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

mfb_status manifest_read(struct archive_reader *reader, size_t idx, struct manifest *m,
                         const json_t **metadata, struct mfb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    mfb_status st = archive_reader_read_alloc(reader, idx, MANIFEST_READ_MAX, &text, &len, err);
    if (st == MFB_OK)
        st = manifest_parse(text, len, m, err);
    free(text);
    if (st != MFB_OK)
        return st;
    json_t *meta = json_object_get(m->root, "metadata");
    *metadata = json_is_object(meta) ? meta : NULL;
    return MFB_OK;
}
