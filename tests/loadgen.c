/*
 * loadgen - a single-threaded epoll load generator for time servers
 * (RFC 867 daytime / RFC 868 time), loopback only.
 *
 * It keeps CONC connections in flight until TOTAL have been made.  Each one
 * is a non-blocking connect, then reads until end of stream; the reply must
 * be one daytime line ("YYYY-MM-DD HH:MM:SS.ffffff\r\n") or 4 bytes of
 * RFC 868.  Every connection ends as completed, or failed for one reason:
 * connect (the connect itself failed), reset (ECONNRESET), timeout (no
 * complete reply within the per-connection timeout), bad_reply, other.
 *
 * Extra load, all optional:
 *   -i N  idle clients: connect before the run starts and hold their
 *         connection open until it ends, never reading.  They are checked
 *         at the end: each must then hold a complete reply.  (A server that
 *         answers and closes, like time-server, is not held up by them:
 *         its reply fits the socket buffers, and the kernel keeps the
 *         half-closed connections.  They load a server that waits for its
 *         clients; for time-server what counts is the accept queue, which
 *         the burst below fills.)
 *   -r N  a burst of N clients that connect all at once when -R AT
 *         connections have been started; as soon as all are established
 *         (or have failed) every one is closed with SO_LINGER {1, 0}, i.e.
 *         reset, in one go: those the server has not accepted yet die in
 *         its accept queue, the others after the server answered them.
 *         Should the queue overflow (more than the listen backlog waiting),
 *         the kernel drops SYNs and clients send them again after a
 *         second: see over_1s below.
 *   -j R  junk UDP datagrams (random bytes, 0..1400 long) at R per second
 *         to the UDP port -u, for as long as the TCP connections run.
 * After the run: one more TCP query, and with -u one proper UDP query,
 * must be answered (the server is still alive and serving).
 *
 * Client ports: the server closes first, so TIME_WAIT is held by the
 * server, not by us (we close after reading end of stream and go through
 * LAST_ACK to CLOSED).  A client port may therefore be reused at once; the
 * server's kernel accepts a new SYN on a 4-tuple it holds in TIME_WAIT
 * when the SYN's timestamp or sequence number is newer (RFC 6191), which
 * Linux's per-address-pair timestamp offsets guarantee.  -S N spreads the
 * clients over the source addresses 127.0.0.1 .. 127.0.0.N
 * (IP_BIND_ADDRESS_NO_PORT, so the port is still picked by connect) for N
 * times as many 4-tuples.
 *
 * Output: one line on stdout, "loadgen: key=value ...": completed, failed,
 * elapsed_s and conn_per_s (of the TOTAL connections), max_ms (the slowest
 * completed one) and over_1s (completed ones slower than a second: their
 * SYN was dropped by a full accept queue and sent again), the failures by
 * reason, then the idle, burst, UDP and final figures.  On stderr, a
 * breakdown of failures by reason and errno.  Exit status 0 when nothing
 * failed, 1 when anything did, 2 for a usage error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "loadgen"
#define REPLY_MAX 64          /* longer replies are bad replies */
#define JUNK_MAX 1400
#define MAX_EVENTS 512
#define UDP_BATCH_MAX 256     /* datagrams sent per loop turn at most */
#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define NO_FD (-1)

enum kind { K_FREE, K_NORMAL, K_IDLE, K_BURST, K_FINAL };
enum state { S_CONNECTING, S_READING, S_HOLDING };
enum reason { R_CONNECT, R_RESET, R_TIMEOUT, R_BAD_REPLY, R_OTHER, R_ABORTED,
              R_COUNT };
enum proto { P_DAYTIME, P_TIME, P_ANY };

static const char *const reason_name[R_COUNT] = {
    "connect", "reset", "timeout", "bad_reply", "other", "aborted"
};
static const char *const kind_name[] = {
    "free", "normal", "idle", "burst", "final"
};

struct conn {
    unsigned char kind;       /* enum kind; K_FREE when the slot is unused */
    unsigned char state;      /* enum state */
    unsigned char len;        /* bytes of reply so far */
    char buf[REPLY_MAX];
    int64_t start_ns;
    int64_t deadline_ns;
    int prev, next;           /* timeout list, by descriptor; NO_FD ends */
    int listed;
};

