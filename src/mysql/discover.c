/*
 * discover.c - the server's identity and file locations (see discover.h).
 *
 * Locations are added in a fixed order, datadir first, so that the root
 * names are stable from one backup to the next and the datadir is always
 * the root named "datadir" (unless some other configured directory contains
 * it, which the manifest then shows).
 */
#include "mysql/discover.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mysql/scan.h"
#include "mysql/sql.h"

const char *mysql_flavour_str(enum mysql_flavour flavour)
{
    return flavour == MYSQL_FLAVOUR_MARIADB ? "mariadb" : "mysql";
}

void mysql_version_parse(const char *version, unsigned *major, unsigned *minor, unsigned *patch)
{
    unsigned parts[3] = {0, 0, 0};
    const char *p = version != NULL ? version : "";
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            break;
        parts[i] = (unsigned)strtoul(p, (char **)&p, 10);
        if (*p != '.')
            break;
        p++;
    }
    *major = parts[0];
    *minor = parts[1];
    *patch = parts[2];
}

const char *mysql_tablespace_query(enum mysql_flavour flavour, unsigned major, unsigned minor,
                                   const char **source)
{
    if (flavour == MYSQL_FLAVOUR_MARIADB && (major > 10 || (major == 10 && minor >= 6))) {
        *source = "information_schema.INNODB_SYS_TABLESPACES";
        return MYSQL_SQL_TABLESPACES_MARIADB;
    }
    if (flavour == MYSQL_FLAVOUR_MYSQL && major >= 8) {
        *source = "information_schema.FILES";
        return MYSQL_SQL_TABLESPACES_MYSQL8;
    }
    *source = "information_schema.INNODB_SYS_DATAFILES";
    return MYSQL_SQL_TABLESPACES_SYS_DATAFILES;
}

static bool contains_nocase(const char *haystack, const char *needle)
{
    return haystack != NULL && strcasestr(haystack, needle) != NULL;
}

static const char *var(const struct mysql_server_info *info, const char *name)
{
    return mysql_rows_lookup(info->variables, name);
}

