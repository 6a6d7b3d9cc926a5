/*
 * chunk_record.c - building, writing and reading a file's seal record (see
 * chunk_record.h).
 */
#include "transfer/chunk_record.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "transfer/plan.h"

void chunk_record_begin(struct chunk_record *r, uint64_t chunk_size)
{
    memset(r, 0, sizeof(*r));
    r->chunk_size = chunk_size;
    sha256_init(&r->file_hash);
    sha256_init(&r->chunk_hash);
}

static mfb_status append(struct chunk_record *r, const uint8_t sha[SHA256_LEN],
                         struct mfb_error *err)
{
    if (r->count == r->cap) {
        uint64_t cap = r->cap ? r->cap * 2 : 64;
        void *p = realloc(r->chunks, cap * SHA256_LEN);
        if (p == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for the chunk record");
        r->chunks = p;
        r->cap = cap;
    }
    memcpy(r->chunks[r->count++], sha, SHA256_LEN);
    return MFB_OK;
}

/* The current chunk is complete: its digest joins the record. */
static mfb_status close_chunk(struct chunk_record *r, struct mfb_error *err)
{
    uint8_t sha[SHA256_LEN];
    sha256_final(&r->chunk_hash, sha);
    r->fill = 0;
    return append(r, sha, err);
}

mfb_status chunk_record_update(struct chunk_record *r, const void *buf, size_t len,
                               struct mfb_error *err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        uint64_t room = r->chunk_size - r->fill;
        size_t n = len < room ? len : (size_t)room;
        sha256_update2(&r->file_hash, p, &r->chunk_hash, p, n);
        r->fill += n;
        r->size += n;
        p += n;
        len -= n;
        if (r->fill == r->chunk_size) {
            mfb_status st = close_chunk(r, err);
            if (st != MFB_OK)
                return st;
        }
    }
    return MFB_OK;
}

mfb_status chunk_record_end(struct chunk_record *r, struct mfb_error *err)
{
    if (r->fill > 0) {
        mfb_status st = close_chunk(r, err);
        if (st != MFB_OK)
            return st;
    }
    sha256_final(&r->file_hash, r->sha256);
    r->ended = true;
    return MFB_OK;
}

char *chunk_record_to_json(const struct chunk_record *r)
{
    char hex[SHA256_HEX_LEN + 1];
    json_t *chunks = json_array();
    for (uint64_t i = 0; chunks && i < r->count; i++) {
        digest_to_hex(r->chunks[i], hex);
        if (json_array_append_new(chunks, json_string(hex)) != 0) {
            json_decref(chunks);
            return NULL;
        }
    }
    digest_to_hex(r->sha256, hex);
    json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:o}", "format", CHUNK_RECORD_FORMAT, "size",
                          (json_int_t)r->size, "chunk_size", (json_int_t)r->chunk_size, "sha256",
                          hex, "chunks", chunks);
    if (o == NULL)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static mfb_status bad(struct mfb_error *err, const char *what, const char *why)
{
    mfb_error_set(err, MFB_ERR_CORRUPT, "the chunk record '%s' is damaged: %s", what, why);
    mfb_error_hint(err, "it no longer says what was written; the file it describes cannot be "
                        "trusted without it");
    return MFB_ERR_CORRUPT;
}

mfb_status chunk_record_parse(const char *text, size_t len, const char *what,
                              struct chunk_record *r, struct mfb_error *err)
{
    memset(r, 0, sizeof(*r));
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    mfb_status st = MFB_OK;
    json_t *size = json_object_get(o, "size"), *cs = json_object_get(o, "chunk_size");
    json_t *chunks = json_object_get(o, "chunks");
    const char *format = json_string_value(json_object_get(o, "format"));
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    if (!json_is_object(o) || format == NULL || strcmp(format, CHUNK_RECORD_FORMAT) != 0 ||
        !json_is_integer(size) || json_integer_value(size) < 0 || !json_is_integer(cs) ||
        !json_is_array(chunks) || sha == NULL || !digest_from_hex(sha, r->sha256)) {
        st = bad(err, what, "not a chunk record");
        goto done;
    }
    r->size = (uint64_t)json_integer_value(size);
    r->chunk_size = json_integer_value(cs) > 0 ? (uint64_t)json_integer_value(cs) : 0;
    if (!proto_chunk_size_valid(r->chunk_size, PLAN_MAX_CHUNK) ||
        json_array_size(chunks) != proto_chunk_count(r->size, r->chunk_size)) {
        st = bad(err, what, "its chunks do not fit its size");
        goto done;
    }
    r->count = r->cap = json_array_size(chunks);
    if (r->count > 0 && (r->chunks = malloc(r->count * SHA256_LEN)) == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < r->count; i++) {
        const char *h = json_string_value(json_array_get(chunks, i));
        if (h == NULL || !digest_from_hex(h, r->chunks[i])) {
            st = bad(err, what, "a chunk digest is not hex");
            goto done;
        }
    }
    r->ended = true;
done:
    json_decref(o);
    if (st != MFB_OK)
        chunk_record_free(r);
    return st;
}

void chunk_record_free(struct chunk_record *r)
{
    free(r->chunks);
    sha256_free(&r->file_hash);
    sha256_free(&r->chunk_hash);
    memset(r, 0, sizeof(*r));
}
