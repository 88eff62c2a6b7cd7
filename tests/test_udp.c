/*
 * test_udp.c - nb_udp_bind, nb_udp_connect, nb_udp_sendto, nb_udp_recvfrom:
 * which addresses and options a socket gets, what arrives (and from whom),
 * datagram sizes, truncation, timeouts and ICMP errors.  (Bad arguments:
 * test_args; signals: test_signals.)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define IPV4_MAX_DATAGRAM 65507  /* 65535 - 20 (IPv4) - 8 (UDP) */
#define IPV6_MAX_DATAGRAM 65527  /* 65535 - 8 (UDP); the IPv6 header is apart */

/* ------------------------------------------------------------ fixtures */

static int family_of(int fd)
{
    return th_sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
}

static nb_addr local_of(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return a;
}

static const char *format(const nb_addr *a, char buf[NB_ADDRSTRLEN])
{
    return nb_addr_format(a, buf, NB_ADDRSTRLEN);
}

/* "127.0.0.1:" + port, say. */
static const char *join(char buf[NB_ADDRSTRLEN], const char *prefix,
                        const char *port)
{
    snprintf(buf, NB_ADDRSTRLEN, "%s%s", prefix, port);
    return buf;
}

/* The loopback address of a family with a port. */
static nb_addr loopback(int family, const char *port)
{
    return th_loopback_addr(family, atoi(port));
}

static const char *loopback_host(int family)
{
    return family == AF_INET ? "127.0.0.1" : "::1";
}

/* A socket bound by nb_udp_bind to host, ephemeral port in port[8]. */
static int bound(const char *host, int flags, char port[8])
{
    nb_error e;
    int fd = nb_udp_bind(host, "0", flags, &e);

    ck_assert_msg(fd >= 0, "nb_udp_bind(%s): %s", host ? host : "NULL",
                  e.message);
    th_port_of(fd, port);
    return fd;
}

/* A loopback port on which nothing receives, made without a race: a raw
 * socket holds the port, connected to itself, so the kernel delivers it
 * nothing from anyone else and answers with ICMP port unreachable.  Returns
 * the holder, which the caller closes. */
static int port_without_receiver(int family, char port[8])
{
    nb_addr self;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    self = loopback(family, "0");
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&self.ss, self.len), 0);
    th_port_of(fd, port);
    self = loopback(family, port);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&self.ss, self.len), 0);
    return fd;
}

/* A pattern that tells every offset of a datagram apart. */
static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = 2463534242u ^ seed;
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* Receives one datagram of exactly `want` bytes of the pattern on fd. */
static void expect_datagram(int fd, const void *want, size_t want_len,
                            const nb_addr *want_from)
{
    unsigned char buf[256];
    char a[NB_ADDRSTRLEN], b[NB_ADDRSTRLEN];
    nb_addr from;
    nb_error e;
    ssize_t n;

    ck_assert_uint_le(want_len, sizeof(buf));
    memset(&from, 0, sizeof(from));
    n = nb_udp_recvfrom(fd, buf, sizeof(buf), &from, 2000, &e);
    ck_assert_msg(n >= 0, "recvfrom: %s", e.message);
    ck_assert_int_eq(n, (ssize_t)want_len);
    ck_assert_mem_eq(buf, want, want_len);
    if (want_from != NULL)
        ck_assert_str_eq(format(&from, a), format(want_from, b));
}

/* ------------------------------------------------- binding: the table */

