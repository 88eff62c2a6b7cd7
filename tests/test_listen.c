/*
 * test_listen.c - nb_tcp_listen: which address and family a listener ends
 * up on, who can reach it, the socket options it carries (SO_REUSEADDR,
 * SO_REUSEPORT, IPV6_V6ONLY, TCP_NODELAY, O_NONBLOCK, FD_CLOEXEC), its
 * backlog, and how it fails.
 *
 * Clients are made with raw system calls, so that these tests do not
 * depend on nb_tcp_connect.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "helpers.h"

static int have_v6;

/* ----------------------------------------------------------- utilities */

static const char *local_str(int fd, char buf[NB_ADDRSTRLEN])
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return nb_addr_format(&a, buf, NB_ADDRSTRLEN);
}

static int local_family(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return a.ss.ss_family;
}

/* Every listener: a close-on-exec, listening stream socket with
 * SO_REUSEADDR (nb_tcp_listen(3): "The listener always has SO_REUSEADDR
 * set"; what it is for: listen_reuseaddr_rebinds_over_time_wait). */
static void check_listener(int fd, const nb_error *e)
{
    ck_assert_msg(fd >= 0, "nb_tcp_listen failed: %s", e->message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    ck_assert_int_ne(th_sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR), 0);
    ck_assert_int_gt(th_local_port(fd), 0);
}

/* A raw client connected to loopback (127.0.0.1 or ::1) at port, within
 * 2 s; -1 with errno (ECONNREFUSED, ...) when it did not connect. */
static int raw_connect(int family, int port)
{
    struct sockaddr_storage ss;
    struct pollfd pfd;
    socklen_t len;
    int fd, soerr = 0, e;
    socklen_t elen = sizeof(soerr);

    len = th_loopback(&ss, family, port);
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS) {
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 2000) != 1) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen), 0);
        if (soerr != 0) {
            close(fd);
            errno = soerr;
            return -1;
        }
    }
    ck_assert_int_eq(fcntl(fd, F_SETFL, 0), 0);
    return fd;
}

static void wait_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    ck_assert_msg(poll(&pfd, 1, 2000) == 1, "nothing to accept within 2 s");
}

/* A client of the given family reaches the listener: accepted with
 * nb_tcp_accept, whose peer address (and nb_peer_addr's) formats as the
 * client's own "127.0.0.1:port" or "[::1]:port".  Returns the peer's raw
 * family (AF_INET6 for an IPv4 client of a dual-stack socket). */
static int round_trip(int listener, int family)
{
    char want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    nb_addr peer, peer2;
    nb_error e;
    int c, s;

    c = raw_connect(family, th_local_port(listener));
    ck_assert_msg(c >= 0, "%s client could not connect: %s",
                  family == AF_INET ? "127.0.0.1" : "::1", strerror(errno));
    snprintf(want, sizeof(want), family == AF_INET ? "127.0.0.1:%d"
                                                   : "[::1]:%d", th_local_port(c));
    wait_readable(listener);
    s = nb_tcp_accept(listener, &peer, 0, &e);
    ck_assert_msg(s >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(s), 1);
    ck_assert_str_eq(nb_addr_format(&peer, got, sizeof(got)), want);
    ck_assert_int_eq(nb_peer_addr(s, &peer2, NULL), 0);
    ck_assert_str_eq(nb_addr_format(&peer2, got, sizeof(got)), want);
    ck_assert_int_eq(send(c, "x", 1, MSG_NOSIGNAL), 1);
    ck_assert_int_eq(recv(s, got, 1, 0), 1);
    close(s);
    close(c);
    return peer.ss.ss_family;
}

/* The client is turned away: nothing listens for its family. */
static void refused(int listener, int family)
{
    int c = raw_connect(family, th_local_port(listener));

    if (c >= 0)
        close(c);
    ck_assert_msg(c < 0, "a %s client reached the listener on %d",
                  family == AF_INET ? "127.0.0.1" : "::1", th_local_port(listener));
    ck_assert_msg(errno == ECONNREFUSED, "%s", strerror(errno));
}

