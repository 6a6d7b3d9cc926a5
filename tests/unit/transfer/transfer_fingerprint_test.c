/*
 * transfer_fingerprint_test.c - the forms of a pinned fingerprint that are
 * accepted, and the ones that are refused with a message.
 */
#include "unit.h"

#include <string.h>

#include "transfer/fingerprint.h"

#define COLONS                                                                                     \
    "34:0E:8B:CA:B3:62:A0:4A:AA:25:31:F4:50:1D:3C:BC:2D:DB:F4:3D:8B:35:74:32:72:2A:A4:4C:83:10:"   \
    "9B:5F"
#define PLAIN "340e8bcab362a04aaa2531f4501d3cbc2ddbf43d8b357432722aa44c83109b5f"

static void test_forms_accepted(void **state)
{
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    assert_int_equal(fingerprint_parse(COLONS, a, NULL), MFB_OK);
    assert_int_equal(a[0], 0x34);
    assert_int_equal(a[31], 0x5f);
    const char *forms[] = {
        PLAIN,
        "340E8BCAB362A04AAA2531F4501D3CBC2DDBF43D8B357432722AA44C83109B5F",
        "  " COLONS "\n",
        "sha256 Fingerprint=" COLONS,
        "SHA256 Fingerprint=" COLONS,
        ("34:0e:8b:ca:b3:62:a0:4a:aa:25:31:f4:50:1d:3c:bc:2d:db:f4:3d:8b:35:74:32:72:2a:a4:4c:83:"
         "10:9b:5f"),
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        memset(b, 0, sizeof(b));
        assert_int_equal(fingerprint_parse(forms[i], b, NULL), MFB_OK);
        assert_memory_equal(a, b, SHA256_LEN);
    }
}

static void test_forms_refused(void **state)
{
    uint8_t fp[SHA256_LEN];
    const char *bad[] = {
        "",
        "34:0E",
        PLAIN "00",                                                         /* 33 bytes */
        "340e8bcab362a04aaa2531f4501d3cbc2ddbf43d8b357432722aa44c83109b5",  /* 63 digits */
        "zz0e8bcab362a04aaa2531f4501d3cbc2ddbf43d8b357432722aa44c83109b5f", /* not hex */
        ("340:E8:BC:AB:36:2A:04:AA:A2:53:1F:45:01:D3:CB:C2:DD:BF:43:D8:B3:57:43:27:22:AA:44:C8:"
         "31:09:B5F"), /* colons in the wrong places */
        "sha1 Fingerprint=" COLONS,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mfb_error err = {0};
        assert_int_equal(fingerprint_parse(bad[i], fp, &err), MFB_ERR_USAGE);
        assert_non_null(strstr(err.message, "invalid certificate fingerprint"));
        assert_non_null(strstr(err.hint, "64 hex digits"));
    }
}

static void test_format_round_trip(void **state)
{
    uint8_t fp[SHA256_LEN], back[SHA256_LEN];
    assert_int_equal(fingerprint_parse(PLAIN, fp, NULL), MFB_OK);
    char text[FINGERPRINT_TEXT_LEN];
    fingerprint_format(fp, text);
    assert_string_equal(text, COLONS);
    assert_int_equal(fingerprint_parse(text, back, NULL), MFB_OK);
    assert_memory_equal(fp, back, SHA256_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_accepted),
        cmocka_unit_test(test_forms_refused),
        cmocka_unit_test(test_format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
