/*
 * db_path.h - where an mfb program keeps its SQLite database when the user
 * does not say.
 *
 * One rule for both programs (DESIGN.md, "Programs and commands"): the
 * --db option, else $MFB_DB, else /var/lib/mfb/FILE for root, else
 * ~/.local/share/mfb/FILE. Only the file name differs between mfb (mfb.db)
 * and mfb-server (mfb-server.db). Nothing is created here: the open
 * functions make the parent directory (0700) when they create a database.
 */
#ifndef MFB_STORE_DB_PATH_H
#define MFB_STORE_DB_PATH_H

#include <stddef.h>

#include "common/status.h"

#define STORE_SYSTEM_DIR "/var/lib/mfb"
#define STORE_USER_DIR ".local/share/mfb" /* under $HOME */

/* Fills buf with the database path: explicit_path when not NULL, else
 * $MFB_DB when set and not empty, else the system or per-user default for
 * file_name. The home directory comes from $HOME, or the password database
 * when it is unset. Fails only when no path fits in buf or no home
 * directory is known. */
mfb_status store_db_path(const char *explicit_path, const char *file_name, char *buf, size_t len,
                         struct mfb_error *err);

#endif
