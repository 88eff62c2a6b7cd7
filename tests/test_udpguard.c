/*
 * test_udpguard.c - examples/udpguard.c, the rules time-server follows
 * before it answers a UDP datagram: the source rules (ports, broadcast,
 * multicast, unspecified, IPv4-mapped forms), the per-source and total
 * token buckets, the fixed table and what it forgets, the keyed hash, the
 * summary line, the option parsers; the hash (siphash.c); and
 * tp_looks_like_reply, which tells
 * a time reply from a request.  Every time is passed in: no test sleeps.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "helpers.h"
#include "siphash.h"
#include "timeproto.h"
#include "udpguard.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
/* Some moment on a monotonic clock: not 0, so that nothing passes by
 * comparing with an empty table's zeros. */
#define T0 (INT64_C(86400) * S)

static const uint64_t key1[2] = { UINT64_C(0x0706050403020100),
                                  UINT64_C(0x0f0e0d0c0b0a0908) };
static const uint64_t key2[2] = { UINT64_C(0x243f6a8885a308d3),
                                  UINT64_C(0x13198a2e03707344) };

/* An IPv4 or IPv6 address with a port: "127.0.0.1", "::1"... */
static nb_addr ip(const char *text, int port)
{
    nb_addr a;

    memset(&a, 0, sizeof(a));
    if (strchr(text, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
        a.len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
        a.len = sizeof(*sin6);
    }
    return a;
}

/* The n-th of many distinct IPv4 sources, 10.0.0.0/8 and up. */
static nb_addr nth_source(uint32_t n)
{
    nb_addr a = ip("10.0.0.0", 40000);
    struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

    sin->sin_addr.s_addr = htonl(0x0a000000u + n);
    return a;
}

static void init(struct udpguard *g, uint32_t burst, uint32_t rate,
                 uint32_t total)
{
    struct ug_limits lim = { burst, rate, total };

    ug_init(g, &lim, key1, T0);
}

/* How many of n datagrams from `from`, all at time t, are answered. */
static int answered(struct udpguard *g, const nb_addr *from, int n, int64_t t)
{
    int i, yes = 0;

    for (i = 0; i < n; i++)
        yes += ug_check(g, from, 0, t) == UG_ANSWER;
    return yes;
}

/* ------------------------------------------------------------ the hash */

/* The reference vector of SipHash-2-4 (key 00..0f, message 00..0f). */
START_TEST(hash_is_siphash_2_4)
{
    uint8_t msg[16];
    int i;

    for (i = 0; i < 16; i++)
        msg[i] = (uint8_t)i;
    ck_assert_uint_eq(siphash24_16(key1, msg), UINT64_C(0x3f2acc7f57c29bdb));
}
END_TEST

/* Addresses that share a place in the table under one key are spread out
 * under another: whoever does not know the key cannot aim. */
START_TEST(collisions_depend_on_the_key)
{
    uint8_t addr[16] = { 0 };
    uint64_t want = UINT64_MAX;
    size_t places[UG_TABLE_SIZE] = { 0 };
    int found = 0, distinct = 0, i;
    uint32_t n;

    for (n = 0; found < 32; n++) {
        memcpy(addr + 12, &n, 4);
        if (want == UINT64_MAX)
            want = siphash24_16(key1, addr) & (UG_TABLE_SIZE - 1);
        if ((siphash24_16(key1, addr) & (UG_TABLE_SIZE - 1)) != want)
            continue;
        found++;
        places[siphash24_16(key2, addr) & (UG_TABLE_SIZE - 1)]++;
    }
    for (i = 0; i < UG_TABLE_SIZE; i++)
        distinct += places[i] > 0;
    ck_assert_int_ge(distinct, 24);  /* 32 random draws of 1024: ~31.5 */
}
END_TEST

/* ---------------------------------------------------------- the source */

static const struct {
    const char *addr;
    int port;
    enum ug_verdict want;
} sources[] = {
    { "127.0.0.1", 40000, UG_ANSWER },
    { "127.0.0.1", 1024, UG_ANSWER },
    { "127.0.0.1", 65535, UG_ANSWER },
    { "127.0.0.1", 1023, UG_DROP_PORT },
    { "127.0.0.1", 0, UG_DROP_PORT },
    { "127.0.0.1", 7, UG_DROP_PORT },     /* echo */
    { "127.0.0.1", 13, UG_DROP_PORT },    /* daytime */
    { "127.0.0.1", 19, UG_DROP_PORT },    /* chargen */
    { "127.0.0.1", 37, UG_DROP_PORT },    /* time */
    { "127.0.0.1", 53, UG_DROP_PORT },    /* DNS */
    { "127.0.0.1", 123, UG_DROP_PORT },   /* NTP */
    { "192.0.2.255", 40000, UG_ANSWER },  /* a subnet's broadcast: unknowable */
    { "255.255.255.255", 40000, UG_DROP_ADDRESS },
    { "224.0.0.1", 40000, UG_DROP_ADDRESS },
    { "239.255.255.250", 40000, UG_DROP_ADDRESS },
    { "223.255.255.255", 40000, UG_ANSWER },
    { "240.0.0.1", 40000, UG_ANSWER },
    { "0.0.0.0", 40000, UG_DROP_ADDRESS },
    { "255.255.255.255", 53, UG_DROP_ADDRESS },  /* the address is named */
    { "::1", 40000, UG_ANSWER },
    { "::1", 123, UG_DROP_PORT },
    { "::1", 0, UG_DROP_PORT },
    { "2001:db8::1", 1024, UG_ANSWER },
    { "fe80::1", 40000, UG_ANSWER },
    { "ff02::1", 40000, UG_DROP_ADDRESS },
    { "ff05::1:3", 40000, UG_DROP_ADDRESS },
    { "fe00::1", 40000, UG_ANSWER },
    { "::", 40000, UG_DROP_ADDRESS },
    { "::ffff:127.0.0.1", 40000, UG_ANSWER },
    { "::ffff:127.0.0.1", 53, UG_DROP_PORT },
    { "::ffff:255.255.255.255", 40000, UG_DROP_ADDRESS },
    { "::ffff:224.0.0.251", 40000, UG_DROP_ADDRESS },
    { "::ffff:0.0.0.0", 40000, UG_DROP_ADDRESS },
    { "::ffff:192.0.2.255", 40000, UG_ANSWER },
    { "::255.255.255.255", 40000, UG_ANSWER },   /* not IPv4-mapped */
};

START_TEST(source_rules)
{
    nb_addr a = ip(sources[_i].addr, sources[_i].port);
    struct udpguard *g = malloc(sizeof(*g));

    ck_assert_ptr_nonnull(g);
    ck_assert_msg(ug_source_verdict(&a) == sources[_i].want,
                  "%s port %d: verdict %d, want %d", sources[_i].addr,
                  sources[_i].port, ug_source_verdict(&a), sources[_i].want);
    /* ug_check applies the same rules */
    init(g, 20, 10, 1000);
    ck_assert_int_eq(ug_check(g, &a, 0, T0), sources[_i].want);
    free(g);
}
END_TEST

/* A Unix datagram socket (socket activation can pass one) has no port
 * and no address to spoof; only the total limit applies. */
START_TEST(unix_sources_share_the_total_limit)
{
    static struct udpguard g;
    nb_addr a;

    memset(&a, 0, sizeof(a));
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    ck_assert_int_eq(ug_source_verdict(&a), UG_ANSWER);
    init(&g, 1, 1, 5);
    ck_assert_int_eq(answered(&g, &a, 100, T0), 5);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0), UG_DROP_TOTAL_RATE);
}
END_TEST

