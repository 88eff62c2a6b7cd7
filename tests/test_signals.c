/*
 * test_signals.c - signals arriving during blocking calls (a SIGALRM storm
 * whose handler has no SA_RESTART, so every slow system call fails with
 * EINTR) are retried inside the library: callers never see EINTR, the
 * calls still return what they should, and a deadline is neither cut
 * short nor stretched.
 *
 * The storm's signals must reach the thread that is blocked in the
 * library: helper threads are started with SIGALRM blocked, and every test
 * asserts that signals really arrived (so that it can fail).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

#define STORM_US 3000     /* a signal every 3 ms */
#define DELAY_MS 100      /* when a helper thread acts */
#define TIMEOUT_MS 300    /* deadline of the timed calls */
#define EARLY_MS 5        /* th_now_ms truncates: allowed measuring slack */
#define LATE_MS 2500      /* generous: a loaded 2-core machine, valgrind */

/* ------------------------------------------------------------ fixture */

static struct sigaction saved_alrm;
static int storm_running;
static int fds_at_start;

static void setup(void)
{
    ck_assert_int_eq(sigaction(SIGALRM, NULL, &saved_alrm), 0);
    storm_running = 0;
    fds_at_start = th_count_fds();
}

/* Runs after every test, failed or not: no timer and the old SIGALRM
 * disposition, also when all tests share one process (CK_FORK=no). */
static void teardown(void)
{
    struct itimerval off, now;

    memset(&off, 0, sizeof(off));
    if (storm_running)
        th_signal_storm_stop();
    storm_running = 0;
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &saved_alrm, NULL);
    getitimer(ITIMER_REAL, &now);
    ck_assert(now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);
}

static void storm_start(void)
{
    storm_running = 1;
    th_signal_storm_start(STORM_US);
}

/* Stops the storm, restores the disposition and returns how many signals
 * arrived; asserts that some did, so that a test cannot pass vacuously. */
static long storm_stop(void)
{
    long n = th_signal_storm_stop();

    storm_running = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &saved_alrm, NULL), 0);
    ck_assert_msg(n > 0, "the storm delivered no signal");
    return n;
}

static void assert_no_fd_leak(void)
{
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}

/* ---------------------------------------------------- helper threads */

/* Something a helper thread does DELAY_MS after later_start() (the wait
 * only creates the delay the test measures; nothing synchronises on it).
 * The moment is fixed by the starting thread, so that however late the
 * helper is scheduled, it never acts before start + DELAY_MS.  The helper
 * never calls ck_assert: it records what went wrong in why[]. */
struct later {
    pthread_t tid;
    void (*act)(struct later *);
    int64_t act_at;    /* th_now_ms() when to act */
    int fd;            /* the descriptor the action works on */
    char port[8];      /* the port it connects or sends to */
    size_t len;        /* bytes to drain */
    /* results */
    int ok;
    char why[160];
    int local_port;    /* of the socket the helper made */
    size_t got;        /* bytes drained */
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    int64_t now;

    while ((now = th_now_ms()) < l->act_at)
        poll(NULL, 0, (int)(l->act_at - now));
    /* On a loaded machine (or under valgrind) the storm may not have hit
     * the waiting call yet: act only once it has, or the test would prove
     * nothing.  Bounded: storm_stop() reports a storm that never came. */
    while (th_signals_seen() < 2 && th_now_ms() < l->act_at + 5000)
        poll(NULL, 0, 1);
    l->ok = 1;
    l->act(l);
    return NULL;
}

static void later_fail(struct later *l, const char *what)
{
    if (l->ok)
        snprintf(l->why, sizeof(l->why), "%s (errno %d)", what, errno);
    l->ok = 0;
}

/* Starts the helper with SIGALRM blocked, so that every signal of the
 * storm goes to the calling thread, the one inside the library.  Returns
 * the time it counts DELAY_MS from. */
