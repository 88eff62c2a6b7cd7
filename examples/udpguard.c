/*
 * udpguard.c - which UDP datagrams time-server answers (see udpguard.h).
 *
 * Each bucket is kept as one time, GCRA style: `tat`, the moment the
 * bucket would be full again.  A source may be answered when tat lies at
 * most (burst - 1) intervals ahead of now; each answer moves tat one
 * interval (1 s / rate) further.  An idle source has tat <= now, which is
 * a full bucket, so forgetting it loses nothing.  Integers only: times in
 * nanoseconds, no refill arithmetic to round.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "udpguard.h"

#define NS_PER_S INT64_C(1000000000)

/* ------------------------------------------------------ the source rules */

/* The source as 16 bytes of IPv6 (IPv4 as ::ffff:a.b.c.d) and its port;
 * -1 for a family other than IPv4 and IPv6. */
static int source_of(const nb_addr *a, uint8_t addr[16], int *port)
{
    if (a->ss.ss_family == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &sin->sin_addr, 4);
        *port = ntohs(sin->sin_port);
        return 0;
    }
    if (a->ss.ss_family == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        memcpy(addr, &sin6->sin6_addr, 16);
        *port = ntohs(sin6->sin6_port);
        return 0;
    }
    return -1;
}

static int all_zero(const uint8_t *p, size_t n)
{
    while (n > 0)
        if (p[--n] != 0)
            return 0;
    return 1;
}

/* Broadcast, multicast or unspecified: no client sends from there, and a
 * reply would go to many hosts, or to this one. */
static int is_group_or_unspecified(const uint8_t addr[16])
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff };

    if (memcmp(addr, mapped, 12) == 0) {
        const uint8_t *v4 = addr + 12;
        return (v4[0] & 0xf0) == 0xe0 ||                 /* 224.0.0.0/4 */
               (v4[0] & v4[1] & v4[2] & v4[3]) == 0xff ||  /* 255.255.255.255 */
               all_zero(v4, 4);                           /* 0.0.0.0 */
    }
    return addr[0] == 0xff || all_zero(addr, 16);        /* ff00::/8, :: */
}

static enum ug_verdict rules(const uint8_t addr[16], int port)
{
    if (is_group_or_unspecified(addr))
        return UG_DROP_ADDRESS;
    if (port < 1024)
        return UG_DROP_PORT;
    return UG_ANSWER;
}

enum ug_verdict ug_source_verdict(const nb_addr *from)
{
    uint8_t addr[16];
    int port;

    return source_of(from, addr, &port) == 0 ? rules(addr, port) : UG_ANSWER;
}

/* --------------------------------------------------------- the buckets */

void ug_init(struct udpguard *g, const struct ug_limits *lim,
             const uint64_t key[2], int64_t now_ns)
{
    memset(g, 0, sizeof(*g));
    g->lim = *lim;
    /* 0 would divide by zero below: the least limit is 1 */
    if (g->lim.burst == 0)
        g->lim.burst = 1;
    if (g->lim.rate == 0)
        g->lim.rate = 1;
    if (g->lim.total_rate == 0)
        g->lim.total_rate = 1;
    g->key[0] = key[0];
    g->key[1] = key[1];
    g->total_tat = now_ns;
    g->period_start_ns = now_ns;
    g->first_drop_ns = -1;
}

/* The entry of addr: the one it has, a free one, or the one of the
 * quietest source among the UG_PROBE places it may take. */
static struct ug_entry *entry_of(struct udpguard *g, const uint8_t addr[16],
                                 int64_t now_ns)
{
    size_t start = (size_t)(siphash24_16(g->key, addr) & (UG_TABLE_SIZE - 1));
    struct ug_entry *free_one = NULL, *quietest = NULL;
    size_t i;

    for (i = 0; i < UG_PROBE; i++) {
        struct ug_entry *e = &g->table[(start + i) & (UG_TABLE_SIZE - 1)];
        if (!e->used) {
            if (free_one == NULL)
                free_one = e;
        } else if (memcmp(e->addr, addr, 16) == 0) {
            return e;
        } else if (quietest == NULL || e->tat < quietest->tat) {
            quietest = e;
        }
    }
    if (free_one == NULL) {
        free_one = quietest;
        g->evictions++;
    }
    memcpy(free_one->addr, addr, 16);
    free_one->used = 1;
    free_one->tat = now_ns;  /* a full bucket */
    return free_one;
}

/* The bucket's tat after one more answer, or -1 when it is empty. */
static int64_t take(int64_t tat, uint32_t burst, uint32_t rate, int64_t now_ns)
{
    int64_t interval = NS_PER_S / rate;

    if (tat < now_ns)
        tat = now_ns;
    if (tat - now_ns > (int64_t)(burst - 1) * interval)
        return -1;
    return tat + interval;
}