/* --------------------------------------------------------- the buckets */

START_TEST(burst_then_rate)
{
    static struct udpguard g;
    nb_addr a = ip("192.0.2.1", 40000);

    init(&g, 20, 10, 1000);
    ck_assert_int_eq(answered(&g, &a, 20, T0), 20);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0), UG_DROP_SOURCE_RATE);
    /* one token every 100 ms */
    ck_assert_int_eq(answered(&g, &a, 5, T0 + 99 * MS), 0);
    ck_assert_int_eq(answered(&g, &a, 5, T0 + 100 * MS), 1);
    ck_assert_int_eq(answered(&g, &a, 5, T0 + 350 * MS), 2);
    /* a full bucket holds the burst, however long the source was quiet */
    ck_assert_int_eq(answered(&g, &a, 100, T0 + 3600 * S), 20);
}
END_TEST

/* A datagram every millisecond for 10 s: the burst, then 10 per second. */
START_TEST(steady_flood_gets_the_rate)
{
    static struct udpguard g;
    nb_addr a = ip("2001:db8::7", 50000);
    int64_t t;
    int yes = 0;

    init(&g, 20, 10, 1000);
    for (t = T0; t < T0 + 10 * S; t += MS)
        yes += ug_check(&g, &a, 0, t) == UG_ANSWER;
    ck_assert_int_eq(yes, 20 + 100 - 1);  /* the last token comes at 10 s */
    ck_assert_uint_eq(g.count[UG_DROP_SOURCE_RATE], 10000 - (20 + 99));
}
END_TEST

