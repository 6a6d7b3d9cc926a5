/*
 * mysql_unit.h - what the mysql_*_test.c files share: a scratch directory
 * under $MFB_TEST_TMP (or /tmp), and its removal, whatever it holds, in a
 * teardown (which cmocka runs even when the test failed).
 */
#ifndef MFB_TESTS_MYSQL_UNIT_H
#define MFB_TESTS_MYSQL_UNIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mysql/command.h"
#include "scratch.h"

#endif
