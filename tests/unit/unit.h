/*
 * unit.h - what every cmocka unit test includes: cmocka needs its
 * prerequisites in this order, so they live here once.
 */
#ifndef MFB_TESTS_UNIT_H
#define MFB_TESTS_UNIT_H

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#endif
