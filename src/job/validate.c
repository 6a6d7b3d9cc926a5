/*
 * validate.c - record and live checks of instances and targets (see
 * validate.h).
 *
 * The live checks lean on the modules that will do the real work: the
 * connection is mysql_conn_connect, the data directory comes from
 * mysql_discover (the same discovery a backup runs, so missing privileges
 * show now rather than at the first backup), the stop/start method is
 * mysql_method_check, and the receiver is asked through the transfer
 * client with the target's own certificate check. Only the file system
 * checks (data directory readable, spool writable) are written here.
 */
#include "job/validate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/parse.h"
#include "job/backup/naming.h"
#include "job/config_map.h"
#include "mysql/connection.h"
#include "mysql/discover.h"
#include "mysql/method.h"
#include "proto/proto.h"
#include "transfer/fingerprint.h"
#include "transfer/https.h"

/* ---- record checks ---- */

static mfb_status invalid(struct mfb_error *err, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mfb_status invalid(struct mfb_error *err, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mfb_error_setv(err, MFB_ERR_INVALID, fmt, ap);
    va_end(ap);
    mfb_error_hint(err, "%s", hint);
    return MFB_ERR_INVALID;
}

static mfb_status check_name(const char *what, const char *name, struct mfb_error *err)
{
    char why[160];
    if (!proto_name_valid(name, why, sizeof(why)))
        return invalid(err, "use letters, digits, '-', '_' and '.' (not first)",
                       "invalid %s name '%s': %s", what, name, why);
    return MFB_OK;
}

static mfb_status check_absolute(const char *option, const char *path, struct mfb_error *err)
{
    if (path == NULL || *path == '\0')
        return invalid(err, "every instance needs it", "no %s given", option);
    if (path[0] != '/')
        return invalid(err, "give an absolute path", "%s '%s' is not an absolute path", option,
                       path);
    return MFB_OK;
}

/* True when inner is outer or below it, comparing whole components. */
static bool path_within(const char *outer, const char *inner)
{
    size_t n = strlen(outer);
    while (n > 1 && outer[n - 1] == '/')
        n--;
    return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/' || n == 1);
}

mfb_status validate_instance_record(const struct config_instance *inst, struct mfb_error *err)
{
    mfb_status st = check_name("instance", inst->name, err);
    if (st != MFB_OK)
        return st;
    bool has_socket = inst->socket != NULL && *inst->socket != '\0';
    bool has_host = inst->host != NULL && *inst->host != '\0';
    if (has_socket == has_host)
        return invalid(err, "give --socket PATH, or --host HOST with --port PORT",
                       has_socket ? "--socket and --host exclude each other"
                                  : "no connection given");
    if (has_socket) {
        if (inst->socket[0] != '/')
            return invalid(err, "give the absolute path of the server's socket",
                           "--socket '%s' is not an absolute path", inst->socket);
        if (strlen(inst->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return invalid(err, "unix socket paths are limited to 107 bytes",
                           "--socket '%s' is too long", inst->socket);
    } else if (inst->port == 0 || inst->port > 65535) {
        return invalid(err, "give --port from 1 to 65535 (MySQL's is 3306)", "invalid port %u",
                       inst->port);
    }
    if (inst->user == NULL || *inst->user == '\0')
        return invalid(err, "give the MySQL user mfb logs in as with --user",
                       "no MySQL user given");
    if ((st = check_absolute("--datadir", inst->datadir, err)) != MFB_OK ||
        (st = check_absolute("--spool", inst->spool, err)) != MFB_OK)
        return st;
    if (path_within(inst->datadir, inst->spool))
        return invalid(err,
                       "put the spool outside the data directory, on a disk with room "
                       "for the archive",
                       "the spool '%s' is inside the data directory '%s'", inst->spool,
                       inst->datadir);
    if (path_within(inst->spool, inst->datadir))
        return invalid(err, "give the spool a directory of its own",
                       "the data directory '%s' is inside the spool '%s'", inst->datadir,
                       inst->spool);
    if ((inst->control == CONFIG_CONTROL_SYSTEMD || inst->control == CONFIG_CONTROL_SYSV) &&
        (inst->service == NULL || inst->service[0] == '\0'))
        return invalid(err, "give --control systemd:UNIT, sysv:NAME, shutdown-sql or command",
                       "no stop/start method given");
    struct mysql_method method;
    st = config_map_method(inst, &method, err);
    mysql_method_free(&method);
    if (st != MFB_OK)
        return st;
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++) {
        if (inst->timeout_ms[i] == 0)
            return invalid(err, "every step needs a timeout; give a duration such as 5m",
                           "the %s timeout must not be 0",
                           config_timeout_name((enum config_timeout)i));
    }
    return MFB_OK;
}

mfb_status validate_target_record(struct config_target *t, struct mfb_error *err)
{
    mfb_status st = check_name("target", t->name, err);
    if (st != MFB_OK)
        return st;
    if (t->ca_file != NULL && t->ca_file[0] != '/')
        return invalid(err, "give an absolute path", "--ca-file '%s' is not an absolute path",
                       t->ca_file);
    /* The transfer client is the judge of URL, token and TLS settings. */
    struct transfer_target tt;
    config_map_target(t, &tt);
    struct transfer_peer *client = NULL;
    struct transfer_settings settings = TRANSFER_SETTINGS_DEFAULT;
    st = transfer_peer_create(&tt, &settings, &client, err);
    transfer_peer_free(client);
    if (st != MFB_OK)
        return st;
    if (t->fingerprint != NULL) {
        uint8_t fp[SHA256_LEN];
        char text[FINGERPRINT_TEXT_LEN];
        st = fingerprint_parse(t->fingerprint, fp, err);
        if (st != MFB_OK)
            return st;
        fingerprint_format(fp, text);
        if ((st = config_str_set(&t->fingerprint, text, err)) != MFB_OK)
            return st;
    }
    char why[160];
    if (t->directory != NULL && !proto_directory_valid(t->directory, why, sizeof(why)))
        return invalid(err, "give up to 8 names joined by '/', as in nightly/eu",
                       "invalid --directory '%s': %s", t->directory, why);
    st = naming_check(t->naming ? t->naming : CONFIG_DEFAULT_NAMING, NULL, NULL, 0, err);
    if (st != MFB_OK)
        return st;
    char size[32];
    if (!proto_chunk_size_valid(t->chunk_size, VALIDATE_CHUNK_MAX))
        return invalid(err,
                       "use a power of two from 1M to 1G; receivers accept up to 64M "
                       "unless configured otherwise",
                       "invalid chunk size %s (%llu bytes)",
                       format_size(t->chunk_size, size, sizeof(size)),
                       (unsigned long long)t->chunk_size);
    if (t->connections < 1 || t->connections > VALIDATE_CONNECTIONS_MAX)
        return invalid(err, "use 1 to 64 parallel connections", "invalid connection count %u",
                       t->connections);
    return MFB_OK;
}

/* ---- live checks ---- */

static struct validate_check *begin(struct validate_report *r, const char *name)
{
    if (r->count == VALIDATE_MAX_CHECKS)
        r->count--; /* a bug: keep the last slot rather than overflow */
    struct validate_check *c = &r->checks[r->count++];
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->ok = true;
    return c;
}

static mfb_status end(struct validate_report *r, struct validate_check *c, mfb_status st)
{
    c->ok = st == MFB_OK;
    if (!c->ok) {
        r->failed++;
        if (!mfb_error_is_set(&c->error))
            mfb_error_set(&c->error, st, "%s check failed", c->name);
    }
    return st;
}

static mfb_status first_failure(const struct validate_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        if (!r->checks[i].ok)
            return r->checks[i].error.status;
    }
    return MFB_OK;
}

/* The data directory exists, is a directory, and this process can list
 * it and read its files. */
static mfb_status check_datadir(const char *dir, struct validate_check *c)
{
    struct stat sb;
    struct mfb_error *err = &c->error;
    if (stat(dir, &sb) != 0) {
        mfb_error_errno(err, errno, MFB_ERR_NOT_FOUND, "data directory '%s' cannot be used", dir);
        mfb_error_hint(err, "give the server's data directory (SELECT @@datadir) with --datadir");
        return err->status;
    }
    if (!S_ISDIR(sb.st_mode)) {
        mfb_error_set(err, MFB_ERR_INVALID, "data directory '%s' is not a directory", dir);
        mfb_error_hint(err, "give the server's data directory (SELECT @@datadir) with --datadir");
        return MFB_ERR_INVALID;
    }
    DIR *d = opendir(dir);
    if (d == NULL || access(dir, R_OK | X_OK) != 0) {
        int e = errno;
        if (d)
            closedir(d);
        mfb_error_errno(err, e, MFB_ERR_PERMISSION, "data directory '%s' is not readable", dir);
        mfb_error_hint(err, "run mfb as root or as the user that owns the data directory");
        return err->status;
    }
    closedir(d);
    snprintf(c->detail, sizeof(c->detail), "%s", dir);
    return MFB_OK;
}

/* The spool is a directory in which this process can create a file. */
static mfb_status check_spool(const char *dir, struct validate_check *c)
{
    struct stat sb;
    struct mfb_error *err = &c->error;
    int rc = stat(dir, &sb);
    if (rc != 0 || !S_ISDIR(sb.st_mode)) {
        if (rc == 0)
            mfb_error_set(err, MFB_ERR_INVALID, "spool '%s' is not a directory", dir);
        else if (errno == ENOENT)
            mfb_error_set(err, MFB_ERR_NOT_FOUND, "spool directory '%s' does not exist", dir);
        else
            mfb_error_errno(err, errno, MFB_ERR_IO, "spool directory '%s' cannot be used", dir);
        mfb_error_hint(err, "create it (mkdir -p -m 700 '%s') or give another with --spool", dir);
        return err->status;
    }
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%s/.mfb-probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        mfb_error_errno(err, errno, MFB_ERR_PERMISSION, "spool directory '%s' is not writable",
                        dir);
        mfb_error_hint(err, "make it writable by the user mfb runs as, or give another with "
                            "--spool");
        return err->status;
    }
    close(fd);
    unlink(probe);
    snprintf(c->detail, sizeof(c->detail), "%s", dir);
    return MFB_OK;
}