/* One failure cause, for the breakdown on stderr. */
struct cause {
    int kind, reason, err;
    long count;
};
#define MAX_CAUSES 64

struct options {
    const char *host;
    const char *port;
    const char *udp_port;
    long total;
    int conc;
    int timeout_ms;
    int idle;
    int burst;
    long burst_at;
    double junk_rate;
    int sources;
    int limit_s;
    enum proto proto;
};

struct gen {
    struct options opt;
    int ep;
    struct sockaddr_storage target;
    socklen_t target_len;
    struct sockaddr_storage udp_target;
    struct conn *conns;       /* indexed by descriptor */
    int nconns;
    int head, tail;           /* timeout list, oldest first */
    int64_t now;

    /* normal connections */
    long started, completed, failed, active;
    long by_reason[R_COUNT];
    int64_t first_start, last_end;
    int64_t max_ns;           /* slowest completed connection */
    long slow;                /* completed ones that took over 1 s: a
                                 dropped SYN, retransmitted after 1 s */

    /* idle clients */
    int *idle_fds;
    int idle_open, idle_pending, idle_failed, idle_ok;

    /* the reset burst */
    int *burst_fds;
    int burst_open, burst_pending, burst_connected, burst_failed;
    int burst_started, burst_done;

    /* junk UDP */
    int udp_fd;
    int64_t udp_start;
    long udp_sent, udp_replies, udp_errors;

    /* final checks: -1 not run, 0 failed, 1 ok */
    int final_tcp, final_udp;
    int aborted;
    unsigned source_next;
    uint64_t rng;

    struct cause causes[MAX_CAUSES];
    int ncauses;
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROGRAM " -p PORT [-H HOST] [-n TOTAL] [-c CONC] [-t MS]\n"
        "               [-i IDLE] [-r BURST] [-R AT] [-u UDPPORT] [-j RATE]\n"
        "               [-S NSRC] [-T SECONDS] [-P daytime|time|any]\n"
        "  -H HOST   server address, numeric, loopback only (default 127.0.0.1)\n"
        "  -p PORT   server TCP port\n"
        "  -n TOTAL  connections to make (default 10000)\n"
        "  -c CONC   connections in flight (default 64)\n"
        "  -t MS     per-connection timeout (default 5000)\n"
        "  -i IDLE   clients that connect first and hold their connection,\n"
        "            unread, until the end (default 0)\n"
        "  -r BURST  clients that connect at once, then all reset (default 0)\n"
        "  -R AT     start the burst after AT connections (default TOTAL/2)\n"
        "  -u PORT   server UDP port: junk goes there, and a final UDP query\n"
        "  -j RATE   junk UDP datagrams per second during the run (default 0)\n"
        "  -S NSRC   spread clients over 127.0.0.1..127.0.0.NSRC (default 1)\n"
        "  -T SEC    give up after SEC seconds, failing what is still open;\n"
        "            the final checks then take 1 s more at most (default: no limit)\n"
        "  -P PROTO  expected reply: daytime (default), time, any\n");
}

static void die_usage(const char *what, const char *value)
{
    fprintf(stderr, PROGRAM ": %s '%s'\n", what, value);
    usage(stderr);
    exit(2);
}

