/*
 * reader_internal.h - the reader's state, shared by the files that build on
 * it (test, list, extract); not for use outside src/archive/.
 */
#ifndef MFB_ARCHIVE_READER_INTERNAL_H
#define MFB_ARCHIVE_READER_INTERNAL_H

#include <stdarg.h>

#include "archive/reader.h"

struct inflate_state;

struct archive_reader {
    int fd; /* -1 for a tail-only reader until a source is attached */
    char *path;
    uint64_t file_size;
    /* A reader opened on the archive's tail (archive_reader_open_tail):
     * bytes from tail_base on come from this copy in memory, those before
     * it from fd once wait says the download has written them. */
    uint8_t *tail;
    uint64_t tail_base;
    uint64_t need_from; /* the lowest offset asked for below the tail */
    archive_wait_fn wait;
    void *wait_ctx;
    struct archive_entry *entries;
    size_t count;
    uint64_t cd_offset;
    uint64_t cd_size;
    uint64_t cd_end; /* where the end records begin */
    size_t comment_len;
    bool zip64_end;
    bool is_mfb;
    uint32_t cd_crc_stored;
    uint32_t cd_crc_computed;
    /* reading buffers, allocated on first use */
    struct inflate_state *inflate;
    uint8_t *inbuf;
    uint8_t *outbuf;
};

/* pread of exactly len bytes; running past the end is MFB_ERR_CORRUPT. */
mfb_status reader_pread(struct archive_reader *r, void *buf, size_t len, uint64_t offset,
                        struct mfb_error *err);

/* Sets "entry 'NAME': ..." (with the damaged-archive hint for MFB_ERR_CORRUPT). */
mfb_status entry_error(struct mfb_error *err, const struct archive_entry *e, mfb_status status,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