/* The bucket belongs to the address: its ports, and its IPv4 and
 * IPv4-mapped IPv6 forms, share one; other addresses have their own. */
START_TEST(one_bucket_per_address)
{
    static struct udpguard g;
    nb_addr a = ip("127.0.0.1", 40000), a2 = ip("127.0.0.1", 40001),
            mapped = ip("::ffff:127.0.0.1", 40002), b = ip("127.0.0.2", 40000),
            v6 = ip("::1", 40000);

    init(&g, 20, 10, 1000);
    ck_assert_int_eq(answered(&g, &a, 10, T0), 10);
    ck_assert_int_eq(answered(&g, &a2, 5, T0), 5);
    ck_assert_int_eq(answered(&g, &mapped, 10, T0), 5);
    ck_assert_int_eq(answered(&g, &b, 1, T0), 1);
    ck_assert_int_eq(answered(&g, &v6, 30, T0), 20);
}
END_TEST

START_TEST(total_limit)
{
    static struct udpguard g;
    uint32_t n;
    int yes = 0;

    init(&g, 1000, 1000, 50);
    for (n = 0; n < 100; n++) {
        nb_addr a = nth_source(n);
        yes += ug_check(&g, &a, 0, T0) == UG_ANSWER;
    }
    ck_assert_int_eq(yes, 50);
    ck_assert_uint_eq(g.count[UG_DROP_TOTAL_RATE], 50);
    /* one more every 20 ms, whoever asks */
    {
        nb_addr a = nth_source(500);
        ck_assert_int_eq(answered(&g, &a, 10, T0 + 19 * MS), 0);
        ck_assert_int_eq(answered(&g, &a, 10, T0 + 20 * MS), 1);
        ck_assert_int_eq(answered(&g, &a, 100, T0 + 1 * S), 49);
    }
}
END_TEST

/* A datagram the total limit drops costs its source nothing. */
START_TEST(total_drop_takes_no_source_token)
{
    static struct udpguard g;
    nb_addr a = ip("192.0.2.1", 40000);

    init(&g, 2, 1, 1);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0), UG_ANSWER);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0 + 1 * MS), UG_DROP_TOTAL_RATE);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0 + 1 * S), UG_ANSWER);
    ck_assert_int_eq(ug_check(&g, &a, 0, T0 + 1 * S), UG_DROP_TOTAL_RATE);
    /* had the drops taken tokens, the source would be empty now */
    ck_assert_int_eq(ug_check(&g, &a, 0, T0 + 2 * S), UG_ANSWER);
}
END_TEST

/* Datagrams dropped by a rule take no token, of the source or the total. */
START_TEST(rule_drops_take_no_token)
{
    static struct udpguard g;
    nb_addr a = ip("192.0.2.1", 40000), low = ip("192.0.2.1", 53);

    init(&g, 3, 1, 3);
    ck_assert_int_eq(answered(&g, &low, 100, T0), 0);
    ck_assert_int_eq(ug_check(&g, &a, 1, T0), UG_DROP_REPLY);
    ck_assert_int_eq(ug_check(&g, &a, 1, T0), UG_DROP_REPLY);
    ck_assert_int_eq(answered(&g, &a, 10, T0), 3);
    ck_assert_uint_eq(g.count[UG_DROP_PORT], 100);
    ck_assert_uint_eq(g.count[UG_DROP_REPLY], 2);
    ck_assert_uint_eq(g.count[UG_ANSWER], 3);
}
END_TEST