static long parse_long(const char *s, long min, long max, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die_usage(what, s);
    return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
    int c;
    int burst_at_set = 0;

    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->total = 10000;
    o->conc = 64;
    o->timeout_ms = 5000;
    o->sources = 1;
    o->proto = P_DAYTIME;
    while ((c = getopt(argc, argv, "H:p:n:c:t:i:r:R:u:j:S:T:P:h")) != -1) {
        switch (c) {
        case 'H': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'n': o->total = parse_long(optarg, 0, LONG_MAX / 2, "invalid count"); break;
        case 'c': o->conc = (int)parse_long(optarg, 1, 1000000, "invalid concurrency"); break;
        case 't': o->timeout_ms = (int)parse_long(optarg, 1, 3600000, "invalid timeout"); break;
        case 'i': o->idle = (int)parse_long(optarg, 0, 1000000, "invalid idle count"); break;
        case 'r': o->burst = (int)parse_long(optarg, 0, 1000000, "invalid burst size"); break;
        case 'R':
            o->burst_at = parse_long(optarg, 0, LONG_MAX / 2, "invalid burst start");
            burst_at_set = 1;
            break;
        case 'u': o->udp_port = optarg; break;
        case 'j':
            o->junk_rate = (double)parse_long(optarg, 0, 10000000, "invalid rate");
            break;
        case 'S': o->sources = (int)parse_long(optarg, 1, 254, "invalid source count"); break;
        case 'T': o->limit_s = (int)parse_long(optarg, 0, 86400, "invalid time limit"); break;
        case 'P':
            if (strcmp(optarg, "daytime") == 0)
                o->proto = P_DAYTIME;
            else if (strcmp(optarg, "time") == 0)
                o->proto = P_TIME;
            else if (strcmp(optarg, "any") == 0)
                o->proto = P_ANY;
            else
                die_usage("invalid protocol", optarg);
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument", argv[optind]);
    if (o->port == NULL)
        die_usage("missing option", "-p PORT");
    if (o->junk_rate > 0 && o->udp_port == NULL)
        die_usage("junk needs a UDP port", "-u");
    if (!burst_at_set || o->burst_at > o->total)
        o->burst_at = o->total / 2;
}

/* ------------------------------------------------------------ helpers */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static uint64_t next_random(struct gen *g)
{
    /* xorshift64 */
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, ss, sizeof(sin));
        return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, ss, sizeof(sin6));
        if (IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) &&
               sin6.sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

/* Numeric host and port only: no name service is ever asked. */
static void resolve(const char *host, const char *port, int socktype,
                    struct sockaddr_storage *out, socklen_t *outlen)
{
    struct addrinfo hints, *ai;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, PROGRAM ": %s port %s: %s (numeric only)\n", host, port,
                gai_strerror(rc));
        exit(2);
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *outlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (!is_loopback(out)) {
        fprintf(stderr, PROGRAM ": %s is not a loopback address; refusing\n", host);
        exit(2);
    }
}

static int is_digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "YYYY-MM-DD HH:MM:SS.ffffff\r\n", with plausible field values. */
static int valid_daytime(const char *s, size_t len)
{
    if (len != 28 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
        s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != '\r' ||
        s[27] != '\n')
        return 0;
    if (!is_digits(s, 4) || !is_digits(s + 5, 2) || !is_digits(s + 8, 2) ||
        !is_digits(s + 11, 2) || !is_digits(s + 14, 2) ||
        !is_digits(s + 17, 2) || !is_digits(s + 20, 6))
        return 0;
    return two(s + 5) >= 1 && two(s + 5) <= 12 && two(s + 8) >= 1 &&
           two(s + 8) <= 31 && two(s + 11) <= 23 && two(s + 14) <= 59 &&
           two(s + 17) <= 60;
}

static int valid_reply(enum proto p, const char *s, size_t len)
{
    switch (p) {
    case P_DAYTIME: return valid_daytime(s, len);
    case P_TIME:    return len == 4;
    default:        return len == 4 || valid_daytime(s, len);
    }
}

static void note_cause(struct gen *g, int kind, int reason, int err)
{
    int i;

    for (i = 0; i < g->ncauses; i++) {
        struct cause *c = &g->causes[i];
        if (c->kind == kind && c->reason == reason && c->err == err) {
            c->count++;
            return;
        }
    }
    if (g->ncauses < MAX_CAUSES) {
        struct cause *c = &g->causes[g->ncauses++];
        c->kind = kind;
        c->reason = reason;
        c->err = err;
        c->count = 1;
    }
}

/* ------------------------------------------------------- timeout list */

static void list_add(struct gen *g, int fd, int64_t deadline)
{
    struct conn *c = &g->conns[fd];

    c->deadline_ns = deadline;
    c->next = NO_FD;
    c->prev = g->tail;
    if (g->tail != NO_FD)
        g->conns[g->tail].next = fd;
    else
        g->head = fd;
    g->tail = fd;
    c->listed = 1;
}

