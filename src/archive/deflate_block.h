/*
 * deflate_block.h - compresses one block of a file so that the blocks of a
 * file, compressed independently and in parallel, join into one valid raw
 * deflate stream (the technique pigz uses).
 *
 * Each block is compressed by a fresh stream primed with the 32 KiB of input
 * that precede it (the dictionary), so matches may reach back into the
 * previous block exactly as a single stream's would. A block that is not the
 * file's last ends with a sync flush: the deflate data is completed and
 * byte-aligned by an empty stored block with BFINAL clear. The last block
 * ends the stream (BFINAL set). Concatenating the outputs in order gives one
 * deflate stream; its CRC-32 is the per-block CRCs combined.
 *
 * Levels 1-3 use ISA-L (isal_deflate levels 1-3, several times faster than
 * zlib at a similar ratio), 4-9 use zlib. A compressor holds the state of
 * one stream and is reused block after block by one thread at a time; the
 * writer keeps one per worker thread. The output of a block depends only on
 * its dictionary, its data, the level and whether it is last, never on which
 * thread compressed it, so archives are the same whatever the thread count.
 */
#ifndef MFB_ARCHIVE_DEFLATE_BLOCK_H
#define MFB_ARCHIVE_DEFLATE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* The deflate window: how much preceding input primes a block. */
#define DEFLATE_DICT_SIZE (32u * 1024u)

#define DEFLATE_LEVEL_MIN 1
#define DEFLATE_LEVEL_MAX 9
#define DEFLATE_LEVEL_ISAL_MAX 3

struct deflate_block;

/* Creates a compressor for level 1..9. Allocates; free with deflate_block_free. */
mfb_status deflate_block_create(int level, struct deflate_block **out, struct mfb_error *err);
void deflate_block_free(struct deflate_block *c);

/* Compresses data[0..len), primed with dict[0..dict_len) (at most
 * DEFLATE_DICT_SIZE, the input just before data), into *out. *out and
 * *out_cap are the caller's buffer; it is grown with realloc when too small.
 * *out_len receives the compressed length. last: end the deflate stream;
 * otherwise end on a byte boundary with a sync flush. */
mfb_status deflate_block_run(struct deflate_block *c, const uint8_t *dict, size_t dict_len,
                             const uint8_t *data, size_t len, bool last, uint8_t **out,
                             size_t *out_cap, size_t *out_len, struct mfb_error *err);

/* A capacity for a block's output that is rarely exceeded (incompressible
 * input, plus block headers and the flush marker). */
size_t deflate_block_bound(size_t len);

/* CRC-32 (the ZIP/gzip polynomial) of buf, continuing from crc; ISA-L's
 * folding implementation, several times faster than zlib's. */
uint32_t deflate_crc32(uint32_t crc, const void *buf, size_t len);

/* The CRC-32 of A followed by B, from crc(A), crc(B) and B's length. */
uint32_t deflate_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

#endif