/* The spool must not be the data directory or inside it, even through a
 * symbolic link (the record check compared the paths as written). */
static mfb_status check_spool_apart(const char *datadir, const char *spool,
                                    struct validate_check *c)
{
    char real_data[PATH_MAX], real_spool[PATH_MAX];
    if (realpath(datadir, real_data) == NULL || realpath(spool, real_spool) == NULL)
        return MFB_OK; /* the existence checks report it */
    if (path_within(real_data, real_spool)) {
        mfb_error_set(&c->error, MFB_ERR_INVALID,
                      "the spool '%s' is inside the data directory '%s'", real_spool, real_data);
        mfb_error_hint(&c->error, "put the spool outside the data directory, on a disk with "
                                  "room for the archive");
        return MFB_ERR_INVALID;
    }
    return MFB_OK;
}

/* Connects, runs discovery, and compares @@datadir with the configured
 * data directory. */
static mfb_status check_server(const struct config_instance *inst, struct validate_report *r)
{
    struct validate_check *c = begin(r, "connect");
    struct mysql_endpoint ep;
    config_map_endpoint(inst, &ep);
    if (inst->id != 0) /* stored already: a refused password is changed with 'instance set' */
        ep.stored_as = inst->name;
    struct mysql_conn *client = NULL;
    mfb_status st = mysql_conn_connect(&ep, VALIDATE_TIMEOUT_MS, &client, &c->error);
    if (st != MFB_OK)
        return end(r, c, st);
    struct mysql_server_info *info = NULL;
    st = mysql_discover(client, &info, &c->error);
    if (st == MFB_OK)
        snprintf(c->detail, sizeof(c->detail), "%s %s at %s", mysql_flavour_str(info->flavour),
                 info->version, mysql_conn_where(client));
    end(r, c, st);
    mysql_conn_close(client);
    if (st != MFB_OK)
        return st;

    c = begin(r, "@@datadir");
    char real[PATH_MAX];
    if (realpath(inst->datadir, real) == NULL) {
        snprintf(real, sizeof(real), "%s", inst->datadir);
    }
    if (strcmp(real, info->datadir) != 0) {
        mfb_error_set(&c->error, MFB_ERR_INVALID,
                      "data directory '%s' is not the server's: it reports @@datadir = '%s'",
                      inst->datadir, info->datadir);
        mfb_error_hint(&c->error, "pass --datadir '%s'", info->datadir);
        st = MFB_ERR_INVALID;
    } else {
        snprintf(c->detail, sizeof(c->detail), "%s", info->datadir);
    }
    mysql_server_info_free(info);
    return end(r, c, st);
}