START_TEST(limits_of_zero_are_one)
{
    static struct udpguard g;
    struct ug_limits lim = { 0, 0, 0 };
    nb_addr a = ip("192.0.2.1", 40000);

    ug_init(&g, &lim, key1, T0);
    ck_assert_int_eq(answered(&g, &a, 5, T0), 1);
    ck_assert_int_eq(answered(&g, &a, 5, T0 + 1 * S), 1);
}
END_TEST

/* ----------------------------------------------------------- the table */

/* A hundred thousand other sources pass; the table stays the same size,
 * forgets the quiet ones, and keeps the one that used its burst. */
START_TEST(table_forgets_the_quiet_not_the_busy)
{
    static struct udpguard g;
    nb_addr busy = ip("192.0.2.1", 40000);
    uint32_t n;

    init(&g, 20, 10, UG_LIMIT_MAX);
    ck_assert_int_eq(answered(&g, &busy, 20, T0), 20);
    for (n = 0; n < 100000; n++) {
        nb_addr a = nth_source(n);
        /* all before the busy source's next token, at 100 ms */
        ck_assert_int_eq(ug_check(&g, &a, 0, T0 + 1 * MS + n * 500), UG_ANSWER);
    }
    ck_assert_uint_ge(g.evictions, 100000 + 1 - UG_TABLE_SIZE);
    ck_assert_int_eq(ug_check(&g, &busy, 0, T0 + 60 * MS), UG_DROP_SOURCE_RATE);
    ck_assert_uint_eq(sizeof(g.table), UG_TABLE_SIZE * sizeof(g.table[0]));
}
END_TEST

/* A source that was forgotten comes back with a full bucket: which is
 * what it had, since only the quietest are forgotten. */
START_TEST(forgotten_source_starts_full)
{
    static struct udpguard g;
    nb_addr a = ip("192.0.2.1", 40000);
    uint32_t n;

    init(&g, 5, 1, UG_LIMIT_MAX);
    ck_assert_int_eq(answered(&g, &a, 1, T0), 1);
    for (n = 0; n < 20000; n++) {
        nb_addr other = nth_source(n);
        ug_check(&g, &other, 0, T0 + 10 * S);
    }
    ck_assert_uint_gt(g.evictions, 0);
    ck_assert_int_eq(answered(&g, &a, 10, T0 + 10 * S), 5);
}
END_TEST

/* --------------------------------------------------------- the summary */

START_TEST(summary_line)
{
    static struct udpguard g;
    nb_addr a = ip("192.0.2.1", 40000), low = ip("192.0.2.1", 123);
    char line[512];

    init(&g, 2, 1, 1000);
    ck_assert_int_eq(answered(&g, &a, 1, T0), 1);
    ck_assert_int_eq(ug_summary_due(&g), -1);
    ck_assert_int_eq(ug_summary(&g, T0, line, sizeof(line)), 0);
    ck_assert_str_eq(line, "");
    ck_assert_int_eq(answered(&g, &a, 3, T0 + 1 * S), 2);  /* one dropped */
    ck_assert_int_eq(ug_summary_due(&g), T0 + 1 * S + UG_SUMMARY_NS);
    ck_assert_int_eq(answered(&g, &low, 2, T0 + 2 * S), 0);
    ck_assert_int_eq(ug_check(&g, &a, 1, T0 + 2 * S), UG_DROP_REPLY);
    ck_assert_int_eq(ug_summary_due(&g), T0 + 1 * S + UG_SUMMARY_NS);
    ck_assert_int_eq(ug_summary(&g, T0 + 11 * S + 250 * MS, line, sizeof(line)), 1);
    ck_assert_str_eq(line, "UDP, last 11.2 s: 4 not answered (2 from a port "
                     "below 1024, 1 that looked like a time reply, 1 over "
                     "the per-source limit), 3 answered");
    /* counted again from there */
    ck_assert_int_eq(ug_summary_due(&g), -1);
    ck_assert_int_eq(answered(&g, &a, 10, T0 + 20 * S), 2);
    ck_assert_int_eq(ug_summary(&g, T0 + 21 * S, line, sizeof(line)), 1);
    ck_assert_str_eq(line, "UDP, last 9.7 s: 8 not answered (8 over the "
                     "per-source limit), 2 answered");
    /* a short buffer gets a cut line, NUL-terminated */
    ck_assert_int_eq(answered(&g, &low, 1, T0 + 22 * S), 0);
    memset(line, 'x', sizeof(line));
    ck_assert_int_eq(ug_summary(&g, T0 + 23 * S, line, 10), 1);
    ck_assert_str_eq(line, "UDP, last");
    ck_assert_int_eq(line[10], 'x');
}
END_TEST