static bool has_value(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* A JSON string; a value that is not UTF-8 is kept with '?' for each bad byte. */
static json_t *json_text(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *copy = strdup(s);
    if (copy == NULL)
        return NULL;
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

mfb_status mysql_gtid_read(struct mysql_conn *client, json_t **gtid, struct mfb_error *err)
{
    *gtid = NULL;
    struct mysql_rows *rows = NULL;
    mfb_status st = mysql_conn_query(client, MYSQL_SQL_GTID_VARIABLES, &rows, err);
    if (st != MFB_OK)
        return st;
    json_t *obj = json_object();
    for (size_t r = 0; obj != NULL && r < rows->count; r++) {
        const char *name = mysql_rows_cell(rows, r, 0);
        if (name != NULL &&
            json_object_set_new(obj, name, json_text(mysql_rows_cell(rows, r, 1))) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    mysql_rows_free(rows);
    if (obj == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading the gtid position");
    *gtid = obj;
    return MFB_OK;
}

/* Adds the directory of a server variable, resolved against the datadir. */
static mfb_status add_dir_var(struct mysql_server_info *info, const char *kind, const char *name,
                              struct mfb_error *err)
{
    const char *value = var(info, name);
    if (value == NULL)
        return MFB_OK;
    return mysql_roots_add(&info->roots, kind, false, info->datadir, value, err, "@@%s = '%s'",
                           name, value);
}

/* Adds the directory that holds the file a server variable names. */
static mfb_status add_file_var(struct mysql_server_info *info, const char *kind, const char *name,
                               struct mfb_error *err)
{
    const char *value = var(info, name);
    if (!has_value(value))
        return MFB_OK;
    return mysql_roots_add_file(&info->roots, kind, false, info->datadir, value, err, "@@%s = '%s'",
                                name, value);
}

/* innodb_data_file_path: "ibdata1:12M;/abs/ibdata2:1G:autoextend", names
 * relative to innodb_data_home_dir (or the datadir). Raw partitions are not
 * files to archive and are skipped. */
static mfb_status add_data_files(struct mysql_server_info *info, struct mfb_error *err)
{
    const char *spec = var(info, "innodb_data_file_path");
    if (!has_value(spec))
        return MFB_OK;
    char *home = NULL;
    mfb_status st =
        mysql_path_resolve(info->datadir, var(info, "innodb_data_home_dir"), &home, err);
    char *copy = st == MFB_OK ? strdup(spec) : NULL;
    if (st == MFB_OK && copy == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading innodb_data_file_path");
    char *save = NULL;
    for (char *item = copy != NULL ? strtok_r(copy, ";", &save) : NULL; st == MFB_OK && item;
         item = strtok_r(NULL, ";", &save)) {
        char *colon = strchr(item, ':');
        if (colon != NULL)
            *colon = '\0';
        if (item[0] == '\0' || (colon != NULL && strstr(colon + 1, "raw") != NULL))
            continue;
        st = mysql_roots_add_file(&info->roots, "innodb_data", false, home, item, err,
                                  "@@innodb_data_file_path names '%s'", item);
    }
    free(copy);
    free(home);
    return st;
}

/* innodb_directories (MySQL 8): directories scanned for tablespace files. */
static mfb_status add_innodb_directories(struct mysql_server_info *info, struct mfb_error *err)
{
    const char *spec = var(info, "innodb_directories");
    if (!has_value(spec))
        return MFB_OK;
    char *copy = strdup(spec);
    if (copy == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading innodb_directories");
    mfb_status st = MFB_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); st == MFB_OK && item;
         item = strtok_r(NULL, ";", &save)) {
        st = mysql_roots_add(&info->roots, "innodb_directory", true, info->datadir, item, err,
                             "@@innodb_directories names '%s'", item);
    }
    free(copy);
    return st;
}

static mfb_status add_tablespaces(struct mysql_conn *client, struct mysql_server_info *info,
                                  struct mfb_error *err)
{
    const char *source = NULL;
    const char *sql =
        mysql_tablespace_query(info->flavour, info->version_major, info->version_minor, &source);
    struct mysql_rows *rows = NULL;
    struct mfb_error e = {0};
    mfb_status st = mysql_conn_query(client, sql, &rows, &e);
    if (st == MFB_ERR_AUTH)
        snprintf(e.hint, sizeof(e.hint),
                 "grant the user the PROCESS privilege: mfb reads %s to find the tablespaces "
                 "outside the data directory",
                 source);
    if (st != MFB_OK)
        return mysql_error_forward(err, &e);
    for (size_t r = 0; st == MFB_OK && r < rows->count; r++) {
        const char *name = mysql_rows_cell(rows, r, 0);
        const char *file = mysql_rows_cell(rows, r, 1);
        /* Most tablespaces are "./db/t.ibd": inside the datadir, nothing to
         * add (and a server may have a hundred thousand of them). */
        if (!has_value(file) || (file[0] != '/' && strstr(file, "..") == NULL))
            continue;
        st = mysql_roots_add_file(&info->roots, "tablespace", true, info->datadir, file, err,
                                  "%s: %s in '%s'", source, name != NULL ? name : "?", file);
    }
    mysql_rows_free(rows);
    return st;
}

static mfb_status collect_locations(struct mysql_conn *client, struct mysql_server_info *info,
                                    struct mfb_error *err)
{
    mfb_status st = mysql_roots_add(&info->roots, "datadir", false, NULL, info->datadir, err,
                                    "@@datadir = '%s'", var(info, "datadir"));
    if (st == MFB_OK && has_value(var(info, "innodb_data_home_dir")))
        st = add_dir_var(info, "innodb_data", "innodb_data_home_dir", err);
    if (st == MFB_OK)
        st = add_data_files(info, err);
    if (st == MFB_OK)
        st = add_dir_var(info, "innodb_log", "innodb_log_group_home_dir", err);
    if (st == MFB_OK)
        st = add_dir_var(info, "innodb_undo", "innodb_undo_directory", err);
    if (st == MFB_OK && has_value(var(info, "innodb_doublewrite_dir")))
        st = add_dir_var(info, "innodb_doublewrite", "innodb_doublewrite_dir", err);
    if (st == MFB_OK)
        st = add_innodb_directories(info, err);
    if (st == MFB_OK && has_value(var(info, "aria_log_dir_path")))
        st = add_dir_var(info, "aria_log", "aria_log_dir_path", err);
    if (st == MFB_OK && info->log_bin) {
        st = add_file_var(info, "binlog", "log_bin_basename", err);
        if (st == MFB_OK)
            st = add_file_var(info, "binlog_index", "log_bin_index", err);
    }
    if (st == MFB_OK)
        st = add_file_var(info, "relaylog", "relay_log_basename", err);
    if (st == MFB_OK)
        st = add_file_var(info, "relaylog_index", "relay_log_index", err);
    if (st == MFB_OK)
        st = add_tablespaces(client, info, err);
    if (st == MFB_OK)
        st = mysql_scan_datadir(info->datadir, &info->roots, err);
    if (st == MFB_OK)
        st = mysql_roots_finish(&info->roots, err);
    return st;
}

static mfb_status build_json(struct mysql_server_info *info, json_t *gtid, struct mfb_error *err)
{
    json_t *o = json_object();
    json_t *vars = json_object();
    json_t *roots = json_array();
    json_t *locations = json_array();
    bool ok = o != NULL && vars != NULL && roots != NULL && locations != NULL;
    for (size_t r = 0; ok && r < info->variables->count; r++) {
        const char *name = mysql_rows_cell(info->variables, r, 0);
        if (name != NULL)
            ok = json_object_set_new(vars, name,
                                     json_text(mysql_rows_cell(info->variables, r, 1))) == 0;
    }
    for (size_t i = 0; ok && i < info->roots.count; i++) {
        const struct mysql_root *root = &info->roots.roots[i];
        ok = json_array_append_new(
                 roots, json_pack("{s:o, s:o, s:o}", "name", json_text(root->name), "path",
                                  json_text(root->path), "why", json_text(root->why))) == 0;
    }
    for (size_t i = 0; ok && i < info->roots.location_count; i++) {
        const struct mysql_location *loc = &info->roots.locations[i];
        ok = json_array_append_new(
                 locations, json_pack("{s:o, s:o, s:o, s:o}", "kind", json_text(loc->kind), "path",
                                      json_text(loc->path), "why", json_text(loc->why), "root",
                                      json_text(info->roots.roots[loc->root].name))) == 0;
    }
    if (ok) {
        ok =
            json_object_set_new(o, "flavour", json_string(mysql_flavour_str(info->flavour))) == 0 &&
            json_object_set_new(o, "version", json_text(info->version)) == 0 &&
            json_object_set_new(o, "version_comment", json_text(info->version_comment)) == 0 &&
            json_object_set_new(o, "server_uuid", json_text(info->server_uuid)) == 0 &&
            json_object_set(o, "gtid", gtid) == 0 &&
            json_object_set_new(o, "innodb_fast_shutdown",
                                info->innodb_fast_shutdown >= 0
                                    ? json_integer(info->innodb_fast_shutdown)
                                    : json_null()) == 0 &&
            json_object_set_new(o, "log_bin", json_boolean(info->log_bin)) == 0 &&
            json_object_set_new(o, "datadir", json_text(info->datadir)) == 0 &&
            json_object_set(o, "variables", vars) == 0 && json_object_set(o, "roots", roots) == 0 &&
            json_object_set(o, "locations", locations) == 0;
    }
    json_decref(vars);
    json_decref(roots);
    json_decref(locations);
    if (!ok) {
        json_decref(o);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory describing the server");
    }
    info->json = o;
    return MFB_OK;
}

static char *dup_var(const struct mysql_server_info *info, const char *name)
{
    const char *v = var(info, name);
    return v != NULL ? strdup(v) : NULL;
}

mfb_status mysql_discover(struct mysql_conn *client, struct mysql_server_info **out,
                          struct mfb_error *err)
{
    *out = NULL;
    json_t *gtid = NULL;
    struct mysql_server_info *info = calloc(1, sizeof(*info));
    if (info == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory describing the server");
    mfb_status st = mysql_conn_query(client, MYSQL_SQL_DISCOVERY_VARIABLES, &info->variables, err);
    if (st != MFB_OK)
        goto done;
    if (!has_value(var(info, "datadir")) || !has_value(var(info, "version"))) {
        st = mfb_error_set(err, MFB_ERR_PROTOCOL, "the server at %s does not report its %s",
                           mysql_conn_where(client),
                           has_value(var(info, "datadir")) ? "version" : "datadir");
        goto done;
    }
    info->version = dup_var(info, "version");
    info->version_comment = dup_var(info, "version_comment");
    info->flavour = contains_nocase(info->version, "mariadb") ||
                            contains_nocase(info->version_comment, "mariadb")
                        ? MYSQL_FLAVOUR_MARIADB
                        : MYSQL_FLAVOUR_MYSQL;
    mysql_version_parse(info->version, &info->version_major, &info->version_minor,
                        &info->version_patch);
    info->server_uuid = dup_var(info, "server_uuid");
    const char *g =
        var(info, info->flavour == MYSQL_FLAVOUR_MARIADB ? "gtid_current_pos" : "gtid_executed");
    info->gtid = strdup(g != NULL ? g : "");
    const char *fs = var(info, "innodb_fast_shutdown");
    info->innodb_fast_shutdown = has_value(fs) && isdigit((unsigned char)fs[0]) ? atoi(fs) : -1;
    const char *lb = var(info, "log_bin");
    info->log_bin = lb != NULL && (strcasecmp(lb, "ON") == 0 || strcmp(lb, "1") == 0);
    const char *port = var(info, "port");
    info->port = port != NULL ? (unsigned)strtoul(port, NULL, 10) : 0;
    const char *sock = var(info, "socket");
    info->socket = has_value(sock) ? strdup(sock) : NULL;
    if (info->version == NULL || info->gtid == NULL || (has_value(sock) && info->socket == NULL)) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory describing the server");
        goto done;
    }
    st = mysql_path_resolve(NULL, var(info, "datadir"), &info->datadir, err);
    if (st == MFB_OK && has_value(var(info, "pid_file")))
        st = mysql_path_resolve(info->datadir, var(info, "pid_file"), &info->pid_file, err);
    if (st == MFB_OK)
        st = mysql_gtid_read(client, &gtid, err);
    if (st == MFB_OK)
        st = collect_locations(client, info, err);
    if (st == MFB_OK)
        st = build_json(info, gtid, err);
    if (st == MFB_OK) {
        log_info("mysql_discover", "flavour=%s version=%s datadir=%s roots=%zu locations=%zu",
                 mysql_flavour_str(info->flavour), info->version, info->datadir, info->roots.count,
                 info->roots.location_count);
    }
done:
    json_decref(gtid);
    if (st != MFB_OK) {
        mysql_server_info_free(info);
        return st;
    }
    *out = info;
    return MFB_OK;
}

void mysql_server_info_free(struct mysql_server_info *info)
{
    if (info == NULL)
        return;
    free(info->version);
    free(info->version_comment);
    free(info->server_uuid);
    free(info->gtid);
    free(info->datadir);
    free(info->pid_file);
    free(info->socket);
    mysql_rows_free(info->variables);
    mysql_roots_free(&info->roots);
    json_decref(info->json);
    free(info);
}