static const struct {
    const char *host;
    int flags;
    int family;
    int v6only;        /* -1: not an IPv6 socket */
    const char *shown; /* nb_addr_format of the local address, minus port */
} bind_table[] = {
    { "127.0.0.1", 0, AF_INET, -1, "127.0.0.1:" },
    { "127.0.0.1", NB_IPV4_ONLY, AF_INET, -1, "127.0.0.1:" },
    { "localhost", 0, AF_INET, -1, "127.0.0.1:" },
    { "0.0.0.0", 0, AF_INET, -1, "0.0.0.0:" },
    { NULL, NB_IPV4_ONLY, AF_INET, -1, "0.0.0.0:" },
    { "", NB_IPV4_ONLY, AF_INET, -1, "0.0.0.0:" },
    { "::1", 0, AF_INET6, 1, "[::1]:" },
    { "::1", NB_IPV6_ONLY, AF_INET6, 1, "[::1]:" },
    { "::", 0, AF_INET6, 1, "[::]:" },       /* explicit: that family only */
    { NULL, 0, AF_INET6, 0, "[::]:" },        /* the dual-stack wildcard */
    { "", 0, AF_INET6, 0, "[::]:" },
    { "*", 0, AF_INET6, 0, "[::]:" },
    { NULL, NB_IPV6_ONLY, AF_INET6, 1, "[::]:" },
    { "*", NB_IPV6_ONLY, AF_INET6, 1, "[::]:" },
};

/* Every host form binds the address it names, on an ephemeral port, with
 * no option the caller did not ask for. */
START_TEST(bind_table_row)
{
    char port[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    int before = th_count_fds();
    nb_addr a;
    int fd;

    if (bind_table[_i].family == AF_INET6)
        TH_REQUIRE_IPV6();
    fd = bound(bind_table[_i].host, bind_table[_i].flags, port);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    ck_assert_int_eq(family_of(fd), bind_table[_i].family);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR), 0);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
    if (bind_table[_i].v6only >= 0)
        ck_assert_int_eq(th_v6only(fd), bind_table[_i].v6only);
    a = local_of(fd);
    ck_assert_int_gt(nb_addr_port(&a), 0);
    ck_assert_str_eq(format(&a, got), join(want, bind_table[_i].shown, port));
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(ephemeral_ports_are_distinct)
{
    char p1[8], p2[8];
    int a = bound("127.0.0.1", 0, p1);
    int b = bound("127.0.0.1", 0, p2);

    ck_assert_int_gt(atoi(p1), 0);
    ck_assert_int_gt(atoi(p2), 0);
    ck_assert_str_ne(p1, p2);
    close(a);
    close(b);
}
END_TEST