static void list_remove(struct gen *g, int fd)
{
    struct conn *c = &g->conns[fd];

    if (!c->listed)
        return;
    if (c->prev != NO_FD)
        g->conns[c->prev].next = c->next;
    else
        g->head = c->next;
    if (c->next != NO_FD)
        g->conns[c->next].prev = c->prev;
    else
        g->tail = c->prev;
    c->listed = 0;
}

/* ------------------------------------------------------------ sockets */

static void close_reset(int fd)
{
    struct linger lg = { 1, 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Binds to the next of the -S source addresses; the port is left for
 * connect(2) to choose, knowing the destination. */
static int bind_source(struct gen *g, int fd)
{
    struct sockaddr_in sin;
    int one = 1;

    if (g->opt.sources <= 1 || g->target.ss_family != AF_INET)
        return 0;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001u + g->source_next++ % (unsigned)g->opt.sources);
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0)
        return -1;
    return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* A connection of the given kind that failed or timed out. */
static void count_failure(struct gen *g, int kind, int reason, int err)
{
    note_cause(g, kind, reason, err);
    switch (kind) {
    case K_NORMAL:
        g->failed++;
        g->by_reason[reason]++;
        g->last_end = g->now;
        break;
    case K_IDLE:  g->idle_failed++; break;
    case K_BURST: g->burst_failed++; break;
    case K_FINAL: g->final_tcp = 0; break;
    default: break;
    }
}

/* Starts a non-blocking connect.  Returns the descriptor, or -1 after
 * counting the failure. */
static int start_conn(struct gen *g, enum kind kind)
{
    struct epoll_event ev;
    struct conn *c;
    int fd;

    fd = socket(g->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= g->nconns) {
        close(fd);
        fd = -1;
        errno = EMFILE;
    }
    if (fd < 0) {
        count_failure(g, kind, R_CONNECT, errno);
        return -1;
    }
    if (bind_source(g, fd) != 0 ||
        (connect(fd, (struct sockaddr *)&g->target, g->target_len) != 0 &&
         errno != EINPROGRESS)) {
        int e = errno;
        close(fd);
        count_failure(g, kind, R_CONNECT, e);
        return -1;
    }
    c = &g->conns[fd];
    memset(c, 0, sizeof(*c));
    c->kind = (unsigned char)kind;
    c->state = S_CONNECTING;
    c->start_ns = g->now;
    /* Edge-triggered: one wake-up when the connect completes (EPOLLOUT),
     * then one per arrival of data or end of stream. */
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.fd = fd;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror(PROGRAM ": epoll_ctl");
        exit(1);
    }
    list_add(g, fd, g->now + (int64_t)g->opt.timeout_ms * NS_PER_MS);
    return fd;
}

/* Ends a normal or final connection. */
static void finish(struct gen *g, int fd, int reason, int err)
{
    struct conn *c = &g->conns[fd];
    int kind = c->kind;
    int64_t took = g->now - c->start_ns;

    list_remove(g, fd);
    close(fd);
    c->kind = K_FREE;
    if (kind == K_NORMAL)
        g->active--;
    if (reason >= 0) {
        count_failure(g, kind, reason, err);
        return;
    }
    if (kind == K_NORMAL) {
        g->completed++;
        g->last_end = g->now;
        if (took > g->max_ns)
            g->max_ns = took;
        if (took > NS_PER_S)
            g->slow++;
    } else if (kind == K_FINAL) {
        g->final_tcp = 1;
    }
}

