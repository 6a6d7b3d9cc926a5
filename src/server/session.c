/*
 * session.c - live upload state and the running whole-file hash (see session.h).
 *
 * Chunks of a session are kept in an array sorted by index, holding only
 * chunks that exist (stored or in flight), so a hostile index costs one
 * entry, not an allocation up to it.
 */
#include "server/session.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/sha256_x2.h"

#define HASH_MAP_WINDOW (1u << 20)
/* Most bytes of the prefix read per pass alongside an arriving chunk. */
#define ALONGSIDE_PIECE (256u << 10)
/* The running hash is copied every this many bytes of prefix, so that
 * forgetting a chunk the prefix already covers re-hashes at most this much
 * before it (plus what follows it), not the whole file. A copy of an
 * OpenSSL SHA-256 state is a few hundred bytes: 1 KiB per TiB uploaded. */
#define MARK_EVERY_BYTES (1ULL << 30)

struct slot {
    uint64_t index;
    uint64_t size;
    uint8_t sha256[SHA256_LEN];
    bool recorded; /* false: in flight */
};

/* The running hash as it was at the start of chunk `index`. */
struct mark {
    uint64_t index;
    struct sha256 hash;
};

struct session {
    struct session_registry *registry;
    struct session *next; /* registry list */
    char id[SRV_ID_BUF];
    char data_path[4096];
    uint64_t chunk_size;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* hash_busy went false */
    unsigned refs;       /* under registry->lock */
    bool closing;
    unsigned in_flight;
    struct slot *slots;
    size_t nslots, cap;
    /* the running hash of [0, prefix_off): owned by whoever set hash_busy */
    struct sha256 hash;
    uint64_t prefix_idx, prefix_off;
    uint64_t prefix_done; /* bytes of chunk prefix_idx already in hash */
    /* How the prefix was hashed, in bytes (logged at complete). */
    uint64_t hashed_inline, hashed_alongside, hashed_after;
    /* A read-only mapping of the partial file at the prefix, used by the
     * holder of the running hash (see prefix_window). */
    int window_fd; /* -1 until first needed */
    const uint8_t *window;
    uint64_t window_off;
    size_t window_len;
    bool prefix_ended; /* a short (last) chunk was hashed: nothing can follow */
    bool hash_busy;
    bool hash_carried; /* held by a connection for one piece (see claim_piece) */
    bool advance_queued;
    bool hash_failed;
    char hash_error[4400];
    /* Copies of the running hash at chunk boundaries, by index (see
     * MARK_EVERY_BYTES); mark_every is in chunks. */
    struct mark *marks;
    size_t nmarks, marks_cap;
    uint64_t mark_every;
    /* A forgotten chunk the prefix covers, while the hash was busy: the
     * prefix goes back to it as soon as the owner lets go. */
    bool rewind_pending;
    uint64_t rewind_index;
};

struct session_registry {
    pthread_mutex_t lock;
    struct session *head;
    struct threadpool *hashers;
    uint64_t mark_every_bytes;
};

mfb_status session_registry_create(struct threadpool *hashers, struct session_registry **out,
                                   struct mfb_error *err)
{
    struct session_registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    r->hashers = hashers;
    r->mark_every_bytes = MARK_EVERY_BYTES;
    *out = r;
    return MFB_OK;
}

static void window_close(struct session *s)
{
    if (s->window != NULL)
        munmap((void *)s->window, s->window_len);
    s->window = NULL;
    if (s->window_fd >= 0)
        close(s->window_fd);
    s->window_fd = -1;
}

/* Gives the window back when nobody can be using it: the running hash is
 * free and no chunk is in flight (lock held). */
static void close_idle_window(struct session *s)
{
    if (!s->hash_busy && s->in_flight == 0)
        window_close(s);
}

static void session_free(struct session *s)
{
    window_close(s);
    sha256_free(&s->hash);
    for (size_t i = 0; i < s->nmarks; i++)
        sha256_free(&s->marks[i].hash);
    free(s->marks);
    free(s->slots);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    free(s);
}

