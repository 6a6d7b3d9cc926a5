/*
 * chunk_record.h - the seal record of a file: its size, its SHA-256 and the
 * SHA-256 of each of its chunks, computed as the file is written.
 *
 * Why: a file that waits for an upload (a pending Data.zip) may change
 * under us, a flipped bit on the disk or in memory. Digests taken when the
 * file is read for the upload would describe the damaged bytes, and the
 * receiver would accept and publish them. Digests taken as the writer
 * writes describe what was meant to be stored. The uploader sends them as
 * each chunk's Content-Digest (so the receiver refuses a chunk that changed
 * on its way through the disk), and a resume compares every chunk it reads
 * with them before it sends or trusts anything (docs/transfer.md).
 *
 * Building costs one pass over bytes already in memory: the chunk's digest
 * and the file's are fed in one pass (sha256_update2, two streams through
 * SHA-NI), which is what the uploader's reader used to do; the uploader
 * then hashes nothing.
 *
 * The text form (chunk_record_to_json / chunk_record_parse) is a small JSON
 * document the job keeps beside the file it describes (job/spool.h).
 */
#ifndef MFB_TRANSFER_CHUNK_RECORD_H
#define MFB_TRANSFER_CHUNK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"

#define CHUNK_RECORD_FORMAT "mfb-chunk-record-1"

struct chunk_record {
    uint64_t chunk_size;
    uint64_t size;                 /* bytes recorded so far; the file's size once ended */
    uint8_t sha256[SHA256_LEN];    /* of the whole file, once ended */
    uint8_t (*chunks)[SHA256_LEN]; /* [count]: digests of the complete chunks */
    uint64_t count;
    bool ended;
    /* while building */
    uint64_t cap;
    uint64_t fill; /* bytes of the chunk being hashed */
    struct sha256 file_hash;
    struct sha256 chunk_hash;
};

/* Starts an empty record for chunks of chunk_size bytes. */
void chunk_record_begin(struct chunk_record *r, uint64_t chunk_size);

/* Feeds the next len bytes of the file. Chunks completed by them are
 * appended to r->chunks (which may move: read it only from the thread that
 * builds it). Allocates. */
mfb_status chunk_record_update(struct chunk_record *r, const void *buf, size_t len,
                               struct mfb_error *err);

/* The file is complete: closes the last (short) chunk and the file digest. */
mfb_status chunk_record_end(struct chunk_record *r, struct mfb_error *err);

/* The JSON text of an ended record, NUL-terminated. Allocates; NULL when
 * out of memory. */
char *chunk_record_to_json(const struct chunk_record *r);

/* Parses chunk_record_to_json's text into an ended record, checking that
 * it is complete and consistent. what names the file for messages. */
mfb_status chunk_record_parse(const char *text, size_t len, const char *what,
                              struct chunk_record *r, struct mfb_error *err);

void chunk_record_free(struct chunk_record *r);

#endif
