/*
 * timeproto.h - the two classic time protocols, shared by time-server and
 * time-client (and their fuzz targets): daytime (RFC 867) as
 * "YYYY-MM-DD HH:MM:SS.ffffff\r\n" in local time, the way Python prints
 * datetime.now(), and time (RFC 868): 32-bit big-endian seconds since 1900.
 */
#ifndef TIMEPROTO_H
#define TIMEPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum tp_protocol { TP_DAYTIME, TP_TIME };

/* "daytime" or "time" -> 0 and *out; anything else -> -1. */
int tp_protocol_parse(const char *name, enum tp_protocol *out);

/* Longest reply either protocol produces, with a NUL. */
#define TP_REPLY_MAX 40

/* The reply for the time `now`: daytime text with CRLF, or 4 bytes of
 * RFC 868.  Returns its length (no NUL counted). */
size_t tp_make_reply(enum tp_protocol proto, const struct timespec *now,
                     char *buf, size_t size);

/* RFC 868 seconds for a Unix time, modulo 2^32 (it wraps in 2036). */
uint32_t tp_rfc868_encode(int64_t unix_seconds);
/* The Unix time of an RFC 868 value.  The 32-bit count is ambiguous after
 * 2036; as RFC 4330 section 3 does for NTP, a value with the top bit set is
 * taken in 1968-2036 and one without it in 2036-2104. */
int64_t tp_rfc868_decode(uint32_t value);

/* Makes a received daytime reply printable: one trailing line end (CRLF,
 * LF or a lone CR) is removed, every other byte that is not printable
 * ASCII (control bytes, DEL, bytes >= 0x80) becomes '?'.  Writes a
 * NUL-terminated string of at most size-1 bytes into out; returns -1 when
 * the reply is empty or does not fit, else its printed length. */
int tp_daytime_sanitize(const char *reply, size_t len, char *out, size_t size);

/* Parses a received RFC 868 reply of exactly 4 bytes into a Unix time;
 * -1 for any other length. */
int tp_time_parse(const unsigned char *reply, size_t len, int64_t *unix_seconds);

/* 1 when a received datagram is itself a reply of one of the two
 * protocols rather than a request: 4 bytes that read as an RFC 868 time
 * within a day of now_unix, or at most TP_REPLY_MAX bytes that begin like
 * a daytime reply, "YYYY-MM-DD HH:MM:SS" (as this server and Python's
 * datetime print it).  A server must not answer those: a reply answered
 * by another server is how two of them keep each other busy forever.
 * Clients send empty datagrams, or anything else: 0 for those. */
int tp_looks_like_reply(const void *data, size_t len, int64_t now_unix);

/* ISO 8601 local time with offset, "2026-11-25T14:01:36+01:00".  Returns 0,
 * or -1 when the time cannot be represented. */
int tp_format_iso8601(int64_t unix_seconds, char *buf, size_t size);

#endif
