/*
 * password.h - the web UI's one login password (docs/ui.md): a salted
 * scrypt hash from OpenSSL, kept in the configuration database's settings
 * table under UI_PASSWORD_KEY (the database is the daemon user's, mode
 * 0600, like the instance passwords it already holds).
 *
 * The stored text is "scrypt$N$r$p$SALT$HASH" (hex salt and hash), so the
 * cost can be raised later without breaking stored hashes. Verification
 * compares in constant time.
 */
#ifndef MFB_UI_PASSWORD_H
#define MFB_UI_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

#define UI_PASSWORD_KEY "ui_password"
#define UI_PASSWORD_MIN 8 /* characters */
#define UI_PASSWORD_MAX 1024
#define UI_HASH_BUF 256

/* Hashes password with a fresh random salt into out (UI_HASH_BUF). */
mfb_status ui_password_hash(const char *password, char *out, size_t len, struct mfb_error *err);
/* The same with a given scrypt cost (log2 N), for fast unit tests. */
mfb_status ui_password_hash_cost(const char *password, unsigned log2_n, char *out, size_t len,
                                 struct mfb_error *err);
/* Whether password matches the stored text; false for a malformed one. */
bool ui_password_verify(const char *password, const char *stored);

/* Checks the length (UI_PASSWORD_MIN to UI_PASSWORD_MAX); the receiver's
 * dashboard password (`mfb-server admin passwd`) follows the same rule. */
mfb_status ui_password_check(const char *password, struct mfb_error *err);
/* Checks the length and stores the hash of password in db. */
mfb_status ui_password_set(struct config_db *db, const char *password, struct mfb_error *err);
/* The stored hash (allocated), or NULL when no password is set. */
mfb_status ui_password_get(struct config_db *db, char **stored, struct mfb_error *err);

#endif