static int is_v6_any(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return a.ss.ss_family == AF_INET6 &&
           IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&a.ss)->sin6_addr);
}

static int is_v4_any(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return a.ss.ss_family == AF_INET &&
           ((struct sockaddr_in *)&a.ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* --------------------------------------------------- named addresses */

START_TEST(listen_ipv4_loopback)
{
    char buf[NB_ADDRSTRLEN], want[NB_ADDRSTRLEN];
    nb_error e;
    int before = th_count_fds();
    int fd;

    nb_error_clear(&e);
    fd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(local_family(fd), AF_INET);
    snprintf(want, sizeof(want), "127.0.0.1:%d", th_local_port(fd));
    ck_assert_str_eq(local_str(fd, buf), want);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(listen_ipv6_loopback)
{
    char buf[NB_ADDRSTRLEN], want[NB_ADDRSTRLEN];
    nb_error e;
    int before = th_count_fds();
    int fd;

    TH_REQUIRE_IPV6();
    fd = nb_tcp_listen("::1", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(local_family(fd), AF_INET6);
    snprintf(want, sizeof(want), "[::1]:%d", th_local_port(fd));
    ck_assert_str_eq(local_str(fd, buf), want);
    ck_assert_int_eq(round_trip(fd, AF_INET6), AF_INET6);
    refused(fd, AF_INET);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* "localhost" binds the first of its addresses: 127.0.0.1 here (or ::1
 * where /etc/hosts lists that first). */
START_TEST(listen_localhost)
{
    char buf[NB_ADDRSTRLEN], want4[NB_ADDRSTRLEN], want6[NB_ADDRSTRLEN];
    nb_error e;
    int before = th_count_fds();
    int fd, family;

    fd = nb_tcp_listen("localhost", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(th_count_fds(), before + 1);
    snprintf(want4, sizeof(want4), "127.0.0.1:%d", th_local_port(fd));
    snprintf(want6, sizeof(want6), "[::1]:%d", th_local_port(fd));
    local_str(fd, buf);
    ck_assert_msg(strcmp(buf, want4) == 0 || strcmp(buf, want6) == 0,
                  "localhost listener on %s", buf);
    family = local_family(fd);
    round_trip(fd, family);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------ wildcard */

static const char *const wildcard_hosts[] = { NULL, "", "*" };
#define N_WILDCARD (int)(sizeof(wildcard_hosts) / sizeof(wildcard_hosts[0]))

static const char *host_label(const char *host)
{
    return host == NULL ? "NULL" : host[0] == '\0' ? "\"\"" : host;
}

/* One socket on :: with IPV6_V6ONLY off, reached from 127.0.0.1 and ::1;
 * the IPv4 client's address arrives IPv4-mapped and prints as IPv4. */
START_TEST(listen_wildcard_is_dual_stack)
{
    const char *host = wildcard_hosts[_i];
    char buf[NB_ADDRSTRLEN], want[NB_ADDRSTRLEN];
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen(host, "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert_msg(th_count_fds() == before + 1, "host %s: not one socket",
                  host_label(host));
    if (!have_v6) {
        th_skip_part("host %s: no IPv6 here, so no dual stack: checking the "
                     "0.0.0.0 it falls back to instead", host_label(host));
        ck_assert(is_v4_any(fd));
        ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET);
        close(fd);
        return;
    }
    ck_assert_msg(is_v6_any(fd), "host %s: listening on %s", host_label(host),
                  local_str(fd, buf));
    snprintf(want, sizeof(want), "[::]:%d", th_local_port(fd));
    ck_assert_str_eq(local_str(fd, buf), want);
    ck_assert_int_eq(th_v6only(fd), 0);
    /* the IPv4 client came through the IPv6 socket: a mapped address */
    ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET6);
    ck_assert_int_eq(round_trip(fd, AF_INET6), AF_INET6);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(listen_wildcard_ipv6_only_refuses_ipv4)
{
    const char *host = wildcard_hosts[_i];
    nb_error e;
    int before = th_count_fds();
    int fd;

    TH_REQUIRE_IPV6();
    fd = nb_tcp_listen(host, "0", 0, NB_IPV6_ONLY, &e);
    check_listener(fd, &e);
    ck_assert(is_v6_any(fd));
    ck_assert_int_eq(th_v6only(fd), 1);
    refused(fd, AF_INET);
    ck_assert_int_eq(round_trip(fd, AF_INET6), AF_INET6);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(listen_wildcard_ipv4_only_is_0_0_0_0)
{
    const char *host = wildcard_hosts[_i];
    char buf[NB_ADDRSTRLEN], want[NB_ADDRSTRLEN];
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen(host, "0", 0, NB_IPV4_ONLY, &e);
    check_listener(fd, &e);
    ck_assert(is_v4_any(fd));
    snprintf(want, sizeof(want), "0.0.0.0:%d", th_local_port(fd));
    ck_assert_str_eq(local_str(fd, buf), want);
    ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET);
    if (have_v6)
        refused(fd, AF_INET6);
    else
        th_skip_part("not reached over IPv6: no IPv6 here");
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* An explicit "::" or "0.0.0.0" is that family only (netbasics.h). */
START_TEST(listen_explicit_ipv6_any_is_ipv6_only)
{
    nb_error e;
    int before = th_count_fds();
    int fd;

    TH_REQUIRE_IPV6();
    fd = nb_tcp_listen("::", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert(is_v6_any(fd));
    ck_assert_int_eq(th_v6only(fd), 1);
    refused(fd, AF_INET);
    ck_assert_int_eq(round_trip(fd, AF_INET6), AF_INET6);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(listen_explicit_ipv4_any_is_ipv4_only)
{
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen("0.0.0.0", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert(is_v4_any(fd));
    ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET);
    if (have_v6)
        refused(fd, AF_INET6);
    else
        th_skip_part("not reached over IPv6: no IPv6 here");
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------- address in use */

static const char *const in_use_hosts[] = { "127.0.0.1", "::1", NULL };

START_TEST(listen_address_in_use)
{
    const char *host = in_use_hosts[_i];
    char want[NB_ADDRSTRLEN], port[8];
    nb_error e;
    int first, second, before;

    if (host != NULL && strchr(host, ':') != NULL)
        TH_REQUIRE_IPV6();
    first = nb_tcp_listen(host, "0", 0, 0, &e);
    check_listener(first, &e);
    snprintf(port, sizeof(port), "%d", th_local_port(first));
    if (host == NULL)
        snprintf(want, sizeof(want), have_v6 ? "[::]:%s" : "0.0.0.0:%s", port);
    else if (strchr(host, ':') != NULL)
        snprintf(want, sizeof(want), "[%s]:%s", host, port);
    else
        snprintf(want, sizeof(want), "%s:%s", host, port);

    before = th_count_fds();
    memset(&e, 0x5a, sizeof(e));
    errno = 0;
    second = nb_tcp_listen(host, port, 0, 0, &e);
    ck_assert_int_eq(second, -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    th_assert_error(&e, NB_ERR_SYSTEM, "bind");
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_str_eq(e.addr, want);
    ck_assert_msg(strstr(e.message, want) != NULL, "message \"%s\" lacks %s",
                  e.message, want);
    ck_assert_msg(strstr(e.message, "Address already in use") != NULL,
                  "message \"%s\"", e.message);
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_uint_eq(e.transferred, 0);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);
    ck_assert_int_eq(th_count_fds(), before);

    errno = 0;
    ck_assert_int_eq(nb_tcp_listen(host, port, 0, 0, NULL), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_int_eq(th_count_fds(), before);
    close(first);
}
END_TEST

/* Listeners on one port on every address "localhost" has (into
 * blockers[8], *n of them); the first one's address in want.  The port
 * number, or 0 when another socket held it on one of the addresses. */
static int occupy_localhost(int blockers[8], int *n, char want[NB_ADDRSTRLEN])
{
    struct addrinfo hints, *res, *ai;
    int port = 0, ok = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    ck_assert_int_eq(getaddrinfo("localhost", "0", &hints, &res), 0);
    *n = 0;
    for (ai = res; ai != NULL && *n < 8; ai = ai->ai_next) {
        struct sockaddr_storage ss;
        int b = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(b, 0);
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        if (ss.ss_family == AF_INET) {
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        } else {
            int one = 1;
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
            setsockopt(b, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        blockers[(*n)++] = b;
        if (bind(b, (struct sockaddr *)&ss, ai->ai_addrlen) != 0 ||
            listen(b, 1) != 0) {
            ok = 0;
            break;
        }
        if (port == 0) {
            /* the first address: the error must name it */
            nb_addr a;
            port = th_local_port(b);
            ck_assert_int_eq(nb_local_addr(b, &a, NULL), 0);
            nb_addr_format(&a, want, NB_ADDRSTRLEN);
        }
    }
    freeaddrinfo(res);
    if (!ok) {
        while (*n > 0)
            close(blockers[--*n]);
        return 0;
    }
    return port;
}

/* A name with several addresses, all taken: every one is tried, the
 * error is the first address's, and attempts / the message say how many
 * were tried.  The test follows whatever getaddrinfo says "localhost" has
 * (often one address; a name with two: test_eyeballs). */
START_TEST(listen_attempts_counts_every_address)
{
    int blockers[8];
    int n = 0, port = 0, i, tries, fd, before;
    char portstr[8], want[NB_ADDRSTRLEN], suffix[40];
    nb_error e;

    /* another program may hold the port on one of the addresses */
    for (tries = 0; tries < 10 && port == 0; tries++)
        port = occupy_localhost(blockers, &n, want);
    if (port == 0) {
        th_skip("could not take one port on every address of localhost in "
                "%d tries", tries);
        return;
    }
    snprintf(portstr, sizeof(portstr), "%d", port);
    before = th_count_fds();
    fd = nb_tcp_listen("localhost", portstr, 0, 0, &e);
    ck_assert_int_eq(fd, -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "bind");
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);
    ck_assert_int_eq(e.attempts, n);
    ck_assert_str_eq(e.addr, want);
    snprintf(suffix, sizeof(suffix), "(%d addresses tried)", n);
    if (n > 1)
        ck_assert_msg(strstr(e.message, suffix) != NULL, "message \"%s\"",
                      e.message);
    else
        ck_assert_msg(strstr(e.message, "addresses tried") == NULL,
                      "message \"%s\"", e.message);
    ck_assert_int_eq(th_count_fds(), before);
    for (i = 0; i < n; i++)
        close(blockers[i]);
}
END_TEST

/* Argument and resolve errors start no attempt. */
START_TEST(listen_attempts_zero_before_any_bind)
{
    nb_error e;

    ck_assert_int_eq(nb_tcp_listen("127.0.0.1", "65536", 0, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_int_eq(nb_tcp_listen(TH_UNRESOLVABLE, "0", 0, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_int_eq(nb_tcp_listen("127.0.0.1", "0", 0, 0x20, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(e.attempts, 0);
}
END_TEST

/* ------------------------------------------------------ socket options */

START_TEST(listen_reuseport_shares_port)
{
    char port[8];
    struct pollfd pfd[2];
    nb_error e;
    int before = th_count_fds();
    int a, b, c, client, s, plain;

    a = nb_tcp_listen("127.0.0.1", "0", 0, NB_REUSEPORT, &e);
    check_listener(a, &e);
    ck_assert_int_eq(th_sockopt_int(a, SOL_SOCKET, SO_REUSEPORT), 1);
    snprintf(port, sizeof(port), "%d", th_local_port(a));
    b = nb_tcp_listen("127.0.0.1", port, 0, NB_REUSEPORT, &e);
    check_listener(b, &e);
    ck_assert_int_eq(th_sockopt_int(b, SOL_SOCKET, SO_REUSEPORT), 1);
    ck_assert_int_eq(th_local_port(b), th_local_port(a));

    /* without the flag, the port stays taken */
    c = nb_tcp_listen("127.0.0.1", port, 0, 0, &e);
    ck_assert_int_eq(c, -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "bind");
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);

    /* a client lands on one of the two */
    client = raw_connect(AF_INET, th_local_port(a));
    ck_assert_int_ge(client, 0);
    pfd[0].fd = a;
    pfd[1].fd = b;
    pfd[0].events = pfd[1].events = POLLIN;
    ck_assert_int_ge(poll(pfd, 2, 2000), 1);
    s = nb_tcp_accept(pfd[0].revents ? a : b, NULL, 0, &e);
    ck_assert_msg(s >= 0, "%s", e.message);
    close(s);
    close(client);

    plain = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    check_listener(plain, &e);
    ck_assert_int_eq(th_sockopt_int(plain, SOL_SOCKET, SO_REUSEPORT), 0);
    close(plain);
    close(a);
    close(b);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* What SO_REUSEADDR is for: a server restarts on its port while the
 * connections its predecessor closed sit in TIME_WAIT.  This checks the
 * behaviour itself, not the option (check_listener reads that back): the
 * predecessor is a raw listener with SO_REUSEADDR (Linux lets a socket
 * bind over a TIME_WAIT only when both have it), and the listener made on
 * the same port afterwards is only asked to exist and to accept. */
START_TEST(listen_reuseaddr_rebinds_over_time_wait)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char port[8], byte;
    nb_error e;
    int before = th_count_fds();
    int l, c, s, probe, fd, one = 1;

    /* the predecessor: a server that accepts one client and closes first */
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    ck_assert_int_eq(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one,
                                sizeof(one)), 0);
    len = th_loopback(&ss, AF_INET, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&ss, len), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    th_port_of(l, port);
    c = raw_connect(AF_INET, atoi(port));
    ck_assert_int_ge(c, 0);
    wait_readable(l);
    s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(s, 0);
    close(l);
    close(s);                      /* the server's end goes to TIME_WAIT */
    wait_readable(c);
    ck_assert_int_eq(recv(c, &byte, 1, 0), 0);
    close(c);

    /* the port is held: bind(2) without SO_REUSEADDR says so */
    probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(probe, 0);
    len = th_loopback(&ss, AF_INET, atoi(port));
    if (bind(probe, (struct sockaddr *)&ss, len) == 0) {
        close(probe);
        th_skip("no TIME_WAIT left on port %s: nothing to rebind over", port);
        return;
    }
    ck_assert_int_eq(errno, EADDRINUSE);
    /* ...and with it, it is free */
    ck_assert_int_eq(setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one,
                                sizeof(one)), 0);
    ck_assert_msg(bind(probe, (struct sockaddr *)&ss, len) == 0,
                  "even with SO_REUSEADDR the port is taken: %s",
                  strerror(errno));
    close(probe);

    /* the restarted server */
    fd = nb_tcp_listen("127.0.0.1", port, 0, 0, &e);
    ck_assert_msg(fd >= 0, "restart on port %s over TIME_WAIT: %s", port,
                  e.message);
    ck_assert_int_eq(th_local_port(fd), atoi(port));
    ck_assert_int_eq(round_trip(fd, AF_INET), AF_INET);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(listen_nonblock_flag)
{
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen("127.0.0.1", "0", 0, NB_NONBLOCK, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(th_is_nonblock(fd), 1);
    ck_assert_int_eq(accept4(fd, NULL, NULL, SOCK_CLOEXEC), -1);
    ck_assert_int_eq(errno, EAGAIN);
    close(fd);

    fd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* NB_NODELAY on a listener is inherited by what it accepts, whoever
 * accepts: accept4(2) itself or nb_tcp_accept without NB_NODELAY. */
static const int nodelay_families[] = { AF_INET, AF_INET6 };

START_TEST(listen_nodelay_is_inherited)
{
    int family = nodelay_families[_i];
    const char *host = family == AF_INET ? "127.0.0.1" : "::1";
    nb_error e;
    int before = th_count_fds();
    int fd, c, s, plain;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    fd = nb_tcp_listen(host, "0", 0, NB_NODELAY, &e);
    check_listener(fd, &e);

    c = raw_connect(family, th_local_port(fd));
    ck_assert_int_ge(c, 0);
    wait_readable(fd);
    s = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(s, 0);
    ck_assert_msg(th_nodelay(s) == 1, "accept4 on an NB_NODELAY listener: "
                  "TCP_NODELAY off");
    close(s);
    close(c);

    c = raw_connect(family, th_local_port(fd));
    ck_assert_int_ge(c, 0);
    wait_readable(fd);
    s = nb_tcp_accept(fd, NULL, 0, &e);
    ck_assert_msg(s >= 0, "%s", e.message);
    ck_assert_msg(th_nodelay(s) == 1, "nb_tcp_accept on an NB_NODELAY "
                  "listener: TCP_NODELAY off");
    close(s);
    close(c);
    close(fd);

    /* and without the flag, it is off */
    plain = nb_tcp_listen(host, "0", 0, 0, &e);
    check_listener(plain, &e);
    c = raw_connect(family, th_local_port(plain));
    ck_assert_int_ge(c, 0);
    wait_readable(plain);
    s = accept4(plain, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(th_nodelay(s), 0);
    close(s);
    close(c);
    close(plain);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* Every flavour of listener is close-on-exec, has SO_REUSEADDR, is
 * non-blocking exactly with NB_NONBLOCK and is one descriptor. */
static const struct {
    const char *host;
    int flags;
    int needs_v6;
} variants[] = {
    { "127.0.0.1", 0, 0 },
    { "::1", 0, 1 },
    { "localhost", 0, 0 },
    { NULL, 0, 0 },
    { "*", NB_IPV4_ONLY, 0 },
    { "", NB_IPV6_ONLY, 1 },
    { "::", 0, 1 },
    { "0.0.0.0", 0, 0 },
    { "127.0.0.1", NB_NONBLOCK, 0 },
    { "127.0.0.1", NB_REUSEPORT, 0 },
    { "127.0.0.1", NB_NODELAY, 0 },
    { "127.0.0.1", NB_IPV4_ONLY, 0 },
    { "::1", NB_IPV6_ONLY, 1 },
    { NULL, NB_NONBLOCK | NB_REUSEPORT | NB_NODELAY, 0 },
    { NULL, NB_NONBLOCK | NB_REUSEPORT | NB_NODELAY | NB_IPV6_ONLY, 1 },
    { NULL, NB_NONBLOCK | NB_REUSEPORT | NB_NODELAY | NB_IPV4_ONLY, 0 },
};

START_TEST(listen_variants_cloexec_one_fd)
{
    const char *host = variants[_i].host;
    int flags = variants[_i].flags;
    nb_error e;
    int before = th_count_fds();
    int fd;

    if (variants[_i].needs_v6)
        TH_REQUIRE_IPV6();
    nb_error_clear(&e);
    fd = nb_tcp_listen(host, "0", 0, flags, &e);
    check_listener(fd, &e);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
    ck_assert_int_eq(th_sockopt_int(fd, SOL_SOCKET, SO_REUSEPORT) != 0,
                     (flags & NB_REUSEPORT) != 0);
    ck_assert_int_eq(th_nodelay(fd), (flags & NB_NODELAY) != 0);
    if (flags & NB_IPV4_ONLY)
        ck_assert_int_eq(local_family(fd), AF_INET);
    if (flags & NB_IPV6_ONLY) {
        ck_assert_int_eq(local_family(fd), AF_INET6);
        ck_assert_int_eq(th_v6only(fd), 1);
    }
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------- backlog */

/* The backlog the kernel keeps for a listening socket, as ss(8) shows it
 * (sock_diag's idiag_wqueue); -1 when sock_diag cannot tell. */
static long listen_backlog(int fd)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    struct sockaddr_nl kernel;
    struct stat st;
    char buf[16384];
    long found = -1;
    int nl, done = 0;

    ck_assert_int_eq(fstat(fd, &st), 0);
    nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = (unsigned char)local_family(fd);
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = 1u << TCP_LISTEN;
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel,
               sizeof(kernel)) != (ssize_t)sizeof(msg)) {
        close(nl);
        return -1;
    }
    while (!done) {
        struct pollfd pfd = { .fd = nl, .events = POLLIN };
        size_t off = 0;
        ssize_t n;

        if (poll(&pfd, 1, 2000) != 1)
            break;
        n = recv(nl, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        /* copied out with memcpy: no alignment assumed of buf */
        while (off + NLMSG_HDRLEN <= (size_t)n) {
            struct nlmsghdr h;
            struct inet_diag_msg m;

            memcpy(&h, buf + off, sizeof(h));
            if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > (size_t)n ||
                h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) {
                done = 1;
                break;
            }
            if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(m))) {
                memcpy(&m, buf + off + NLMSG_HDRLEN, sizeof(m));
                if (m.idiag_inode == st.st_ino)
                    found = (long)m.idiag_wqueue;
            }
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
    }
    close(nl);
    return found;
}

static long somaxconn_in_effect(void)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    long sysctl = -1;

    if (f != NULL) {
        if (fscanf(f, "%ld", &sysctl) != 1)
            sysctl = -1;
        fclose(f);
    }
    /* listen(2) clamps the backlog to the sysctl */
    return sysctl > 0 && sysctl < SOMAXCONN ? sysctl : SOMAXCONN;
}

static const int backlogs[] = { 0, -1, INT_MIN, 1, 7 };

START_TEST(listen_backlog_nonpositive_means_somaxconn)
{
    int backlog = backlogs[_i];
    long want = backlog > 0 ? backlog : somaxconn_in_effect();
    long got;
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen("127.0.0.1", "0", backlog, 0, &e);
    check_listener(fd, &e);
    got = listen_backlog(fd);
    if (got < 0)
        th_skip_part("backlog %d: sock_diag cannot tell the backlog here; "
                     "checking only that the listener works", backlog);
    else
        ck_assert_msg(got == want, "backlog %d: the kernel keeps %ld, want %ld",
                      backlog, got, want);
    round_trip(fd, AF_INET);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------ ports and names */

START_TEST(listen_port_zero_is_ephemeral)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int low = 1, high = 65535;
    nb_error e;
    int before, a, b;

    if (f != NULL) {
        if (fscanf(f, "%d %d", &low, &high) != 2) {
            low = 1;
            high = 65535;
        }
        fclose(f);
    }
    before = th_count_fds();
    a = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    check_listener(a, &e);
    b = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    check_listener(b, &e);
    ck_assert_int_ne(th_local_port(a), th_local_port(b));
    ck_assert_int_ge(th_local_port(a), low);
    ck_assert_int_le(th_local_port(a), high);
    ck_assert_int_ge(th_local_port(b), low);
    ck_assert_int_le(th_local_port(b), high);
    close(a);
    close(b);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* "daytime" is port 13.  Listening there needs privileges (and someone
 * else may hold it): then bind(2) fails, for port 13 and nothing else. */
START_TEST(listen_service_name_port)
{
    nb_error e;
    int before = th_count_fds();
    int fd;

    fd = nb_tcp_listen("127.83.71.2", "daytime", 0, 0, &e);
    if (fd >= 0) {
        check_listener(fd, &e);
        ck_assert_int_eq(th_local_port(fd), 13);
        close(fd);
    } else {
        th_assert_error(&e, NB_ERR_SYSTEM, "bind");
        ck_assert_msg(e.sys_errno == EACCES || e.sys_errno == EADDRINUSE,
                      "%s", e.message);
        ck_assert_str_eq(e.addr, "127.83.71.2:13");
        printf("listen_service_name_port: %s\n", e.message);
    }
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* An address of the family the flags exclude fails as an argument or
 * resolve error naming the host, with nothing left open. */
static const struct {
    const char *host;
    int flags;
} excluded[] = {
    { "::1", NB_IPV4_ONLY },
    { "::", NB_IPV4_ONLY },
    { "127.0.0.1", NB_IPV6_ONLY },
    { "0.0.0.0", NB_IPV6_ONLY },
};

START_TEST(listen_family_excluded_by_flag_fails_clearly)
{
    const char *host = excluded[_i].host;
    nb_error e;
    int before = th_count_fds();
    int fd;

    memset(&e, 0x5a, sizeof(e));
    fd = nb_tcp_listen(host, "0", 0, excluded[_i].flags, &e);
    if (fd >= 0) {
        char buf[NB_ADDRSTRLEN];
        local_str(fd, buf);
        close(fd);
        ck_abort_msg("%s with flags 0x%x listens on %s", host,
                     (unsigned)excluded[_i].flags, buf);
    }
    ck_assert_msg(e.code == NB_ERR_RESOLVE || e.code == NB_ERR_ARG,
                  "%s: %s", nb_code_name(e.code), e.message);
    if (e.code == NB_ERR_RESOLVE) {
        ck_assert_str_eq(e.op, "resolve");
        ck_assert_int_ne(e.gai_error, 0);
    } else {
        ck_assert_str_eq(e.op, "listen");
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_msg(strstr(e.message, host) != NULL, "message \"%s\" does not "
                  "name %s", e.message, host);
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_int_eq(th_count_fds(), before);
    ck_assert_int_eq(nb_tcp_listen(host, "0", 0, excluded[_i].flags, NULL), -1);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static Suite *listen_suite(void)
{
    Suite *s = suite_create("listen");
    TCase *tc = tcase_create("listen");

    tcase_add_test(tc, listen_ipv4_loopback);
    tcase_add_test(tc, listen_ipv6_loopback);
    tcase_add_test(tc, listen_localhost);
    tcase_add_loop_test(tc, listen_wildcard_is_dual_stack, 0, N_WILDCARD);
    tcase_add_loop_test(tc, listen_wildcard_ipv6_only_refuses_ipv4, 0,
                        N_WILDCARD);
    tcase_add_loop_test(tc, listen_wildcard_ipv4_only_is_0_0_0_0, 0,
                        N_WILDCARD);
    tcase_add_test(tc, listen_explicit_ipv6_any_is_ipv6_only);
    tcase_add_test(tc, listen_explicit_ipv4_any_is_ipv4_only);
    tcase_add_loop_test(tc, listen_address_in_use, 0,
                        sizeof(in_use_hosts) / sizeof(in_use_hosts[0]));
    tcase_add_test(tc, listen_attempts_counts_every_address);
    tcase_add_test(tc, listen_attempts_zero_before_any_bind);
    tcase_add_test(tc, listen_reuseport_shares_port);
    tcase_add_test(tc, listen_reuseaddr_rebinds_over_time_wait);
    tcase_add_test(tc, listen_nonblock_flag);
    tcase_add_loop_test(tc, listen_nodelay_is_inherited, 0,
                        sizeof(nodelay_families) / sizeof(nodelay_families[0]));
    tcase_add_loop_test(tc, listen_variants_cloexec_one_fd, 0,
                        sizeof(variants) / sizeof(variants[0]));
    tcase_add_loop_test(tc, listen_backlog_nonpositive_means_somaxconn, 0,
                        sizeof(backlogs) / sizeof(backlogs[0]));
    tcase_add_test(tc, listen_port_zero_is_ephemeral);
    tcase_add_test(tc, listen_service_name_port);
    tcase_add_loop_test(tc, listen_family_excluded_by_flag_fails_clearly, 0,
                        sizeof(excluded) / sizeof(excluded[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    have_v6 = th_have_ipv6();
    return th_run_suite(listen_suite());
}
