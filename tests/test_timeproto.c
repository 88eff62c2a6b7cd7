/*
 * test_timeproto.c - the examples' time formatting past 2038, in-process:
 * tp_make_reply, tp_rfc868_encode/decode, tp_time_parse and
 * tp_format_iso8601 (examples/timeproto.c) given injected times, at
 * 2040-01-01 12:00 UTC, around the 32-bit time_t limit (2038-01-19
 * 03:14:07 UTC) and across the RFC 868 wrap (2036-02-07 06:28:16 UTC).
 *
 * On a 32-bit system this is what proves that configure made time_t 64
 * bits (_TIME_BITS=64) for the examples: libfaketime cannot move the clock
 * of such a build (tests/examples-interop.sh says why), so the times are
 * passed in instead of read from the clock.  TZ is set to UTC for
 * predictable local times, and to a POSIX rule string (no tzdata needed)
 * for a zone with summer time in 2040.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "timeproto.h"

/* 2040-01-01 12:00:00 UTC */
#define T2040 INT64_C(2209032000)
/* 2036-02-07 06:28:16 UTC: the RFC 868 count (seconds since 1900) wraps */
#define RFC868_WRAP INT64_C(2085978496)
/* 2038-01-19 03:14:07 UTC: the last second of a 32-bit time_t */
#define TIME32_MAX INT64_C(2147483647)

static void set_tz(const char *tz)
{
    ck_assert_int_eq(setenv("TZ", tz, 1), 0);
    tzset();
}

static void utc(void)
{
    set_tz("UTC");
}

static struct timespec at(int64_t seconds, long nanoseconds)
{
    struct timespec ts;

    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = nanoseconds;
    return ts;
}

START_TEST(time_t_is_64_bits)
{
    ck_assert_msg(sizeof(time_t) * 8 >= 64,
                  "time_t is %zu bits in this build: configure did not "
                  "enable a 64-bit time_t (_TIME_BITS=64 in config.h)",
                  sizeof(time_t) * 8);
    ck_assert_msg((int64_t)(time_t)T2040 == T2040,
                  "2040-01-01 12:00 UTC does not fit this build's time_t");
}
END_TEST

START_TEST(daytime_in_2040)
{
    struct timespec now = at(T2040, 694993000);
    char buf[TP_REPLY_MAX];
    size_t n;

    n = tp_make_reply(TP_DAYTIME, &now, buf, sizeof(buf));
    ck_assert_uint_eq(n, 28);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "2040-01-01 12:00:00.694993\r\n");
}
END_TEST

