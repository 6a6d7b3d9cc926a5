/*
 * cmd_archive.c - `mfb archive create|test|extract|list`: the archive
 * engine on its own, for operators and for tests with independent ZIP
 * readers. Each subcommand only turns options into calls to src/archive/
 * and prints one summary line; the work is done there.
 */
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive/extract.h"
#include "archive/file_sink.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/parse.h"

/* ---- create ---- */

static const struct cli_option create_options[] = {
    {.name = "threads",
     .short_name = 't',
     .type = CLI_UINT,
     .metavar = "N",
     .help = "compression threads",
     .def_doc = "the number of cores",
     .min = "1",
     .max = CLI_STR(ARCHIVE_THREADS_MAX)},
    {.name = "level",
     .short_name = 'l',
     .type = CLI_UINT,
     .metavar = "0-9",
     .help = "0 store, 1-3 ISA-L deflate, 4-9 zlib deflate",
     .def = CLI_STR(ARCHIVE_LEVEL_DEFAULT),
     .min = "0",
     .max = "9"},
    {.name = "block-size",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "bytes per compressed block",
     .def = "1M"},
    {.name = "exclude",
     .short_name = 'x',
     .type = CLI_STRING,
     .repeated = true,
     .metavar = "PATTERN",
     .help = "skip paths or names matching this shell pattern"},
    {.name = "no-default-excludes",
     .type = CLI_FLAG,
     .help = "also archive *.sock, *.sock.lock and *.pid files"},
    {.name = "root",
     .type = CLI_STRING,
     .repeated = true,
     .metavar = "NAME=DIR",
     .help = "also archive DIR's contents under NAME/"},
    {.name = "progress", .type = CLI_FLAG, .help = "show progress on standard error"},
    {.name = "metadata",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "a JSON object to record as the manifest's metadata"},
    CLI_OPTIONS_END,
};

/* --metadata FILE: the manifest's "metadata" object (what mfb backup fills
 * with the server's flavour, version and roots). *out is NULL without it. */
static mfb_status read_metadata(const struct cli_args *args, json_t **out, struct mfb_error *err)
{
    *out = NULL;
    const char *path = cli_string(args, "metadata");
    if (path == NULL)
        return MFB_OK;
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (m == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "--metadata '%s': %s", path, jerr.text);
        return MFB_ERR_USAGE;
    }
    if (!json_is_object(m)) {
        json_decref(m);
        mfb_error_set(err, MFB_ERR_USAGE, "--metadata '%s': not a JSON object", path);
        mfb_error_hint(err, "give a file holding one JSON object: {\"key\": ...}");
        return MFB_ERR_USAGE;
    }
    *out = m;
    return MFB_OK;
}

struct progress_state {
    uint64_t last_ms;
    bool shown;
};

static double now_seconds(void)
{
    return (double)clock_now_ms() / 1e3;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_state *p = ctx;
    uint64_t now = clock_now_ms();
    if (p->shown && now - p->last_ms < 200 && done < total)
        return;
    p->last_ms = now;
    p->shown = true;
    char a[32], b[32];
    fprintf(stderr, "\r%s / %s (%.0f%%)   ", format_size(done, a, sizeof(a)),
            format_size(total, b, sizeof(b)), total ? 100.0 * (double)done / (double)total : 100.0);
    fflush(stderr);
}

/* Set by SIGINT/SIGTERM during create: the writer stops cleanly and the
 * temporary file is removed. A signal handler can only reach a global. */
static atomic_bool interrupted;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

/* Routes SIGINT and SIGTERM to the cancel flag; restores the old handlers on undo. */
static void catch_signals(bool on, struct sigaction old[2])
{
    if (on) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old[0]);
        sigaction(SIGTERM, &sa, &old[1]);
    } else {
        sigaction(SIGINT, &old[0], NULL);
        sigaction(SIGTERM, &old[1], NULL);
    }
}

/* SOURCE_DATE_EPOCH, the reproducible-builds convention, fixes the manifest's time. */
static int64_t creation_time(void)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end == '\0' && v > 0)
            return (int64_t)v;
    }
    return 0;
}

