/*
 * srv_init.c - `mfb-server init`: creates the receiver's catalog, its
 * storage directory and, unless the operator brings a pair, a TLS key and
 * self-signed certificate; prints the fingerprint clients pin.
 *
 * With --storage s3://BUCKET/PREFIX the backups go to an S3-compatible
 * bucket (storage_s3.c): init reads the key and secret from their 0600
 * files (never from the command line), checks that it can write and
 * delete under the prefix, and stores only the files' paths.
 *
 * It refuses to run over an existing catalog: re-initialising could only
 * lose the record of stored backups. Another receiver needs another --db,
 * in a directory of its own when the pair is generated (its names are fixed).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "server/layout.h"
#include "server/server.h"
#include "server/storage.h"
#include "server/tls.h"

static const struct cli_option options[] = {
    {.name = "storage",
     .type = CLI_STRING,
     .metavar = "DIR|s3://BUCKET/PREFIX",
     .help = "directory or S3 bucket that will hold the backups (required)"},
    {.name = "s3-endpoint",
     .type = CLI_STRING,
     .metavar = "URL",
     .help = "the S3 service, http(s)://host[:port] (with s3://)"},
    {.name = "s3-region",
     .type = CLI_STRING,
     .metavar = "REGION",
     .help = "region the requests are signed for",
     .def = "us-east-1"},
    {.name = "s3-key-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "file (mode 0600) holding the S3 access key id"},
    {.name = "s3-secret-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "file (mode 0600) holding the S3 secret access key"},
    {.name = "s3-ca-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "CA certificates for an https endpoint",
     .def_doc = "the system's"},
    {.name = "s3-path-style",
     .type = CLI_FLAG,
     .help = "address the bucket in the path, not in the host name"},
    {.name = "staging",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help = "local directory for uploads in progress (with s3://)",
     .def_doc = "staging/ next to the catalog"},
    {.name = "cert",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "use this PEM certificate instead of making one"},
    {.name = "key", .type = CLI_PATH, .metavar = "FILE", .help = "the PEM private key of --cert"},
    {.name = "layout",
     .type = CLI_STRING,
     .metavar = "PATTERN",
     .help = "directory pattern ({client} {instance} {dir} {time:FMT})",
     .def = LAYOUT_DEFAULT},
    {.name = "reserve",
     .type = CLI_STRING,
     .metavar = "SIZE|N%",
     .help = "free space always kept back",
     .def = SERVER_DEFAULT_RESERVE},
    {.name = "max-chunk",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "largest chunk size clients may use",
     .def = "64M"},
    {.name = "upload-expiry",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "abandoned uploads go after",
     .def = "7d"},
    {.name = "json", .type = CLI_FLAG, .help = "print the result as JSON"},
    CLI_OPTIONS_END,
};

static mfb_status absolute(const char *path, char *out, size_t len, struct mfb_error *err)
{
    char *real = realpath(path, NULL);
    if (real == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot resolve '%s'", path);
    snprintf(out, len, "%s", real);
    free(real);
    return MFB_OK;
}

struct s3_settings {
    bool on;
    struct storage_s3_config cfg;
    char staging[PATH_MAX];
};

/* An S3 storage: checks the options, makes the staging directory, and
 * checks that the bucket takes a write and a delete under the prefix
 * before anything is saved. dir is the catalog's directory. */
