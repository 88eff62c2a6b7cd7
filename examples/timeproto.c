/*
 * timeproto.c - formatting and parsing of the daytime and time protocols.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "timeproto.h"

/* Seconds from 1900-01-01 to 1970-01-01, RFC 868's epoch to Unix's. */
#define RFC868_OFFSET INT64_C(2208988800)
#define ERA_SECONDS (INT64_C(1) << 32)
#define DAY_SECONDS INT64_C(86400)

int tp_protocol_parse(const char *name, enum tp_protocol *out)
{
    if (strcmp(name, "daytime") == 0)
        *out = TP_DAYTIME;
    else if (strcmp(name, "time") == 0)
        *out = TP_TIME;
    else
        return -1;
    return 0;
}

uint32_t tp_rfc868_encode(int64_t unix_seconds)
{
    /* unsigned 64-bit arithmetic, which wraps, then the low 32 bits: no
     * signed overflow even for times near INT64_MAX */
    return (uint32_t)(((uint64_t)unix_seconds + (uint64_t)RFC868_OFFSET) &
                      0xffffffffU);
}

int64_t tp_rfc868_decode(uint32_t value)
{
    int64_t seconds = (int64_t)value - RFC868_OFFSET;

    if (!(value & 0x80000000U))
        seconds += ERA_SECONDS;  /* after 2036-02-07 06:28:16 UTC */
    return seconds;
}

static size_t daytime_reply(const struct timespec *now, char *buf, size_t size)
{
    struct tm tm;
    time_t t = now->tv_sec;
    int n;

    if (localtime_r(&t, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    /* tm_year may be as large as INT_MAX: add 1900 in a wider type */
    n = snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d:%02d.%06ld\r\n",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long)(now->tv_nsec / 1000));
    if (n < 0 || size == 0)
        return 0;  /* size 0: nothing written, not size - 1 = SIZE_MAX */
    return (size_t)n < size ? (size_t)n : size - 1;
}

size_t tp_make_reply(enum tp_protocol proto, const struct timespec *now,
                     char *buf, size_t size)
{
    if (proto == TP_DAYTIME)
        return daytime_reply(now, buf, size);
    if (size < 4)
        return 0;
    {
        uint32_t v = tp_rfc868_encode(now->tv_sec);
        buf[0] = (char)(v >> 24);
        buf[1] = (char)(v >> 16);
        buf[2] = (char)(v >> 8);
        buf[3] = (char)v;
    }
    return 4;
}

int tp_daytime_sanitize(const char *reply, size_t len, char *out, size_t size)
{
    size_t i;

    if (len > 0 && reply[len - 1] == '\n')
        len--;
    if (len > 0 && reply[len - 1] == '\r')
        len--;
    if (len == 0 || size == 0 || len >= size)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)reply[i];
        out[i] = (char)((c < 0x20 || c >= 0x7f) ? '?' : c);
    }
    out[len] = '\0';
    return (int)len;
}

int tp_time_parse(const unsigned char *reply, size_t len, int64_t *unix_seconds)
{
    uint32_t v;

    if (len != 4)
        return -1;
    v = (uint32_t)reply[0] << 24 | (uint32_t)reply[1] << 16 |
        (uint32_t)reply[2] << 8 | (uint32_t)reply[3];
    *unix_seconds = tp_rfc868_decode(v);
    return 0;
}

int tp_looks_like_reply(const void *data, size_t len, int64_t now_unix)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";  /* d: a digit */
    const unsigned char *p = data;
    int64_t t;
    size_t i;

    /* t is within 2^33 s of 1970, so t +- a day cannot overflow */
    if (tp_time_parse(p, len, &t) == 0)
        return now_unix >= t - DAY_SECONDS && now_unix <= t + DAY_SECONDS;
    if (len < sizeof(shape) - 1 || len > TP_REPLY_MAX)
        return 0;
    for (i = 0; i < sizeof(shape) - 1; i++) {
        int digit = p[i] >= '0' && p[i] <= '9';
        if (shape[i] == 'd' ? !digit : p[i] != (unsigned char)shape[i])
            return 0;
    }
    return 1;
}

int tp_format_iso8601(int64_t unix_seconds, char *buf, size_t size)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    long off, hours, minutes;
    char sign;

    if ((int64_t)t != unix_seconds || localtime_r(&t, &tm) == NULL)
        return -1;
    off = tm.tm_gmtoff;
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    hours = off / 3600;
    minutes = off % 3600 / 60;
    /* tm_year may be as large as INT_MAX: add 1900 in a wider type */
    if (snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, sign, hours,
                 minutes) >= (int)size)
        return -1;
    return 0;
}
