/*
 * srv_common.c - helpers shared by the mfb-server commands (see srv_common.h).
 */
#include "cli/srv_common.h"

#include <jansson.h>
#include <stdio.h>

#include "proto/proto.h"
#include "store/db_path.h"

mfb_status srv_db_path(const struct cli_args *args, char *buf, size_t len, struct mfb_error *err)
{
    return store_db_path(args->db_path, SERVER_DB_FILE, buf, len, err);
}

mfb_status srv_open_db(const struct cli_args *args, struct server_db **db, struct mfb_error *err)
{
    char path[4096];
    mfb_status st = srv_db_path(args, path, sizeof(path), err);
    if (st != MFB_OK)
        return st;
    return server_db_open(path, false, db, err);
}

mfb_status srv_check_name(const char *what, const char *name, struct mfb_error *err)
{
    char why[128];
    if (proto_name_valid(name, why, sizeof(why)))
        return MFB_OK;
    mfb_error_set(err, MFB_ERR_USAGE, "invalid %s '%s': %s", what, name, why);
    mfb_error_hint(
        err, "use 1 to 128 bytes of printable UTF-8 without '/' or '\\', not starting with '.'");
    return MFB_ERR_USAGE;
}

void srv_print_json(struct json_t *value)
{
    json_dumpf(value, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(value);
}