static mfb_status init_s3(struct cli_args *args, const char *dir, struct s3_settings *s3,
                          struct mfb_error *err)
{
    const char *endpoint = cli_string(args, "s3-endpoint");
    const char *key_file = cli_string(args, "s3-key-file");
    const char *secret_file = cli_string(args, "s3-secret-file");
    const char *ca_file = cli_string(args, "s3-ca-file");
    if (endpoint == NULL || key_file == NULL || secret_file == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE,
                      "--storage s3://... needs --s3-endpoint, --s3-key-file and --s3-secret-file");
        mfb_error_hint(err, "put the access key id and the secret in two files of mode 0600 and "
                            "pass their paths; secrets are never taken on the command line");
        return MFB_ERR_USAGE;
    }
    s3->on = true;
    struct storage_s3_config *c = &s3->cfg;
    snprintf(c->url, sizeof(c->url), "%s", cli_string(args, "storage"));
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
    snprintf(c->region, sizeof(c->region), "%s", cli_string(args, "s3-region"));
    c->path_style = cli_flag(args, "s3-path-style");
    mfb_status st = absolute(key_file, c->key_file, sizeof(c->key_file), err);
    if (st == MFB_OK)
        st = absolute(secret_file, c->secret_file, sizeof(c->secret_file), err);
    if (st == MFB_OK && ca_file)
        st = absolute(ca_file, c->ca_file, sizeof(c->ca_file), err);
    char staging[PATH_MAX];
    if (cli_given(args, "staging"))
        snprintf(staging, sizeof(staging), "%s", cli_string(args, "staging"));
    else
        snprintf(staging, sizeof(staging), "%.4000s/staging", dir);
    if (st == MFB_OK)
        st = fs_mkdir_p(dir, 0700, err);
    if (st == MFB_OK)
        st = storage_init(staging, err);
    if (st == MFB_OK)
        st = absolute(staging, s3->staging, sizeof(s3->staging), err);
    struct storage *store = NULL;
    struct storage_config scfg = {.root = s3->staging, .s3 = c};
    if (st == MFB_OK)
        st = storage_open(&scfg, &store, err);
    if (st == MFB_OK)
        st = storage_probe(store, err);
    storage_close(store);
    return st;
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    char db_path[PATH_MAX], storage[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    struct server_db *db = NULL;
    mfb_status st = srv_db_path(args, db_path, sizeof(db_path), err);
    if (st != MFB_OK)
        return st;
    const char *storage_arg = cli_string(args, "storage");
    const char *cert_arg = cli_string(args, "cert");
    const char *key_arg = cli_string(args, "key");
    const char *layout = cli_given(args, "layout") ? cli_string(args, "layout") : NULL;
    const char *reserve = cli_given(args, "reserve") ? cli_string(args, "reserve") : NULL;
    const char *max_chunk = cli_given(args, "max-chunk") ? cli_string(args, "max-chunk") : NULL;
    const char *expiry =
        cli_given(args, "upload-expiry") ? cli_string(args, "upload-expiry") : NULL;
    if (storage_arg == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "--storage DIR is required");
        mfb_error_hint(err, "usage: mfb-server init --storage DIR|s3://BUCKET/PREFIX [--cert FILE "
                            "--key FILE]");
        return MFB_ERR_USAGE;
    }
    if ((cert_arg == NULL) != (key_arg == NULL)) {
        mfb_error_set(err, MFB_ERR_USAGE, "--cert and --key go together");
        return MFB_ERR_USAGE;
    }
    uint64_t v;
    unsigned pct;
    uint64_t ms;
    st = MFB_OK;
    if (layout)
        st = layout_check(layout, err);
    if (st == MFB_OK && reserve)
        st = server_parse_reserve(reserve, &v, &pct, err);
    if (st == MFB_OK && max_chunk) {
        st = cli_size(args, "max-chunk", &v, err);
        if (st == MFB_OK && !proto_chunk_size_valid(v, 1ULL << 30))
            st = mfb_error_set(err, MFB_ERR_USAGE,
                               "--max-chunk must be a power of two from 1M to 1G");
    }
    if (st == MFB_OK && expiry)
        st = cli_duration_ms(args, "upload-expiry", &ms, err);
    if (st != MFB_OK)
        return st;
    struct stat sb;
    if (stat(db_path, &sb) == 0) {
        mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", db_path);
        mfb_error_hint(err, "init never replaces a file there (it may be the catalog of stored "
                            "backups); use --db PATH for a new receiver");
        return MFB_ERR_EXISTS;
    }
    /* The generated pair goes next to the catalog under fixed names and
     * never replaces one: another receiver's pair there is refused before
     * anything is made. */
    char dir[PATH_MAX];
    if (!fs_dirname(db_path, dir, sizeof(dir)))
        return mfb_error_set(err, MFB_ERR_INVALID, "the path '%s' is too long", db_path);
    if (cert_arg == NULL) {
        snprintf(cert, sizeof(cert), "%.4000s/mfb-server.crt", dir);
        snprintf(key, sizeof(key), "%.4000s/mfb-server.key", dir);
        const char *taken = stat(key, &sb) == 0 ? key : stat(cert, &sb) == 0 ? cert : NULL;
        if (taken != NULL) {
            mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", taken);
            mfb_error_hint(err, "another receiver's TLS pair is there; give the new receiver a "
                                "--db in a directory of its own, or pass --cert FILE --key FILE");
            return MFB_ERR_EXISTS;
        }
    }
    struct s3_settings s3 = {0};
    if (strncmp(storage_arg, "s3://", 5) == 0) {
        st = init_s3(args, dir, &s3, err);
        snprintf(storage, sizeof(storage), "%s", storage_arg);
    } else {
        st = storage_init(storage_arg, err);
        if (st == MFB_OK)
            st = absolute(storage_arg, storage, sizeof(storage), err);
    }
    if (st != MFB_OK)
        return st;
    if (cert_arg) {
        st = tls_check_pair(key_arg, cert_arg, err);
        snprintf(cert, sizeof(cert), "%s", cert_arg);
        snprintf(key, sizeof(key), "%s", key_arg);
    } else {
        st = fs_mkdir_p(dir, 0700, err);
        if (st == MFB_OK)
            st = tls_generate_self_signed(key, cert, err);
    }
    /* The catalog records where the pair is, whatever the working directory. */
    if (st == MFB_OK)
        st = absolute(cert, cert, sizeof(cert), err);
    if (st == MFB_OK)
        st = absolute(key, key, sizeof(key), err);
    char fingerprint[TLS_FINGERPRINT_LEN + 1];
    if (st == MFB_OK)
        st = tls_cert_fingerprint(cert, fingerprint, sizeof(fingerprint), err);
    if (st == MFB_OK)
        st = server_db_open(db_path, true, &db, err);
    const struct {
        const char *key, *value;
    } settings[] = {
        {SETTING_STORAGE, storage},
        {SETTING_CERT, cert},
        {SETTING_KEY, key},
        {SETTING_LAYOUT, layout},
        {SETTING_RESERVE, reserve},
        {SETTING_MAX_CHUNK, max_chunk},
        {SETTING_UPLOAD_EXPIRY, expiry},
        {SETTING_STAGING, s3.on ? s3.staging : NULL},
        {SETTING_S3_ENDPOINT, s3.on ? s3.cfg.endpoint : NULL},
        {SETTING_S3_REGION, s3.on ? s3.cfg.region : NULL},
        {SETTING_S3_KEY_FILE, s3.on ? s3.cfg.key_file : NULL},
        {SETTING_S3_SECRET_FILE, s3.on ? s3.cfg.secret_file : NULL},
        {SETTING_S3_CA_FILE, s3.on && s3.cfg.ca_file[0] ? s3.cfg.ca_file : NULL},
        {SETTING_S3_PATH_STYLE, s3.on ? (s3.cfg.path_style ? "1" : "0") : NULL},
    };
    for (size_t i = 0; st == MFB_OK && i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (settings[i].value)
            st = server_db_setting_set(db, settings[i].key, settings[i].value, err);
    }
    server_db_close(db);
    if (st != MFB_OK)
        return st;
    if (cli_flag(args, "json")) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "database", db_path, "storage", storage,
                              "cert", cert, "key", key, "fingerprint", fingerprint);
        srv_print_json(o);
    } else {
        printf("database:    %s\nstorage:     %s\ncertificate: %s\nkey:         %s\n"
               "fingerprint: %s\n",
               db_path, storage, cert, key, fingerprint);
        fprintf(stderr, "Clients pin the fingerprint (SHA-256 of the certificate). Next: "
                        "'mfb-server client add NAME', then 'mfb-server serve'.\n");
    }
    return MFB_OK;
}

const struct cli_command srv_init = {
    .name = "init",
    .usage = "--storage DIR|s3://BUCKET/PREFIX [--s3-endpoint URL --s3-key-file F "
             "--s3-secret-file F] [--cert FILE --key FILE]",
    .summary = "create the receiver's database, storage and TLS certificate",
    .options = options,
    .max_args = 0,
    .run = run};