/* A held (idle or burst) socket whose connect failed. */
static void drop_held(struct gen *g, int fd, int reason, int err)
{
    struct conn *c = &g->conns[fd];
    int kind = c->kind;

    list_remove(g, fd);
    epoll_ctl(g->ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    c->kind = K_FREE;
    /* its slot in idle_fds/burst_fds stays; the kind tells it is gone */
    if (kind == K_IDLE)
        g->idle_pending--;
    else
        g->burst_pending--;
    count_failure(g, kind, reason, err);
}

static void read_reply(struct gen *g, int fd)
{
    struct conn *c = &g->conns[fd];

    for (;;) {
        char tmp[REPLY_MAX + 1];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n > 0) {
            if ((size_t)n > (size_t)(REPLY_MAX - c->len)) {
                finish(g, fd, R_BAD_REPLY, 0);
                return;
            }
            memcpy(c->buf + c->len, tmp, (size_t)n);
            c->len = (unsigned char)(c->len + n);
        } else if (n == 0) {
            finish(g, fd, valid_reply(g->opt.proto, c->buf, c->len) ? -1
                                                                    : R_BAD_REPLY, 0);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            finish(g, fd, errno == ECONNRESET ? R_RESET : R_OTHER, errno);
            return;
        }
    }
}

static void on_event(struct gen *g, int fd, uint32_t events)
{
    struct conn *c = &g->conns[fd];

    if (c->kind == K_FREE || c->state == S_HOLDING)
        return;
    if (c->state == S_CONNECTING) {
        int e = 0;
        socklen_t len = sizeof(e);
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLIN)))
            return;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
            e = errno;
        if (e != 0) {
            int reason = e == ECONNRESET ? R_RESET : R_CONNECT;
            if (c->kind == K_IDLE || c->kind == K_BURST)
                drop_held(g, fd, reason, e);
            else
                finish(g, fd, reason, e);
            return;
        }
        if (c->kind == K_IDLE || c->kind == K_BURST) {
            /* connected: hold it, without further wake-ups */
            list_remove(g, fd);
            epoll_ctl(g->ep, EPOLL_CTL_DEL, fd, NULL);
            c->state = S_HOLDING;
            if (c->kind == K_IDLE) {
                g->idle_pending--;
            } else {
                g->burst_pending--;
                g->burst_connected++;
            }
            return;
        }
        c->state = S_READING;
    }
    read_reply(g, fd);
}

/* Connections past their deadline. */
static void expire(struct gen *g)
{
    while (g->head != NO_FD && g->conns[g->head].deadline_ns <= g->now) {
        int fd = g->head;
        if (g->conns[fd].kind == K_IDLE || g->conns[fd].kind == K_BURST)
            drop_held(g, fd, R_TIMEOUT, 0);
        else
            finish(g, fd, R_TIMEOUT, 0);
    }
}

/* ------------------------------------------------------------- bursts */

static void start_burst(struct gen *g)
{
    int i;

    g->burst_started = 1;
    for (i = 0; i < g->opt.burst; i++) {
        int fd = start_conn(g, K_BURST);
        if (fd >= 0) {
            g->burst_fds[g->burst_open++] = fd;
            g->burst_pending++;
        }
    }
}

/* Every burst client is connected (or failed): reset them all at once. */
static void reset_burst(struct gen *g)
{
    int i;

    for (i = 0; i < g->burst_open; i++) {
        int fd = g->burst_fds[i];
        if (g->conns[fd].kind == K_BURST) {
            g->conns[fd].kind = K_FREE;
            close_reset(fd);
        }
    }
    g->burst_open = 0;
    g->burst_done = 1;
}

/* ---------------------------------------------------------------- UDP */

static void open_udp(struct gen *g)
{
    struct epoll_event ev;
    socklen_t len;

    resolve(g->opt.host, g->opt.udp_port, SOCK_DGRAM, &g->udp_target, &len);
    g->udp_fd = socket(g->udp_target.ss_family,
                       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->udp_fd < 0 ||
        connect(g->udp_fd, (struct sockaddr *)&g->udp_target, len) != 0) {
        perror(PROGRAM ": UDP socket");
        exit(1);
    }
    ev.events = EPOLLIN;
    ev.data.fd = g->udp_fd;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->udp_fd, &ev) != 0) {
        perror(PROGRAM ": epoll_ctl");
        exit(1);
    }
}

static void drain_udp(struct gen *g)
{
    char buf[2048];

    for (;;) {
        ssize_t n = recv(g->udp_fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n >= 0)
            g->udp_replies++;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        else if (errno != EINTR)
            g->udp_errors++;  /* ECONNREFUSED: nobody on the port */
    }
}

