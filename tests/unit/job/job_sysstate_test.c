/*
 * job_sysstate_test.c - tests of src/job/sysstate.c: every field is
 * present, real paths give sizes, missing ones give "?", and a short
 * buffer is cut, not overrun.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "job/sysstate.h"

static void test_describe(void **state)
{
    (void)state;
    char buf[512];
    const char *s = sysstate_describe("/", "/no/such/dir", buf, sizeof(buf));
    assert_ptr_equal(s, buf);
    assert_non_null(strstr(buf, "spool_free="));
    assert_null(strstr(buf, "spool_free=?"));
    assert_non_null(strstr(buf, " datadir_free=? load="));
    assert_non_null(strstr(buf, " mem_available="));
    const char *fds = strstr(buf, " open_fds=");
    assert_non_null(fds);
    int n = -1;
    assert_int_equal(sscanf(fds, " open_fds=%d", &n), 1);
    assert_true(n >= 3); /* stdin, stdout, stderr at least */

    sysstate_describe(NULL, NULL, buf, sizeof(buf));
    assert_int_equal(strncmp(buf, "spool_free=? datadir_free=? ", 28), 0);

    char small[16];
    memset(small, 'x', sizeof(small));
    sysstate_describe("/", "/", small, 12);
    assert_int_equal(strlen(small), 11);
    assert_int_equal(small[12], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
