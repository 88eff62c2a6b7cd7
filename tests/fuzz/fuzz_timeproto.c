/*
 * fuzz_timeproto.c - examples/timeproto.c: what time-client does with a
 * reply it receives (tp_daytime_sanitize for RFC 867, tp_time_parse and
 * tp_format_iso8601 for RFC 868), the RFC 868 encoding both sides use,
 * and the replies time-server makes (tp_make_reply), on arbitrary input.
 *
 * Input: byte 0 options (bits 0-1: the time zone, see zones[]; bit 2: the
 * time is made of a 32-bit "year" count and a 32-bit remainder, so that
 * the whole range localtime(3) accepts is reached, else it is 8 raw
 * bytes), byte 1 a buffer size (0..255), byte 2 another (for the
 * formatted time, 0..47); then 8 bytes of time and 4 of nanoseconds,
 * which are also, with what follows, the reply given to the parsers.
 * Buffers are heap blocks of exactly their size, so ASan sees any write
 * past them.
 *
 * Checked, from timeproto.h:
 *  - tp_daytime_sanitize removes one trailing CRLF, LF or CR, fails (-1)
 *    on an empty result or one that does not fit, else returns its length
 *    and a NUL-terminated copy whose printable ASCII bytes are kept and
 *    every other byte is '?';
 *  - tp_time_parse takes exactly 4 bytes, big-endian, into a time in the
 *    window 1968-01-20T03:14:08Z .. 2104-02-26T09:42:23Z, which encodes back
 *    to the same 4 bytes;
 *  - tp_rfc868_decode(tp_rfc868_encode(t)) == t for every t in that
 *    window, and for other t gives the time in the window 2^32 s away;
 *  - tp_format_iso8601 writes "YYYY-MM-DDTHH:MM:SS+hh:mm" for the local
 *    time (as localtime_r gives it) when it fits in the buffer, else
 *    fails, and fails for a time localtime_r cannot represent;
 *  - tp_make_reply gives 4 bytes that tp_time_parse reads back, or a
 *    daytime line that fits TP_REPLY_MAX, ends in CRLF and survives
 *    tp_daytime_sanitize unchanged; a short buffer gets a truncated,
 *    NUL-terminated line, and its length is always less than the size.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "timeproto.h"

/* RFC 868 counts from 1900; the window is the 2^32 s from 1968-01-20. */
#define RFC868_OFFSET INT64_C(2208988800)
#define WINDOW_MIN (INT64_C(0x80000000) - RFC868_OFFSET)
#define WINDOW_MAX (WINDOW_MIN + INT64_C(0xffffffff))

/* UTC, Newfoundland (-03:30 with DST), Nepal (+05:45), the largest
 * offset POSIX TZ allows (+24:59). */
static const char *const zones[] = {
    "UTC0", "NST3:30NDT,M3.2.0,M11.1.0", "<+0545>-5:45", "<+2459>-24:59",
};
static int zone = -1;