static void send_junk(struct gen *g)
{
    int64_t due;
    int sent = 0;

    if (g->opt.junk_rate <= 0)
        return;
    due = (int64_t)((double)(g->now - g->udp_start) * g->opt.junk_rate / 1e9);
    while (g->udp_sent < due && sent < UDP_BATCH_MAX) {
        unsigned char junk[JUNK_MAX];
        size_t len = (size_t)(next_random(g) % (JUNK_MAX + 1));
        size_t i;
        for (i = 0; i < len; i += 8) {
            uint64_t r = next_random(g);
            memcpy(junk + i, &r, len - i < 8 ? len - i : 8);
        }
        if (send(g->udp_fd, junk, len, MSG_DONTWAIT) < 0 && errno != EAGAIN &&
            errno != EWOULDBLOCK)
            g->udp_errors++;
        g->udp_sent++;  /* counted even when the socket buffer was full */
        sent++;
    }
}

static int64_t next_junk_ns(const struct gen *g)
{
    if (g->opt.junk_rate <= 0)
        return INT64_MAX;
    return g->udp_start + (int64_t)((double)(g->udp_sent + 1) * 1e9 / g->opt.junk_rate);
}

/* ---------------------------------------------------------- main loop */

static int wait_ms(const struct gen *g, int64_t until)
{
    int64_t left;

    if (until == INT64_MAX)
        return -1;
    left = until - g->now;
    if (left <= 0)
        return 0;
    left = (left + NS_PER_MS - 1) / NS_PER_MS;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Gives up: everything still open fails as aborted. */
static void abort_run(struct gen *g)
{
    int fd;

    fprintf(stderr, PROGRAM ": time limit of %d s reached; stopping\n",
            g->opt.limit_s);
    g->aborted = 1;
    for (fd = 0; fd < g->nconns; fd++) {
        struct conn *c = &g->conns[fd];
        if (c->kind == K_NORMAL || c->kind == K_FINAL)
            finish(g, fd, R_ABORTED, 0);
        else if ((c->kind == K_IDLE || c->kind == K_BURST) && c->state == S_CONNECTING)
            drop_held(g, fd, R_ABORTED, 0);
    }
    while (g->started < g->opt.total) {
        g->started++;
        count_failure(g, K_NORMAL, R_ABORTED, 0);
    }
    if (g->burst_started && !g->burst_done)
        reset_burst(g);
}

/* One turn: start what may start, wait, handle what happened.  Returns 0
 * when there is nothing left to do. */
static int turn(struct gen *g, int64_t limit_at)
{
    struct epoll_event events[MAX_EVENTS];
    int64_t until;
    int n, i;

    g->now = now_ns();
    if (g->now >= limit_at && !g->aborted)
        abort_run(g);
    if (!g->aborted && g->idle_pending == 0) {
        while (g->active < g->opt.conc && g->started < g->opt.total) {
            if (g->started == 0)
                g->first_start = g->now;
            g->started++;
            if (start_conn(g, K_NORMAL) >= 0)
                g->active++;
        }
        if (g->opt.burst > 0 && !g->burst_started && g->started >= g->opt.burst_at)
            start_burst(g);
    }
    if (g->burst_started && !g->burst_done && g->burst_pending == 0)
        reset_burst(g);

    if (g->active == 0 && g->head == NO_FD && g->idle_pending == 0 &&
        g->started >= g->opt.total && (g->opt.burst == 0 || g->burst_done))
        return 0;

    if (g->udp_fd >= 0)
        send_junk(g);
    until = g->head != NO_FD ? g->conns[g->head].deadline_ns : INT64_MAX;
    if (g->udp_fd >= 0 && next_junk_ns(g) < until)
        until = next_junk_ns(g);
    if (limit_at < until)
        until = limit_at;
    n = epoll_wait(g->ep, events, MAX_EVENTS, wait_ms(g, until));
    if (n < 0 && errno != EINTR) {
        perror(PROGRAM ": epoll_wait");
        exit(1);
    }
    g->now = now_ns();
    for (i = 0; i < n; i++) {
        if (events[i].data.fd == g->udp_fd)
            drain_udp(g);
        else
            on_event(g, events[i].data.fd, events[i].events);
    }
    expire(g);
    return 1;
}

static void start_idle(struct gen *g)
{
    int i;

    for (i = 0; i < g->opt.idle; i++) {
        int fd = start_conn(g, K_IDLE);
        if (fd >= 0) {
            g->idle_fds[g->idle_open++] = fd;
            g->idle_pending++;
        }
    }
}

/* The idle clients read now: each must find a whole reply, then end of
 * stream, which the server sent long ago.  A short grace period, shared by
 * all of them (none after the time limit), covers a server that was slow
 * to accept. */
static void check_idle(struct gen *g)
{
    int64_t grace_end = now_ns() + (g->aborted ? 0 : 2 * NS_PER_S);
    int i;

    for (i = 0; i < g->idle_open; i++) {
        int fd = g->idle_fds[i];
        struct conn *c = &g->conns[fd];
        int reason = -1, err = 0;
        struct pollfd pfd;

        if (c->kind != K_IDLE)
            continue;
        pfd.fd = fd;
        pfd.events = POLLIN;
        for (;;) {
            ssize_t n;
            g->now = now_ns();
            if (poll(&pfd, 1, wait_ms(g, grace_end)) <= 0) {
                reason = R_TIMEOUT;
                break;
            }
            n = recv(fd, c->buf + c->len, (size_t)(REPLY_MAX - c->len), MSG_DONTWAIT);
            if (n > 0) {
                c->len = (unsigned char)(c->len + n);
                if (c->len == REPLY_MAX) {
                    reason = R_BAD_REPLY;
                    break;
                }
            } else if (n == 0) {
                if (!valid_reply(g->opt.proto, c->buf, c->len))
                    reason = R_BAD_REPLY;
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                err = errno;
                reason = err == ECONNRESET ? R_RESET : R_OTHER;
                break;
            }
        }
        if (reason >= 0)
            count_failure(g, K_IDLE, reason, err);
        else
            g->idle_ok++;
        close(fd);
        c->kind = K_FREE;
    }
    g->idle_open = 0;
}

/* One proper datagram on a fresh socket; up to three tries of a second
 * each (one after the time limit). */
static int check_udp(struct gen *g)
{
    struct sockaddr_storage to;
    socklen_t len;
    int fd, tries, ok = 0;

    resolve(g->opt.host, g->opt.udp_port, SOCK_DGRAM, &to, &len);
    fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, len) != 0) {
        perror(PROGRAM ": final UDP query");
        if (fd >= 0)
            close(fd);
        return 0;
    }
    for (tries = 0; tries < (g->aborted ? 1 : 3) && !ok; tries++) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        char buf[REPLY_MAX];
        ssize_t n;
        if (send(fd, "", 0, 0) < 0)
            continue;
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n >= 0 && valid_reply(g->opt.proto, buf, (size_t)n))
            ok = 1;
    }
    close(fd);
    return ok;
}

