/*
 * deflate_block.c - one block of a parallel deflate stream, with ISA-L or
 * zlib (see deflate_block.h).
 */
#include "archive/deflate_block.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct deflate_block {
    int level;
    bool use_isal;
    struct isal_zstream isal;
    uint8_t *level_buf;
    uint32_t level_buf_size;
    z_stream z;
    bool z_ready;
};

static uint32_t isal_level_buf_size(int isal_level)
{
    switch (isal_level) {
    case 1:
        return ISAL_DEF_LVL1_DEFAULT;
    case 2:
        return ISAL_DEF_LVL2_DEFAULT;
    case 3:
        return ISAL_DEF_LVL3_DEFAULT;
    default:
        return ISAL_DEF_LVL0_DEFAULT;
    }
}

mfb_status deflate_block_create(int level, struct deflate_block **out, struct mfb_error *err)
{
    *out = NULL;
    if (level < DEFLATE_LEVEL_MIN || level > DEFLATE_LEVEL_MAX)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "invalid deflate level %d", level);
    struct deflate_block *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for a compressor");
    c->level = level;
    c->use_isal = level <= DEFLATE_LEVEL_ISAL_MAX;
    if (c->use_isal) {
        c->level_buf_size = isal_level_buf_size(level);
        if (c->level_buf_size > 0) {
            c->level_buf = malloc(c->level_buf_size);
            if (c->level_buf == NULL) {
                free(c);
                return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for a compressor");
            }
        }
    } else {
        /* raw deflate (negative window bits): ZIP has no zlib wrapper */
        if (deflateInit2(&c->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(c);
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "cannot initialise zlib");
        }
        c->z_ready = true;
    }
    *out = c;
    return MFB_OK;
}

void deflate_block_free(struct deflate_block *c)
{
    if (c == NULL)
        return;
    if (c->z_ready)
        deflateEnd(&c->z);
    free(c->level_buf);
    free(c);
}

size_t deflate_block_bound(size_t len)
{
    /* stored-block worst case (5 bytes per 64 KiB) plus headers and the flush */
    return len + len / 64 + 1024;
}

static mfb_status grow(uint8_t **out, size_t *cap, size_t used, struct mfb_error *err)
{
    size_t next = *cap < 4096 ? 8192 : *cap + *cap / 2;
    uint8_t *p = realloc(*out, next);
    if (p == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for compressed data");
    (void)used;
    *out = p;
    *cap = next;
    return MFB_OK;
}

static mfb_status run_isal(struct deflate_block *c, const uint8_t *dict, size_t dict_len,
                           const uint8_t *data, size_t len, bool last, uint8_t **out,
                           size_t *out_cap, size_t *out_len, struct mfb_error *err)
{
    struct isal_zstream *s = &c->isal;
    isal_deflate_init(s);
    s->level = (uint32_t)c->level;
    s->level_buf = c->level_buf;
    s->level_buf_size = c->level_buf_size;
    s->gzip_flag = IGZIP_DEFLATE;
    s->end_of_stream = last ? 1 : 0;
    s->flush = last ? NO_FLUSH : SYNC_FLUSH;
    if (dict_len > 0 && isal_deflate_set_dict(s, (uint8_t *)dict, (uint32_t)dict_len) != COMP_OK)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "isa-l refused a dictionary");
    s->next_in = (uint8_t *)data;
    s->avail_in = (uint32_t)len;
    size_t used = 0;
    for (;;) {
        if (*out_cap - used < 64) {
            mfb_status st = grow(out, out_cap, used, err);
            if (st != MFB_OK)
                return st;
        }
        s->next_out = *out + used;
        s->avail_out = (uint32_t)(*out_cap - used);
        uint32_t before = s->avail_out;
        int rc = isal_deflate(s);
        if (rc != COMP_OK)
            return mfb_error_set(err, MFB_ERR_INTERNAL, "isa-l deflate failed (%d)", rc);
        used += before - s->avail_out;
        bool finished = last ? s->internal_state.state == ZSTATE_END
                             : s->internal_state.state == ZSTATE_NEW_HDR;
        if (s->avail_in == 0 && finished)
            break;
        if (s->avail_out != 0 && s->avail_in == 0 && !finished && before == s->avail_out)
            return mfb_error_set(err, MFB_ERR_INTERNAL, "isa-l deflate made no progress");
    }
    *out_len = used;
    return MFB_OK;
}

static mfb_status run_zlib(struct deflate_block *c, const uint8_t *dict, size_t dict_len,
                           const uint8_t *data, size_t len, bool last, uint8_t **out,
                           size_t *out_cap, size_t *out_len, struct mfb_error *err)
{
    z_stream *z = &c->z;
    if (deflateReset(z) != Z_OK)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "zlib deflateReset failed");
    if (dict_len > 0 && deflateSetDictionary(z, dict, (uInt)dict_len) != Z_OK)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "zlib refused a dictionary");
    z->next_in = (Bytef *)data;
    z->avail_in = (uInt)len;
    size_t used = 0;
    int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
        if (*out_cap - used < 64) {
            mfb_status st = grow(out, out_cap, used, err);
            if (st != MFB_OK)
                return st;
        }
        z->next_out = *out + used;
        z->avail_out = (uInt)(*out_cap - used);
        uInt before = z->avail_out;
        int rc = deflate(z, flush);
        used += before - z->avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return mfb_error_set(err, MFB_ERR_INTERNAL, "zlib deflate failed (%d)", rc);
        /* a sync flush is complete when deflate leaves output space unused */
        if (!last && z->avail_in == 0 && z->avail_out != 0)
            break;
    }
    *out_len = used;
    return MFB_OK;
}

mfb_status deflate_block_run(struct deflate_block *c, const uint8_t *dict, size_t dict_len,
                             const uint8_t *data, size_t len, bool last, uint8_t **out,
                             size_t *out_cap, size_t *out_len, struct mfb_error *err)
{
    if (dict_len > DEFLATE_DICT_SIZE) {
        dict += dict_len - DEFLATE_DICT_SIZE;
        dict_len = DEFLATE_DICT_SIZE;
    }
    if (len > UINT32_MAX)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "deflate block too large");
    if (c->use_isal)
        return run_isal(c, dict, dict_len, data, len, last, out, out_cap, out_len, err);
    return run_zlib(c, dict, dict_len, data, len, last, out, out_cap, out_len, err);
}

uint32_t deflate_crc32(uint32_t crc, const void *buf, size_t len)
{
    return crc32_gzip_refl(crc, buf, len);
}

uint32_t deflate_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return (uint32_t)crc32_combine64(crc_a, crc_b, (z_off64_t)len_b);
}
