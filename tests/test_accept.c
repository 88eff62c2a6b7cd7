/*
 * test_accept.c - nb_tcp_accept: the peer address, the flags of the
 * accepted socket, close-on-exec, a listener with nothing pending,
 * connections that died in the queue and unix stream listeners.  (Bad
 * descriptors and flags: test_args; EMFILE: test_emfile.)
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
#include <sys/socket.h>
#include <sys/un.h>

#include "helpers.h"

/* ----------------------------------------------------------- utilities */

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
        TH_REQUIRE_IPV6();
    l = listener(family, 0);
    c = client_of(l);
    snprintf(want, sizeof(want), family == AF_INET ? "127.0.0.1:%d"
                                                   : "[::1]:%d", th_local_port(c));
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
    ck_assert_int_eq(nb_addr_port(&peer), th_local_port(c));
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
        TH_REQUIRE_IPV6();
    l = listener(family, 0);
    c = client_of(l);
    wait_readable(l);
    fd = nb_tcp_accept(l, NULL, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_peer_addr(fd, &a, NULL), 0);
    ck_assert_int_eq(nb_addr_port(&a), th_local_port(c));
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
        TH_REQUIRE_IPV6();
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
    char port[8];
    nb_error e;
    int l, c, fd;

    l = th_raw_listener(AF_INET, 4, port);
    ck_assert_int_eq(fcntl(l, F_SETFD, 0), 0);  /* not close-on-exec */
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
    live_port = th_local_port(live);
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
    tcase_add_test(tc, accept_survives_reset_before_accept);
    tcase_add_loop_test(tc, accept_unix_stream_listener, 0, 2);
    tcase_add_test(tc, accept_unix_with_nodelay_keeps_connection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(accept_suite());
}
