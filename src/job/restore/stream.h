/*
 * stream.h - the staged restore's download with the extraction right
 * behind it (docs/restore.md, "Extracting while downloading").
 *
 * A ZIP's directory is at its end, so the restore first fetches the
 * archive's tail (end records, central directory, manifest) with a Range
 * request and opens a reader on it (restore_stream_tail): the archive's
 * structure is checked, the plan made and the destinations checked before
 * the bulk of the bytes is fetched. Then restore_stream_begin starts the
 * download (downloader.c, unchanged: OUT.part, the running SHA-256, Range
 * resume and retries) on a thread of its own and gives the reader the
 * .part file and a watermark: the extraction threads read each entry from
 * the .part as soon as its bytes are written (from the page cache, the
 * bytes having just gone through it), inflating and checking its CRC-32
 * there. restore_stream_end waits for the download, whose SHA-256 covers
 * the whole file, and checks that the finished file's central directory is
 * the one the entries were extracted by. Only then may the swap begin.
 *
 * A resumed download (a .part kept by an interrupted run) is extracted the
 * same way: the bytes the .part already holds are read from it, the rest as
 * it arrives. The entries the interrupted run had staged and recorded
 * (resume.h) are not read at all: the download's SHA-256 covers their bytes
 * anyway, and the finished file's directory is still compared.
 */
#ifndef MFB_JOB_RESTORE_STREAM_H
#define MFB_JOB_RESTORE_STREAM_H

#include <pthread.h>
#include <stdbool.h>

#include "archive/reader.h"
#include "common/cancel.h"
#include "common/watermark.h"
#include "job/restore/fetch.h"

/* The reader on the archive's tail, for f->backup. MFB_ERR_UNSUPPORTED:
 * no streaming for this one (the receiver ignores Range, or the directory
 * is too large to hold in memory), download it whole instead. Allocates
 * *out. */
mfb_status restore_stream_tail(const struct restore_fetch *f, struct archive_reader **out,
                               struct mfb_error *err);

struct restore_stream {
    struct restore_fetch f;
    struct cancel_token cancel; /* child of f.cancel: a failed extraction stops the download */
    struct watermark mark;
    struct download_config cfg;
    struct download_result dr;
    struct mfb_error err; /* the download's */
    mfb_status st;
    pthread_t thread;
    bool running;
    bool download_failed; /* restore_stream_end reported the download's error */
    uint64_t begin_ms;    /* when the download began */
    uint64_t download_ms; /* how long it took (set by its thread) */
    uint64_t extract_ms;  /* how long the extraction took from the same start */
    /* Set by the caller after restore_stream_begin, before the extraction:
     * called by an extraction thread that has waited a while for the
     * download (a slow or stalled receiver): the staging record is made
     * durable then (resume.h), so a kill while it waits loses nothing. */
    void (*idle)(void *ctx);
    void *idle_ctx;
    char path[4096];
};

/* Starts the download into f->spool behind reader r (a tail reader of the
 * same backup), which reads the .part from then on. */
mfb_status restore_stream_begin(struct restore_stream *s, const struct restore_fetch *f,
                                struct archive_reader *r, struct mfb_error *err);

/* After the extraction (extract_st: its outcome, its error already in
 * err): waits for the download (stopping it first when the extraction
 * failed) and checks the finished file's directory against r's. Returns
 * the first real error: the download's (then in err, and download_failed
 * set) when the extraction only saw it stop. Fills res like
 * restore_fetch_run. A corrupt entry removes the .part (its bytes are
 * bad). */
mfb_status restore_stream_end(struct restore_stream *s, mfb_status extract_st,
                              struct archive_reader *r, struct restore_fetch_result *res,
                              struct mfb_error *err);

#endif
