/*
 * cli_tables_test.c - every command's option table is well formed
 * (src/cli/options.h: an option is declared once, with its type, default
 * and range): each default parses with its own type and lies in its range,
 * enum defaults are among the values, names are unique per command. And
 * where a library keeps the same default for callers other than the
 * command line (a new instance's timeouts, the transfer retry policy), the
 * table's default is that one.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "archive/writer.h"
#include "cli/commands.h"
#include "common/parse.h"
#include "job/backup/resume.h"
#include "proto/proto.h"
#include "server/server.h"
#include "store/config_records.h"
#include "transfer/https.h"

/* Every top-level command of both programs (main_mfb.c, main_mfb_server.c). */
static const struct cli_command *const all[] = {
    &cmd_init,    &cmd_instance, &cmd_target, &cmd_alert,     &cmd_backup,
    &cmd_resume,  &cmd_archive,  &cmd_push,   &cmd_fetch,     &cmd_list,
    &cmd_restore, &cmd_logs,     &cmd_report, &cmd_settings,  &cmd_schedule,
    &cmd_daemon,  &cmd_run,      &cmd_jobs,   &cmd_cancel,    &srv_init,
    &srv_client,  &srv_serve,    &srv_list,   &srv_retention, NULL,
};

static int check_tree(const struct cli_command *const *commands, const char *path)
{
    int checked = 0;
    for (const struct cli_command *const *c = commands; c && *c; c++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s %s", path, (*c)->name);
        struct mfb_error err = {0};
        if (cli_option_table_check((*c)->options, &err) != MFB_OK)
            fail_msg("%s: %s", sub, err.message);
        checked++;
        checked += check_tree((*c)->subcommands, sub);
    }
    return checked;
}

static void test_every_table_is_well_formed(void **state)
{
    assert_true(check_tree(all, "") > 30);
    struct mfb_error err = {0};
    assert_int_equal(cli_option_table_check(cli_global_options, &err), MFB_OK);
}

static const char *const colours[] = {"red", "green", NULL};

static void expect_rejected(const struct cli_option *table, const char *what)
{
    struct mfb_error err = {0};
    assert_int_not_equal(cli_option_table_check(table, &err), MFB_OK);
    assert_non_null(strstr(err.message, what));
}

static void test_the_check_finds_bad_tables(void **state)
{
    const struct cli_option twice[] = {
        {.name = "json", .type = CLI_FLAG, .help = "x"},
        {.name = "json", .type = CLI_FLAG, .help = "y"},
        CLI_OPTIONS_END,
    };
    expect_rejected(twice, "declared twice");
    const struct cli_option out_of_range[] = {
        {.name = "n", .type = CLI_UINT, .metavar = "N", .help = "x", .def = "0", .min = "1"},
        CLI_OPTIONS_END,
    };
    expect_rejected(out_of_range, "bad default");
    const struct cli_option not_a_size[] = {
        {.name = "s", .type = CLI_SIZE, .metavar = "SIZE", .help = "x", .def = "MISSING_MACRO"},
        CLI_OPTIONS_END,
    };
    expect_rejected(not_a_size, "bad default");
    const struct cli_option not_a_value[] = {
        {.name = "c",
         .type = CLI_ENUM,
         .metavar = "C",
         .help = "x",
         .def = "blue",
         .values = colours},
        CLI_OPTIONS_END,
    };
    expect_rejected(not_a_value, "is not a value");
    const struct cli_option hides_global[] = {
        {.name = "db", .type = CLI_PATH, .metavar = "PATH", .help = "x"},
        CLI_OPTIONS_END,
    };
    expect_rejected(hides_global, "hides a global option");
    const struct cli_option bad_range[] = {
        {.name = "n", .type = CLI_UINT, .metavar = "N", .help = "x", .min = "9", .max = "1"},
        CLI_OPTIONS_END,
    };
    expect_rejected(bad_range, "bad range");
}