static int64_t later_start(struct later *l, void (*act)(struct later *))
{
    sigset_t alrm, old;
    int64_t start = th_now_ms();

    l->act_at = start + DELAY_MS;
    l->act = act;
    l->ok = 0;
    strcpy(l->why, "did not run");
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &alrm, &old), 0);
    ck_assert_int_eq(pthread_create(&l->tid, NULL, later_main, l), 0);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    return start;
}

static void later_join(struct later *l)
{
    ck_assert_int_eq(pthread_join(l->tid, NULL), 0);
    ck_assert_msg(l->ok, "helper thread: %s", l->why);
}

static int local_port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* (Not th_loopback: the helper threads never call ck_assert.) */
static void loopback4(struct sockaddr_in *sin, const char *port)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons((uint16_t)atoi(port));
}

/* Connects to 127.0.0.1:port, sends "ping" and closes. */
static void act_connect_and_ping(struct later *l)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    loopback4(&sin, l->port);
    if (fd < 0) {
        later_fail(l, "socket");
        return;
    }
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        later_fail(l, "connect");
    else if (send(fd, "ping", 4, MSG_NOSIGNAL) != 4)
        later_fail(l, "send");
    l->local_port = local_port_of(fd);
    close(fd);
}

/* Sends "hello" on l->fd. */
static void act_send_hello(struct later *l)
{
    if (send(l->fd, "hello", 5, MSG_NOSIGNAL) != 5)
        later_fail(l, "send");
}

/* Sends the datagram "dgram" to 127.0.0.1:port from a socket of its own. */
static void act_send_datagram(struct later *l)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    loopback4(&sin, l->port);
    if (fd < 0) {
        later_fail(l, "socket");
        return;
    }
    if (sendto(fd, "dgram", 5, 0, (struct sockaddr *)&sin, sizeof(sin)) != 5)
        later_fail(l, "sendto");
    l->local_port = local_port_of(fd);
    close(fd);
}

static unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i % 251);
}

/* Reads l->len bytes from l->fd and checks the pattern. */
static void act_drain(struct later *l)
{
    unsigned char buf[16384];

    l->got = 0;
    while (l->got < l->len) {
        struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
        ssize_t n, i;
        /* never hang the test when the sender gave up */
        if (poll(&pfd, 1, 5000) != 1) {
            errno = ETIMEDOUT;
            later_fail(l, "nothing more arrived");
            return;
        }
        n = recv(l->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            later_fail(l, n == 0 ? "early end of stream" : "recv");
            return;
        }
        for (i = 0; i < n; i++)
            if (buf[i] != pattern_byte(l->got + (size_t)i)) {
                errno = EILSEQ;
                later_fail(l, "data corrupted");
                return;
            }
        l->got += (size_t)n;
    }
}

/* Accepts (and closes) every connection pending on the listener l->fd:
 * this frees room in its queue. */
static void act_accept_all_pending(struct later *l)
{
    struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
    int n = 0;

    while (poll(&pfd, 1, 0) == 1) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            later_fail(l, "accept4");
            return;
        }
        close(fd);
        n++;
    }
    if (n == 0) {
        errno = ENOENT;
        later_fail(l, "nothing was pending");
    }
}

/* Accepts one connection on l->fd and closes it. */
static void act_accept_one(struct later *l)
{
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        later_fail(l, "accept4");
        return;
    }
    close(fd);
}

/* ---------------------------------------------------------------- TCP */

START_TEST(accept_blocks_through_signals_until_client_connects)
{
    struct later client = { .fd = -1 };
    nb_error e;
    nb_addr peer;
    char buf[8];
    int64_t t0, elapsed;
    long signals;
    int listener, fd;

    listener = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(listener, 0);
    th_port_of(listener, client.port);
    nb_error_clear(&e);

    t0 = later_start(&client, act_connect_and_ping);
    storm_start();
    errno = 0;
    fd = nb_tcp_accept(listener, &peer, 0, &e);
    elapsed = th_now_ms() - t0;
    signals = storm_stop();
    later_join(&client);

    ck_assert_msg(fd >= 0, "accept failed: %s (errno %d)", e.message, errno);
    ck_assert_int_eq(e.code, NB_OK);  /* success leaves err untouched */
    ck_assert_int_ge(elapsed, DELAY_MS);
    ck_assert_int_lt(elapsed, DELAY_MS + LATE_MS);
    ck_assert_int_ge(signals, 2);
    ck_assert_int_eq(nb_addr_port(&peer), client.local_port);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_recv_all(fd, buf, 4, 2000, &e), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    close(fd);
    close(listener);
    assert_no_fd_leak();
}
END_TEST

