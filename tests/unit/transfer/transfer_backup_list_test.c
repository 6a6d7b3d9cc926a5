/*
 * transfer_backup_list_test.c - picking a backup from the receiver's list:
 * by id, by name (the newest of equal names), or "latest". The HTTP side is
 * covered by the restore integration tests against a real receiver.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "transfer/backup_list.h"

static void fill(struct backup_entry *e, const char *id, const char *name)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->info.backup_id, sizeof(e->info.backup_id), "%s", id);
    snprintf(e->info.name, sizeof(e->info.name), "%s", name);
}

static void test_find(void **state)
{
    struct backup_entry e[3];
    fill(&e[0], "b_3", "db_3.zip"); /* newest first, as the receiver answers */
    fill(&e[1], "b_2", "db.zip");
    fill(&e[2], "b_1", "db.zip");
    struct backup_list list = {.entries = e, .count = 3};
    assert_ptr_equal(backup_list_find(&list, "latest"), &e[0]);
    assert_ptr_equal(backup_list_find(&list, "b_1"), &e[2]);
    assert_ptr_equal(backup_list_find(&list, "db.zip"), &e[1]);
    assert_ptr_equal(backup_list_find(&list, "db_3.zip"), &e[0]);
    assert_null(backup_list_find(&list, "b_4"));
    struct backup_list empty = {0};
    assert_null(backup_list_find(&empty, "latest"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_find)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
