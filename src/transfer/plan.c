/*
 * plan.c - chunk arithmetic and resume planning (see plan.h).
 */
#include "transfer/plan.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mfb_status plan_check_chunk_size(uint64_t chunk_size, struct mfb_error *err)
{
    if (!proto_chunk_size_valid(chunk_size, PLAN_MAX_CHUNK)) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid chunk size %" PRIu64 " bytes", chunk_size);
        mfb_error_hint(err, "use a power of two from 1M to 1G, e.g. 16M");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

bool plan_chunk_ready(uint64_t index, uint64_t chunk_size, uint64_t sealed, bool finished,
                      uint64_t size, uint64_t *len, bool *past_end)
{
    *past_end = false;
    *len = 0;
    if (finished) {
        *len = proto_chunk_length(size, chunk_size, index);
        *past_end = *len == 0;
        return !*past_end;
    }
    uint64_t start = index * chunk_size;
    if (sealed < start || sealed - start < chunk_size)
        return false;
    *len = chunk_size;
    return true;
}

mfb_status plan_resume(uint64_t local_size, uint64_t chunk_size, int64_t remote_size,
                       const struct remote_chunk *remote, size_t remote_count,
                       struct resume_plan *plan, struct mfb_error *err)
{
    memset(plan, 0, sizeof(*plan));
    if (plan_check_chunk_size(chunk_size, err) != MFB_OK)
        return mfb_error_set(err, MFB_ERR_PROTOCOL, "the receiver reports a bad chunk size");
    if (remote_size >= 0 && (uint64_t)remote_size != local_size) {
        mfb_error_set(err, MFB_ERR_CHANGED,
                      "the upload was opened for %" PRId64 " bytes but the local file has "
                      "%" PRIu64,
                      remote_size, local_size);
        mfb_error_hint(err, "resume with the file the upload was started from, or start a new "
                            "upload without --resume");
        return MFB_ERR_CHANGED;
    }
    plan->chunk_count = proto_chunk_count(local_size, chunk_size);
    if (plan->chunk_count > 0) {
        plan->held = calloc(plan->chunk_count, sizeof(*plan->held));
        if (plan->held == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory planning the resume");
    }
    for (size_t i = 0; i < remote_count; i++) {
        const struct remote_chunk *c = &remote[i];
        if (c->index >= plan->chunk_count) {
            resume_plan_free(plan);
            mfb_error_set(err, MFB_ERR_CHANGED,
                          "the receiver holds chunk %" PRIu64 " but the local file of %" PRIu64
                          " bytes has only %" PRIu64 " chunks",
                          c->index, local_size, proto_chunk_count(local_size, chunk_size));
            mfb_error_hint(err, "resume with the file the upload was started from, or start a "
                                "new upload without --resume");
            return MFB_ERR_CHANGED;
        }
        if (plan->held[c->index] != NULL || c->size > chunk_size) {
            resume_plan_free(plan);
            return mfb_error_set(err, MFB_ERR_PROTOCOL,
                                 "the receiver's list of chunks is inconsistent at chunk %" PRIu64,
                                 c->index);
        }
        plan->held[c->index] = c;
        plan->held_count++;
        plan->held_bytes += c->size;
    }
    return MFB_OK;
}

void resume_plan_free(struct resume_plan *plan)
{
    free(plan->held);
    memset(plan, 0, sizeof(*plan));
}

bool plan_chunk_matches(const struct remote_chunk *held, uint64_t len,
                        const uint8_t sha256[SHA256_LEN])
{
    return held != NULL && held->size == len && memcmp(held->sha256, sha256, SHA256_LEN) == 0;
}

static bool parse_u64(const char **p, uint64_t *value)
{
    if (!isdigit((unsigned char)**p))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)**p)) {
        unsigned d = (unsigned)(**p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        (*p)++;
    }
    *value = v;
    return true;
}

bool plan_parse_content_range(const char *value, uint64_t *first, uint64_t *last, uint64_t *total)
{
    const char *p = value;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "bytes ", 6) != 0)
        return false;
    p += 6;
    while (*p == ' ')
        p++;
    if (!parse_u64(&p, first) || *p++ != '-' || !parse_u64(&p, last) || *p++ != '/' ||
        !parse_u64(&p, total))
        return false;
    while (*p == ' ')
        p++;
    return *p == '\0' && *first <= *last && *last < *total;
}