static const struct {
    int family;
    int flags;
} stalled_cases[] = {
    { AF_INET, 0 },
    { AF_INET6, NB_NONBLOCK },
};

START_TEST(connect_deadline_to_stalled_listener_holds_through_signals)
{
    const int family = stalled_cases[_i].family;
    const char *host = family == AF_INET ? "127.0.0.1" : "::1";
    struct th_stall stall;
    char want_addr[64], want_msg[128];
    nb_error e;
    int64_t t0, elapsed;
    long signals;
    int fd, fds;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    th_stall_open(&stall, family);
    snprintf(want_addr, sizeof(want_addr),
             family == AF_INET ? "%s:%s" : "[%s]:%s", host, stall.port);
    snprintf(want_msg, sizeof(want_msg), "connect %s: timed out after %d ms",
             want_addr, TIMEOUT_MS);
    fds = th_count_fds();
    nb_error_clear(&e);
    storm_start();
    t0 = th_now_ms();
    errno = 0;
    fd = nb_tcp_connect(host, stall.port, TIMEOUT_MS, stalled_cases[_i].flags,
                        &e);
    elapsed = th_now_ms() - t0;
    signals = storm_stop();

    ck_assert_int_eq(fd, -1);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_str_eq(e.addr, want_addr);
    ck_assert_str_eq(e.message, want_msg);
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_int_ge(elapsed, TIMEOUT_MS - EARLY_MS);
    ck_assert_int_lt(elapsed, TIMEOUT_MS + LATE_MS);
    ck_assert_int_gt(signals, 10);
    ck_assert_int_eq(th_count_fds(), fds);
    th_stall_close(&stall);
    assert_no_fd_leak();
}
END_TEST

/* A blocking connect(2) interrupted by a signal carries on in the kernel;
 * the library must wait for it (poll + SO_ERROR), not call connect again
 * (EALREADY) nor report EINTR.  The listener's queue is full; a helper
 * empties it after DELAY_MS and the SYN retransmission (about 1 s later)
 * then completes the handshake. */
START_TEST(blocking_connect_interrupted_by_signals_completes)
{
    struct th_stall stall;
    struct later drain = { .fd = -1 };
    nb_error e;
    nb_addr peer;
    int64_t t0, elapsed;
    int fd;

    th_stall_open(&stall, AF_INET);
    drain.fd = stall.listener;
    nb_error_clear(&e);
    t0 = later_start(&drain, act_accept_all_pending);
    storm_start();
    errno = 0;
    fd = nb_tcp_connect("127.0.0.1", stall.port, 0, 0, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&drain);

    ck_assert_msg(fd >= 0, "connect failed: %s (errno %d)", e.message, errno);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_ge(elapsed, DELAY_MS);
    ck_assert_int_lt(elapsed, 8000);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
    ck_assert_int_eq(nb_addr_port(&peer), atoi(stall.port));
    close(fd);
    th_stall_close(&stall);
    assert_no_fd_leak();
}
END_TEST

/* --------------------------------------------------------- stream I/O */