START_TEST(rfc868_in_2040)
{
    struct timespec now = at(T2040, 0);
    char buf[TP_REPLY_MAX];
    int64_t back = 0;

    /* (2209032000 + 2208988800) mod 2^32 = 123053504 = 0x0755a5c0 */
    ck_assert_uint_eq(tp_rfc868_encode(T2040), UINT32_C(0x0755a5c0));
    ck_assert_uint_eq(tp_make_reply(TP_TIME, &now, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "\x07\x55\xa5\xc0", 4);
    ck_assert_int_eq(tp_time_parse((const unsigned char *)buf, 4, &back), 0);
    ck_assert_int_eq(back, T2040);
}
END_TEST

START_TEST(iso8601_in_2040)
{
    char buf[64];

    ck_assert_int_eq(tp_format_iso8601(T2040, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2040-01-01T12:00:00+00:00");
}
END_TEST

/* Local time past 2038 follows the zone's rules: Central European summer
 * time (+02:00) on 2040-07-01, winter time (+01:00) on 2040-01-01. */
START_TEST(local_time_in_2040)
{
    struct timespec summer = at(INT64_C(2224756800), 0);  /* 07-01 12:00 UTC */
    char buf[64];
    size_t n;

    set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    ck_assert_int_eq(tp_format_iso8601(T2040, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2040-01-01T13:00:00+01:00");
    ck_assert_int_eq(tp_format_iso8601(INT64_C(2224756800), buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2040-07-01T14:00:00+02:00");
    n = tp_make_reply(TP_DAYTIME, &summer, buf, sizeof(buf));
    buf[n] = '\0';
    ck_assert_str_eq(buf, "2040-07-01 14:00:00.000000\r\n");
}
END_TEST

/* Seconds around the RFC 868 wrap and the 32-bit time_t limit, and the
 * ends of the range tp_rfc868_decode maps a 32-bit count to. */
static const struct {
    int64_t unix_seconds;
    uint32_t rfc868;
    const char *daytime;   /* at .250000 s */
    const char *iso8601;
} instants[] = {
    { RFC868_WRAP - 61, UINT32_C(0xffffffc3),
      "2036-02-07 06:27:15.250000", "2036-02-07T06:27:15+00:00" },
    { RFC868_WRAP - 1, UINT32_C(0xffffffff),
      "2036-02-07 06:28:15.250000", "2036-02-07T06:28:15+00:00" },
    { RFC868_WRAP, UINT32_C(0x00000000),
      "2036-02-07 06:28:16.250000", "2036-02-07T06:28:16+00:00" },
    { RFC868_WRAP + 1, UINT32_C(0x00000001),
      "2036-02-07 06:28:17.250000", "2036-02-07T06:28:17+00:00" },
    { RFC868_WRAP + 600, UINT32_C(0x00000258),
      "2036-02-07 06:38:16.250000", "2036-02-07T06:38:16+00:00" },
    { TIME32_MAX, UINT32_C(0x03aa7e7f),
      "2038-01-19 03:14:07.250000", "2038-01-19T03:14:07+00:00" },
    { TIME32_MAX + 1, UINT32_C(0x03aa7e80),
      "2038-01-19 03:14:08.250000", "2038-01-19T03:14:08+00:00" },
    { T2040, UINT32_C(0x0755a5c0),
      "2040-01-01 12:00:00.250000", "2040-01-01T12:00:00+00:00" },
    /* the decoding range: top bit set is 1968-2036, clear is 2036-2104 */
    { INT64_C(-61505152), UINT32_C(0x80000000),
      "1968-01-20 03:14:08.250000", "1968-01-20T03:14:08+00:00" },
    { INT64_C(4233462143), UINT32_C(0x7fffffff),
      "2104-02-26 09:42:23.250000", "2104-02-26T09:42:23+00:00" },
};

START_TEST(instants_round_trip)
{
    struct timespec now = at(instants[_i].unix_seconds, 250000000);
    unsigned char wire[TP_REPLY_MAX];
    char text[TP_REPLY_MAX], want[TP_REPLY_MAX], iso[64];
    int64_t back = 0;
    size_t n;

    ck_assert_uint_eq(tp_rfc868_encode(instants[_i].unix_seconds),
                      instants[_i].rfc868);
    ck_assert_int_eq(tp_rfc868_decode(instants[_i].rfc868),
                     instants[_i].unix_seconds);

    ck_assert_uint_eq(tp_make_reply(TP_TIME, &now, (char *)wire, sizeof(wire)), 4);
    ck_assert_uint_eq((uint32_t)wire[0] << 24 | (uint32_t)wire[1] << 16 |
                      (uint32_t)wire[2] << 8 | wire[3], instants[_i].rfc868);
    ck_assert_int_eq(tp_time_parse(wire, 4, &back), 0);
    ck_assert_int_eq(back, instants[_i].unix_seconds);

    n = tp_make_reply(TP_DAYTIME, &now, text, sizeof(text));
    ck_assert_uint_lt(n, sizeof(text));
    text[n] = '\0';
    snprintf(want, sizeof(want), "%s\r\n", instants[_i].daytime);
    ck_assert_str_eq(text, want);

    ck_assert_int_eq(tp_format_iso8601(instants[_i].unix_seconds, iso,
                                       sizeof(iso)), 0);
    ck_assert_str_eq(iso, instants[_i].iso8601);
}
END_TEST

static Suite *timeproto_suite(void)
{
    Suite *s = suite_create("timeproto");
    TCase *tc = tcase_create("after 2038");

    tcase_add_checked_fixture(tc, utc, NULL);
    tcase_add_test(tc, time_t_is_64_bits);
    tcase_add_test(tc, daytime_in_2040);
    tcase_add_test(tc, rfc868_in_2040);
    tcase_add_test(tc, iso8601_in_2040);
    tcase_add_test(tc, local_time_in_2040);
    tcase_add_loop_test(tc, instants_round_trip, 0,
                        (int)(sizeof(instants) / sizeof(instants[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(timeproto_suite());
}
