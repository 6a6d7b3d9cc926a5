/*
 * tls_files.h - where `mfb ui init` puts the web UI's TLS pair (beside the
 * configuration database: ui-key.pem, ui-cert.pem) and how the daemon
 * loads a pair into memory for libmicrohttpd (docs/ui.md).
 */
#ifndef MFB_UI_TLS_FILES_H
#define MFB_UI_TLS_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

#define UI_KEY_FILE "ui-key.pem"
#define UI_CERT_FILE "ui-cert.pem"

/* The default key and certificate paths for database db_path (NULL: the
 * default database), each into a buffer of len bytes. */
mfb_status ui_tls_default_paths(const char *db_path, char *key, char *cert, size_t len,
                                struct mfb_error *err);

/* Checks the pair (server/tls.h) and reads both PEM texts (allocated). */
mfb_status ui_tls_load(const char *key_path, const char *cert_path, char **key_pem, char **cert_pem,
                       struct mfb_error *err);

#endif