static void run_final_tcp(struct gen *g, int64_t limit_at)
{
    g->final_tcp = -1;
    g->now = now_ns();
    if (start_conn(g, K_FINAL) < 0)
        return;
    while (g->head != NO_FD) {
        struct epoll_event events[8];
        int n, i;
        int64_t until = g->conns[g->head].deadline_ns;
        if (limit_at < until)
            until = limit_at;
        n = epoll_wait(g->ep, events, 8, wait_ms(g, until));
        g->now = now_ns();
        for (i = 0; i < n; i++)
            if (events[i].data.fd != g->udp_fd)
                on_event(g, events[i].data.fd, events[i].events);
            else
                drain_udp(g);
        if (g->now >= limit_at && g->head != NO_FD) {
            finish(g, g->head, R_ABORTED, 0);
            g->aborted = 1;
        }
        expire(g);
    }
}

static void raise_fd_limit(struct gen *g)
{
    struct rlimit rl;
    long need = (long)g->opt.conc + g->opt.idle + g->opt.burst + 32;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = 1024;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
        rl.rlim_cur = 1u << 20;
    if ((long)rl.rlim_cur < need) {
        fprintf(stderr, PROGRAM ": needs %ld descriptors, the limit is %ld\n",
                need, (long)rl.rlim_cur);
        exit(2);
    }
    g->nconns = (int)rl.rlim_cur;
}

