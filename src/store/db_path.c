/*
 * db_path.c - the default database location (see db_path.h).
 */
#include "store/db_path.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static mfb_status fit(char *buf, size_t len, int n, struct mfb_error *err)
{
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "the database path is too long");
    return MFB_OK;
}

mfb_status store_db_path(const char *explicit_path, const char *file_name, char *buf, size_t len,
                         struct mfb_error *err)
{
    if (explicit_path != NULL) {
        if (*explicit_path == '\0') {
            mfb_error_set(err, MFB_ERR_USAGE, "--db needs a path");
            return MFB_ERR_USAGE;
        }
        return fit(buf, len, snprintf(buf, len, "%s", explicit_path), err);
    }
    const char *env = getenv("MFB_DB");
    if (env != NULL && *env != '\0')
        return fit(buf, len, snprintf(buf, len, "%s", env), err);
    if (geteuid() == 0)
        return fit(buf, len, snprintf(buf, len, "%s/%s", STORE_SYSTEM_DIR, file_name), err);
    const char *home = getenv("HOME");
    struct passwd pw, *found = NULL;
    char pwbuf[4096];
    if ((home == NULL || *home == '\0') &&
        getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL)
        home = found->pw_dir;
    if (home == NULL || *home == '\0') {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "cannot find a home directory for the database");
        mfb_error_hint(err, "pass --db PATH or set MFB_DB");
        return MFB_ERR_NOT_FOUND;
    }
    return fit(buf, len, snprintf(buf, len, "%s/%s/%s", home, STORE_USER_DIR, file_name), err);
}
