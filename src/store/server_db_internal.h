/*
 * server_db_internal.h - the receiver catalog's handle, shared by the
 * store/ files that hold its SQL (server_db.c, server_monitor.c) and by
 * nothing outside store/. Every public function takes db->lock for the
 * whole of its work.
 */
#ifndef MFB_STORE_SERVER_DB_INTERNAL_H
#define MFB_STORE_SERVER_DB_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/server_db.h"

struct server_db {
    sqlite3 *sql;
    pthread_mutex_t lock;
    char path[4096];
};

#endif
