/*
 * fsutil.h - file system primitives every module needs: complete reads and
 * writes, directory creation, and the durable publish.
 *
 * The durable publish is how mfb puts any file under its final name: write
 * a temporary file in the same directory, fsync it, close it, rename it
 * into place (without replacing an existing file where the caller asks),
 * then fsync the directory. A reader never sees a half-written file.
 */
#ifndef MFB_COMMON_FSUTIL_H
#define MFB_COMMON_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/status.h"

/* Writes all of buf, retrying on EINTR and short writes. path is for the message. */
mfb_status fs_write_all(int fd, const void *buf, size_t len, const char *path,
                        struct mfb_error *err);

/* pwrite of all of buf at offset. */
mfb_status fs_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset, const char *path,
                         struct mfb_error *err);

/* Reads until len bytes or end of file; *got says how many. */
mfb_status fs_read_full(int fd, void *buf, size_t len, size_t *got, const char *path,
                        struct mfb_error *err);

/* Like mkdir -p. Existing directories are fine. */
mfb_status fs_mkdir_p(const char *path, mode_t mode, struct mfb_error *err);

/* The directory that holds path, like dirname(1): "a/b" -> "a", "/a" ->
 * "/", "a" -> ".". False (buf unchanged) when it does not fit in len. */
bool fs_dirname(const char *path, char *buf, size_t len);

/* fsyncs the directory that holds path (or path itself when it is a directory
 * and is_dir is true). */
mfb_status fs_fsync_dir_of(const char *path, bool is_dir, struct mfb_error *err);

/* rename(2) that fails with MFB_ERR_EXISTS instead of replacing newpath. */
mfb_status fs_rename_noreplace(const char *oldpath, const char *newpath, struct mfb_error *err);

/* Durably writes data to path with mode. With no_replace, an existing path
 * (of any kind) is an MFB_ERR_EXISTS error. Without, an existing regular
 * file is replaced: only for files mfb owns (its own state, a receiver's
 * companion files); anything else at path (a device such as /dev/null, a
 * FIFO, a symbolic link) is refused with MFB_ERR_EXISTS. The temporary
 * file is always newly created (O_EXCL). */
mfb_status fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                bool no_replace, struct mfb_error *err);

/* Reads a whole small file (at most max_len bytes) into a NUL-terminated
 * buffer. Allocates *data; the caller frees it. */
mfb_status fs_read_file(const char *path, size_t max_len, char **data, size_t *len,
                        struct mfb_error *err);

/* Reads a secret (password, token) from a file, or from standard input when
 * path is "-", and strips one trailing newline. Refuses a file that group or
 * others can read. Allocates *secret; free it with fs_free_secret. */
mfb_status fs_read_secret(const char *path, char **secret, struct mfb_error *err);

/* Wipes a secret fs_read_secret returned (explicit_bzero: a memset before
 * free may be optimised away) and frees it; NULL is fine. */
void fs_free_secret(char *secret);

#endif
