/*
 * status.c - names of mfb_status values and the mfb_error helpers.
 */
#include "common/status.h"

#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[MFB_STATUS_COUNT] = {
    [MFB_OK] = "ok",
    [MFB_ERR_USAGE] = "usage",
    [MFB_ERR_INVALID] = "invalid",
    [MFB_ERR_NOT_FOUND] = "not_found",
    [MFB_ERR_EXISTS] = "exists",
    [MFB_ERR_PERMISSION] = "permission",
    [MFB_ERR_IO] = "io",
    [MFB_ERR_NO_SPACE] = "no_space",
    [MFB_ERR_NO_MEMORY] = "no_memory",
    [MFB_ERR_CORRUPT] = "corrupt",
    [MFB_ERR_CHANGED] = "changed",
    [MFB_ERR_UNSUPPORTED] = "unsupported",
    [MFB_ERR_NETWORK] = "network",
    [MFB_ERR_TLS] = "tls",
    [MFB_ERR_AUTH] = "auth",
    [MFB_ERR_PROTOCOL] = "protocol",
    [MFB_ERR_TIMEOUT] = "timeout",
    [MFB_ERR_CANCELLED] = "cancelled",
    [MFB_ERR_DATABASE] = "database",
    [MFB_ERR_MYSQL] = "mysql",
    [MFB_ERR_BUSY] = "busy",
    [MFB_ERR_INTERNAL] = "internal",
};

const char *mfb_status_str(mfb_status status)
{
    if ((unsigned)status >= MFB_STATUS_COUNT || status_names[status] == NULL)
        return "unknown";
    return status_names[status];
}

int mfb_status_exit_code(mfb_status status)
{
    if (status == MFB_OK)
        return 0;
    return status == MFB_ERR_USAGE ? 2 : 1;
}

bool mfb_error_is_set(const struct mfb_error *err)
{
    return err != NULL && err->status != MFB_OK;
}

mfb_status mfb_error_setv(struct mfb_error *err, mfb_status status, const char *fmt, va_list ap)
{
    if (err == NULL || err->status != MFB_OK)
        return status;
    err->status = status;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    err->hint[0] = '\0';
    err->hint_is_generic = false;
    /* This function's own frame (and a sanitizer's wrapper of backtrace)
     * come first; mfb_error_backtrace leaves them out. */
    int n = backtrace(err->frames, MFB_ERROR_FRAMES);
    err->frame_count = n > 0 ? n : 0;
    return status;
}

mfb_status mfb_error_copy(struct mfb_error *err, const struct mfb_error *from)
{
    if (from == NULL || from->status == MFB_OK)
        return MFB_OK;
    if (err != NULL && err != from && err->status == MFB_OK)
        *err = *from;
    return from->status;
}

char *mfb_error_backtrace(const struct mfb_error *err)
{
    if (err == NULL || err->frame_count <= 0)
        return NULL;
    char **names = backtrace_symbols(err->frames, err->frame_count);
    if (names == NULL)
        return NULL;
    /* Skip the capture itself: frames up to mfb_error_setv's. */
    int first = 0;
    for (int i = 0; i < err->frame_count - 1 && i < 3; i++)
        if (strstr(names[i], "(mfb_error_setv+") != NULL) {
            first = i + 1;
            break;
        }
    size_t len = 1;
    for (int i = first; i < err->frame_count; i++)
        len += strlen(names[i]) + 1;
    char *text = malloc(len);
    if (text != NULL) {
        size_t used = 0;
        for (int i = first; i < err->frame_count; i++) {
            size_t n = strlen(names[i]);
            memcpy(text + used, names[i], n);
            used += n;
            text[used++] = '\n';
        }
        text[used ? used - 1 : 0] = '\0';
    }
    free(names);
    return text;
}

mfb_status mfb_error_set(struct mfb_error *err, mfb_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mfb_error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

static mfb_status status_from_errno(int errnum, mfb_status fallback)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        return MFB_ERR_NO_SPACE;
    case EFBIG: /* past the file system's largest file: no free space helps */
        return MFB_ERR_UNSUPPORTED;
    case ENOENT:
    case ENOTDIR:
        return MFB_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return MFB_ERR_PERMISSION;
    case EEXIST:
        return MFB_ERR_EXISTS;
    case ENOMEM:
        return MFB_ERR_NO_MEMORY;
    default:
        return fallback;
    }
}

mfb_status mfb_error_errno(struct mfb_error *err, int errnum, mfb_status fallback, const char *fmt,
                           ...)
{
    mfb_status status = status_from_errno(errnum, fallback);
    if (err == NULL || err->status != MFB_OK)
        return status;
    va_list ap;
    va_start(ap, fmt);
    mfb_error_setv(err, status, fmt, ap);
    va_end(ap);
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof(err->message) - used, ": %s", strerror(errnum));
    if (status == MFB_ERR_NO_SPACE)
        mfb_error_hint(err, "free space on that filesystem, then run the command again");
    else if (errnum == EFBIG)
        mfb_error_hint(err, "the file is past the largest file that filesystem (or the "
                            "process's file size limit) allows; use another filesystem");
    else if (status == MFB_ERR_PERMISSION)
        mfb_error_hint(err,
                       "check the owner and mode of the path, or run as a user allowed to use it");
    err->hint_is_generic = true;
    return status;
}

void mfb_error_hint(struct mfb_error *err, const char *fmt, ...)
{
    if (err == NULL || err->status == MFB_OK || (err->hint[0] != '\0' && !err->hint_is_generic))
        return;
    err->hint_is_generic = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void mfb_error_clear(struct mfb_error *err)
{
    if (err == NULL)
        return;
    err->status = MFB_OK;
    err->message[0] = '\0';
    err->hint[0] = '\0';
    err->hint_is_generic = false;
    err->frame_count = 0;
}

void mfb_error_print(const struct mfb_error *err, const char *program)
{
    if (err == NULL || err->status == MFB_OK)
        return;
    fprintf(stderr, "%s: error: %s\n", program,
            err->message[0] ? err->message : mfb_status_str(err->status));
    if (err->hint[0] != '\0')
        fprintf(stderr, "HINT: %s\n", err->hint);
}