mfb_status validate_instance_live(const struct config_instance *inst,
                                  struct validate_report *report)
{
    memset(report, 0, sizeof(*report));
    struct validate_check *c = begin(report, "datadir");
    end(report, c, check_datadir(inst->datadir, c));

    c = begin(report, "spool");
    mfb_status st = check_spool(inst->spool, c);
    if (st == MFB_OK)
        st = check_spool_apart(inst->datadir, inst->spool, c);
    end(report, c, st);

    c = begin(report, "stop/start");
    struct mysql_method method;
    st = config_map_method(inst, &method, &c->error);
    if (st == MFB_OK) {
        st = mysql_method_check(&method, VALIDATE_TIMEOUT_MS, &c->error);
        mysql_method_str(&method, c->detail, sizeof(c->detail));
    }
    mysql_method_free(&method);
    end(report, c, st);

    check_server(inst, report);
    return first_failure(report);
}

/* GET path on conn; on success *body is the parsed JSON object (caller
 * releases it). */
static mfb_status get_json(struct transfer_conn *conn, const char *path, const char *what,
                           json_t **body, struct mfb_error *err)
{
    *body = NULL;
    struct http_request req = {.method = "GET", .path = path, .what = what};
    struct http_response resp = {0};
    mfb_status st = transfer_conn_call(conn, &req, &resp, err);
    if (st == MFB_OK) {
        *body = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
        if (!json_is_object(*body)) {
            json_decref(*body);
            *body = NULL;
            st = mfb_error_set(err, MFB_ERR_PROTOCOL, "%s: the answer is not a JSON object", what);
            mfb_error_hint(err, "check that --url points at an mfb-server");
        }
    }
    http_response_free(&resp);
    return st;
}

