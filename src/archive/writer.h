/*
 * writer.h - the streaming, parallel ZIP writer: directory trees in, one
 * ZIP64-capable archive out through a sink, never seeking back.
 *
 * Use:
 *   archive_writer_open(&options, sink, &w, err);
 *   archive_writer_add_tree(w, "/var/lib/mysql", "", err);      // scans only
 *   archive_writer_add_tree(w, "/srv/binlogs", "binlogs", err);
 *   archive_writer_set_metadata(w, json);                       // optional
 *   archive_writer_finish(w, &summary, err);                    // streams everything
 *   archive_writer_free(w);
 *
 * add_tree only scans (lstat, no reads), so finish knows the total input
 * size before it reads a byte; finish then reads every file once, in large
 * blocks, has worker threads compress the blocks at the same time, and
 * writes them in order. Bytes leave through the sink as they are ready: the
 * writer never seeks, so the sink can be a file, a pipe or an uploader. Each
 * entry that spans several blocks uses a data descriptor (flag bit 3) after
 * its data; an entry whose data fits in one block gets its sizes and CRC in
 * the local header. Zip64 is used where needed (an entry of 4 GiB or more,
 * offsets past 4 GiB, more than 65,535 entries), or everywhere with
 * force_zip64. The manifest (mfb-manifest.json) is the last entry, since
 * sizes and CRCs are known only once the data has streamed.
 *
 * Memory: about (2 * threads + 2) * (2 * block_size + 32 KiB) for the blocks
 * in flight, plus one compressor per thread (under 1 MiB each), plus per
 * entry about 120 bytes and its name for the central directory; nothing
 * grows with file sizes. See docs/archive.md.
 */
#ifndef MFB_ARCHIVE_WRITER_H
#define MFB_ARCHIVE_WRITER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define ARCHIVE_LEVEL_DEFAULT 2
#define ARCHIVE_BLOCK_SIZE_DEFAULT (1024u * 1024u)
#define ARCHIVE_BLOCK_SIZE_MIN (64u * 1024u)
#define ARCHIVE_BLOCK_SIZE_MAX (64u * 1024u * 1024u)
#define ARCHIVE_THREADS_MAX 256

/* Where the archive's bytes go, in order. Returning an error stops the writer. */
struct archive_sink {
    mfb_status (*write)(void *ctx, const void *buf, size_t len, struct mfb_error *err);
    void *ctx;
};

/* Points at which the test hook is called, for tests that change a file
 * while it is archived. */
enum archive_hook_point {
    ARCHIVE_HOOK_BEFORE_OPEN,       /* after the scan, before the file is opened */
    ARCHIVE_HOOK_AFTER_FIRST_BLOCK, /* after its first block was read */
};

/* Pointers in the options (excludes, cancel, callbacks) must stay valid
 * until archive_writer_free. */
struct archive_writer_options {
    unsigned threads;            /* compression threads; 0 = the number of cores */
    int level;                   /* 0 = store, 1-3 ISA-L, 4-9 zlib; -1 = ARCHIVE_LEVEL_DEFAULT */
    size_t block_size;           /* 0 = ARCHIVE_BLOCK_SIZE_DEFAULT */
    const char *const *excludes; /* fnmatch patterns */
    size_t exclude_count;
    bool no_default_excludes;
    bool force_zip64; /* Zip64 records everywhere (tests) */
    int64_t created;  /* the manifest's "created"; 0 = the newest mtime of the input */
    bool skip_inode;  /* never archive this file (the output, if inside a tree) */
    uint64_t skip_dev;
    uint64_t skip_ino;
    /* Checked before each block; when it becomes true the writer stops with
     * MFB_ERR_CANCELLED. May be NULL. */
    const atomic_bool *cancel;
    /* Called on the thread that runs archive_writer_finish after each block
     * is read: input bytes read so far and the total from the scan. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    void (*test_hook)(void *ctx, const char *path, enum archive_hook_point point);
    void *test_hook_ctx;
};

struct archive_summary {
    uint64_t entries;      /* including the manifest */
    uint64_t input_bytes;  /* file data read */
    uint64_t output_bytes; /* archive size */
    double seconds;        /* from open to finish */
};

struct archive_writer;

/* Checks the options and starts a writer. options may be NULL (defaults).
 * The sink must stay valid until archive_writer_free. Allocates. */
mfb_status archive_writer_open(const struct archive_writer_options *options,
                               const struct archive_sink *sink, struct archive_writer **out,
                               struct mfb_error *err);

/* Plans the contents of dir, under prefix ("" for the archive's top). */
mfb_status archive_writer_add_tree(struct archive_writer *w, const char *dir, const char *prefix,
                                   struct mfb_error *err);

/* The manifest's "metadata" object. The writer takes a reference. */
void archive_writer_set_metadata(struct archive_writer *w, json_t *metadata);

/* Total bytes of file data planned so far. */
uint64_t archive_writer_planned_bytes(const struct archive_writer *w);

/* Reads, compresses and writes everything, then the manifest and the central
 * directory. On failure the sink has received a partial archive that the
 * caller discards. */
mfb_status archive_writer_finish(struct archive_writer *w, struct archive_summary *summary,
                                 struct mfb_error *err);

void archive_writer_free(struct archive_writer *w);

#endif
