/*
 * file_sink.h - an archive sink that writes a file and publishes it
 * durably: the bytes go to a temporary name beside the final one
 * ("OUT.zip.tmp.PID"), and only a complete archive is fsynced and renamed
 * into place (never replacing an existing file), then the directory is
 * fsynced. A failed or cancelled archive leaves nothing under the final
 * name and removes its temporary file.
 */
#ifndef MFB_ARCHIVE_FILE_SINK_H
#define MFB_ARCHIVE_FILE_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "archive/writer.h"
#include "common/status.h"

struct file_sink {
    int fd;
    char *path;     /* final name */
    char *tmp_path; /* where the bytes go until publish */
    uint64_t dev;   /* of the temporary file, so the writer can skip it */
    uint64_t ino;
    /* Set by the caller before publish: rename without the fsyncs, which the
     * caller then owes (the backup job does them after the database was
     * started again, so they cost no downtime). */
    bool defer_sync;
};

/* Refuses an existing path (MFB_ERR_EXISTS, with a hint), else creates the
 * temporary file. Fills sink to write into it. */
mfb_status file_sink_open(struct file_sink *fs, const char *path, struct archive_sink *sink,
                          struct mfb_error *err);

/* fsync, close, rename into place without replacing, fsync the directory. */
mfb_status file_sink_publish(struct file_sink *fs, struct mfb_error *err);

/* Closes and removes the temporary file if it is still there; frees. Safe
 * after publish and on a zeroed struct. */
void file_sink_close(struct file_sink *fs);

#endif
