/*
 * session.h - the live state of open uploads inside a running receiver:
 * which chunks are stored or in flight, and the running SHA-256 of the
 * file's contiguous prefix, so `complete` does not have to read the whole
 * file again.
 *
 * The catalog (server_db) is the durable truth; a session is rebuilt from
 * it on first use after a restart. The running hash is not persisted: after
 * a restart it starts again at byte 0 and the chunks already stored are
 * hashed from the partial file, lazily, in the background (or at complete).
 * That re-read happens once per restart and only for uploads that were
 * open; persisting OpenSSL's internal state would tie the catalog to one
 * OpenSSL build.
 *
 * How the running hash advances:
 * - A chunk PUT that starts exactly where the hashed prefix ends (the usual
 *   case for an in-order upload) gets a fork of the running hash and feeds
 *   its bytes into it as they arrive, beside the chunk's own digest. When the
 *   chunk is recorded the fork becomes the running hash; when the chunk
 *   fails the fork is dropped. In-order data is therefore never re-read.
 * - A chunk that arrives ahead of the prefix (parallel or out-of-order
 *   uploads) cannot feed the running hash, but the connection receiving it
 *   can carry the prefix forward meanwhile: when the chunk at the prefix
 *   is stored and nobody else holds the running hash, it reads as many
 *   bytes of the prefix from the partial file (normally still in the page
 *   cache) as it receives and hashes both in one pass (sha256_update2),
 *   so the receiver's two digests of every byte cost about one. A hasher
 *   thread catches up what is left once no chunk is in flight, and
 *   complete hashes whatever remains.
 * - A chunk that is forgotten (DELETE of a chunk, so a resuming client can
 *   send it again) after the prefix covered it takes the prefix back: to
 *   the last copy of the running hash at or before the chunk (one is kept
 *   every MARK_EVERY_BYTES of prefix), and the stored chunks from there on
 *   are hashed again from the file, lazily, like out-of-order chunks. If
 *   the hash is busy at that moment, the owner rewinds it when it lets go.
 * Only one party owns the running hash at a time (hash_busy).
 */
#ifndef MFB_SERVER_SESSION_H
#define MFB_SERVER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"
#include "common/threadpool.h"
#include "store/server_db.h"

struct session_registry;
struct session;

/* hashers: the pool that re-reads out-of-order chunks; NULL hashes them
 * only when complete asks. Allocates. */
mfb_status session_registry_create(struct threadpool *hashers, struct session_registry **out,
                                   struct mfb_error *err);
/* Frees every session. Call after the hasher pool has been drained. */
void session_registry_destroy(struct session_registry *r);

/* The session of open upload u, created from the catalog's chunk records
 * if needed; data_path is its partial file. Takes a reference. */
mfb_status session_get(struct session_registry *r, struct server_db *db, const struct srv_upload *u,
                       const char *data_path, struct session **out, struct mfb_error *err);
void session_put(struct session *s);
/* Drops the registry's reference (after complete or delete). */
void session_forget(struct session_registry *r, const char *upload_id);
/* How often a copy of the running hash is kept, in bytes of prefix (default
 * 1 GiB); for sessions created afterwards. For tests. */
void session_registry_set_mark_interval(struct session_registry *r, uint64_t bytes);
/* Number of live sessions (for tests and logs). */
size_t session_count(struct session_registry *r);

enum session_claim {
    SESSION_WRITE,     /* the caller writes the chunk */
    SESSION_DUPLICATE, /* stored already with the same digest: a no-op */
    SESSION_DIFFERENT, /* stored already with another digest */
    SESSION_BUSY,      /* the same index is being received on another connection */
    SESSION_CLOSED,    /* the upload is being completed or deleted */
    SESSION_ABSENT,    /* (forget) the chunk is not stored */
};

/* Claims chunk `index`. On SESSION_WRITE with *inline_hash true, fork now
 * holds a copy of the running hash and the caller must feed it every byte
 * of the chunk. */
enum session_claim session_chunk_begin(struct session *s, uint64_t index,
                                       const uint8_t digest[SHA256_LEN], struct sha256 *fork,
                                       bool *inline_hash);

/* Feeds len arriving bytes of a chunk claimed without inline hashing to
 * chunk_hash and, whenever the running hash is free and the chunk at the
 * prefix is stored, as many stored bytes at the prefix to the running hash
 * in the same pass. */
void session_hash_alongside(struct session *s, struct sha256 *chunk_hash, const void *data,
                            size_t len);

/* Ends a claim: recorded says whether the chunk is now in the catalog. */
void session_chunk_end(struct session *s, uint64_t index, bool recorded, uint64_t size,
                       const uint8_t sha256[SHA256_LEN], bool inline_hash, struct sha256 *fork);

/* Claims stored chunk `index` to forget it: SESSION_WRITE means go ahead
 * (delete its record, then call session_chunk_forget_end); meanwhile PUTs
 * of the same index answer SESSION_BUSY and complete cannot start. */
enum session_claim session_chunk_forget_begin(struct session *s, uint64_t index);
/* Ends that claim: forgotten says whether the record is gone. When the
 * running hash already covered the chunk, it is taken back (see above). */
void session_chunk_forget_end(struct session *s, uint64_t index, bool forgotten);

/* The stored chunk `index`, if any. */
bool session_chunk_get(struct session *s, uint64_t index, struct srv_chunk *out);

/* Stops new chunk claims for a complete or delete. Fails (false) while
 * chunks are in flight. session_close_abort reopens the session. */
bool session_close_begin(struct session *s);
void session_close_abort(struct session *s);

/* Checks that the stored chunks cover [0, size) exactly. */
bool session_covers(struct session *s, uint64_t size, char *why, size_t why_len);

/* Brings the running hash to the end of the contiguous prefix (reading
 * chunks back where needed) and returns the digest of the prefix and its
 * length, without ending the running hash. Call after session_close_begin.
 * MFB_ERR_CORRUPT when stored chunks could not be read back (the partial
 * file was damaged behind the receiver's back); the log has the detail. */
mfb_status session_digest(struct session *s, uint8_t out[SHA256_LEN], uint64_t *prefix_bytes,
                          struct mfb_error *err);

#endif
