/*
 * job_compat_test.c - src/job/compat: version strings from the server, from
 * `mariadbd --version` / `mysqld --version` and from a manifest, and the
 * flavour and release rules with their exact messages.
 */
#include "unit.h"

#include <string.h>

#include "job/restore/compat.h"

static struct server_identity id_of(const char *version)
{
    struct server_identity id;
    assert_true(compat_parse_version(version, &id));
    return id;
}

static void test_parse_version(void **state)
{
    struct server_identity id = id_of("10.11.6-MariaDB-0+deb12u1-log");
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MARIADB);
    assert_int_equal(id.major, 10);
    assert_int_equal(id.minor, 11);
    assert_int_equal(id.patch, 6);
    assert_string_equal(id.version, "10.11.6-MariaDB-0+deb12u1-log");
    id = id_of("8.0.36");
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MYSQL);
    assert_int_equal(id.major, 8);
    assert_int_equal(id.minor, 0);
    id = id_of("8.4");
    assert_int_equal(id.minor, 4);
    assert_int_equal(id.patch, 0);
    char buf[64];
    assert_string_equal(compat_describe(&id, buf, sizeof(buf)), "MySQL 8.4.0");
    assert_false(compat_parse_version("", &id));
    assert_false(compat_parse_version("MariaDB", &id));
    assert_false(compat_parse_version("10", &id));
    assert_false(compat_parse_version(NULL, &id));
}

static void test_parse_version_output(void **state)
{
    struct server_identity id;
    assert_true(compat_parse_version_output(
        "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)\n",
        &id));
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MARIADB);
    assert_int_equal(id.minor, 11);
    assert_true(compat_parse_version_output(
        "/usr/sbin/mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)\n", &id));
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MYSQL);
    assert_int_equal(id.major, 8);
    /* MariaDB's mysqld name still says MariaDB in the version */
    assert_true(compat_parse_version_output("mysqld  Ver 10.6.12-MariaDB-0ubuntu0.22.04.1 for "
                                            "debian-linux-gnu on x86_64 (Ubuntu 22.04)",
                                            &id));
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MARIADB);
    assert_false(compat_parse_version_output("Version: unknown", &id));
    assert_false(compat_parse_version_output("", &id));
}

static void test_from_metadata(void **state)
{
    struct server_identity id;
    struct mfb_error err = {0};
    json_t *m = json_pack("{s:s, s:s}", "flavour", "mysql", "version", "8.0.36-log");
    assert_int_equal(compat_from_metadata(m, &id, NULL), MFB_OK);
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MYSQL);
    json_decref(m);
    /* the flavour field wins over the version's wording */
    m = json_pack("{s:s, s:s}", "flavour", "mariadb", "version", "10.11.2");
    assert_int_equal(compat_from_metadata(m, &id, NULL), MFB_OK);
    assert_int_equal(id.flavour, MYSQL_FLAVOUR_MARIADB);
    json_decref(m);
    m = json_pack("{s:s}", "version", "10.11.2");
    assert_int_equal(compat_from_metadata(m, &id, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message,
                        "the backup's manifest does not record the server's flavour and version");
    json_decref(m);
    assert_int_equal(compat_from_metadata(NULL, &id, NULL), MFB_ERR_NOT_FOUND);
    mfb_error_clear(&err);
    m = json_pack("{s:s, s:s}", "flavour", "percona", "version", "8.0.1");
    assert_int_equal(compat_from_metadata(m, &id, &err), MFB_ERR_INVALID);
    assert_string_equal(err.message, "the backup's manifest names an unknown server flavour "
                                     "'percona'");
    json_decref(m);
}

static void test_check(void **state)
{
    struct server_identity maria1011 = id_of("10.11.6-MariaDB"),
                           maria106 = id_of("10.6.12-MariaDB"),
                           maria1011b = id_of("10.11.19-MariaDB"),
                           maria114 = id_of("11.4.2-MariaDB"), mysql80 = id_of("8.0.36");
    struct mfb_error err = {0};
    /* same release, any patch level, either way; an older release */
    assert_int_equal(compat_check(&maria1011b, &maria1011, "db", NULL), MFB_OK);
    assert_int_equal(compat_check(&maria1011, &maria1011b, "db", NULL), MFB_OK);
    assert_int_equal(compat_check(&maria106, &maria1011, "db", NULL), MFB_OK);
    assert_int_equal(compat_check(&maria1011, &maria114, "db", NULL), MFB_OK);
    /* another flavour */
    assert_int_equal(compat_check(&mysql80, &maria1011, "db", &err), MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "the backup was made by MySQL 8.0.36 and the server of "
                                     "instance 'db' is MariaDB 10.11.6: a MySQL data directory "
                                     "cannot be restored under MariaDB");
    assert_non_null(strstr(err.hint, "--force"));
    /* a newer release, by minor and by major */
    mfb_error_clear(&err);
    assert_int_equal(compat_check(&maria1011, &maria106, "db", &err), MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "the backup was made by MariaDB 10.11.6, a newer release "
                                     "than the server of instance 'db' (MariaDB 10.6.12): a server "
                                     "cannot read the files of a newer release");
    assert_string_equal(err.hint, "upgrade the server to 10.11 or later first, or restore with "
                                  "--to DIR, or pass --force if you know better");
    assert_int_equal(compat_check(&maria114, &maria1011, "db", NULL), MFB_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_version),
        cmocka_unit_test(test_parse_version_output),
        cmocka_unit_test(test_from_metadata),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
