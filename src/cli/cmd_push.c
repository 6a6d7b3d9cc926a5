/*
 * cmd_push.c - `mfb push FILE`: upload one finished file to a receiver, in
 * parallel checksummed chunks, and have it published as a backup.
 *
 * The command only orchestrates: open or resume the upload (receiver.c),
 * send the file and complete (transfer/upload_resume.h, the flow `mfb
 * resume` shares), print. The upload id is printed before
 * any data moves, so even a `kill -9` leaves the operator what is needed to
 * resume; a push that fails or is interrupted after that prints the exact
 * `mfb push --resume` command. A resume checks every chunk the receiver
 * holds against the local file before trusting it (requirement 5.4).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/transfer_opts.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/validate.h"
#include "store/config_db.h"
#include "transfer/backoff.h"
#include "transfer/receiver_api.h"
#include "transfer/upload_resume.h"

static const struct cli_option options[] = {
    TRANSFER_TARGET_OPTIONS,
    {.name = "instance",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the instance this backup belongs to (new uploads)"},
    {.name = "name",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "name to store the file under",
     .def_doc = "its base name"},
    {.name = "directory",
     .type = CLI_STRING,
     .metavar = "SUBDIR",
     .help = "sub-directory inside this client's namespace",
     .def_doc = "the target's"},
    /* 16M measured as fast as 32M on loopback (docs/transfer.md) with half
     * the memory: (connections + 1) chunks are held at once. */
    {.name = "chunk-size",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "chunk size, a power of two from 1M",
     .def = "16M",
     .def_doc = "the target's"},
    {.name = "connections",
     .short_name = 'j',
     .type = CLI_UINT,
     .metavar = "N",
     .help = "parallel connections",
     .def = CLI_STR(CONFIG_DEFAULT_CONNECTIONS),
     .def_doc = "the target's",
     .min = "1",
     .max = CLI_STR(VALIDATE_CONNECTIONS_MAX)},
    {.name = "resume",
     .type = CLI_STRING,
     .metavar = "UPLOAD_ID",
     .help = "continue an interrupted upload"},
    {.name = "json", .type = CLI_FLAG, .help = "print the result as JSON"},
    CLI_OPTIONS_END,
};

struct push {
    struct cli_args *args;
    const char *file;
    int fd;
    uint64_t size;
    uint64_t chunk_size;
    uint64_t connections;
    struct transfer_peer *client;
    struct transfer_opts_stored stored; /* from --target */
    struct transfer_conn *conn;
    struct upload_state state;
    bool resuming;
    bool opened; /* an upload id exists on the receiver */
};

