/*
 * udpguard.h - which UDP datagrams time-server answers.
 *
 * Anyone can put any source address on a UDP datagram, so every reply of
 * a UDP time service can be aimed at a victim (reflection), or at another
 * UDP service that answers in turn, which starts an endless exchange (the
 * application-layer loop attack, CVE-2024-2169, which names daytime and
 * time).  Careful inetd implementations answer their built-in UDP
 * services only when none of these hold, and so does time-server:
 *
 *  - the source port is 0 or below 1024 (where echo, daytime, chargen,
 *    time, DNS and NTP live: clients use ephemeral ports);
 *  - the source is a broadcast, multicast or unspecified address, which
 *    no client has (IPv4 255.255.255.255, 224.0.0.0/4, 0.0.0.0; IPv6
 *    ff00::/8, ::; and the IPv4-mapped IPv6 forms of the IPv4 ones);
 *  - the datagram is itself a time service's reply (the caller tells,
 *    with tp_looks_like_reply): answering it is how a loop between two
 *    time servers keeps going;
 *  - the source has had its share: a token bucket per source address
 *    (`burst` replies at once, then `rate` per second);
 *  - all sources together have had theirs (`total_rate` per second, with
 *    one second's worth at once), which bounds what a flood of spoofed
 *    addresses can reflect.
 *
 * The buckets are kept in a table of fixed size, so memory does not grow
 * with the number of sources.  An address is hashed (SipHash-2-4,
 * siphash.c) with a key the caller draws at random, so that nobody who
 * does not know it can choose addresses that land in the same place;
 * when the few places an address may take are all in use, the source
 * that is closest to a full bucket (the quietest) is forgotten, which
 * costs it nothing it had.
 *
 * The functions do no I/O and read no clock: the caller passes the time,
 * so that tests can run days in microseconds.
 */
#ifndef UDPGUARD_H
#define UDPGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "netbasics.h"

/* Defaults: a real client asks once, and again after a second or more;
 * even a few behind one NAT address are never held back by these. */
#define UG_DEFAULT_BURST 20
#define UG_DEFAULT_RATE 10
#define UG_DEFAULT_TOTAL_RATE 1000
/* Upper bound of every limit. */
#define UG_LIMIT_MAX 1000000

#define UG_TABLE_SIZE 1024   /* sources remembered (a power of two) */
#define UG_PROBE 8           /* places an address may take in the table */
/* A summary line is due this long after the first datagram it counts. */
#define UG_SUMMARY_NS INT64_C(10000000000)

enum ug_verdict {
    UG_ANSWER,            /* answer it */
    UG_DROP_PORT,         /* source port 0..1023 */
    UG_DROP_ADDRESS,      /* broadcast, multicast or unspecified source */
    UG_DROP_REPLY,        /* the datagram is a time service's reply */
    UG_DROP_SOURCE_RATE,  /* over the per-source limit */
    UG_DROP_TOTAL_RATE,   /* over the limit of all replies */
    UG_VERDICTS
};

struct ug_limits {
    uint32_t burst;       /* replies one source may get at once, 1.. */
    uint32_t rate;        /* then per second, 1.. */
    uint32_t total_rate;  /* replies per second to all sources, 1.. */
};

struct ug_entry {
    uint8_t addr[16];     /* IPv6, or IPv4 as IPv4-mapped IPv6 */
    uint8_t used;
    int64_t tat;          /* when its bucket is full again (see ug_check) */
};

struct udpguard {
    struct ug_limits lim;
    uint64_t key[2];                      /* the hash key */
    struct ug_entry table[UG_TABLE_SIZE];
    int64_t total_tat;                    /* the bucket of all replies */
    /* Since the last summary (or ug_init): */
    uint64_t count[UG_VERDICTS];
    int64_t period_start_ns;
    int64_t first_drop_ns;                /* -1: nothing dropped */
    uint64_t evictions;                   /* sources forgotten, ever */
};

/* Limits (a 0 is taken as 1) and key; everything else starts empty.
 * now_ns: the time on the caller's monotonic clock. */
void ug_init(struct udpguard *g, const struct ug_limits *lim,
             const uint64_t key[2], int64_t now_ns);

/* The rules that depend on the source alone (port and address): UG_ANSWER,
 * UG_DROP_PORT or UG_DROP_ADDRESS.  A source that is not IPv4 or IPv6 (a
 * Unix datagram socket passed by socket activation) cannot be spoofed from
 * the network and passes. */
enum ug_verdict ug_source_verdict(const nb_addr *from);

/* Whether to answer a datagram from `from` that arrived at now_ns;
 * is_reply: the caller found it to be a time service's reply.  The
 * verdict is counted, and an answer takes a token from the source's
 * bucket and from the total one.  Non-IP sources share no bucket: only
 * the total limit applies to them. */
enum ug_verdict ug_check(struct udpguard *g, const nb_addr *from, int is_reply,
                         int64_t now_ns);

/* When the next summary line is due (on the same clock), or -1 when
 * nothing was dropped since the last one. */
int64_t ug_summary_due(const struct udpguard *g);

/* Writes one line (no newline) counting what happened since the last
 * summary, "UDP, last 10.0 s: 985 not answered (...), 20 answered", and
 * starts counting again.  Returns 0 and writes "" when nothing was
 * dropped (the counts are then kept). */
int ug_summary(struct udpguard *g, int64_t now_ns, char *buf, size_t size);

/* Parses "BURST/RATE" (each 1..UG_LIMIT_MAX) into lim->burst, lim->rate;
 * 0, or -1 with lim untouched. */
int ug_parse_source_limit(const char *s, struct ug_limits *lim);
/* Parses a count per second 1..UG_LIMIT_MAX; 0, or -1 with *out
 * untouched. */
int ug_parse_rate(const char *s, uint32_t *out);

#endif