mfb_status validate_target_live(const struct config_target *t, struct validate_report *report)
{
    memset(report, 0, sizeof(*report));
    mfb_status st;
    struct validate_check *c;
    if (t->ca_file != NULL) {
        c = begin(report, "ca-file");
        int fd = open(t->ca_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            st = mfb_error_errno(&c->error, errno, MFB_ERR_NOT_FOUND, "cannot read --ca-file '%s'",
                                 t->ca_file);
            mfb_error_hint(&c->error, "give the CA certificate (PEM) that signed the receiver's "
                                      "certificate");
        } else {
            close(fd);
            st = MFB_OK;
        }
        if (end(report, c, st) != MFB_OK)
            return st;
    }

    c = begin(report, "health");
    struct transfer_target tt;
    config_map_target(t, &tt);
    /* One attempt: a person is waiting, and the job has its own retries. */
    struct transfer_settings settings = {
        .retry = {.base_ms = 200, .max_delay_ms = 1000, .max_attempts = 1, .max_total_ms = 1000},
        .connect_timeout_ms = VALIDATE_TIMEOUT_MS,
        .stall_timeout_ms = VALIDATE_TIMEOUT_MS,
    };
    struct transfer_peer *client = NULL;
    struct transfer_conn *conn = NULL;
    json_t *body = NULL;
    st = transfer_peer_create(&tt, &settings, &client, &c->error);
    if (st == MFB_OK)
        st = transfer_conn_open(client, NULL, &conn, &c->error);
    if (st == MFB_OK)
        st = get_json(conn, PROTO_API_PREFIX "/health", "cannot reach the receiver", &body,
                      &c->error);
    if (st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT)
        mfb_error_hint(&c->error, "check that 'mfb-server serve' runs there and that the port is "
                                  "open; compare --url with the address it listens on");
    if (st == MFB_OK) {
        const char *status = json_string_value(json_object_get(body, "status"));
        const char *version = json_string_value(json_object_get(body, "version"));
        if (status == NULL || strcmp(status, "ok") != 0) {
            st = mfb_error_set(&c->error, MFB_ERR_PROTOCOL,
                               "the receiver at %s is not healthy (status '%s')", t->url,
                               status ? status : "?");
            mfb_error_hint(&c->error, "read the receiver's log (journalctl -u mfb-server)");
        } else {
            snprintf(c->detail, sizeof(c->detail), "mfb-server %s at %s, certificate %s",
                     version ? version : "?", t->url, t->fingerprint ? "pinned" : "verified");
        }
    }
    json_decref(body);
    body = NULL;
    if (end(report, c, st) == MFB_OK) {
        c = begin(report, "token");
        st = get_json(conn, PROTO_API_PREFIX "/whoami", "the receiver refused the token", &body,
                      &c->error);
        if (st == MFB_OK) {
            const char *name = json_string_value(json_object_get(body, "client"));
            snprintf(c->detail, sizeof(c->detail), "accepted for client '%s'", name ? name : "?");
        }
        json_decref(body);
        end(report, c, st);
    }
    transfer_conn_close(conn);
    transfer_peer_free(client);
    return first_failure(report);
}
