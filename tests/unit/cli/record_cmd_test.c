/*
 * record_cmd_test.c - the record kinds behind `mfb instance ...`,
 * `mfb target ...` and `mfb schedule ...` are complete (src/cli/record_cmd.h): every subcommand
 * that runs the shared flow names a kind in its data, the same kind for
 * the whole group, with every function of the flow filled in; and each
 * subcommand's option table has the options the flow reads from it
 * (--no-check for add and set of a kind with live checks, and only then;
 * --json for show and list), since reading an
 * option a table lacks is a bug the getters abort on.
 */
#include "unit.h"

#include <string.h>

#include "cli/commands.h"
#include "cli/record_cmd.h"

static bool has_option(const struct cli_command *cmd, const char *name, enum cli_type type)
{
    for (const struct cli_option *o = cmd->options; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->type == type;
    return false;
}

static void check_kind(const struct record_kind *kind, const char *group)
{
    assert_non_null(kind);
    assert_string_equal(kind->group, group);
    assert_true(kind->size > 0);
    assert_true(kind->name_size > 1);
    assert_non_null(kind->init);
    assert_non_null(kind->free);
    assert_non_null(kind->name);
    assert_non_null(kind->get);
    assert_non_null(kind->check_new);
    assert_non_null(kind->add);
    assert_non_null(kind->update);
    assert_non_null(kind->list);
    assert_non_null(kind->list_free);
    assert_non_null(kind->remove);
    assert_non_null(kind->check_record);
    assert_non_null(kind->apply);
    assert_non_null(kind->json);
    assert_non_null(kind->print);
    assert_non_null(kind->row);
    assert_non_null(kind->columns);
    assert_true(kind->column_count > 0 && kind->column_count <= RECORD_MAX_COLUMNS);
    for (size_t c = 0; c < kind->column_count; c++)
        assert_non_null(kind->columns[c]);
}

/* Checks a group's subcommands; returns how many run the shared flow. */
static int check_group(const struct cli_command *group)
{
    const struct record_kind *first = NULL;
    int flows = 0;
    for (const struct cli_command *const *c = group->subcommands; *c; c++) {
        const struct cli_command *cmd = *c;
        mfb_status (*run)(struct cli_args *, struct mfb_error *) = cmd->run;
        bool add_or_set = run == record_cmd_add || run == record_cmd_set;
        bool show_or_list = run == record_cmd_show || run == record_cmd_list;
        if (!add_or_set && !show_or_list && run != record_cmd_remove && run != record_cmd_check)
            continue;
        flows++;
        const struct record_kind *kind = cmd->data;
        check_kind(kind, group->name);
        if (first == NULL)
            first = kind;
        assert_ptr_equal(kind, first);
        /* A kind without live checks has no --no-check, nor a check command. */
        if (add_or_set)
            assert_true(has_option(cmd, "no-check", CLI_FLAG) == (kind->check_live != NULL));
        if (run == record_cmd_check)
            assert_non_null(kind->check_live);
        if (show_or_list)
            assert_true(has_option(cmd, "json", CLI_FLAG));
        /* Every flow but list reads the record's name from the first argument. */
        if (run != record_cmd_list)
            assert_true(cmd->min_args >= 1);
    }
    return flows;
}

static void test_record_kinds_run_the_shared_flow(void **state)
{
    (void)state;
    assert_int_equal(check_group(&cmd_instance), 6);
    assert_int_equal(check_group(&cmd_target), 6);
    assert_int_equal(check_group(&cmd_schedule), 5); /* no check */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_kinds_run_the_shared_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