START_TEST(recv_all_deadline_holds_through_signals)
{
    nb_error e;
    char buf[16], where[32];
    int64_t t0, elapsed;
    int client, server;

    th_tcp_pair(&client, &server);
    ck_assert_int_eq(send(server, "abc", 3, 0), 3);  /* part of what is asked */
    nb_error_clear(&e);
    storm_start();
    t0 = th_now_ms();
    errno = 0;
    ck_assert_int_eq(nb_recv_all(client, buf, 10, TIMEOUT_MS, &e), -1);
    elapsed = th_now_ms() - t0;
    storm_stop();

    th_assert_error(&e, NB_ERR_TIMEOUT, "recv");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_uint_eq(e.transferred, 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    /* the message names the peer of the connection */
    {
        nb_addr peer;
        ck_assert_int_eq(nb_peer_addr(client, &peer, NULL), 0);
        nb_addr_format(&peer, where, sizeof(where));
    }
    ck_assert_str_eq(e.addr, where);
    ck_assert_int_ge(elapsed, TIMEOUT_MS - EARLY_MS);
    ck_assert_int_lt(elapsed, TIMEOUT_MS + LATE_MS);
    close(client);
    close(server);
    assert_no_fd_leak();
}
END_TEST

START_TEST(recv_all_without_deadline_waits_through_signals)
{
    struct later sender = { .fd = -1 };
    nb_error e;
    char buf[8];
    int64_t t0, elapsed;
    ssize_t n;
    int client, server;

    th_tcp_pair(&client, &server);
    sender.fd = server;
    nb_error_clear(&e);
    t0 = later_start(&sender, act_send_hello);
    storm_start();
    errno = 0;
    n = nb_recv_all(client, buf, 5, 0, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&sender);

    ck_assert_msg(n == 5, "recv_all returned %zd: %s (errno %d)", n, e.message,
                  errno);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_ge(elapsed, DELAY_MS);
    ck_assert_int_lt(elapsed, DELAY_MS + LATE_MS);
    close(client);
    close(server);
    assert_no_fd_leak();
}
END_TEST

START_TEST(recv_all_with_deadline_gets_late_data_through_signals)
{
    struct later sender = { .fd = -1 };
    nb_error e;
    char buf[8];
    int64_t t0, elapsed;
    ssize_t n;
    int client, server;

    th_tcp_pair(&client, &server);
    sender.fd = server;
    nb_error_clear(&e);
    t0 = later_start(&sender, act_send_hello);
    storm_start();
    n = nb_recv_all(client, buf, 5, 5000, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&sender);

    ck_assert_msg(n == 5, "recv_all returned %zd: %s", n, e.message);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_ge(elapsed, DELAY_MS);
    close(client);
    close(server);
    assert_no_fd_leak();
}
END_TEST

#define BIG (1024 * 1024)

/* The peer reads nothing for DELAY_MS: send(2) blocks (or polls) with
 * signals arriving, and partial sends must be continued, not lost. */
static void send_all_to_slow_reader(int timeout_ms)
{
    struct later reader = { .fd = -1 };
    unsigned char *data = malloc(BIG);
    nb_error e;
    int64_t t0, elapsed;
    ssize_t n;
    size_t i;
    /* fixed buffers, small enough that the sender must wait for the reader
     * (but above loopback's 64 KiB MSS: smaller ones make TCP crawl) */
    int client, server, size = 128 * 1024;

    ck_assert_ptr_nonnull(data);
    for (i = 0; i < BIG; i++)
        data[i] = pattern_byte(i);
    th_tcp_pair(&client, &server);
    ck_assert_int_eq(setsockopt(client, SOL_SOCKET, SO_SNDBUF, &size,
                                sizeof(size)), 0);
    ck_assert_int_eq(setsockopt(server, SOL_SOCKET, SO_RCVBUF, &size,
                                sizeof(size)), 0);
    reader.fd = server;
    reader.len = BIG;
    nb_error_clear(&e);
    t0 = later_start(&reader, act_drain);
    storm_start();
    errno = 0;
    n = nb_send_all(client, data, BIG, timeout_ms, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&reader);

    ck_assert_msg(n == BIG, "send_all returned %zd: %s (errno %d, %zu sent)",
                  n, e.message, errno, e.transferred);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_uint_eq(reader.got, BIG);
    ck_assert_int_ge(elapsed, DELAY_MS);  /* it really had to wait */
    free(data);
    close(client);
    close(server);
    assert_no_fd_leak();
}

START_TEST(send_all_without_deadline_completes_through_signals)
{
    send_all_to_slow_reader(0);
}
END_TEST

START_TEST(send_all_with_deadline_completes_through_signals)
{
    send_all_to_slow_reader(10000);
}
END_TEST

/* ---------------------------------------------------------------- UDP */

START_TEST(udp_recvfrom_deadline_holds_through_signals)
{
    nb_error e;
    char buf[16];
    int64_t t0, elapsed;
    int fd;

    fd = nb_udp_bind("127.0.0.1", "0", 0, NULL);
    ck_assert_int_ge(fd, 0);
    nb_error_clear(&e);
    storm_start();
    t0 = th_now_ms();
    errno = 0;
    ck_assert_int_eq(nb_udp_recvfrom(fd, buf, sizeof(buf), NULL, TIMEOUT_MS, &e),
                     -1);
    elapsed = th_now_ms() - t0;
    storm_stop();

    th_assert_error(&e, NB_ERR_TIMEOUT, "recvfrom");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_ge(elapsed, TIMEOUT_MS - EARLY_MS);
    ck_assert_int_lt(elapsed, TIMEOUT_MS + LATE_MS);
    close(fd);
    assert_no_fd_leak();
}
END_TEST

static void udp_recvfrom_late_datagram(int timeout_ms)
{
    struct later sender = { .fd = -1 };
    nb_error e;
    nb_addr from;
    char buf[16];
    int64_t t0, elapsed;
    ssize_t n;
    int fd;

    fd = nb_udp_bind("127.0.0.1", "0", 0, NULL);
    ck_assert_int_ge(fd, 0);
    th_port_of(fd, sender.port);
    nb_error_clear(&e);
    t0 = later_start(&sender, act_send_datagram);
    storm_start();
    errno = 0;
    n = nb_udp_recvfrom(fd, buf, sizeof(buf), &from, timeout_ms, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&sender);

    ck_assert_msg(n == 5, "recvfrom returned %zd: %s (errno %d)", n, e.message,
                  errno);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(memcmp(buf, "dgram", 5), 0);
    ck_assert_int_eq(nb_addr_port(&from), sender.local_port);
    ck_assert_int_ge(elapsed, DELAY_MS);
    ck_assert_int_lt(elapsed, DELAY_MS + LATE_MS);
    close(fd);
    assert_no_fd_leak();
}

START_TEST(udp_recvfrom_without_deadline_waits_through_signals)
{
    udp_recvfrom_late_datagram(0);
}
END_TEST

START_TEST(udp_recvfrom_with_deadline_gets_late_datagram_through_signals)
{
    udp_recvfrom_late_datagram(5000);
}
END_TEST

/* ------------------------------------------------------- Unix sockets */

/* A Unix stream listener (abstract name, raw system calls) whose backlog
 * is full: a blocking connect(2) to it waits until there is room. */
struct full_unix {
    int listener;
    int fillers[TH_MAX_FILLERS];
    int nfillers;
    char name[64];  /* "@..." as nb_unix_connect takes it */
};

static void full_unix_open(struct full_unix *u)
{
    static int serial;
    struct sockaddr_un sun;
    socklen_t len;
    size_t n;

    snprintf(u->name, sizeof(u->name), "@nb-test-signals-%ld-%d",
             (long)getpid(), serial++);
    n = strlen(u->name);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path + 1, u->name + 1, n - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    u->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(u->listener, 0);
    ck_assert_int_eq(bind(u->listener, (struct sockaddr *)&sun, len), 0);
    ck_assert_int_eq(listen(u->listener, 1), 0);
    for (u->nfillers = 0;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
            ck_assert_int_eq(errno, EAGAIN);
            close(fd);
            break;
        }
        ck_assert_int_lt(u->nfillers, TH_MAX_FILLERS);
        u->fillers[u->nfillers++] = fd;
    }
}

