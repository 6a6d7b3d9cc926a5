/*
 * plan.h - how a file maps onto chunks, and what a resume has to do.
 *
 * Chunk i covers bytes [i*chunk_size, i*chunk_size + len) of the file; every
 * chunk but the last is exactly chunk_size bytes (docs/protocol.md; the
 * arithmetic is src/proto's, shared with the receiver). The
 * chunk size is a power of two so offsets are shifts, and it is bounded
 * below by the protocol (1 MiB) and above by memory: the uploader's
 * buffered mode (mfb push) holds (connections + 1) chunks in memory; its
 * streamed mode (the backup job) holds none.
 *
 * A resume starts from the receiver's list of stored chunks. planning it is
 * a pure function: check that the list fits the local file (same declared
 * size, no chunk past the end, no duplicates), then give each local chunk
 * the receiver's record, or none. The uploader reads every chunk anyway
 * (the whole-file SHA-256 needs every byte), hashes it, and sends it only
 * when the receiver has no copy or a copy with another digest or size.
 */
#ifndef MFB_TRANSFER_PLAN_H
#define MFB_TRANSFER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"
#include "proto/proto.h"

/* The protocol's minimum; the upper bound is the client's (memory), the
 * receiver may allow less. */
#define PLAN_MIN_CHUNK PROTO_CHUNK_MIN
#define PLAN_MAX_CHUNK (1ull << 30)

/* One chunk the receiver says it holds. */
struct remote_chunk {
    uint64_t index;
    uint64_t size;
    uint8_t sha256[SHA256_LEN];
};

/* Chunk counts and lengths are proto_chunk_count / proto_chunk_length. */

/* A power of two within [PLAN_MIN_CHUNK, PLAN_MAX_CHUNK]. */
mfb_status plan_check_chunk_size(uint64_t chunk_size, struct mfb_error *err);

/* Whether chunk `index` of a file still being written can be read: all its
 * bytes are below `sealed`, or the file is finished at `size`. Sets *len to
 * its length and *past_end when the finished file has no such chunk. */
bool plan_chunk_ready(uint64_t index, uint64_t chunk_size, uint64_t sealed, bool finished,
                      uint64_t size, uint64_t *len, bool *past_end);

struct resume_plan {
    uint64_t chunk_count;
    const struct remote_chunk **held; /* [chunk_count]; NULL where the receiver has nothing */
    uint64_t held_count;
    uint64_t held_bytes;
};

/* Matches the receiver's chunks (any order) to a local file of local_size
 * bytes. remote_size is the upload's declared size, or negative when it was
 * not declared. Allocates plan->held (points into `remote`); release with
 * resume_plan_free. Fails with MFB_ERR_CHANGED when the upload cannot be
 * the same file, MFB_ERR_PROTOCOL when the list is inconsistent. */
mfb_status plan_resume(uint64_t local_size, uint64_t chunk_size, int64_t remote_size,
                       const struct remote_chunk *remote, size_t remote_count,
                       struct resume_plan *plan, struct mfb_error *err);
void resume_plan_free(struct resume_plan *plan);

/* Whether the receiver's copy of a chunk matches the local bytes. */
bool plan_chunk_matches(const struct remote_chunk *held, uint64_t len,
                        const uint8_t sha256[SHA256_LEN]);

/* Parses a Content-Range answer ("bytes 100-199/1000") into the first and
 * last byte and the total. False for anything else ("*" included). */
bool plan_parse_content_range(const char *value, uint64_t *first, uint64_t *last, uint64_t *total);

#endif