/* ------------------------------------------------------------- parsing */

static const struct {
    const char *text;
    int ok;
    uint32_t burst, rate;
} source_limits[] = {
    { "20/10", 1, 20, 10 },
    { "1/1", 1, 1, 1 },
    { "1000000/1000000", 1, 1000000, 1000000 },
    { "007/8", 1, 7, 8 },
    { "", 0, 0, 0 },
    { "20", 0, 0, 0 },
    { "20/", 0, 0, 0 },
    { "/10", 0, 0, 0 },
    { "0/10", 0, 0, 0 },
    { "20/0", 0, 0, 0 },
    { "-1/5", 0, 0, 0 },
    { "+1/5", 0, 0, 0 },
    { " 1/5", 0, 0, 0 },
    { "1/ 5", 0, 0, 0 },
    { "1/5x", 0, 0, 0 },
    { "1//5", 0, 0, 0 },
    { "1/5/5", 0, 0, 0 },
    { "1000001/1", 0, 0, 0 },
    { "1/1000001", 0, 0, 0 },
    { "99999999999999999999/1", 0, 0, 0 },
};

START_TEST(parses_source_limit)
{
    struct ug_limits lim = { 77, 88, 99 };
    int r = ug_parse_source_limit(source_limits[_i].text, &lim);

    ck_assert_msg(r == (source_limits[_i].ok ? 0 : -1), "'%s': %d",
                  source_limits[_i].text, r);
    ck_assert_uint_eq(lim.burst, source_limits[_i].ok ? source_limits[_i].burst : 77);
    ck_assert_uint_eq(lim.rate, source_limits[_i].ok ? source_limits[_i].rate : 88);
    ck_assert_uint_eq(lim.total_rate, 99);
}
END_TEST

START_TEST(parses_rate)
{
    uint32_t r = 5;

    ck_assert_int_eq(ug_parse_rate("1000", &r), 0);
    ck_assert_uint_eq(r, 1000);
    ck_assert_int_eq(ug_parse_rate("1", &r), 0);
    ck_assert_uint_eq(r, 1);
    ck_assert_int_eq(ug_parse_rate("0", &r), -1);
    ck_assert_int_eq(ug_parse_rate("", &r), -1);
    ck_assert_int_eq(ug_parse_rate("1e3", &r), -1);
    ck_assert_int_eq(ug_parse_rate("-5", &r), -1);
    ck_assert_int_eq(ug_parse_rate("1000001", &r), -1);
    ck_assert_int_eq(ug_parse_rate("10/1", &r), -1);
    ck_assert_uint_eq(r, 1);
}
END_TEST

/* ------------------------------------------------ replies and requests */

/* 2026-11-25 14:01:36 UTC, and 2036-02-07 06:28:00 UTC (16 s before the
 * 32-bit count of RFC 868 wraps). */
#define NOW INT64_C(1795615296)
#define WRAP INT64_C(2085978480)