static void report(const struct gen *g)
{
    double elapsed = (double)(g->last_end - g->first_start) / 1e9;
    int i;

    if (elapsed <= 0)
        elapsed = 1e-9;
    printf(PROGRAM ": completed=%ld failed=%ld elapsed_s=%.3f conn_per_s=%.0f",
           g->completed, g->failed, elapsed, (double)g->completed / elapsed);
    printf(" max_ms=%.1f over_1s=%ld", (double)g->max_ns / 1e6, g->slow);
    for (i = 0; i < R_COUNT; i++)
        printf(" %s=%ld", reason_name[i], g->by_reason[i]);
    printf(" idle=%d idle_ok=%d idle_failed=%d", g->opt.idle, g->idle_ok,
           g->idle_failed);
    printf(" burst=%d burst_connected=%d burst_failed=%d", g->opt.burst,
           g->burst_connected, g->burst_failed);
    printf(" udp_sent=%ld udp_replies=%ld udp_errors=%ld", g->udp_sent,
           g->udp_replies, g->udp_errors);
    printf(" final_tcp=%s final_udp=%s\n",
           g->final_tcp == 1 ? "ok" : g->final_tcp == 0 ? "failed" : "not_run",
           g->final_udp == 1 ? "ok" : g->final_udp == 0 ? "failed" : "not_run");
    fflush(stdout);
    for (i = 0; i < g->ncauses; i++) {
        const struct cause *c = &g->causes[i];
        fprintf(stderr, PROGRAM ": %ld %s connection(s) failed: %s%s%s\n",
                c->count, kind_name[c->kind], reason_name[c->reason],
                c->err ? ": " : "", c->err ? strerror(c->err) : "");
    }
}

int main(int argc, char **argv)
{
    struct gen *g;
    int64_t limit_at;
    int bad;

    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        perror(PROGRAM);
        return 1;
    }
    parse_options(argc, argv, &g->opt);
    resolve(g->opt.host, g->opt.port, SOCK_STREAM, &g->target, &g->target_len);
    raise_fd_limit(g);
    g->conns = calloc((size_t)g->nconns, sizeof(*g->conns));
    g->idle_fds = calloc((size_t)g->opt.idle + 1, sizeof(int));
    g->burst_fds = calloc((size_t)g->opt.burst + 1, sizeof(int));
    if (g->conns == NULL || g->idle_fds == NULL || g->burst_fds == NULL) {
        perror(PROGRAM);
        return 1;
    }
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->ep < 0) {
        perror(PROGRAM ": epoll_create1");
        return 1;
    }
    g->head = g->tail = NO_FD;
    g->udp_fd = -1;
    g->final_tcp = g->final_udp = -1;
    g->rng = (uint64_t)now_ns() | 1;
    g->now = g->first_start = g->last_end = now_ns();
    limit_at = g->opt.limit_s > 0 ? g->now + (int64_t)g->opt.limit_s * NS_PER_S
                                  : INT64_MAX;
    if (g->opt.udp_port != NULL) {
        open_udp(g);
        g->udp_start = g->now;
    }

    start_idle(g);
    while (turn(g, limit_at))
        continue;
    if (g->udp_fd >= 0)
        drain_udp(g);
    check_idle(g);
    run_final_tcp(g, limit_at);
    if (g->opt.udp_port != NULL)
        g->final_udp = check_udp(g);

    report(g);
    bad = g->failed > 0 || g->idle_failed > 0 || g->burst_failed > 0 ||
          g->final_tcp != 1 || g->final_udp == 0 || g->aborted;
    if (g->udp_fd >= 0)
        close(g->udp_fd);
    close(g->ep);
    free(g->conns);
    free(g->idle_fds);
    free(g->burst_fds);
    free(g);
    return bad ? 1 : 0;
}