static mfb_status run_create(struct cli_args *args, struct mfb_error *err)
{
    const char *dir = args->positional[0];
    const char *out = args->positional[1];
    uint64_t threads, level, block;
    mfb_status s = cli_uint(args, "threads", &threads, err);
    if (s == MFB_OK)
        s = cli_uint(args, "level", &level, err);
    if (s == MFB_OK)
        s = cli_size(args, "block-size", &block, err);
    if (s != MFB_OK)
        return s;
    const char *excludes[CLI_MAX_VALUES];
    size_t nexcl = cli_all(args, "exclude", excludes, CLI_MAX_VALUES);
    const char *roots[CLI_MAX_VALUES];
    size_t nroots = cli_all(args, "root", roots, CLI_MAX_VALUES);
    json_t *metadata = NULL;
    s = read_metadata(args, &metadata, err);
    if (s != MFB_OK)
        return s;
    struct progress_state progress = {0};
    struct archive_writer_options o = {
        .threads = (unsigned)threads,
        .level = (int)level,
        .block_size = (size_t)block,
        .excludes = excludes,
        .exclude_count = nexcl,
        .no_default_excludes = cli_flag(args, "no-default-excludes"),
        .created = creation_time(),
        .progress = cli_flag(args, "progress") ? show_progress : NULL,
        .progress_ctx = &progress,
        .cancel = &interrupted,
    };
    struct file_sink fsink;
    struct archive_sink sink;
    struct archive_writer *w = NULL;
    struct archive_summary sum = {0};
    s = file_sink_open(&fsink, out, &sink, err);
    if (s != MFB_OK) {
        json_decref(metadata);
        return s;
    }
    o.skip_inode = true;
    o.skip_dev = fsink.dev;
    o.skip_ino = fsink.ino;
    s = archive_writer_open(&o, &sink, &w, err);
    if (s == MFB_OK && metadata != NULL)
        archive_writer_set_metadata(w, metadata);
    json_decref(metadata);
    if (s == MFB_OK)
        s = archive_writer_add_tree(w, dir, "", err);
    for (size_t i = 0; i < nroots && s == MFB_OK; i++) {
        const char *eq = strchr(roots[i], '=');
        if (eq == NULL || eq == roots[i] || eq[1] == '\0') {
            s = mfb_error_set(err, MFB_ERR_USAGE, "--root: expected NAME=DIR, got '%s'", roots[i]);
            break;
        }
        char name[PATH_MAX];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - roots[i]), roots[i]);
        s = archive_writer_add_tree(w, eq + 1, name, err);
    }
    struct sigaction old_handlers[2];
    catch_signals(true, old_handlers);
    if (s == MFB_OK)
        s = archive_writer_finish(w, &sum, err);
    catch_signals(false, old_handlers);
    if (progress.shown)
        fprintf(stderr, "\n");
    if (s == MFB_OK)
        s = file_sink_publish(&fsink, err);
    archive_writer_free(w);
    file_sink_close(&fsink);
    if (s != MFB_OK)
        return s;
    double secs = sum.seconds > 0 ? sum.seconds : 1e-9;
    printf("created %s: entries=%" PRIu64 " input_bytes=%" PRIu64 " output_bytes=%" PRIu64
           " ratio=%.3f seconds=%.2f mb_per_s=%.1f\n",
           out, sum.entries, sum.input_bytes, sum.output_bytes,
           sum.input_bytes ? (double)sum.output_bytes / (double)sum.input_bytes : 0.0, secs,
           (double)sum.input_bytes / secs / 1e6);
    return MFB_OK;
}

static const struct cli_command archive_create = {
    .name = "create",
    .usage = "DIR OUT.zip",
    .summary = "archive DIR's contents into a new ZIP file, compressing in parallel",
    .options = create_options,
    .min_args = 2,
    .max_args = 2,
    .run = run_create,
};

/* ---- test ---- */

static const struct cli_option no_options[] = {CLI_OPTIONS_END};

static mfb_status run_test(struct cli_args *args, struct mfb_error *err)
{
    const char *path = args->positional[0];
    double start = now_seconds();
    struct archive_reader *r = NULL;
    struct archive_test_summary sum = {0};
    mfb_status s = archive_reader_open(path, &r, err);
    if (s == MFB_OK)
        s = archive_reader_test(r, &sum, err);
    archive_reader_free(r);
    if (s != MFB_OK)
        return s;
    printf("ok %s: entries=%" PRIu64 " bytes=%" PRIu64 " manifest=%s seconds=%.2f\n", path,
           sum.entries, sum.bytes, sum.manifest_checked ? "ok" : "absent", now_seconds() - start);
    return MFB_OK;
}

static const struct cli_command archive_test = {
    .name = "test",
    .usage = "FILE",
    .summary = "check every entry's CRC-32 and sizes, and the manifest",
    .options = no_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_test,
};

/* ---- extract ---- */

static mfb_status run_extract(struct cli_args *args, struct mfb_error *err)
{
    const char *path = args->positional[0];
    const char *dir = args->positional[1];
    struct archive_reader *r = NULL;
    struct archive_extract_summary sum = {0};
    mfb_status s = archive_reader_open(path, &r, err);
    if (s == MFB_OK)
        s = archive_extract(r, dir, NULL, &sum, err);
    archive_reader_free(r);
    if (s != MFB_OK)
        return s;
    printf("extracted %s into %s: entries=%" PRIu64 " bytes=%" PRIu64 "\n", path, dir, sum.entries,
           sum.bytes);
    return MFB_OK;
}

static const struct cli_command archive_extract_cmd = {
    .name = "extract",
    .usage = "FILE DIR",
    .summary = "restore files, directories, symlinks, modes, owners and times into DIR",
    .options = no_options,
    .min_args = 2,
    .max_args = 2,
    .run = run_extract,
};

/* ---- list ---- */

static const struct cli_option list_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print a JSON array"},
    CLI_OPTIONS_END,
};

static mfb_status run_list(struct cli_args *args, struct mfb_error *err)
{
    struct archive_reader *r = NULL;
    mfb_status s = archive_reader_open(args->positional[0], &r, err);
    if (s == MFB_OK)
        s = archive_reader_list(r, stdout, cli_flag(args, "json"), err);
    archive_reader_free(r);
    return s;
}

static const struct cli_command archive_list = {
    .name = "list",
    .usage = "FILE",
    .summary = "show the entries: mode, size, compressed size, time, name",
    .options = list_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_list,
};

static const struct cli_command *const archive_subcommands[] = {
    &archive_create, &archive_test, &archive_extract_cmd, &archive_list, NULL,
};

const struct cli_command cmd_archive = {
    .name = "archive",
    .summary = "create, test, extract or list ZIP archives",
    .subcommands = archive_subcommands,
};