START_TEST(own_replies_look_like_replies)
{
    struct timespec ts = { (time_t)NOW, 123456000 };
    char buf[TP_REPLY_MAX];
    size_t len;

    len = tp_make_reply(TP_DAYTIME, &ts, buf, sizeof(buf));
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW), 1);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW + 86400 * 365), 1);
    len = tp_make_reply(TP_TIME, &ts, buf, sizeof(buf));
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW), 1);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW + 86400), 1);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW - 86400), 1);
    /* a time more than a day away is not from a live server */
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW + 86401), 0);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, NOW - 86401), 0);
    /* across the 2036 wrap, both ways */
    ts.tv_sec = (time_t)(WRAP + 60);
    len = tp_make_reply(TP_TIME, &ts, buf, sizeof(buf));
    ck_assert_int_eq(tp_looks_like_reply(buf, len, WRAP), 1);
    ts.tv_sec = (time_t)WRAP;
    len = tp_make_reply(TP_TIME, &ts, buf, sizeof(buf));
    ck_assert_int_eq(tp_looks_like_reply(buf, len, WRAP + 60), 1);
    /* extreme clocks do not overflow */
    ck_assert_int_eq(tp_looks_like_reply(buf, len, INT64_MAX), 0);
    ck_assert_int_eq(tp_looks_like_reply(buf, len, INT64_MIN), 0);
}
END_TEST

/* A string literal and its length (which may hold NULs). */
#define D(s) s, sizeof(s) - 1

static const struct {
    const char *data;
    size_t len;
    int want;
} datagrams[] = {
    { D(""), 0 },                                     /* time-client, rdate */
    { D("x"), 0 },                                    /* socat */
    { D("\n"), 0 },                                   /* nc -u, a bare Enter */
    { D("hello\n"), 0 },
    { D("\0\0\0\0"), 0 },                             /* 1900 or 2036 */
    { D("\xff\xff\xff\xff"), 0 },
    { D("2026-11-25 14:01:36\r\n"), 1 },              /* no microseconds */
    { D("2026-11-25 14:01:36"), 1 },
    { D("2026-11-25 14:01:36.123456\r\n"), 1 },
    { D("1999-01-01 00:00:00, 40 bytes in all...."), 1 },
    { D("1999-01-01 00:00:00, 41 bytes in all....."), 0 },
    { D("2026-11-25 14:01:3"), 0 },
    { D("2026-11-25T14:01:36"), 0 },
    { D("2026/11/25 14:01:36"), 0 },
    { D("Wed Nov 25 14:01:36 2026\r\n"), 0 },
    { D("2026-1a-25 14:01:36"), 0 },
};

START_TEST(requests_do_not_look_like_replies)
{
    ck_assert_msg(tp_looks_like_reply(datagrams[_i].data, datagrams[_i].len,
                                      NOW) == datagrams[_i].want,
                  "datagram %d", _i);
}
END_TEST

static Suite *udpguard_suite(void)
{
    Suite *s = suite_create("udpguard");
    TCase *tc = tcase_create("rules");
    TCase *table = tcase_create("table");

    tcase_add_test(tc, hash_is_siphash_2_4);
    tcase_add_test(tc, collisions_depend_on_the_key);
    tcase_add_loop_test(tc, source_rules, 0, sizeof(sources) / sizeof(sources[0]));
    tcase_add_test(tc, unix_sources_share_the_total_limit);
    tcase_add_test(tc, burst_then_rate);
    tcase_add_test(tc, steady_flood_gets_the_rate);
    tcase_add_test(tc, one_bucket_per_address);
    tcase_add_test(tc, total_limit);
    tcase_add_test(tc, total_drop_takes_no_source_token);
    tcase_add_test(tc, rule_drops_take_no_token);
    tcase_add_test(tc, limits_of_zero_are_one);
    tcase_add_test(tc, summary_line);
    tcase_add_loop_test(tc, parses_source_limit, 0,
                        sizeof(source_limits) / sizeof(source_limits[0]));
    tcase_add_test(tc, parses_rate);
    tcase_add_test(tc, own_replies_look_like_replies);
    tcase_add_loop_test(tc, requests_do_not_look_like_replies, 0,
                        sizeof(datagrams) / sizeof(datagrams[0]));
    suite_add_tcase(s, tc);
    /* a hundred thousand checks: more time under valgrind and sanitizers */
    tcase_set_timeout(table, 60);
    tcase_add_test(table, table_forgets_the_quiet_not_the_busy);
    tcase_add_test(table, forgotten_source_starts_full);
    suite_add_tcase(s, table);
    return s;
}

int main(void)
{
    return th_run_suite(udpguard_suite());
}