static void full_unix_close(struct full_unix *u)
{
    int i;

    for (i = 0; i < u->nfillers; i++)
        close(u->fillers[i]);
    close(u->listener);
}

START_TEST(unix_connect_deadline_to_full_backlog_holds_through_signals)
{
    struct full_unix u;
    char want[128];
    nb_error e;
    int64_t t0, elapsed;
    long signals;
    int fd, fds;

    full_unix_open(&u);
    fds = th_count_fds();
    nb_error_clear(&e);
    storm_start();
    t0 = th_now_ms();
    errno = 0;
    fd = nb_unix_connect(u.name, TIMEOUT_MS, 0, &e);
    elapsed = th_now_ms() - t0;
    signals = storm_stop();

    ck_assert_int_eq(fd, -1);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_str_eq(e.addr, u.name);
    snprintf(want, sizeof(want), "connect %s: ", u.name);
    ck_assert_msg(strncmp(e.message, want, strlen(want)) == 0,
                  "message \"%s\"", e.message);
    ck_assert_int_ge(elapsed, TIMEOUT_MS - EARLY_MS);
    ck_assert_int_lt(elapsed, TIMEOUT_MS + LATE_MS);
    ck_assert_int_gt(signals, 5);
    ck_assert_int_eq(th_count_fds(), fds);
    full_unix_close(&u);
    assert_no_fd_leak();
}
END_TEST

