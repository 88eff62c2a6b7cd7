/*
 * test_accept.c - nb_tcp_accept: the peer address, the flags of the
 * accepted socket, close-on-exec, a listener with nothing pending, bad
 * descriptors, connections that died in the queue, descriptor exhaustion
 * and unix stream listeners.
 *
 * Listeners and clients are made with raw system calls, so that these
 * tests do not depend on nb_tcp_listen or nb_tcp_connect.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "helpers.h"

static int have_v6;

#define SKIP_WITHOUT_IPV6(what)                                               \
    do {                                                                      \
        if (!have_v6) {                                                       \
            printf("%s: skipped, ::1 cannot be bound here\n", (what));        \
            return;                                                           \
        }                                                                     \
    } while (0)

/* ----------------------------------------------------------- utilities */

static int port_of(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return nb_addr_port(&a);
}

/* A loopback listener; O_NONBLOCK when nonblock. */
static int listener(int family, int nonblock)
{
    char port[8];
    int fd = th_raw_listener(family, 16, port);

    if (nonblock)
        ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* A raw client connected to the loopback listener l (same family). */
static int client_of(int l)
{
    nb_addr a;
    int fd;

    ck_assert_int_eq(nb_local_addr(l, &a, NULL), 0);
    fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    /* loopback: the handshake completes into the accept queue at once */
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
    return fd;
}

static void wait_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    ck_assert_msg(poll(&pfd, 1, 2000) == 1, "nothing to accept within 2 s");
}

/* Data flows from client to accepted socket. */
static void check_connected(int client, int accepted)
{
    char buf[2];

    ck_assert_int_eq(send(client, "hi", 2, MSG_NOSIGNAL), 2);
    ck_assert_int_eq(recv(accepted, buf, 2, MSG_WAITALL), 2);
    ck_assert(memcmp(buf, "hi", 2) == 0);
}

static const int families[] = { AF_INET, AF_INET6 };
#define N_FAMILIES (int)(sizeof(families) / sizeof(families[0]))

/* ------------------------------------------------------------ the peer */