static void set_zone(int z)
{
    if (z == zone)
        return;
    if (setenv("TZ", zones[z], 1) != 0)
        abort();
    tzset();
    zone = z;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    set_zone(0);
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static char *heap(size_t size)
{
    char *p = malloc(size);

    if (p == NULL && size > 0)
        abort();
    if (size > 0)
        memset(p, 'x', size);
    return p;
}

static void check_sanitize(const unsigned char *reply, size_t len,
                           size_t size)
{
    char *out = heap(size);
    size_t n = len, i;
    int rc;

    /* one trailing CRLF, LF or CR */
    if (n >= 2 && reply[n - 2] == '\r' && reply[n - 1] == '\n')
        n -= 2;
    else if (n >= 1 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
        n -= 1;
    rc = tp_daytime_sanitize((const char *)reply, len, out, size);
    if (n == 0 || n >= size) {
        if (rc != -1)
            FUZZ_FAIL("sanitize of %zu bytes (%zu without the line end) "
                      "into %zu: %d, want -1", len, n, size, rc);
    } else {
        if (rc < 0 || (size_t)rc != n)
            FUZZ_FAIL("sanitize of %zu bytes (%zu without the line end) "
                      "into %zu: %d", len, n, size, rc);
        FUZZ_CHECK(out[n] == '\0');
        for (i = 0; i < n; i++) {
            unsigned char c = reply[i];
            char want = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
            FUZZ_CHECK(out[i] == want);
        }
    }
    free(out);
}

static void check_rfc868(int64_t t)
{
    uint32_t v = tp_rfc868_encode(t);
    int64_t back = tp_rfc868_decode(v);

    FUZZ_CHECK(back >= WINDOW_MIN && back <= WINDOW_MAX);
    if (t >= WINDOW_MIN && t <= WINDOW_MAX) {
        if (back != t)
            FUZZ_FAIL("decode(encode(%lld)) = %lld", (long long)t,
                      (long long)back);
    } else {
        /* 2^32 s from t, in the window: the same low 32 bits */
        FUZZ_CHECK(((uint64_t)back & 0xffffffffu) ==
                   ((uint64_t)t & 0xffffffffu));
    }
    FUZZ_CHECK(tp_rfc868_encode(back) == v);
}

static void check_parse(const unsigned char *reply, size_t len)
{
    int64_t t = 12345;

    if (len != 4) {
        FUZZ_CHECK(tp_time_parse(reply, len, &t) == -1);
        return;
    }
    FUZZ_CHECK(tp_time_parse(reply, len, &t) == 0);
    FUZZ_CHECK(t >= WINDOW_MIN && t <= WINDOW_MAX);
    FUZZ_CHECK(t == tp_rfc868_decode(be32(reply)));
    FUZZ_CHECK(tp_rfc868_encode(t) == be32(reply));
}

/* The ISO 8601 text the header describes, or -1 when localtime_r cannot
 * represent t.  Years are printed from a long long: any int tm_year. */
static int expected_iso(int64_t t, char *want, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    long off;

    if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
        return -1;
    off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
    snprintf(want, size, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
             (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_gmtoff < 0 ? '-' : '+',
             off / 3600, off % 3600 / 60);
    return 0;
}

static void check_iso(int64_t t, size_t size)
{
    char want[96], *buf = heap(size);
    int rc = tp_format_iso8601(t, buf, size);

    if (expected_iso(t, want, sizeof(want)) != 0) {
        if (rc != -1)
            FUZZ_FAIL("iso8601(%lld): %d for a time localtime_r rejects",
                      (long long)t, rc);
    } else if (strlen(want) >= size) {
        if (rc != -1)
            FUZZ_FAIL("iso8601(%lld) into %zu: %d, want -1 (\"%s\" does not "
                      "fit)", (long long)t, size, rc, want);
    } else {
        if (rc != 0)
            FUZZ_FAIL("iso8601(%lld) into %zu: %d, want \"%s\"",
                      (long long)t, size, rc, want);
        FUZZ_CHECK(memchr(buf, '\0', size) != NULL);
        if (strcmp(buf, want) != 0)
            FUZZ_FAIL("iso8601(%lld): \"%s\", want \"%s\"", (long long)t,
                      buf, want);
    }
    free(buf);
}

static void check_make_reply(int64_t t, long nsec, size_t size)
{
    struct timespec now;
    char *buf;
    char full[TP_REPLY_MAX];
    size_t n, full_n;
    int64_t back;

    now.tv_sec = (time_t)t;
    now.tv_nsec = nsec;
    if ((int64_t)now.tv_sec != t)
        return;

    /* RFC 868: 4 bytes, read back by the client */
    buf = heap(size);
    n = tp_make_reply(TP_TIME, &now, buf, size);
    if (size < 4) {
        FUZZ_CHECK(n == 0);
    } else {
        FUZZ_CHECK(n == 4);
        FUZZ_CHECK(be32((unsigned char *)buf) == tp_rfc868_encode(t));
        FUZZ_CHECK(tp_time_parse((unsigned char *)buf, n, &back) == 0);
        if (t >= WINDOW_MIN && t <= WINDOW_MAX)
            FUZZ_CHECK(back == t);
    }
    free(buf);

    /* daytime: a line that fits TP_REPLY_MAX and that the client prints
     * as it is */
    full_n = tp_make_reply(TP_DAYTIME, &now, full, sizeof(full));
    if (full_n >= sizeof(full) || full[full_n] != '\0' || full_n < 2 ||
        full[full_n - 2] != '\r' || full[full_n - 1] != '\n')
        FUZZ_FAIL("daytime reply for %lld.%09ld: %zu bytes \"%.*s\"",
                  (long long)t, nsec, full_n, (int)sizeof(full), full);
    {
        char text[TP_REPLY_MAX];
        FUZZ_CHECK(tp_daytime_sanitize(full, full_n, text, sizeof(text)) ==
                   (int)full_n - 2);
        FUZZ_CHECK(memcmp(text, full, full_n - 2) == 0);
    }
    /* any buffer: a NUL-terminated prefix, shorter than the buffer */
    buf = heap(size);
    n = tp_make_reply(TP_DAYTIME, &now, buf, size);
    if (size == 0) {
        if (n != 0)
            FUZZ_FAIL("daytime reply into 0 bytes: length %zu", n);
    } else {
        if (n >= size)
            FUZZ_FAIL("daytime reply into %zu bytes: length %zu", size, n);
        FUZZ_CHECK(n == (full_n < size - 1 ? full_n : size - 1));
        FUZZ_CHECK(buf[n] == '\0' && memcmp(buf, full, n) == 0);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned opts;
    size_t bufsize, isosize;
    int64_t t;
    long nsec;

    if (size < 3)
        return 0;
    opts = data[0];
    bufsize = data[1];
    isosize = data[2] % 48;
    data += 3;
    size -= 3;
    set_zone((int)(opts & 3));

    /* whatever follows is a reply, for both parsers */
    check_sanitize(data, size, bufsize);
    check_parse(data, size);

    if (size < 12)
        return 0;
    if (opts & 4) {
        /* "years" of 31556952 s (the Gregorian average) plus a remainder:
         * every year an int tm_year can hold is as likely as any other */
        int32_t years = (int32_t)be32(data);
        int32_t rest = (int32_t)be32(data + 4);
        t = (int64_t)years * 31556952 + rest;
    } else {
        t = le64(data);
    }
    nsec = (long)(be32(data + 8) % 1000000000u);

    check_rfc868(t);
    check_iso(t, isosize);
    check_make_reply(t, nsec, bufsize);
    return 0;
}