/* A token from the source's bucket (when it has one) and from the total
 * one; both are taken, or neither. */
static enum ug_verdict take_tokens(struct udpguard *g, const uint8_t *addr,
                                   int64_t now_ns)
{
    struct ug_entry *e = addr != NULL ? entry_of(g, addr, now_ns) : NULL;
    int64_t source_tat = 0, total_tat;

    if (e != NULL) {
        source_tat = take(e->tat, g->lim.burst, g->lim.rate, now_ns);
        if (source_tat < 0)
            return UG_DROP_SOURCE_RATE;
    }
    /* one second's worth at once */
    total_tat = take(g->total_tat, g->lim.total_rate, g->lim.total_rate,
                     now_ns);
    if (total_tat < 0)
        return UG_DROP_TOTAL_RATE;
    if (e != NULL)
        e->tat = source_tat;
    g->total_tat = total_tat;
    return UG_ANSWER;
}

enum ug_verdict ug_check(struct udpguard *g, const nb_addr *from, int is_reply,
                         int64_t now_ns)
{
    uint8_t addr[16];
    int port, ip = source_of(from, addr, &port) == 0;
    enum ug_verdict v = ip ? rules(addr, port) : UG_ANSWER;

    if (v == UG_ANSWER && is_reply)
        v = UG_DROP_REPLY;
    if (v == UG_ANSWER)
        v = take_tokens(g, ip ? addr : NULL, now_ns);
    g->count[v]++;
    if (v != UG_ANSWER && g->first_drop_ns < 0)
        g->first_drop_ns = now_ns;
    return v;
}

/* ----------------------------------------------------------- reporting */

int64_t ug_summary_due(const struct udpguard *g)
{
    return g->first_drop_ns < 0 ? -1 : g->first_drop_ns + UG_SUMMARY_NS;
}

/* snprintf at *used in buf, which stays NUL-terminated when it is full. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used >= size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < size ? *used + (size_t)n : size;
}

static const char *const reason[UG_VERDICTS] = {
    [UG_DROP_PORT] = "from a port below 1024",
    [UG_DROP_ADDRESS] = "from a broadcast, multicast or unspecified address",
    [UG_DROP_REPLY] = "that looked like a time reply",
    [UG_DROP_SOURCE_RATE] = "over the per-source limit",
    [UG_DROP_TOTAL_RATE] = "over the total limit",
};

int ug_summary(struct udpguard *g, int64_t now_ns, char *buf, size_t size)
{
    int64_t tenths = (now_ns - g->period_start_ns) / (NS_PER_S / 10);
    uint64_t dropped = 0;
    const char *sep = "";
    size_t used = 0;
    int v;

    if (size > 0)
        buf[0] = '\0';
    if (g->first_drop_ns < 0)
        return 0;
    for (v = UG_ANSWER + 1; v < UG_VERDICTS; v++)
        dropped += g->count[v];
    append(buf, size, &used, "UDP, last %" PRId64 ".%d s: %" PRIu64
           " not answered (", tenths / 10, (int)(tenths % 10), dropped);
    for (v = UG_ANSWER + 1; v < UG_VERDICTS; v++) {
        if (g->count[v] == 0)
            continue;
        append(buf, size, &used, "%s%" PRIu64 " %s", sep, g->count[v],
               reason[v]);
        sep = ", ";
    }
    append(buf, size, &used, "), %" PRIu64 " answered", g->count[UG_ANSWER]);
    memset(g->count, 0, sizeof(g->count));
    g->period_start_ns = now_ns;
    g->first_drop_ns = -1;
    return 1;
}

/* ------------------------------------------------------------- parsing */

/* A decimal number 1..UG_LIMIT_MAX at s, up to `end`; *next after it. */
static int parse_count(const char *s, char end, const char **next,
                       uint32_t *out)
{
    char *stop;
    long n;

    if (*s < '0' || *s > '9')  /* no sign, no space: strtol takes those */
        return -1;
    errno = 0;
    n = strtol(s, &stop, 10);
    if (errno != 0 || *stop != end || n < 1 || n > UG_LIMIT_MAX)
        return -1;
    *next = stop;
    *out = (uint32_t)n;
    return 0;
}

int ug_parse_source_limit(const char *s, struct ug_limits *lim)
{
    uint32_t burst, rate;
    const char *p;

    if (parse_count(s, '/', &p, &burst) != 0 ||
        parse_count(p + 1, '\0', &p, &rate) != 0)
        return -1;
    lim->burst = burst;
    lim->rate = rate;
    return 0;
}

int ug_parse_rate(const char *s, uint32_t *out)
{
    const char *p;

    return parse_count(s, '\0', &p, out);
}