START_TEST(nonblock_flag_and_cloexec)
{
    char port[8];
    int before = th_count_fds();
    int s = bound("127.0.0.1", NB_NONBLOCK, port);
    int c = nb_udp_connect("127.0.0.1", port, NB_NONBLOCK, NULL);
    int d = nb_udp_connect("127.0.0.1", port, 0, NULL);

    ck_assert_int_ge(c, 0);
    ck_assert_int_ge(d, 0);
    ck_assert_int_eq(th_is_nonblock(s), 1);
    ck_assert_int_eq(th_is_nonblock(c), 1);
    ck_assert_int_eq(th_is_nonblock(d), 0);
    ck_assert_int_eq(th_is_cloexec(s), 1);
    ck_assert_int_eq(th_is_cloexec(c), 1);
    ck_assert_int_eq(th_is_cloexec(d), 1);
    close(s);
    close(c);
    close(d);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------ ports shared or not */

START_TEST(reuseport_lets_two_sockets_share_a_port)
{
    char port[8], other[8];
    int before = th_count_fds();
    int a = bound("127.0.0.1", NB_REUSEPORT, port);
    nb_error e;
    int b = nb_udp_bind("127.0.0.1", port, NB_REUSEPORT, &e);

    ck_assert_msg(b >= 0, "second bind: %s", e.message);
    ck_assert_str_eq(th_port_of(b, other), port);
    ck_assert_int_eq(th_sockopt_int(a, SOL_SOCKET, SO_REUSEPORT), 1);
    ck_assert_int_eq(th_sockopt_int(b, SOL_SOCKET, SO_REUSEPORT), 1);
    ck_assert_int_eq(th_sockopt_int(a, SOL_SOCKET, SO_REUSEADDR), 1);
    ck_assert_int_eq(th_is_cloexec(b), 1);
    close(a);
    close(b);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* The second bind fails as bind(2) does, naming the address, and leaves
 * nothing open: without NB_REUSEPORT, with it on one side only, and on
 * 127.0.0.1 under a dual-stack wildcard (which holds IPv4 too). */
START_TEST(second_bind_without_reuseport_is_eaddrinuse)
{
    static const struct {
        const char *first_host;
        int first_flags;
        int second_flags;
    } cases[] = {
        { "127.0.0.1", 0, 0 },
        { "127.0.0.1", 0, NB_REUSEPORT },
        { "127.0.0.1", NB_REUSEPORT, 0 },
        { NULL, 0, 0 },
    };
    char port[8], want[NB_ADDRSTRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int before, a, b;
        nb_error e;

        if (cases[i].first_host == NULL && !th_have_ipv6()) {
            th_skip_part("127.0.0.1 under the dual-stack wildcard: no IPv6");
            continue;
        }
        a = bound(cases[i].first_host, cases[i].first_flags, port);
        before = th_count_fds();
        errno = 0;
        b = nb_udp_bind("127.0.0.1", port, cases[i].second_flags, &e);
        ck_assert_msg(b == -1, "case %zu: second bind succeeded", i);
        ck_assert_int_eq(errno, EADDRINUSE);
        th_assert_error(&e, NB_ERR_SYSTEM, "bind");
        ck_assert_int_eq(e.sys_errno, EADDRINUSE);
        ck_assert_str_eq(e.addr, join(want, "127.0.0.1:", port));
        ck_assert_ptr_nonnull(strstr(e.message, strerror(EADDRINUSE)));
        ck_assert_int_eq(nb_error_is_temporary(&e), 0);
        ck_assert_int_eq(th_count_fds(), before);
        close(a);
    }
}
END_TEST

/* ------------------------------------------------- who reaches whom */

/* The wildcard takes IPv4 datagrams, reports their sender as plain
 * "127.0.0.1:port", and a reply to that address reaches the sender. */
START_TEST(wildcard_is_dual_stack)
{
    char wport[8], cport[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    unsigned char buf[64];
    nb_addr to, from, back;
    nb_error e;
    int w, c;
    ssize_t n;

    TH_REQUIRE_IPV6();
    w = bound(NULL, 0, wport);
    c = bound("127.0.0.1", 0, cport);
    to = loopback(AF_INET, wport);
    ck_assert_int_eq(nb_udp_sendto(c, "ping", 4, &to, &e), 4);
    memset(&from, 0, sizeof(from));
    n = nb_udp_recvfrom(w, buf, sizeof(buf), &from, 2000, &e);
    ck_assert_msg(n == 4, "recvfrom: %s", e.message);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_str_eq(format(&from, got), join(want, "127.0.0.1:", cport));
    ck_assert_int_eq(nb_addr_port(&from), atoi(cport));

    n = nb_udp_sendto(w, "pong", 4, &from, &e);
    ck_assert_msg(n == 4, "reply: %s", e.message);
    memset(&back, 0, sizeof(back));
    n = nb_udp_recvfrom(c, buf, sizeof(buf), &back, 2000, &e);
    ck_assert_msg(n == 4, "recvfrom reply: %s", e.message);
    ck_assert_mem_eq(buf, "pong", 4);
    ck_assert_str_eq(format(&back, got), join(want, "127.0.0.1:", wport));
    close(c);

    /* and IPv6 too */
    c = bound("::1", 0, cport);
    to = loopback(AF_INET6, wport);
    ck_assert_int_eq(nb_udp_sendto(c, "six", 3, &to, &e), 3);
    expect_datagram(w, "six", 3, NULL);
    close(c);
    close(w);
}
END_TEST

/* A datagram to a port nobody receives on comes back as ICMP port
 * unreachable, which a connected socket reports as ECONNREFUSED. */
static void assert_refused(int family, const char *port)
{
    unsigned char buf[16];
    nb_error e;
    int c = nb_udp_connect(loopback_host(family), port, 0, &e);
    ssize_t n;

    ck_assert_msg(c >= 0, "connect: %s", e.message);
    ck_assert_int_eq(nb_udp_sendto(c, "x", 1, NULL, &e), 1);
    n = nb_udp_recvfrom(c, buf, sizeof(buf), NULL, 2000, &e);
    ck_assert_msg(n == -1, "a datagram to %s port %s was answered",
                  loopback_host(family), port);
    th_assert_error(&e, NB_ERR_SYSTEM, "recvfrom");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    close(c);
}

START_TEST(ipv6_only_wildcard_is_not_reached_over_ipv4)
{
    char port[8];
    int w, c;
    nb_error e;

    TH_REQUIRE_IPV6();
    w = bound(NULL, NB_IPV6_ONLY, port);
    assert_refused(AF_INET, port);
    c = nb_udp_connect("::1", port, 0, &e);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(nb_udp_sendto(c, "six", 3, NULL, &e), 3);
    expect_datagram(w, "six", 3, NULL);
    close(c);
    close(w);
}
END_TEST

START_TEST(ipv4_only_wildcard_is_not_reached_over_ipv6)
{
    char port[8];
    int w, c;
    nb_error e;

    w = bound(NULL, NB_IPV4_ONLY, port);
    ck_assert_int_eq(family_of(w), AF_INET);
    if (th_have_ipv6())
        assert_refused(AF_INET6, port);
    else
        th_skip_part("not reached over IPv6: no IPv6 here");
    c = nb_udp_connect("127.0.0.1", port, 0, &e);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(nb_udp_sendto(c, "four", 4, NULL, &e), 4);
    expect_datagram(w, "four", 4, NULL);
    close(c);
    close(w);
}
END_TEST

/* nb_udp_connect sets the default peer: sendto(NULL) goes there, the
 * receiver sees the connected socket's address, and the answer comes back
 * through recvfrom with from == NULL. */
static void connected_round_trip(int family, const char *host, int flags)
{
    char port[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    unsigned char buf[16];
    nb_addr peer, local, from;
    nb_error e;
    int before = th_count_fds();
    int s = bound(loopback_host(family), 0, port);
    int c = nb_udp_connect(host, port, flags, &e);
    ssize_t n;

    ck_assert_msg(c >= 0, "nb_udp_connect(%s): %s", host, e.message);
    ck_assert_int_eq(th_is_cloexec(c), 1);
    ck_assert_int_eq(th_sockopt_int(c, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    ck_assert_int_eq(nb_peer_addr(c, &peer, &e), 0);
    ck_assert_str_eq(format(&peer, got),
                     join(want, family == AF_INET ? "127.0.0.1:" : "[::1]:",
                          port));
    local = local_of(c);
    ck_assert_int_eq(nb_udp_sendto(c, "hello", 5, NULL, &e), 5);
    memset(&from, 0, sizeof(from));
    n = nb_udp_recvfrom(s, buf, sizeof(buf), &from, 2000, &e);
    ck_assert_msg(n == 5, "recvfrom: %s", e.message);
    ck_assert_str_eq(format(&from, got), format(&local, want));
    ck_assert_int_eq(nb_udp_sendto(s, "world", 5, &from, &e), 5);
    n = nb_udp_recvfrom(c, buf, sizeof(buf), NULL, 2000, &e);
    ck_assert_msg(n == 5, "recvfrom: %s", e.message);
    ck_assert_mem_eq(buf, "world", 5);
    close(c);
    close(s);
    ck_assert_int_eq(th_count_fds(), before);
}

START_TEST(connect_sets_the_default_peer)
{
    connected_round_trip(AF_INET, "127.0.0.1", 0);
    connected_round_trip(AF_INET, "localhost", NB_IPV4_ONLY);
    if (th_have_ipv6()) {
        connected_round_trip(AF_INET6, "::1", 0);
        connected_round_trip(AF_INET6, "::1", NB_IPV6_ONLY);
    } else {
        th_skip_part("::1: no IPv6 here");
    }
}
END_TEST

START_TEST(sendto_without_address_on_unconnected_socket)
{
    char port[8];
    nb_error e;
    int s = bound("127.0.0.1", 0, port);

    errno = 0;
    ck_assert_int_eq(nb_udp_sendto(s, "x", 1, NULL, &e), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "sendto");
    ck_assert_int_eq(e.sys_errno, EDESTADDRREQ);
    ck_assert_int_eq(errno, EDESTADDRREQ);
    close(s);
}
END_TEST

/* ------------------------------------------------------ receiving */

/* recvfrom returns the length and fills *from; from may be NULL. */
START_TEST(recvfrom_fills_from_and_returns_length)
{
    char sport[8], cport[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    unsigned char buf[64];
    nb_addr to, from;
    nb_error e;
    int s = bound("127.0.0.1", 0, sport);
    int c = bound("127.0.0.1", 0, cport);
    ssize_t n;

    to = loopback(AF_INET, sport);
    nb_error_clear(&e);
    e.code = NB_ERR_RESOLVE;  /* a marker success must not touch */
    ck_assert_int_eq(nb_udp_sendto(c, "abcdefg", 7, &to, &e), 7);
    ck_assert_int_eq(nb_udp_sendto(c, "xyz", 3, &to, &e), 3);
    memset(&from, 0xa5, sizeof(from));
    n = nb_udp_recvfrom(s, buf, sizeof(buf), &from, 0, &e);
    ck_assert_int_eq(n, 7);
    ck_assert_mem_eq(buf, "abcdefg", 7);
    ck_assert_uint_eq(from.len, sizeof(struct sockaddr_in));
    ck_assert_str_eq(format(&from, got), join(want, "127.0.0.1:", cport));
    n = nb_udp_recvfrom(s, buf, sizeof(buf), NULL, 0, &e);
    ck_assert_int_eq(n, 3);
    ck_assert_mem_eq(buf, "xyz", 3);
    ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
    close(c);
    close(s);
}
END_TEST

/* A zero-length datagram is a datagram: sent as 0, received as 0 (also
 * into a NULL buffer of length 0), with its sender. */
START_TEST(zero_length_datagram_is_received_as_zero)
{
    char sport[8], cport[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    unsigned char buf[16];
    nb_addr to, from;
    nb_error e;
    int s = bound("127.0.0.1", 0, sport);
    int c = bound("127.0.0.1", 0, cport);

    to = loopback(AF_INET, sport);
    ck_assert_int_eq(nb_udp_sendto(c, buf, 0, &to, &e), 0);
    ck_assert_int_eq(nb_udp_sendto(c, NULL, 0, &to, &e), 0);
    memset(&from, 0, sizeof(from));
    ck_assert_int_eq(nb_udp_recvfrom(s, buf, sizeof(buf), &from, 1000, &e), 0);
    ck_assert_str_eq(format(&from, got), join(want, "127.0.0.1:", cport));
    ck_assert_int_eq(nb_udp_recvfrom(s, NULL, 0, NULL, 1000, &e), 0);
    close(c);
    close(s);
}
END_TEST

/* Nothing arrives: NB_ERR_TIMEOUT after the whole 150 ms, whether the
 * socket is blocking or not. */
START_TEST(recvfrom_times_out)
{
    const int flags = _i == 0 ? 0 : NB_NONBLOCK;
    char port[8];
    unsigned char buf[16];
    nb_error e;
    int s = bound("127.0.0.1", flags, port);
    int before = th_count_fds();
    int64_t start, elapsed;
    ssize_t n;

    errno = 0;
    start = th_now_ms();
    n = nb_udp_recvfrom(s, buf, sizeof(buf), NULL, 150, &e);
    elapsed = th_now_ms() - start;
    ck_assert_int_eq(n, -1);
    th_assert_error(&e, NB_ERR_TIMEOUT, "recvfrom");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    /* the message says the deadline (netbasics(7), DEADLINES) */
    ck_assert_ptr_nonnull(strstr(e.message, ": timed out after 150 ms"));
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_msg(elapsed >= 145, "timed out after %lld ms",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 2000, "took %lld ms", (long long)elapsed);
    ck_assert_int_eq(th_is_nonblock(s), flags != 0);  /* mode kept */
    ck_assert_int_eq(th_count_fds(), before);
    close(s);
}
END_TEST

/* A thread that sends one datagram once the main thread is waiting. */
struct late_sender {
    pid_t waiter;
    int fd;
    nb_addr to;
    atomic_int stop;
    int saw_wait;     /* th_wait_blocked's answer */
    ssize_t sent;
};

static void *send_when_blocked(void *arg)
{
    struct late_sender *ls = arg;
    struct timespec pause = { 0, 100 * 1000000 };

    ls->saw_wait = th_wait_blocked(ls->waiter, 3000, &ls->stop);
    if (ls->saw_wait < 0)
        nanosleep(&pause, NULL);  /* no /proc: only a pause can tell */
    ls->sent = nb_udp_sendto(ls->fd, "late", 4, &ls->to, NULL);
    return NULL;
}

/* Without a timeout, recvfrom waits until a datagram arrives, even on a
 * non-blocking socket; the datagram is sent only once the call waits. */
START_TEST(recvfrom_without_timeout_waits_for_data)
{
    const int flags = _i == 0 ? 0 : NB_NONBLOCK;
    char sport[8], cport[8];
    unsigned char buf[16];
    struct late_sender ls;
    pthread_t thread;
    nb_error e;
    int s = bound("127.0.0.1", flags, sport);
    int c = bound("127.0.0.1", 0, cport);
    ssize_t n;

    memset(&ls, 0, sizeof(ls));
    ls.waiter = th_gettid();
    ls.fd = c;
    ls.to = loopback(AF_INET, sport);
    atomic_init(&ls.stop, 0);
    ck_assert_int_eq(pthread_create(&thread, NULL, send_when_blocked, &ls), 0);
    n = nb_udp_recvfrom(s, buf, sizeof(buf), NULL, 0, &e);
    atomic_store(&ls.stop, 1);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_msg(n == 4, "recvfrom returned %zd: %s", n, e.message);
    ck_assert_mem_eq(buf, "late", 4);
    ck_assert_int_eq(ls.sent, 4);
    ck_assert_int_ne(ls.saw_wait, 0);
    close(c);
    close(s);
}
END_TEST

/* A datagram longer than the buffer is not cut silently: the first len
 * bytes are stored, nothing after them, and the call fails with EMSGSIZE
 * and transferred = len.  The datagram is consumed. */
START_TEST(long_datagram_is_never_silently_truncated)
{
    const int timeout = _i == 0 ? 0 : 1000;
    char sport[8], cport[8];
    unsigned char msg[100], buf[32];
    nb_addr to;
    nb_error e;
    int s = bound("127.0.0.1", 0, sport);
    int c = bound("127.0.0.1", 0, cport);
    size_t i;
    ssize_t n;

    fill_pattern(msg, sizeof(msg), 1);
    to = loopback(AF_INET, sport);
    ck_assert_int_eq(nb_udp_sendto(c, msg, sizeof(msg), &to, &e), 100);
    ck_assert_int_eq(nb_udp_sendto(c, "next", 4, &to, &e), 4);
    memset(buf, '#', sizeof(buf));
    errno = 0;
    n = nb_udp_recvfrom(s, buf, 16, NULL, timeout, &e);
    ck_assert_int_eq(n, -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "recvfrom");
    ck_assert_int_eq(e.sys_errno, EMSGSIZE);
    ck_assert_int_eq(errno, EMSGSIZE);
    ck_assert_uint_eq(e.transferred, 16);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);
    ck_assert_mem_eq(buf, msg, 16);
    for (i = 16; i < sizeof(buf); i++)
        ck_assert_msg(buf[i] == '#', "byte %zu written past len", i);
    expect_datagram(s, "next", 4, NULL);
    /* a zero-length buffer holds nothing of a 4-byte datagram */
    ck_assert_int_eq(nb_udp_sendto(c, "four", 4, &to, &e), 4);
    n = nb_udp_recvfrom(s, NULL, 0, NULL, timeout, &e);
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(e.code, NB_ERR_SYSTEM);
    ck_assert_int_eq(e.sys_errno, EMSGSIZE);
    ck_assert_uint_eq(e.transferred, 0);
    close(c);
    close(s);
}
END_TEST

/* ICMP port unreachable after a send on a connected socket is reported by
 * the next recvfrom as ECONNREFUSED: with a timeout (through poll) and
 * without one (a blocking recvfrom). */
START_TEST(icmp_unreachable_is_econnrefused)
{
    const int family = _i == 0 ? AF_INET : AF_INET6;
    char port[8];
    unsigned char buf[16];
    nb_error e;
    int holder, c, before, round;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    holder = port_without_receiver(family, port);
    before = th_count_fds();
    c = nb_udp_connect(loopback_host(family), port, 0, &e);
    ck_assert_msg(c >= 0, "connect: %s", e.message);
    for (round = 0; round < 2; round++) {
        struct pollfd pfd = { .fd = c, .events = POLLIN };
        ssize_t n;
        ck_assert_int_eq(nb_udp_sendto(c, "x", 1, NULL, &e), 1);
        /* without a timeout, wait for the error first: a lost ICMP
         * message must not hang the test */
        if (round == 1)
            ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
        errno = 0;
        n = nb_udp_recvfrom(c, buf, sizeof(buf), NULL, round == 0 ? 2000 : 0,
                            &e);
        ck_assert_int_eq(n, -1);
        th_assert_error(&e, NB_ERR_SYSTEM, "recvfrom");
        ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
        ck_assert_int_eq(errno, ECONNREFUSED);
        ck_assert_ptr_nonnull(strstr(e.message, strerror(ECONNREFUSED)));
    }
    close(c);
    ck_assert_int_eq(th_count_fds(), before);
    close(holder);
}
END_TEST

/* --------------------------------------------------- datagram sizes */

static const struct {
    int family;
    size_t size;
} size_table[] = {
    { AF_INET, 0 },
    { AF_INET, 1 },
    { AF_INET, 1472 },  /* fills a 1500-byte Ethernet frame */
    { AF_INET, 1473 },
    { AF_INET, IPV4_MAX_DATAGRAM },
    { AF_INET6, 1 },
    { AF_INET6, 1452 },
    { AF_INET6, IPV6_MAX_DATAGRAM },
};

/* Sent to the address and through a connected socket, every byte arrives
 * in place and the length is exact. */
START_TEST(datagram_size_arrives_intact)
{
    const int family = size_table[_i].family;
    const size_t size = size_table[_i].size;
    unsigned char *msg, *buf;
    char sport[8], cport[8];
    nb_addr to;
    nb_error e;
    int s, c, via;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    msg = malloc(size + 1);
    buf = malloc(65536);
    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_nonnull(buf);
    fill_pattern(msg, size, (unsigned)size);
    s = bound(loopback_host(family), 0, sport);
    c = bound(loopback_host(family), 0, cport);
    to = loopback(family, sport);
    for (via = 0; via < 2; via++) {
        ssize_t n;
        if (via == 1) {
            ck_assert_int_eq(connect(c, (struct sockaddr *)&to.ss, to.len), 0);
            n = nb_udp_sendto(c, msg, size, NULL, &e);
        } else {
            n = nb_udp_sendto(c, msg, size, &to, &e);
        }
        ck_assert_msg(n == (ssize_t)size, "sendto %zu bytes: %s", size,
                      e.message);
        memset(buf, 0, 65536);
        n = nb_udp_recvfrom(s, buf, 65536, NULL, 2000, &e);
        ck_assert_msg(n == (ssize_t)size, "received %zd of %zu: %s", n, size,
                      n < 0 ? e.message : "");
        ck_assert_int_eq(memcmp(buf, msg, size), 0);
        /* exactly the right buffer size is enough */
        ck_assert_int_eq(nb_udp_sendto(c, msg, size, &to, &e), (ssize_t)size);
        n = nb_udp_recvfrom(s, buf, size, NULL, 2000, &e);
        ck_assert_int_eq(n, (ssize_t)size);
        ck_assert_int_eq(memcmp(buf, msg, size), 0);
    }
    close(c);
    close(s);
    free(msg);
    free(buf);
}
END_TEST

/* One byte over the protocol's limit fails at sendto with EMSGSIZE. */
START_TEST(oversized_datagram_is_emsgsize)
{
    const int family = _i == 0 ? AF_INET : AF_INET6;
    const size_t size = (family == AF_INET ? IPV4_MAX_DATAGRAM
                                           : IPV6_MAX_DATAGRAM) + 1;
    char sport[8], cport[8], got[NB_ADDRSTRLEN];
    unsigned char *msg;
    nb_addr to;
    nb_error e;
    int s, c;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    msg = calloc(1, size);
    ck_assert_ptr_nonnull(msg);
    s = bound(loopback_host(family), 0, sport);
    c = bound(loopback_host(family), 0, cport);
    to = loopback(family, sport);
    errno = 0;
    ck_assert_int_eq(nb_udp_sendto(c, msg, size, &to, &e), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "sendto");
    ck_assert_int_eq(e.sys_errno, EMSGSIZE);
    ck_assert_int_eq(errno, EMSGSIZE);
    ck_assert_str_eq(e.addr, format(&to, got));
    ck_assert_int_eq(connect(c, (struct sockaddr *)&to.ss, to.len), 0);
    ck_assert_int_eq(nb_udp_sendto(c, msg, size, NULL, &e), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "sendto");
    ck_assert_int_eq(e.sys_errno, EMSGSIZE);
    /* nothing was sent */
    ck_assert_int_eq(nb_udp_recvfrom(s, msg, size, NULL, 100, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_TIMEOUT);
    close(c);
    close(s);
    free(msg);
}
END_TEST

static Suite *udp_suite(void)
{
    Suite *s = suite_create("udp");
    TCase *tc = tcase_create("udp");

    tcase_add_loop_test(tc, bind_table_row, 0,
                        sizeof(bind_table) / sizeof(bind_table[0]));
    tcase_add_test(tc, ephemeral_ports_are_distinct);
    tcase_add_test(tc, nonblock_flag_and_cloexec);
    tcase_add_test(tc, reuseport_lets_two_sockets_share_a_port);
    tcase_add_test(tc, second_bind_without_reuseport_is_eaddrinuse);
    tcase_add_test(tc, wildcard_is_dual_stack);
    tcase_add_test(tc, ipv6_only_wildcard_is_not_reached_over_ipv4);
    tcase_add_test(tc, ipv4_only_wildcard_is_not_reached_over_ipv6);
    tcase_add_test(tc, connect_sets_the_default_peer);
    tcase_add_test(tc, sendto_without_address_on_unconnected_socket);
    tcase_add_test(tc, recvfrom_fills_from_and_returns_length);
    tcase_add_test(tc, zero_length_datagram_is_received_as_zero);
    tcase_add_loop_test(tc, recvfrom_times_out, 0, 2);
    tcase_add_loop_test(tc, recvfrom_without_timeout_waits_for_data, 0, 2);
    tcase_add_loop_test(tc, long_datagram_is_never_silently_truncated, 0, 2);
    tcase_add_loop_test(tc, icmp_unreachable_is_econnrefused, 0, 2);
    tcase_add_loop_test(tc, datagram_size_arrives_intact, 0,
                        sizeof(size_table) / sizeof(size_table[0]));
    tcase_add_loop_test(tc, oversized_datagram_is_emsgsize, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(udp_suite());
}