static mfb_status open_file(struct push *p, struct mfb_error *err)
{
    p->fd = open(p->file, O_RDONLY | O_CLOEXEC);
    if (p->fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", p->file);
    struct stat sb;
    if (fstat(p->fd, &sb) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", p->file);
    if (!S_ISREG(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not a regular file", p->file);
    p->size = (uint64_t)sb.st_size;
    return MFB_OK;
}

static mfb_status open_upload(struct push *p, struct mfb_error *err)
{
    const char *resume = cli_string(p->args, "resume");
    if (resume) {
        p->resuming = true;
        mfb_status st = receiver_upload_get(p->conn, resume, &p->state, err);
        if (st != MFB_OK)
            return st;
        p->opened = true;
        if (cli_given(p->args, "chunk-size") && p->state.chunk_size != p->chunk_size)
            log_warn("resume", "upload=%s chunk_size=%" PRIu64 " note=using_the_upload's", resume,
                     p->state.chunk_size);
        p->chunk_size = p->state.chunk_size;
        return MFB_OK;
    }
    const char *instance = cli_string(p->args, "instance");
    if (instance == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "no instance given");
        mfb_error_hint(err, "pass --instance NAME, the MySQL instance this file is a backup of");
        return MFB_ERR_USAGE;
    }
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", p->file);
    struct upload_request req = {
        .instance = instance,
        .name = cli_given(p->args, "name") ? cli_string(p->args, "name") : basename(base),
        .directory = cli_given(p->args, "directory") ? cli_string(p->args, "directory")
                                                     : p->stored.directory,
        .size_known = true,
        .size = p->size,
        .chunk_size = p->chunk_size,
    };
    mfb_status st = receiver_upload_create(p->conn, &req, &p->state, err);
    if (st == MFB_OK) {
        p->opened = true;
        p->chunk_size = p->state.chunk_size;
    }
    return st;
}

static void print_resume_command(const struct push *p)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s push", p->args->program);
    transfer_opts_append_word(cmd, sizeof(cmd), "--resume");
    transfer_opts_append_word(cmd, sizeof(cmd), p->state.upload_id);
    char abs[PATH_MAX];
    transfer_opts_append_word(cmd, sizeof(cmd), realpath(p->file, abs) ? abs : p->file);
    transfer_opts_append(p->args, cmd, sizeof(cmd));
    const char *connections = cli_string(p->args, "connections");
    if (cli_given(p->args, "connections")) {
        transfer_opts_append_word(cmd, sizeof(cmd), "--connections");
        transfer_opts_append_word(cmd, sizeof(cmd), connections);
    }
    fprintf(stderr, "upload %s is incomplete; the receiver keeps what it has. Resume with:\n  %s\n",
            p->state.upload_id, cmd);
}

static void print_result(const struct push *p, const struct backup_info *b,
                         const struct upload_result *r)
{
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(b->sha256, hex);
    if (cli_flag(p->args, "json")) {
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "backup_id", b->backup_id, "upload_id",
            p->state.upload_id, "name", b->name, "path", b->path, "size", (json_int_t)b->size,
            "sha256", hex, "chunks_sent", (json_int_t)r->chunks_sent, "chunks_verified",
            (json_int_t)r->chunks_verified, "chunks_replaced", (json_int_t)r->chunks_replaced);
        transfer_opts_print_json(o);
        return;
    }
    printf("backup_id: %s\npath: %s\nsize: %" PRIu64 "\nsha256: %s\n", b->backup_id, b->path,
           b->size, hex);
}

/* What the receiver holds, logged before any data moves. */
static void on_plan(void *ctx, const struct resume_plan *plan)
{
    struct push *p = ctx;
    char chunk_text[32];
    log_info("push",
             "upload=%s file=%s size=%" PRIu64 " chunks=%" PRIu64 " chunk_size=%s "
             "connections=%" PRIu64 " resume=%s held=%" PRIu64,
             p->state.upload_id, p->file, p->size, proto_chunk_count(p->size, p->chunk_size),
             format_size(p->chunk_size, chunk_text, sizeof(chunk_text)), p->connections,
             p->resuming ? "yes" : "no", plan ? plan->held_count : 0);
    if (plan == NULL)
        log_info("push", "upload=%s note=already_complete backup=%s", p->state.upload_id,
                 p->state.backup_id);
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct push p = {.args = args, .file = args->positional[0], .fd = -1};
    struct cancel_token cancel;
    cancel_token_init(&cancel, NULL);
    struct interrupt_watch watch = {0};
    struct progress_bar bar;
    progress_bar_init(&bar);
    struct transfer_observer observer = progress_bar_observer(&bar);

    /* A stored target's chunk size, connections and directory apply unless
     * given here. */
    mfb_status st = transfer_opts_client(args, &p.client, &p.stored, err);
    if (st == MFB_OK)
        st = cli_size(args, "chunk-size", &p.chunk_size, err);
    if (st == MFB_OK && p.stored.found && !cli_given(args, "chunk-size"))
        p.chunk_size = p.stored.chunk_size;
    if (st == MFB_OK)
        st = plan_check_chunk_size(p.chunk_size, err);
    if (st == MFB_OK)
        st = cli_uint(args, "connections", &p.connections, err);
    if (st == MFB_OK && p.stored.found && !cli_given(args, "connections"))
        p.connections = p.stored.connections;
    if (st == MFB_OK)
        st = open_file(&p, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&watch, &cancel, err);
    if (st == MFB_OK)
        st = transfer_conn_open(p.client, &cancel, &p.conn, err);
    if (st == MFB_OK)
        st = open_upload(&p, err);
    if (st != MFB_OK)
        goto done;

    fprintf(stderr, "upload id: %s\n", p.state.upload_id);
    struct upload_resume_config uc = {
        .client = p.client,
        .conn = p.conn,
        .state = &p.state,
        .resuming = p.resuming,
        .fd = p.fd,
        .path = p.file,
        .size = p.size,
        .connections = (size_t)p.connections,
        .cancel = &cancel,
        .observers = &observer,
        .observer_count = 1,
        .on_plan = on_plan,
        .ctx = &p,
    };
    uint64_t started = clock_now_ms();
    struct upload_result result;
    struct backup_info backup;
    st = upload_resume_run(&uc, &result, &backup, err);
    if (st != MFB_OK)
        goto done;
    uint64_t ms = clock_now_ms() - started;
    if (!p.state.complete)
        log_info("push",
                 "upload=%s backup=%s bytes=%" PRIu64 " chunks_sent=%" PRIu64
                 " chunks_verified=%" PRIu64 " chunks_replaced=%" PRIu64 " retries=%" PRIu64
                 " elapsed_ms=%" PRIu64 " mb_per_s=%.1f",
                 p.state.upload_id, backup.backup_id, p.size, result.chunks_sent,
                 result.chunks_verified, result.chunks_replaced, result.retries, ms,
                 ms ? (double)result.bytes_sent / 1e3 / (double)ms : 0.0);
    print_result(&p, &backup, &result);
done:
    interrupt_watch_stop(&watch);
    if (st != MFB_OK && p.opened && st != MFB_ERR_NOT_FOUND) {
        int sig = atomic_load(&watch.signo);
        if (st == MFB_ERR_CANCELLED && sig != 0) {
            mfb_error_clear(err);
            mfb_error_set(err, st, "upload %s interrupted by %s", p.state.upload_id,
                          sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        print_resume_command(&p);
        mfb_error_hint(err, "run the 'push --resume' command above to continue");
    }
    upload_state_free(&p.state);
    transfer_conn_close(p.conn);
    transfer_peer_free(p.client);
    transfer_opts_stored_free(&p.stored);
    cancel_token_destroy(&cancel);
    if (p.fd >= 0)
        close(p.fd);
    return st;
}

const struct cli_command cmd_push = {
    .name = "push",
    .usage = "FILE (--target NAME | --url URL --token-file FILE (--fingerprint SHA256 | "
             "--ca-file FILE)) --instance NAME [--resume UPLOAD_ID]",
    .summary = "upload a file to a receiver in resumable, checksummed chunks",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .run = run,
};