START_TEST(accept_fills_peer)
{
    int family = families[_i];
    char want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    nb_addr peer, again;
    nb_error e;
    int l, c, fd, before;

    if (family == AF_INET6)
        SKIP_WITHOUT_IPV6("accept_fills_peer(::1)");
    l = listener(family, 0);
    c = client_of(l);
    snprintf(want, sizeof(want), family == AF_INET ? "127.0.0.1:%d"
                                                   : "[::1]:%d", port_of(c));
    before = th_count_fds();
    memset(&peer, 0x5a, sizeof(peer));
    nb_error_clear(&e);
    wait_readable(l);
    fd = nb_tcp_accept(l, &peer, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(peer.ss.ss_family, family);
    ck_assert_uint_eq(peer.len, family == AF_INET ? sizeof(struct sockaddr_in)
                                                  : sizeof(struct sockaddr_in6));
    ck_assert_int_eq(nb_addr_port(&peer), port_of(c));
    ck_assert_str_eq(nb_addr_format(&peer, got, sizeof(got)), want);
    ck_assert_int_eq(nb_peer_addr(fd, &again, NULL), 0);
    ck_assert_uint_eq(again.len, peer.len);
    ck_assert(memcmp(&again.ss, &peer.ss, peer.len) == 0);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    ck_assert_int_eq(th_nodelay(fd), 0);
    check_connected(c, fd);
    close(fd);
    close(c);
    close(l);
}
END_TEST

START_TEST(accept_peer_null_works)
{
    int family = families[_i];
    nb_addr a;
    nb_error e;
    int l, c, fd;

    if (family == AF_INET6)
        SKIP_WITHOUT_IPV6("accept_peer_null_works(::1)");
    l = listener(family, 0);
    c = client_of(l);
    wait_readable(l);
    fd = nb_tcp_accept(l, NULL, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_peer_addr(fd, &a, NULL), 0);
    ck_assert_int_eq(nb_addr_port(&a), port_of(c));
    check_connected(c, fd);
    close(fd);
    close(c);
    /* and with err NULL as well */
    c = client_of(l);
    wait_readable(l);
    fd = nb_tcp_accept(l, NULL, 0, NULL);
    ck_assert_int_ge(fd, 0);
    check_connected(c, fd);
    close(fd);
    close(c);
    close(l);
}
END_TEST

/* ------------------------------------------------------------ flags */

/* The accepted socket has exactly the flags asked for, whatever the
 * listener's own mode (Linux's accept(2) does not pass O_NONBLOCK on),
 * and the listener's mode is left alone. */
static const struct {
    int family;
    int listener_nonblock;
    int flags;
} flag_rows[] = {
    { AF_INET, 0, 0 },
    { AF_INET, 0, NB_NONBLOCK },
    { AF_INET, 0, NB_NODELAY },
    { AF_INET, 0, NB_NONBLOCK | NB_NODELAY },
    { AF_INET, 1, 0 },
    { AF_INET, 1, NB_NONBLOCK },
    { AF_INET, 1, NB_NODELAY },
    { AF_INET, 1, NB_NONBLOCK | NB_NODELAY },
    { AF_INET6, 0, 0 },
    { AF_INET6, 0, NB_NONBLOCK },
    { AF_INET6, 1, NB_NODELAY },
    { AF_INET6, 1, NB_NONBLOCK | NB_NODELAY },
};

START_TEST(accept_flags_on_accepted_socket)
{
    int flags = flag_rows[_i].flags;
    nb_error e;
    int l, c, fd, before;

    if (flag_rows[_i].family == AF_INET6)
        SKIP_WITHOUT_IPV6("accept_flags_on_accepted_socket(::1)");
    l = listener(flag_rows[_i].family, flag_rows[_i].listener_nonblock);
    c = client_of(l);
    wait_readable(l);
    before = th_count_fds();
    fd = nb_tcp_accept(l, NULL, flags, &e);
    ck_assert_msg(fd >= 0, "flags 0x%x: %s", (unsigned)flags, e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
    ck_assert_int_eq(th_nodelay(fd), (flags & NB_NODELAY) != 0);
    ck_assert_int_eq(th_is_nonblock(l), flag_rows[_i].listener_nonblock);
    check_connected(c, fd);
    close(fd);
    close(c);
    close(l);
}
END_TEST

/* A listener without FD_CLOEXEC still hands out close-on-exec sockets
 * (accept4 with SOCK_CLOEXEC, not inheritance). */
START_TEST(accept_is_cloexec_even_from_inheritable_listener)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    nb_error e;
    int l, c, fd;

    l = socket(AF_INET, SOCK_STREAM, 0);  /* no SOCK_CLOEXEC */
    ck_assert_int_ge(l, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
    ck_assert_int_eq(th_is_cloexec(l), 0);
    c = client_of(l);
    wait_readable(l);
    fd = nb_tcp_accept(l, NULL, NB_NONBLOCK | NB_NODELAY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    close(fd);
    close(c);
    close(l);
}
END_TEST

/* ----------------------------------------------------- nothing pending */

START_TEST(accept_nothing_pending_is_eagain)
{
    nb_error e;
    nb_addr peer;
    int64_t t0;
    int l, before, r, saved;

    if (_i == 0) {
        l = listener(AF_INET, 1);
    } else {
        l = nb_tcp_listen("127.0.0.1", "0", 0, NB_NONBLOCK, &e);
        ck_assert_msg(l >= 0, "%s", e.message);
    }
    before = th_count_fds();
    memset(&e, 0x5a, sizeof(e));
    t0 = th_now_ms();
    errno = 0;
    r = nb_tcp_accept(l, &peer, 0, &e);
    saved = errno;
    ck_assert_int_eq(r, -1);
    ck_assert_msg(saved == EAGAIN || saved == EWOULDBLOCK, "errno %d", saved);
    th_assert_error(&e, NB_ERR_SYSTEM, "accept");
    ck_assert_msg(e.sys_errno == EAGAIN || e.sys_errno == EWOULDBLOCK,
                  "sys_errno %d", e.sys_errno);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_uint_eq(e.transferred, 0);
    ck_assert_msg(strstr(e.message, strerror(EAGAIN)) != NULL,
                  "message \"%s\"", e.message);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_int_eq(th_count_fds(), before);

    /* the same with flags for the accepted socket, and with err NULL */
    ck_assert_int_eq(nb_tcp_accept(l, NULL, NB_NONBLOCK | NB_NODELAY, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_SYSTEM);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    errno = 0;
    ck_assert_int_eq(nb_tcp_accept(l, NULL, 0, NULL), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    ck_assert_int_eq(th_count_fds(), before);
    ck_assert_msg(th_now_ms() - t0 < 1000, "a non-blocking accept waited");
    close(l);
}
END_TEST

/* ----------------------------------------------------- bad descriptors */

enum fd_kind { FD_MINUS1, FD_CLOSED, FD_PIPE, FD_UDP, FD_TCP_FRESH,
               FD_TCP_CONNECTED, FD_UNIX_DGRAM, FD_REGULAR_FILE };

static const struct {
    enum fd_kind kind;
    const char *what;
    int err_no;       /* errno wanted */
    int err_no_alt;   /* or this one */
} bad_fds[] = {
    { FD_MINUS1, "-1", EINVAL, 0 },
    { FD_CLOSED, "a closed descriptor", EBADF, 0 },
    { FD_PIPE, "a pipe", ENOTSOCK, 0 },
    { FD_REGULAR_FILE, "/dev/null", ENOTSOCK, 0 },
    { FD_UDP, "a UDP socket", EINVAL, EOPNOTSUPP },
    { FD_TCP_FRESH, "a TCP socket that never listened", EINVAL, 0 },
    { FD_TCP_CONNECTED, "a connected TCP socket", EINVAL, 0 },
    { FD_UNIX_DGRAM, "a unix datagram socket", EINVAL, EOPNOTSUPP },
};

START_TEST(accept_bad_descriptor)
{
    char number[16];
    int extra[2] = { -1, -1 };
    nb_error e;
    int fd = -1, before, r, saved;

    switch (bad_fds[_i].kind) {
    case FD_MINUS1:
        fd = -1;
        break;
    case FD_CLOSED:
        fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        close(fd);
        break;
    case FD_PIPE:
        ck_assert_int_eq(pipe2(extra, O_CLOEXEC), 0);
        fd = extra[0];
        break;
    case FD_REGULAR_FILE:
        fd = extra[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        break;
    case FD_UDP:
        fd = extra[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        break;
    case FD_TCP_FRESH:
        fd = extra[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        break;
    case FD_TCP_CONNECTED:
        th_tcp_pair(&extra[0], &extra[1]);
        fd = extra[0];
        break;
    case FD_UNIX_DGRAM:
        fd = extra[0] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        break;
    }
    if (bad_fds[_i].kind != FD_MINUS1 && bad_fds[_i].kind != FD_CLOSED)
        ck_assert_int_ge(fd, 0);
    snprintf(number, sizeof(number), "%d", fd);

    before = th_count_fds();
    memset(&e, 0x5a, sizeof(e));
    errno = 0;
    r = nb_tcp_accept(fd, NULL, 0, &e);
    saved = errno;
    if (r >= 0)
        close(r);
    ck_assert_msg(r == -1, "%s: accepted %d", bad_fds[_i].what, r);
    th_assert_error(&e, NB_ERR_ARG, "accept");
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_msg(saved == bad_fds[_i].err_no ||
                  (bad_fds[_i].err_no_alt != 0 &&
                   saved == bad_fds[_i].err_no_alt),
                  "%s: errno %d (%s)", bad_fds[_i].what, saved,
                  strerror(saved));
    ck_assert_msg(strstr(e.message, number) != NULL,
                  "%s: message \"%s\" does not name descriptor %s",
                  bad_fds[_i].what, e.message, number);
    ck_assert_int_eq(th_count_fds(), before);

    errno = 0;
    ck_assert_int_eq(nb_tcp_accept(fd, NULL, NB_NONBLOCK, NULL), -1);
    ck_assert_int_eq(errno, saved);
    ck_assert_int_eq(th_count_fds(), before);
    if (extra[0] >= 0)
        close(extra[0]);
    if (extra[1] >= 0)
        close(extra[1]);
}
END_TEST

/* ------------------------------------------ connections that died early */

/* Clients that connect and reset (SO_LINGER 0, close) before the server
 * accepts: accept returns such a dead socket or skips it, but never fails,
 * and the live connection behind them is reached. */
START_TEST(accept_survives_reset_before_accept)
{
    struct linger lg = { 1, 0 };
    nb_addr peer;
    nb_error e;
    int l, i, c, live, live_port, found = 0, dead = 0, before;

    l = listener(AF_INET, 0);
    for (i = 0; i < 3; i++) {
        c = client_of(l);
        ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
                         0);
        close(c);  /* RST */
    }
    live = client_of(l);
    live_port = port_of(live);
    before = th_count_fds();
    for (i = 0; i < 5 && !found; i++) {
        int fd;
        wait_readable(l);
        fd = nb_tcp_accept(l, &peer, 0, &e);
        ck_assert_msg(fd >= 0, "accept after a reset connection: %s",
                      e.message);
        ck_assert_int_eq(th_is_cloexec(fd), 1);
        if (nb_addr_port(&peer) == live_port) {
            found = 1;
            check_connected(live, fd);
        } else {
            dead++;
        }
        close(fd);
    }
    ck_assert_msg(found, "the live connection was not accepted");
    printf("accept_survives_reset_before_accept: %d reset connection(s) "
           "returned before the live one\n", dead);
    ck_assert_int_eq(th_count_fds(), before);
    close(live);
    close(l);
}
END_TEST

/* ------------------------------------------------ descriptor exhaustion */

/* EMFILE is reported at once (temporary), not looped on, and the
 * connection stays queued for a later accept. */
START_TEST(accept_emfile_is_reported)
{
    struct rlimit old, low;
    struct pollfd pfd;
    nb_error e;
    int64_t t0, took;
    int l, c, probe, r, saved, fd;

    l = listener(AF_INET, 0);
    c = client_of(l);
    wait_readable(l);
    probe = fcntl(l, F_DUPFD_CLOEXEC, 0);  /* the lowest free number */
    ck_assert_int_ge(probe, 0);
    close(probe);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)probe;  /* every number below is in use */

    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    memset(&e, 0x5a, sizeof(e));
    t0 = th_now_ms();
    r = nb_tcp_accept(l, NULL, 0, &e);
    saved = errno;
    took = th_now_ms() - t0;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);

    if (r >= 0)
        close(r);
    ck_assert_msg(r == -1, "accepted %d above the descriptor limit", r);
    ck_assert_int_eq(saved, EMFILE);
    th_assert_error(&e, NB_ERR_SYSTEM, "accept");
    ck_assert_int_eq(e.sys_errno, EMFILE);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_msg(took < 1000, "accept spent %lld ms on EMFILE",
                  (long long)took);

    /* Linux takes the descriptor number before the connection, which
     * then stays queued.  (Under valgrind, which enforces the limit
     * itself after the kernel accepted, the connection is gone.) */
    pfd.fd = l;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 500) == 1) {
        fd = nb_tcp_accept(l, NULL, 0, &e);
        ck_assert_msg(fd >= 0, "%s", e.message);
        check_connected(c, fd);
        close(fd);
    } else {
        printf("accept_emfile_is_reported: the connection did not stay "
               "queued (valgrind?)\n");
    }
    close(c);
    close(l);
}
END_TEST

/* ---------------------------------------------------------- unix sockets */

static int unix_listener(char name[64])
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    snprintf(name, 64, "nb-accept-%ld", (long)getpid());
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path + 1, name, strlen(name));  /* abstract */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    return fd;
}

START_TEST(accept_unix_stream_listener)
{
    static const int unix_flags[] = { 0, NB_NONBLOCK };
    int flags = unix_flags[_i];
    char name[64];
    nb_addr peer;
    nb_error e;
    int l, c, fd, before;

    l = unix_listener(name);
    c = client_of(l);
    before = th_count_fds();
    wait_readable(l);
    memset(&peer, 0x5a, sizeof(peer));
    fd = nb_tcp_accept(l, &peer, flags, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(peer.ss.ss_family, AF_UNIX);
    ck_assert_uint_le(peer.len, sizeof(peer.ss));
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
    check_connected(c, fd);
    close(fd);
    close(c);
    close(l);
}
END_TEST

/* NB_NODELAY means nothing to a unix socket (the header: "Works on Unix
 * stream listeners too (without NB_NODELAY)").  What it does then is not
 * specified; whatever it is must leave nothing open behind a failure. */
/* NB_NODELAY is a TCP option: on a Unix listener's connection it does not
 * apply, and the connection is accepted rather than lost. */
START_TEST(accept_unix_with_nodelay_keeps_connection)
{
    char name[64];
    nb_error e;
    int l, c, fd, before;

    l = unix_listener(name);
    c = client_of(l);
    wait_readable(l);
    before = th_count_fds();
    fd = nb_tcp_accept(l, NULL, NB_NODELAY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(write(c, "x", 1), 1);
    {
        char byte;
        ck_assert_int_eq(read(fd, &byte, 1), 1);
        ck_assert_int_eq(byte, 'x');
    }
    close(fd);
    close(c);
    close(l);
}
END_TEST

static Suite *accept_suite(void)
{
    Suite *s = suite_create("accept");
    TCase *tc = tcase_create("accept");

    tcase_add_loop_test(tc, accept_fills_peer, 0, N_FAMILIES);
    tcase_add_loop_test(tc, accept_peer_null_works, 0, N_FAMILIES);
    tcase_add_loop_test(tc, accept_flags_on_accepted_socket, 0,
                        sizeof(flag_rows) / sizeof(flag_rows[0]));
    tcase_add_test(tc, accept_is_cloexec_even_from_inheritable_listener);
    tcase_add_loop_test(tc, accept_nothing_pending_is_eagain, 0, 2);
    tcase_add_loop_test(tc, accept_bad_descriptor, 0,
                        sizeof(bad_fds) / sizeof(bad_fds[0]));
    tcase_add_test(tc, accept_survives_reset_before_accept);
    tcase_add_test(tc, accept_emfile_is_reported);
    tcase_add_loop_test(tc, accept_unix_stream_listener, 0, 2);
    tcase_add_test(tc, accept_unix_with_nodelay_keeps_connection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    have_v6 = th_have_ipv6();
    return th_run_suite(accept_suite());
}
