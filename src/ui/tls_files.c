/*
 * tls_files.c - the web UI's TLS pair on disk (see tls_files.h).
 */
#include "ui/tls_files.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "server/tls.h"
#include "store/config_db.h"
#include "store/db_path.h"

#define PEM_MAX (1u << 20)

mfb_status ui_tls_default_paths(const char *db_path, char *key, char *cert, size_t len,
                                struct mfb_error *err)
{
    char db[PATH_MAX];
    mfb_status st = store_db_path(db_path, CONFIG_DB_FILE, db, sizeof(db), err);
    if (st != MFB_OK)
        return st;
    const char *dir = dirname(db);
    if ((size_t)snprintf(key, len, "%s/%s", dir, UI_KEY_FILE) >= len ||
        (size_t)snprintf(cert, len, "%s/%s", dir, UI_CERT_FILE) >= len)
        return mfb_error_set(err, MFB_ERR_USAGE, "the database's directory path is too long");
    return MFB_OK;
}

mfb_status ui_tls_load(const char *key_path, const char *cert_path, char **key_pem, char **cert_pem,
                       struct mfb_error *err)
{
    *key_pem = *cert_pem = NULL;
    size_t len = 0;
    mfb_status st = tls_check_pair(key_path, cert_path, err);
    if (st == MFB_OK)
        st = fs_read_file(key_path, PEM_MAX, key_pem, &len, err);
    if (st == MFB_OK)
        st = fs_read_file(cert_path, PEM_MAX, cert_pem, &len, err);
    if (st != MFB_OK) {
        free(*key_pem);
        free(*cert_pem);
        *key_pem = *cert_pem = NULL;
    }
    return st;
}
