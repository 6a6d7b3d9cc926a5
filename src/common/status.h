/*
 * status.h - the one error convention of mfb.
 *
 * Every function that can fail returns an mfb_status and, when the caller
 * passes one, fills a struct mfb_error with a message (what failed, lower
 * case, no final period) and an optional hint (what to do about it). The
 * first error set wins: a cleanup path that fails again does not overwrite
 * the informative one. Programs print it as one line on stderr, plus a
 * "HINT:" line when there is advice.
 *
 * Where the first error was set, the error also keeps the return addresses
 * of the thread that set it (glibc backtrace(), a fixed array: no
 * allocation, a few microseconds, and only on the first error). The job
 * log turns them into text (mfb_error_backtrace) when it records a failed
 * job, so the record shows the stack of the failing thread even when the
 * error was raised on a worker thread and reported by another.
 */
#ifndef MFB_COMMON_STATUS_H
#define MFB_COMMON_STATUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum mfb_status {
    MFB_OK = 0,
    MFB_ERR_USAGE,       /* bad command line or option value */
    MFB_ERR_INVALID,     /* bad input data or request */
    MFB_ERR_NOT_FOUND,   /* a file, record or object does not exist */
    MFB_ERR_EXISTS,      /* refusing to overwrite something */
    MFB_ERR_PERMISSION,  /* the OS refused access */
    MFB_ERR_IO,          /* a read or write failed */
    MFB_ERR_NO_SPACE,    /* disk full or quota exceeded */
    MFB_ERR_NO_MEMORY,   /* allocation failed */
    MFB_ERR_CORRUPT,     /* data failed a checksum or structure check */
    MFB_ERR_CHANGED,     /* a file changed while it was being read */
    MFB_ERR_UNSUPPORTED, /* valid but not something mfb handles */
    MFB_ERR_NETWORK,     /* connection failed or dropped */
    MFB_ERR_TLS,         /* TLS handshake or certificate check failed */
    MFB_ERR_AUTH,        /* credentials refused */
    MFB_ERR_PROTOCOL,    /* the peer answered something unexpected */
    MFB_ERR_TIMEOUT,     /* an operation did not finish in time */
    MFB_ERR_CANCELLED,   /* the user or a signal asked us to stop */
    MFB_ERR_DATABASE,    /* SQLite reported an error */
    MFB_ERR_MYSQL,       /* the MySQL/MariaDB server reported an error */
    MFB_ERR_BUSY,        /* locked by another job */
    MFB_ERR_INTERNAL,    /* a bug in mfb */
    MFB_STATUS_COUNT
} mfb_status;

#define MFB_ERROR_FRAMES 24 /* return addresses kept with the first error */

struct mfb_error {
    mfb_status status;
    char message[1024];
    char hint[512];
    bool hint_is_generic;           /* set from errno; a caller's own hint replaces it */
    int frame_count;                /* valid entries in frames */
    void *frames[MFB_ERROR_FRAMES]; /* the stack where the error was set, innermost first */
};

/* A short lower-case name for a status ("no_space"), stable for logs and JSON. */
const char *mfb_status_str(mfb_status status);

/* Exit code a program uses for a status: 0 for MFB_OK, 2 for usage, else 1. */
int mfb_status_exit_code(mfb_status status);

/* Records status and a printf-style message unless err already holds an error.
 * err may be NULL. Returns status, so callers can `return mfb_error_set(...)`. */
mfb_status mfb_error_set(struct mfb_error *err, mfb_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mfb_status mfb_error_setv(struct mfb_error *err, mfb_status status, const char *fmt, va_list ap);

/* Like mfb_error_set, appending ": strerror(errnum)" and choosing the status
 * from errnum (ENOSPC -> no_space, EFBIG -> unsupported, ENOENT -> not_found,
 * EACCES -> permission, else fallback). */
mfb_status mfb_error_errno(struct mfb_error *err, int errnum, mfb_status fallback, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/* Copies from (message, hint and the frames of where it was set) into err
 * unless err already holds an error, as mfb_error_set would. For passing an
 * error on from another thread or a retry loop without losing the stack of
 * the thread that failed. Returns from's status (MFB_OK when from is unset
 * or NULL). */
mfb_status mfb_error_copy(struct mfb_error *err, const struct mfb_error *from);

/* Sets the hint of an error that has been set. A no-op on NULL, or when a
 * specific hint is already there; a generic hint from errno is replaced. */
void mfb_error_hint(struct mfb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The stack where err was first set, one frame a line ("mfb(backup_run+0x2c4)
 * [0x55d0c3a1b2c4]", innermost first), as glibc's backtrace_symbols writes
 * them; functions have names when the program exports its symbols
 * (-rdynamic), static ones show as an offset that addr2line resolves.
 * Allocates the text (free()); NULL when no frames were kept or on
 * allocation failure. */
char *mfb_error_backtrace(const struct mfb_error *err);

/* Forgets a recorded error. */
void mfb_error_clear(struct mfb_error *err);

bool mfb_error_is_set(const struct mfb_error *err);

/* Prints "PROGRAM: error: message" and "HINT: hint" lines to stderr. */
void mfb_error_print(const struct mfb_error *err, const char *program);

#endif