void session_registry_destroy(struct session_registry *r)
{
    if (r == NULL)
        return;
    struct session *s = r->head;
    while (s) {
        struct session *next = s->next;
        session_free(s);
        s = next;
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void session_registry_set_mark_interval(struct session_registry *r, uint64_t bytes)
{
    pthread_mutex_lock(&r->lock);
    r->mark_every_bytes = bytes;
    pthread_mutex_unlock(&r->lock);
}

size_t session_count(struct session_registry *r)
{
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (struct session *s = r->head; s; s = s->next)
        n++;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* Position of index in the sorted slots (where it is or would go). */
static size_t slot_pos(const struct session *s, uint64_t index)
{
    size_t lo = 0, hi = s->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->slots[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct slot *slot_find(struct session *s, uint64_t index)
{
    size_t pos = slot_pos(s, index);
    return pos < s->nslots && s->slots[pos].index == index ? &s->slots[pos] : NULL;
}

static struct slot *slot_insert(struct session *s, uint64_t index)
{
    if (s->nslots == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct slot *grown = realloc(s->slots, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        s->slots = grown;
        s->cap = cap;
    }
    size_t pos = slot_pos(s, index);
    memmove(&s->slots[pos + 1], &s->slots[pos], (s->nslots - pos) * sizeof(*s->slots));
    s->nslots++;
    memset(&s->slots[pos], 0, sizeof(*s->slots));
    s->slots[pos].index = index;
    return &s->slots[pos];
}

static void slot_remove(struct session *s, uint64_t index)
{
    size_t pos = slot_pos(s, index);
    if (pos < s->nslots && s->slots[pos].index == index) {
        memmove(&s->slots[pos], &s->slots[pos + 1], (s->nslots - pos - 1) * sizeof(*s->slots));
        s->nslots--;
    }
}

mfb_status session_get(struct session_registry *r, struct server_db *db, const struct srv_upload *u,
                       const char *data_path, struct session **out, struct mfb_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&r->lock);
    for (struct session *s = r->head; s; s = s->next) {
        if (strcmp(s->id, u->id) == 0) {
            s->refs++;
            pthread_mutex_unlock(&r->lock);
            *out = s;
            return MFB_OK;
        }
    }
    /* Built under the registry lock so two first requests cannot both build it. */
    mfb_status st = MFB_OK;
    struct srv_chunk *chunks = NULL;
    size_t count = 0;
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->registry = r;
    s->window_fd = -1;
    snprintf(s->id, sizeof(s->id), "%s", u->id);
    snprintf(s->data_path, sizeof(s->data_path), "%s", data_path);
    s->chunk_size = u->chunk_size;
    s->mark_every = u->chunk_size && u->chunk_size < r->mark_every_bytes
                        ? r->mark_every_bytes / u->chunk_size
                        : 1;
    sha256_init(&s->hash);
    st = server_db_upload_chunks(db, u->id, &chunks, &count, err);
    if (st == MFB_OK && count > 0) {
        s->slots = malloc(count * sizeof(*s->slots));
        if (s->slots == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        } else {
            for (size_t i = 0; i < count; i++) {
                s->slots[i] = (struct slot){
                    .index = chunks[i].index, .size = chunks[i].size, .recorded = true};
                memcpy(s->slots[i].sha256, chunks[i].sha256, SHA256_LEN);
            }
            s->nslots = s->cap = count;
        }
    }
    if (st == MFB_OK) {
        s->refs = 2; /* the registry's and the caller's */
        s->next = r->head;
        r->head = s;
        *out = s;
    }
done:
    pthread_mutex_unlock(&r->lock);
    free(chunks);
    if (st != MFB_OK && s != NULL)
        session_free(s);
    return st;
}

void session_put(struct session *s)
{
    if (s == NULL)
        return;
    struct session_registry *r = s->registry;
    pthread_mutex_lock(&r->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&r->lock);
    if (last)
        session_free(s);
}

void session_forget(struct session_registry *r, const char *upload_id)
{
    struct session *found = NULL;
    pthread_mutex_lock(&r->lock);
    for (struct session **p = &r->head; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, upload_id) == 0) {
            found = *p;
            *p = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (found)
        session_put(found);
}

/* Takes the running hash for one step of hashing from the file: the size of
 * the next stored chunk at the prefix, or 0 when there is nothing to do.
 * Called with s->lock held. */
static uint64_t next_to_hash(struct session *s)
{
    if (s->hash_busy || s->prefix_ended || s->hash_failed)
        return 0;
    struct slot *slot = slot_find(s, s->prefix_idx);
    if (slot == NULL || !slot->recorded || slot->size <= s->prefix_done)
        return 0;
    s->hash_busy = true;
    return slot->size - s->prefix_done;
}

/* Keeps a copy of the running hash at the current prefix (lock held). A
 * mark that finds no memory is skipped: a rewind then goes further back. */
static void save_mark(struct session *s)
{
    if (s->nmarks == s->marks_cap) {
        size_t cap = s->marks_cap ? s->marks_cap * 2 : 8;
        struct mark *grown = realloc(s->marks, cap * sizeof(*grown));
        if (grown == NULL)
            return;
        s->marks = grown;
        s->marks_cap = cap;
    }
    struct mark *m = &s->marks[s->nmarks];
    m->index = s->prefix_idx;
    m->hash = s->hash;
    s->nmarks++;
}

/* Marks one step done (lock held). */
static void advance_prefix(struct session *s, uint64_t size)
{
    s->prefix_idx++;
    s->prefix_off += size;
    s->prefix_done = 0;
    if (size < s->chunk_size)
        s->prefix_ended = true;
    else if (s->prefix_idx % s->mark_every == 0)
        save_mark(s);
}

/* Takes the prefix back to the start of chunk `index` or before: to the
 * last mark at or before it, or to byte 0. The chunks between that point
 * and `index` are hashed again from the file later, like out-of-order
 * chunks. Lock held, hash not busy. */
static void rewind_prefix(struct session *s, uint64_t index)
{
    s->rewind_pending = false;
    /* Nothing of chunk `index` is in the hash yet (a part may be, carried). */
    if (index > s->prefix_idx || (index == s->prefix_idx && s->prefix_done == 0))
        return;
    while (s->nmarks > 0 && s->marks[s->nmarks - 1].index > index)
        sha256_free(&s->marks[--s->nmarks].hash);
    if (s->nmarks > 0) {
        s->hash = s->marks[s->nmarks - 1].hash;
        s->prefix_idx = s->marks[s->nmarks - 1].index;
    } else {
        sha256_init(&s->hash);
        s->prefix_idx = 0;
    }
    s->prefix_off = s->prefix_idx * s->chunk_size;
    s->prefix_done = 0;
    s->prefix_ended = false;
    log_info("upload-hash-rewind", "upload=%s chunk=%llu from_chunk=%llu", s->id,
             (unsigned long long)index, (unsigned long long)s->prefix_idx);
}

/* The owner of the running hash lets go of it (lock held). */
static void release_hash(struct session *s)
{
    s->hash_busy = false;
    s->hash_carried = false;
    close_idle_window(s);
    if (s->rewind_pending)
        rewind_prefix(s, s->rewind_index);
    pthread_cond_broadcast(&s->idle);
}

/* The stored bytes [off, off + len) of the partial file, for the holder of
 * the running hash (a connection carrying it, a hasher thread), through a
 * window of HASH_MAP_WINDOW bytes mapped where the prefix is and moved
 * along with it: one mmap per MiB hashed, no copy. Mapping a window, not
 * whole chunks, keeps the mapped page cache (which counts in the
 * receiver's RSS) at one window per upload; 32 uploads completing at once
 * with whole 16 MiB chunks mapped made a 300 MiB peak. `stored` says how
 * many bytes from off the catalog holds: checked against the file's size
 * when the window moves, so no page past the end is ever touched (that
 * would kill the receiver with SIGBUS). len is at most ALONGSIDE_PIECE.
 * NULL, with the reason in *failure, if it cannot. */
static const uint8_t *prefix_window(struct session *s, uint64_t off, size_t len, uint64_t stored,
                                    const char **failure)
{
    if (s->window != NULL && off >= s->window_off && off + len <= s->window_off + s->window_len)
        return s->window + (off - s->window_off);
    if (s->window != NULL)
        munmap((void *)s->window, s->window_len);
    s->window = NULL;
    struct stat sb;
    if (s->window_fd < 0 && (s->window_fd = open(s->data_path, O_RDONLY | O_CLOEXEC)) < 0) {
        *failure = strerror(errno);
        return NULL;
    }
    if (fstat(s->window_fd, &sb) != 0 || (uint64_t)sb.st_size < off + stored) {
        *failure = "the partial file is shorter than its chunks";
        return NULL;
    }
    uint64_t start = off - off % (uint64_t)sysconf(_SC_PAGESIZE);
    void *map = mmap(NULL, HASH_MAP_WINDOW, PROT_READ, MAP_SHARED, s->window_fd, (off_t)start);
    if (map == MAP_FAILED) {
        *failure = strerror(errno);
        return NULL;
    }
    madvise(map, HASH_MAP_WINDOW, MADV_SEQUENTIAL);
    s->window = map;
    s->window_off = start;
    s->window_len = HASH_MAP_WINDOW;
    return s->window + (off - start); /* len <= ALONGSIDE_PIECE fits */
}

/* Hashes stored chunks at the prefix from the partial file until the next
 * one is missing, in flight or owned by an inline writer. */
static void hash_from_file(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t size = next_to_hash(s);
        if (size == 0)
            break;
        /* The chunk may be partly hashed already, alongside another one. */
        uint64_t off = s->prefix_off + s->prefix_done, whole = s->prefix_done + size;
        pthread_mutex_unlock(&s->lock);
        const char *failure = NULL;
        for (uint64_t done = 0; failure == NULL && done < size;) {
            size_t n = size - done < ALONGSIDE_PIECE ? (size_t)(size - done) : ALONGSIDE_PIECE;
            const uint8_t *stored = prefix_window(s, off + done, n, size - done, &failure);
            if (stored != NULL)
                sha256_update(&s->hash, stored, n);
            done += n;
        }
        pthread_mutex_lock(&s->lock);
        if (failure != NULL) {
            s->hash_busy = false;
            s->hash_failed = true;
            snprintf(s->hash_error, sizeof(s->hash_error), "cannot read '%s' back: %s",
                     s->data_path, failure);
            log_error("upload-hash", "upload=%s error=%s", s->id, LOG_Q(s->hash_error));
            break;
        }
        s->hashed_after += size;
        advance_prefix(s, whole);
        release_hash(s);
    }
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* Hasher thread task: one session's catch-up. */
static void advance_task(void *arg)
{
    struct session *s = arg;
    pthread_mutex_lock(&s->lock);
    s->advance_queued = false;
    pthread_mutex_unlock(&s->lock);
    hash_from_file(s);
    session_put(s);
}

/* Queues a catch-up when the chunk at the prefix is stored (lock held). */
static void maybe_schedule(struct session *s)
{
    struct threadpool *pool = s->registry->hashers;
    /* While chunks arrive, their connections carry the prefix alongside. */
    if (pool == NULL || s->advance_queued || s->hash_busy || s->prefix_ended || s->closing ||
        s->in_flight > 0)
        return;
    struct slot *slot = slot_find(s, s->prefix_idx);
    if (slot == NULL || !slot->recorded)
        return;
    s->advance_queued = true;
    pthread_mutex_lock(&s->registry->lock);
    s->refs++;
    pthread_mutex_unlock(&s->registry->lock);
    if (threadpool_submit(pool, advance_task, s) != MFB_OK) {
        s->advance_queued = false;
        pthread_mutex_lock(&s->registry->lock);
        s->refs--; /* the registry still holds one, so this is never the last */
        pthread_mutex_unlock(&s->registry->lock);
    }
}

/* Takes the running hash for one piece carried alongside an arriving
 * chunk, when it is free and the chunk at the prefix is stored (lock
 * held). Returns how many bytes of that chunk are left to hash (0: not
 * taken) and where they start. */
static uint64_t claim_piece(struct session *s, uint64_t *offset)
{
    /* With SHA-NI another connection's piece takes about 0.2 ms: wait for
     * it rather than hash alone (which would leave its share to be read
     * back). Without, pairing saves nothing and waiting would serialize
     * the connections' hashing. */
    while (s->hash_busy && s->hash_carried && sha256_x2_supported())
        pthread_cond_wait(&s->idle, &s->lock);
    if (s->hash_busy || s->prefix_ended || s->hash_failed || s->closing)
        return 0;
    struct slot *slot = slot_find(s, s->prefix_idx);
    if (slot == NULL || !slot->recorded || slot->size <= s->prefix_done)
        return 0;
    s->hash_busy = true;
    s->hash_carried = true;
    *offset = s->prefix_off + s->prefix_done;
    return slot->size - s->prefix_done;
}

/* Counts a carried piece and lets go of the running hash (lock held). */
static void carried_piece(struct session *s, uint64_t bytes, uint64_t left_in_chunk)
{
    s->prefix_done += bytes;
    s->hashed_alongside += bytes;
    if (bytes == left_in_chunk)
        advance_prefix(s, s->prefix_done);
    release_hash(s);
}

/* The running hash is taken one piece at a time, so every connection
 * receiving a chunk takes its turn: the prefix moves at the rate of all
 * of them together, not of one. A connection that finds it held for
 * longer (an inline chunk, a hasher thread) or the prefix waiting for a
 * chunk in flight hashes its bytes alone; what nobody carried is read
 * back later. */
void session_hash_alongside(struct session *s, struct sha256 *chunk_hash, const void *data,
                            size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        uint64_t offset = 0;
        pthread_mutex_lock(&s->lock);
        uint64_t left = claim_piece(s, &offset);
        pthread_mutex_unlock(&s->lock);
        if (left == 0)
            break;
        size_t n = len < ALONGSIDE_PIECE ? len : ALONGSIDE_PIECE;
        if (n > left)
            n = (size_t)left;
        /* Taken: only this thread touches the running hash and the window
         * until it lets go. */
        const char *failure = NULL;
        const uint8_t *prefix = prefix_window(s, offset, n, left, &failure);
        if (prefix != NULL)
            sha256_update2(chunk_hash, p, &s->hash, prefix, n);
        pthread_mutex_lock(&s->lock);
        if (prefix != NULL)
            carried_piece(s, n, left);
        else
            release_hash(s); /* the hasher tries again, and reports what is wrong */
        pthread_mutex_unlock(&s->lock);
        if (prefix == NULL)
            break;
        p += n;
        len -= n;
    }
    sha256_update(chunk_hash, p, len); /* what could not go alongside */
}

enum session_claim session_chunk_begin(struct session *s, uint64_t index,
                                       const uint8_t digest[SHA256_LEN], struct sha256 *fork,
                                       bool *inline_hash)
{
    *inline_hash = false;
    enum session_claim claim = SESSION_WRITE;
    pthread_mutex_lock(&s->lock);
    struct slot *slot = slot_find(s, index);
    if (s->closing) {
        claim = SESSION_CLOSED;
    } else if (slot != NULL && !slot->recorded) {
        claim = SESSION_BUSY;
    } else if (slot != NULL) {
        claim =
            memcmp(slot->sha256, digest, SHA256_LEN) == 0 ? SESSION_DUPLICATE : SESSION_DIFFERENT;
    } else if (slot_insert(s, index) == NULL) {
        claim = SESSION_BUSY; /* out of memory: let the client retry */
    } else {
        s->in_flight++;
        if (!s->hash_busy && !s->prefix_ended && !s->hash_failed && s->prefix_idx == index &&
            s->prefix_done == 0) {
            *fork = s->hash;
            s->hash_busy = true;
            *inline_hash = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return claim;
}

void session_chunk_end(struct session *s, uint64_t index, bool recorded, uint64_t size,
                       const uint8_t sha256[SHA256_LEN], bool inline_hash, struct sha256 *fork)
{
    pthread_mutex_lock(&s->lock);
    struct slot *slot = slot_find(s, index);
    if (recorded && slot != NULL) {
        slot->recorded = true;
        slot->size = size;
        memcpy(slot->sha256, sha256, SHA256_LEN);
    } else {
        slot_remove(s, index);
    }
    s->in_flight--;
    close_idle_window(s);
    if (inline_hash) {
        if (recorded) {
            struct sha256 tmp = s->hash; /* the fork saw exactly this chunk: adopt it */
            s->hash = *fork;
            *fork = tmp;
            s->hashed_inline += size;
            advance_prefix(s, size);
        }
        release_hash(s);
    }
    maybe_schedule(s);
    pthread_mutex_unlock(&s->lock);
}

enum session_claim session_chunk_forget_begin(struct session *s, uint64_t index)
{
    enum session_claim claim = SESSION_WRITE;
    pthread_mutex_lock(&s->lock);
    struct slot *slot = slot_find(s, index);
    if (s->closing) {
        claim = SESSION_CLOSED;
    } else if (slot == NULL) {
        claim = SESSION_ABSENT;
    } else if (!slot->recorded) {
        claim = SESSION_BUSY;
    } else {
        slot->recorded = false; /* in flight: PUTs of it answer 503, hashers skip it */
        s->in_flight++;
    }
    pthread_mutex_unlock(&s->lock);
    return claim;
}

void session_chunk_forget_end(struct session *s, uint64_t index, bool forgotten)
{
    pthread_mutex_lock(&s->lock);
    struct slot *slot = slot_find(s, index);
    if (!forgotten && slot != NULL) {
        slot->recorded = true;
    } else {
        slot_remove(s, index);
        /* Folded into the running hash already, in part (carried alongside
         * another chunk) or being folded right now (a hasher or a carrier
         * took the chunk before it was claimed): go back. */
        if (index < s->prefix_idx ||
            (index == s->prefix_idx && (s->hash_busy || s->prefix_done > 0))) {
            if (!s->hash_busy) {
                rewind_prefix(s, index);
            } else if (!s->rewind_pending || index < s->rewind_index) {
                s->rewind_pending = true;
                s->rewind_index = index;
            }
        }
    }
    s->in_flight--;
    close_idle_window(s);
    maybe_schedule(s);
    pthread_mutex_unlock(&s->lock);
}

bool session_chunk_get(struct session *s, uint64_t index, struct srv_chunk *out)
{
    pthread_mutex_lock(&s->lock);
    struct slot *slot = slot_find(s, index);
    bool found = slot != NULL && slot->recorded;
    if (found) {
        out->index = index;
        out->size = slot->size;
        memcpy(out->sha256, slot->sha256, SHA256_LEN);
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

bool session_close_begin(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    bool ok = !s->closing && s->in_flight == 0;
    if (ok)
        s->closing = true;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void session_close_abort(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    s->closing = false;
    pthread_mutex_unlock(&s->lock);
}

bool session_covers(struct session *s, uint64_t size, char *why, size_t why_len)
{
    uint64_t n = proto_chunk_count(size, s->chunk_size);
    bool ok = true;
    pthread_mutex_lock(&s->lock);
    for (uint64_t i = 0; i < s->nslots && ok; i++) {
        const struct slot *slot = &s->slots[i];
        if (slot->index >= n) {
            snprintf(why, why_len, "chunk %llu lies past the size %llu",
                     (unsigned long long)slot->index, (unsigned long long)size);
            ok = false;
        }
    }
    for (uint64_t i = 0; i < n && ok; i++) {
        struct slot *slot = slot_find(s, i);
        uint64_t want = proto_chunk_length(size, s->chunk_size, i);
        if (slot == NULL || !slot->recorded) {
            snprintf(why, why_len, "chunk %llu is missing", (unsigned long long)i);
            ok = false;
        } else if (slot->size != want) {
            snprintf(why, why_len, "chunk %llu has %llu bytes, expected %llu for size %llu",
                     (unsigned long long)i, (unsigned long long)slot->size,
                     (unsigned long long)want, (unsigned long long)size);
            ok = false;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

mfb_status session_digest(struct session *s, uint8_t out[SHA256_LEN], uint64_t *prefix_bytes,
                          struct mfb_error *err)
{
    /* Wait for an inline writer or a hasher thread, then hash the rest here. */
    pthread_mutex_lock(&s->lock);
    while (s->hash_busy)
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
    hash_from_file(s);
    pthread_mutex_lock(&s->lock);
    while (s->hash_busy)
        pthread_cond_wait(&s->idle, &s->lock);
    mfb_status st = MFB_OK;
    if (s->hash_failed) { /* the partial file no longer holds what was stored */
        st = mfb_error_set(err, MFB_ERR_CORRUPT, "%s", s->hash_error);
    } else {
        struct sha256 copy = s->hash; /* the running hash stays as it is */
        sha256_final(&copy, out);
        *prefix_bytes = s->prefix_off;
        log_info("upload-hashed",
                 "upload=%s inline_bytes=%llu alongside_bytes=%llu read_back_bytes=%llu", s->id,
                 (unsigned long long)s->hashed_inline, (unsigned long long)s->hashed_alongside,
                 (unsigned long long)s->hashed_after);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}