/* The declaration of --name in the command at path ("instance add"). */
static const struct cli_option *option_at(const char *path, const char *name)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    const struct cli_command *const *level = all;
    const struct cli_command *cmd = NULL;
    for (char *save = NULL, *word = strtok_r(buf, " ", &save); word;
         word = strtok_r(NULL, " ", &save)) {
        cmd = NULL;
        for (const struct cli_command *const *c = level; c && *c; c++) {
            if (strcmp((*c)->name, word) == 0)
                cmd = *c;
        }
        assert_non_null(cmd);
        level = cmd->subcommands;
    }
    for (const struct cli_option *o = cmd->options; o && o->name; o++) {
        if (strcmp(o->name, name) == 0)
            return o;
    }
    fail_msg("%s has no --%s", path, name);
    return NULL;
}

static uint64_t default_of(const char *path, const char *name)
{
    const struct cli_option *o = option_at(path, name);
    assert_non_null(o->def);
    uint64_t v = 0;
    struct mfb_error err = {0};
    mfb_status st = o->type == CLI_SIZE       ? parse_size(o->def, &v, &err)
                    : o->type == CLI_DURATION ? parse_duration_ms(o->def, &v, &err)
                                              : parse_uint(o->def, 0, UINT64_MAX, &v, &err);
    assert_int_equal(st, MFB_OK);
    return v;
}

static void test_defaults_agree_with_the_libraries(void **state)
{
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-timeout", config_timeout_name((enum config_timeout)i));
        assert_int_equal(default_of("instance add", name), config_timeout_default(i));
    }
    assert_int_equal(default_of("instance add", "port"), CONFIG_DEFAULT_PORT);
    assert_int_equal(default_of("target add", "chunk-size"), CONFIG_DEFAULT_CHUNK_SIZE);
    assert_int_equal(default_of("push", "chunk-size"), CONFIG_DEFAULT_CHUNK_SIZE);
    assert_int_equal(default_of("target add", "connections"), CONFIG_DEFAULT_CONNECTIONS);

    struct transfer_settings t = TRANSFER_SETTINGS_DEFAULT;
    const char *transfer_commands[] = {"push", "fetch", "backup", "resume"};
    for (size_t i = 0; i < sizeof(transfer_commands) / sizeof(*transfer_commands); i++) {
        assert_int_equal(default_of(transfer_commands[i], "retries"), t.retry.max_attempts);
        assert_int_equal(default_of(transfer_commands[i], "retry-max-time"), t.retry.max_total_ms);
        assert_int_equal(default_of(transfer_commands[i], "stall-timeout"), t.stall_timeout_ms);
    }
    struct backoff_policy resume = RESUME_POLICY_DEFAULT;
    assert_int_equal(default_of("resume", "attempts"), resume.max_attempts);
    assert_int_equal(default_of("resume", "max-time"), resume.max_total_ms);

    assert_int_equal(default_of("archive create", "block-size"), ARCHIVE_BLOCK_SIZE_DEFAULT);
    assert_int_equal(default_of("archive create", "level"), ARCHIVE_LEVEL_DEFAULT);
    assert_int_equal(default_of("backup", "level"), ARCHIVE_LEVEL_DEFAULT);
    assert_int_equal(default_of("init", "max-chunk"), PROTO_CHUNK_DEFAULT_MAX);
    assert_int_equal(default_of("init", "upload-expiry"), SERVER_DEFAULT_EXPIRY_S * 1000ULL);
}

/* What --help prints comes from the declaration: the default, range and values. */
static void test_help_shows_the_declaration(void **state)
{
    const struct cli_option o = {.name = "n",
                                 .type = CLI_UINT,
                                 .metavar = "N",
                                 .help = "x",
                                 .def = "4",
                                 .def_doc = "the target's",
                                 .min = "1",
                                 .max = "64"};
    char buf[64];
    assert_string_equal(cli_option_default_text(&o, buf, sizeof(buf)), "the target's, else 4");
    const struct cli_option none = {.name = "m", .type = CLI_STRING, .metavar = "M", .help = "x"};
    assert_null(cli_option_default_text(&none, buf, sizeof(buf)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_table_is_well_formed),
        cmocka_unit_test(test_the_check_finds_bad_tables),
        cmocka_unit_test(test_defaults_agree_with_the_libraries),
        cmocka_unit_test(test_help_shows_the_declaration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