static void unix_connect_when_room_appears(int timeout_ms, int flags)
{
    struct full_unix u;
    struct later acceptor = { .fd = -1 };
    struct timeval tv;
    socklen_t tvlen = sizeof(tv);
    nb_error e;
    int64_t t0, elapsed;
    int fd;

    full_unix_open(&u);
    acceptor.fd = u.listener;
    nb_error_clear(&e);
    t0 = later_start(&acceptor, act_accept_one);
    storm_start();
    errno = 0;
    fd = nb_unix_connect(u.name, timeout_ms, flags, &e);
    elapsed = th_now_ms() - t0;
    storm_stop();
    later_join(&acceptor);

    ck_assert_msg(fd >= 0, "unix connect failed: %s (errno %d)", e.message,
                  errno);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_ge(elapsed, DELAY_MS);
    ck_assert_int_lt(elapsed, DELAY_MS + LATE_MS);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
    /* the deadline's SO_SNDTIMEO does not outlive the call */
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tvlen), 0);
    ck_assert_msg(tv.tv_sec == 0 && tv.tv_usec == 0,
                  "SO_SNDTIMEO left at %ld.%06ld s", (long)tv.tv_sec,
                  (long)tv.tv_usec);
    close(fd);
    full_unix_close(&u);
    assert_no_fd_leak();
}

START_TEST(unix_connect_without_deadline_waits_through_signals)
{
    unix_connect_when_room_appears(0, 0);
}
END_TEST

START_TEST(unix_connect_with_deadline_waits_through_signals)
{
    unix_connect_when_room_appears(5000, NB_NONBLOCK);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *signals_suite(void)
{
    Suite *s = suite_create("signals");
    TCase *tc = tcase_create("signals");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, accept_blocks_through_signals_until_client_connects);
    tcase_add_loop_test(tc, connect_deadline_to_stalled_listener_holds_through_signals,
                        0, sizeof(stalled_cases) / sizeof(stalled_cases[0]));
    tcase_add_test(tc, blocking_connect_interrupted_by_signals_completes);
    tcase_add_test(tc, recv_all_deadline_holds_through_signals);
    tcase_add_test(tc, recv_all_without_deadline_waits_through_signals);
    tcase_add_test(tc, recv_all_with_deadline_gets_late_data_through_signals);
    tcase_add_test(tc, send_all_without_deadline_completes_through_signals);
    tcase_add_test(tc, send_all_with_deadline_completes_through_signals);
    tcase_add_test(tc, udp_recvfrom_deadline_holds_through_signals);
    tcase_add_test(tc, udp_recvfrom_without_deadline_waits_through_signals);
    tcase_add_test(tc, udp_recvfrom_with_deadline_gets_late_datagram_through_signals);
    tcase_add_test(tc, unix_connect_deadline_to_full_backlog_holds_through_signals);
    tcase_add_test(tc, unix_connect_without_deadline_waits_through_signals);
    tcase_add_test(tc, unix_connect_with_deadline_waits_through_signals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(signals_suite());
}
