/*
 * cmd_fetch.c - `mfb fetch BACKUP_ID OUT`: download a stored backup,
 * resuming a partial OUT.part from an earlier run, verify its SHA-256
 * against the receiver's, and publish it as OUT (never over an existing
 * file). The work is in transfer/downloader.c; this file is options and
 * output.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/transfer_opts.h"
#include "common/cancel.h"
#include "common/log.h"
#include "transfer/downloader.h"

static const struct cli_option options[] = {
    TRANSFER_TARGET_OPTIONS,
    {.name = "json", .type = CLI_FLAG, .help = "print the result as JSON"},
    CLI_OPTIONS_END,
};

static void print_result(const struct cli_args *args, const char *out,
                         const struct download_result *r)
{
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(r->backup.sha256, hex);
    if (cli_flag(args, "json")) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "backup_id", r->backup.backup_id, "path",
                      r->backup.path, "file", out, "size", (json_int_t)r->backup.size, "sha256",
                      hex, "resumed_from", (json_int_t)r->resumed_from);
        transfer_opts_print_json(o);
        return;
    }
    printf("backup_id: %s\nfile: %s\nsize: %" PRIu64 "\nsha256: %s\n", r->backup.backup_id, out,
           r->backup.size, hex);
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    const char *backup_id = args->positional[0];
    const char *out = args->positional[1];
    struct transfer_peer *client = NULL;
    struct cancel_token cancel;
    cancel_token_init(&cancel, NULL);
    struct interrupt_watch watch = {0};
    struct progress_bar bar;
    progress_bar_init(&bar);
    struct transfer_observer observer = progress_bar_observer(&bar);

    mfb_status st = transfer_opts_client(args, &client, NULL, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&watch, &cancel, err);
    if (st == MFB_OK) {
        struct download_config cfg = {.client = client,
                                      .backup_id = backup_id,
                                      .out_path = out,
                                      .cancel = &cancel,
                                      .observers = &observer,
                                      .observer_count = 1};
        struct download_result result;
        st = download_backup(&cfg, &result, err);
        if (st == MFB_OK) {
            log_info("fetch",
                     "backup=%s file=%s size=%" PRIu64 " resumed_from=%" PRIu64 " received=%" PRIu64
                     " retries=%" PRIu64,
                     backup_id, out, result.backup.size, result.resumed_from, result.bytes_received,
                     result.retries);
            print_result(args, out, &result);
        } else if (st == MFB_ERR_CANCELLED || st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT) {
            mfb_error_hint(err, "'%s.part' is kept; run the same command again to continue", out);
        }
    }
    interrupt_watch_stop(&watch);
    transfer_peer_free(client);
    cancel_token_destroy(&cancel);
    return st;
}

const struct cli_command cmd_fetch = {
    .name = "fetch",
    .usage = "BACKUP_ID OUT (--target NAME | --url URL --token-file FILE (--fingerprint SHA256 | "
             "--ca-file FILE))",
    .summary = "download a backup from a receiver, resumably, and verify its SHA-256",
    .options = options,
    .min_args = 2,
    .max_args = 2,
    .run = run,
};
