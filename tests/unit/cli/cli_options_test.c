/*
 * cli_options_test.c - the table-driven command line (src/cli/options.c):
 * dispatch through groups, flags, values, repeated options, typed getters,
 * global options before and after the command, and the usage errors.
 */
#include "unit.h"

#include <string.h>

#include "cli/options.h"

static const struct cli_option leaf_options[] = {
    {.name = "threads",
     .short_name = 't',
     .type = CLI_UINT,
     .metavar = "N",
     .help = "threads",
     .def = "2",
     .min = "1",
     .max = "64"},
    {.name = "size", .type = CLI_SIZE, .metavar = "SIZE", .help = "a size", .def = "0"},
    {.name = "exclude", .type = CLI_STRING, .repeated = true, .metavar = "PATTERN", .help = "skip"},
    {.name = "json", .type = CLI_FLAG, .help = "json"},
    CLI_OPTIONS_END,
};

/* What the last run saw, for the assertions. */
static struct {
    int runs;
    uint64_t threads;
    uint64_t size;
    size_t excludes;
    const char *first_exclude;
    bool json;
    int positional;
    const char *db;
} seen;

static mfb_status run_leaf(struct cli_args *args, struct mfb_error *err)
{
    seen.runs++;
    mfb_status st = cli_uint(args, "threads", &seen.threads, err);
    if (st == MFB_OK)
        st = cli_size(args, "size", &seen.size, err);
    const char *values[4];
    seen.excludes = cli_all(args, "exclude", values, 4);
    seen.first_exclude = seen.excludes ? values[0] : NULL;
    seen.json = cli_flag(args, "json");
    seen.positional = args->positional_count;
    seen.db = args->db_path;
    return st;
}

static const struct cli_command leaf = {
    .name = "make",
    .usage = "IN OUT",
    .summary = "a leaf",
    .options = leaf_options,
    .min_args = 2,
    .max_args = 2,
    .run = run_leaf,
};
static const struct cli_command *const group_list[] = {&leaf, NULL};
static const struct cli_command group = {
    .name = "thing", .summary = "a group", .subcommands = group_list};
static const struct cli_command *const top[] = {&group, NULL};

static int run_cli(int argc, const char **argv)
{
    memset(&seen, 0, sizeof(seen));
    return cli_main("prog", "about", top, argc, (char **)argv);
}

static void test_values_flags_and_repeats(void **state)
{
    const char *argv[] = {
        "prog", "thing",           "make", "-t", "4", "--size=64M", "--exclude", "*.sock", "--json",
        "a",    "--exclude=*.pid", "b"};
    assert_int_equal(run_cli(12, argv), 0);
    assert_int_equal(seen.runs, 1);
    assert_int_equal(seen.threads, 4);
    assert_int_equal(seen.size, 64ULL << 20);
    assert_int_equal(seen.excludes, 2);
    assert_string_equal(seen.first_exclude, "*.sock");
    assert_true(seen.json);
    assert_int_equal(seen.positional, 2);
}

static void test_defaults_and_double_dash(void **state)
{
    const char *argv[] = {"prog", "thing", "make", "--", "-a", "b"};
    assert_int_equal(run_cli(6, argv), 0);
    assert_int_equal(seen.threads, 2);
    assert_false(seen.json);
    assert_int_equal(seen.positional, 2);
}

static void test_global_options_anywhere(void **state)
{
    const char *before[] = {"prog", "--db", "/x.db", "thing", "make", "a", "b"};
    assert_int_equal(run_cli(7, before), 0);
    assert_string_equal(seen.db, "/x.db");
    const char *after[] = {"prog", "thing", "make", "a", "b", "--db=/y.db"};
    assert_int_equal(run_cli(6, after), 0);
    assert_string_equal(seen.db, "/y.db");
}

static void test_usage_errors_exit_2(void **state)
{
    const char *unknown_cmd[] = {"prog", "nope"};
    assert_int_equal(run_cli(2, unknown_cmd), 2);
    const char *unknown_opt[] = {"prog", "thing", "make", "--bogus", "a", "b"};
    assert_int_equal(run_cli(6, unknown_opt), 2);
    assert_int_equal(seen.runs, 0);
    const char *missing_value[] = {"prog", "thing", "make", "a", "b", "--threads"};
    assert_int_equal(run_cli(6, missing_value), 2);
    const char *wrong_count[] = {"prog", "thing", "make", "a"};
    assert_int_equal(run_cli(4, wrong_count), 2);
    const char *flag_with_value[] = {"prog", "thing", "make", "--json=1", "a", "b"};
    assert_int_equal(run_cli(6, flag_with_value), 2);
    const char *no_command[] = {"prog"};
    assert_int_equal(run_cli(1, no_command), 2);
    const char *bad_level[] = {"prog", "thing", "make", "--log-level", "loud", "a", "b"};
    assert_int_equal(run_cli(7, bad_level), 2);
    assert_int_equal(seen.runs, 0);
}

static void test_bad_values_reach_the_command(void **state)
{
    const char *bad_threads[] = {"prog", "thing", "make", "-t", "0", "a", "b"};
    assert_int_equal(run_cli(7, bad_threads), 2);
    assert_int_equal(seen.runs, 1);
    const char *bad_size[] = {"prog", "thing", "make", "--size", "12Q", "a", "b"};
    assert_int_equal(run_cli(7, bad_size), 2);
}

static void test_help_runs_nothing(void **state)
{
    const char *help[] = {"prog", "thing", "make", "--help"};
    assert_int_equal(run_cli(4, help), 0);
    assert_int_equal(seen.runs, 0);
    const char *group_help[] = {"prog", "thing", "--help"};
    assert_int_equal(run_cli(3, group_help), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_flags_and_repeats),
        cmocka_unit_test(test_defaults_and_double_dash),
        cmocka_unit_test(test_global_options_anywhere),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_bad_values_reach_the_command),
        cmocka_unit_test(test_help_runs_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
