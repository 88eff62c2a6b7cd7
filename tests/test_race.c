/*
 * test_race.c - the Happy Eyeballs race behind nb_tcp_connect
 * (nb__connect_race) and the RFC 8305 ordering of addresses
 * (nb__interleave_families), on hand-made address lists of loopback
 * addresses: listeners that accept, ports that refuse, and "stalled"
 * listeners whose full accept queue drops SYNs.
 *
 * What the race promises (lib/internal.h, nb__connect_race; netbasics.h
 * and nb_tcp_connect(3), "Happy Eyeballs", "Deadline" and ERRORS): attempts
 * start in list order, the next one `delay_ms` after the previous one
 * started, or at once when the previous one failed; the first to connect
 * wins and every other socket is closed; one deadline covers the whole
 * race (NB_ERR_TIMEOUT when it passes first); when every attempt fails
 * before it, the error is the first attempt's, the message names hostport
 * and "(N addresses tried)", and attempts == N.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "helpers.h"

#define NAME "race.test:9"

/* ------------------------------------------------------- address lists */

#define MAX_ADDRS 24

struct addr_list {
    struct addrinfo ai[MAX_ADDRS];
    struct sockaddr_storage ss[MAX_ADDRS];
    const struct addrinfo *order[MAX_ADDRS];
    int n;
};

static void list_init(struct addr_list *l)
{
    memset(l, 0, sizeof(*l));
}

/* Appends ip:port (numeric) to the list, linking ai_next as getaddrinfo
 * does and keeping the same order in l->order. */
static void list_add(struct addr_list *l, const char *ip, const char *port)
{
    struct addrinfo *ai;
    int i = l->n++;

    ck_assert_int_lt(i, MAX_ADDRS);
    ai = &l->ai[i];
    memset(ai, 0, sizeof(*ai));
    memset(&l->ss[i], 0, sizeof(l->ss[i]));
    if (strchr(ip, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&l->ss[i];
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)atoi(port));
        ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
        ai->ai_family = AF_INET;
        ai->ai_addrlen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->ss[i];
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)atoi(port));
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        ai->ai_family = AF_INET6;
        ai->ai_addrlen = sizeof(*sin6);
    }
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_protocol = IPPROTO_TCP;
    ai->ai_addr = (struct sockaddr *)&l->ss[i];
    if (i > 0)
        l->ai[i - 1].ai_next = ai;
    l->order[i] = ai;
}

/* -------------------------------------------------------------- fixtures */


/* A socket bound to ip on an ephemeral port, listening when `listening`;
 * without listen() connects to the port are refused, and nobody else can
 * take it while the socket stays open. */
static int bound_socket(const char *ip, int listening, char port[8])
{
    struct sockaddr_storage ss;
    socklen_t len = th_sockaddr(&ss, ip, 0);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %s: %s",
                  ip, strerror(errno));
    if (listening)
        ck_assert_int_eq(listen(fd, 8), 0);
    th_port_of(fd, port);
    return fd;
}

static int listener_on(const char *ip, char port[8])
{
    return bound_socket(ip, 1, port);
}

static int refuser_on(const char *ip, char port[8])
{
    return bound_socket(ip, 0, port);
}

/* An IPv6 loopback address when IPv6 works here, else another IPv4 one. */
static const char *other_loopback(void)
{
    return th_have_ipv6() ? "::1" : "127.0.0.3";
}

/* No connection ever reached this listener. */
static void check_untouched(int listener)
{
    ck_assert_int_eq(th_poll_for(listener, POLLIN, 0), 0);
}

/* Stalled listeners, shared by the timed tests (each takes a moment to
 * make): a and b on 127.0.0.1, c on ::1 (127.0.0.1 without IPv6).  An
 * unchecked fixture, so made once per run in fork and no-fork mode alike;
 * the attempts a test makes to them are closed by the end of the test, and
 * the fixtures are not counted in th_count_fds() differences. */
static struct th_stall stall_a, stall_b, stall_c;

static const char *stall_c_ip(void)
{
    return th_have_ipv6() ? "::1" : "127.0.0.1";
}

static void open_stalls(void)
{
    th_stall_open(&stall_a, AF_INET);
    th_stall_open(&stall_b, AF_INET);
    th_stall_open(&stall_c, th_have_ipv6() ? AF_INET6 : AF_INET);
}

static void close_stalls(void)
{
    th_stall_close(&stall_c);
    th_stall_close(&stall_b);
    th_stall_close(&stall_a);
}

/* Runs the race on l and measures it. */
static int race(const struct addr_list *l, int timeout_ms, int delay_ms,
                int flags, nb_error *e, int64_t *elapsed)
{
    int64_t t0 = th_now_ms();
    int fd = nb__connect_race(l->order, l->n, NAME, timeout_ms, delay_ms,
                              flags, e);

    *elapsed = th_now_ms() - t0;
    return fd;
}

#define assert_elapsed(ms, lo, hi)                                          \
    ck_assert_msg((ms) >= (lo) && (ms) < (hi),                              \
                  "took %lld ms, want %d <= ms < %d", (long long)(ms),      \
                  (lo), (hi))

/* ------------------------------------------------- (a) quick failures */

/* A refusal starts the next attempt at once: no waiting for the delay. */
START_TEST(refused_first_moves_on_at_once)
{
    char p1[8], p2[8];
    int r1 = refuser_on(other_loopback(), p1);
    int l2 = listener_on("127.0.0.1", p2);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before, fd;

    list_init(&l);
    list_add(&l, other_loopback(), p1);
    list_add(&l, "127.0.0.1", p2);
    before = th_count_fds();
    th_poison(&e);
    fd = race(&l, 2000, 250, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, 0, 200);
    th_assert_untouched(&e);  /* success leaves *err alone, attempts included */
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    th_check_connected_to(fd, l2);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(r1);
    close(l2);
}
END_TEST

/* Also without a deadline. */
START_TEST(refused_first_moves_on_without_deadline)
{
    char p1[8], p2[8], p3[8];
    int r1 = refuser_on("127.0.0.1", p1);
    int r2 = refuser_on("127.0.0.2", p2);
    int l3 = listener_on("127.0.0.3", p3);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before, fd;

    list_init(&l);
    list_add(&l, "127.0.0.1", p1);
    list_add(&l, "127.0.0.2", p2);
    list_add(&l, "127.0.0.3", p3);
    before = th_count_fds();
    fd = race(&l, 0, 250, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, 0, 200);
    th_check_connected_to(fd, l3);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(r1);
    close(r2);
    close(l3);
}
END_TEST

/* When the first address connects, no other attempt is ever started. */
START_TEST(first_that_accepts_wins_alone)
{
    char p1[8], p2[8];
    int l1 = listener_on("127.0.0.1", p1);
    int l2 = listener_on(other_loopback(), p2);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before, fd;

    list_init(&l);
    list_add(&l, "127.0.0.1", p1);
    list_add(&l, other_loopback(), p2);
    before = th_count_fds();
    fd = race(&l, 2000, 250, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, 0, 200);
    th_check_connected_to(fd, l1);
    check_untouched(l2);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(l1);
    close(l2);
}
END_TEST

/* -------------------------------------------- (b) stalled, then delay */

struct stall_then_accept {
    int delay_ms;
    int timeout_ms;
};

static const struct stall_then_accept stall_cases[] = {
    { 250, 3000 },
    { 250, 0 },     /* no deadline: the delay still applies */
    { 100, 3000 },  /* the caller's delay, not a built-in one */
};
#define N_STALL_CASES (int)(sizeof(stall_cases) / sizeof(stall_cases[0]))

START_TEST(stalled_first_loses_after_the_delay)
{
    const struct stall_then_accept *c = &stall_cases[_i];
    char p2[8];
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int l2, before, fd;

    l2 = listener_on("127.0.0.2", p2);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.2", p2);
    before = th_count_fds();
    fd = race(&l, c->timeout_ms, c->delay_ms, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, c->delay_ms - 10, 1500);
    /* the stalled attempt's socket is closed: only the winner is new */
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    th_check_connected_to(fd, l2);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(l2);
}
END_TEST

/* Two stalls before the listener: each one waits out its own delay. */
START_TEST(each_stall_costs_one_delay)
{
    char p3[8];
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int l3, before, fd;

    l3 = listener_on("127.0.0.2", p3);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.1", stall_b.port);
    list_add(&l, "127.0.0.2", p3);
    before = th_count_fds();
    fd = race(&l, 3000, 150, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, 290, 1500);
    ck_assert_int_eq(th_count_fds(), before + 1);
    th_check_connected_to(fd, l3);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(l3);
}
END_TEST

/* ----------------------------------------- (c) every attempt refused */

START_TEST(all_refused_reports_the_first_error_and_the_count)
{
    char p1[8], p2[8], p3[8];
    int r1 = refuser_on("127.0.0.1", p1);
    int r2 = refuser_on("127.0.0.2", p2);
    int r3 = refuser_on(other_loopback(), p3);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before;

    list_init(&l);
    list_add(&l, "127.0.0.1", p1);
    list_add(&l, "127.0.0.2", p2);
    list_add(&l, other_loopback(), p3);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(race(&l, 2000, 250, 0, &e, &ms), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    assert_elapsed(ms, 0, 200);  /* each refusal starts the next at once */
    ck_assert_int_eq(th_count_fds(), before);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_str_eq(e.addr, NAME);
    ck_assert_str_eq(e.message,
                     "connect " NAME ": Connection refused (3 addresses tried)");
    ck_assert_int_eq(e.attempts, 3);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);

    /* the same without a deadline, and without an error object */
    ck_assert_int_eq(race(&l, 0, 250, NB_NONBLOCK, &e, &ms), -1);
    ck_assert_int_eq(e.attempts, 3);
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    errno = 0;
    ck_assert_int_eq(nb__connect_race(l.order, l.n, NAME, 0, 250, 0, NULL), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    ck_assert_int_eq(th_count_fds(), before);
    close(r1);
    close(r2);
    close(r3);
}
END_TEST

/* One address: no "(1 addresses tried)" suffix, attempts 1. */
START_TEST(single_refused_address_has_no_count_suffix)
{
    char p1[8];
    int r1 = refuser_on("127.0.0.2", p1);
    struct addr_list l;
    int64_t ms;
    nb_error e;

    list_init(&l);
    list_add(&l, "127.0.0.2", p1);
    ck_assert_int_eq(race(&l, 1000, 250, 0, &e, &ms), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_str_eq(e.message, "connect " NAME ": Connection refused");
    ck_assert_int_eq(e.attempts, 1);
    close(r1);
}
END_TEST

/* The first attempt's error is reported even when it is not the most
 * common one, and its step ("socket") is the op. */
START_TEST(first_attempts_error_is_reported)
{
    char p1[8], p2[8], p3[8];
    int r1 = refuser_on("127.0.0.1", p1);
    int r2 = refuser_on("127.0.0.2", p2);
    int r3 = refuser_on("127.0.0.3", p3);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before;

    /* An address of a family no socket can be made for: socket(2) fails
     * with EAFNOSUPPORT. */
    list_init(&l);
    list_add(&l, "127.0.0.1", p1);
    list_add(&l, "127.0.0.2", p2);
    list_add(&l, "127.0.0.3", p3);
    l.ai[0].ai_family = AF_MAX + 7;
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(race(&l, 1000, 250, 0, &e, &ms), -1);
    ck_assert_int_eq(errno, EAFNOSUPPORT);
    th_assert_error(&e, NB_ERR_SYSTEM, "socket");
    ck_assert_int_eq(e.sys_errno, EAFNOSUPPORT);
    ck_assert_str_eq(e.addr, NAME);
    ck_assert_int_eq(e.attempts, 3);
    ck_assert_msg(strstr(e.message, " (3 addresses tried)") != NULL, "%s",
                  e.message);
    ck_assert_int_eq(th_count_fds(), before);

    /* Now the refusal is first and the broken address last. */
    l.ai[0].ai_family = AF_INET;
    l.ai[2].ai_family = AF_MAX + 7;
    ck_assert_int_eq(race(&l, 1000, 250, 0, &e, &ms), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    ck_assert_str_eq(e.message,
                     "connect " NAME ": Connection refused (3 addresses tried)");
    ck_assert_int_eq(e.attempts, 3);

    /* A connect(2) that fails at once (EINVAL: address length too short)
     * counts as a failed attempt like any other. */
    l.ai[2].ai_family = AF_INET;
    l.ai[0].ai_addrlen = 2;
    ck_assert_int_eq(race(&l, 1000, 250, 0, &e, &ms), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, EINVAL);
    ck_assert_int_eq(e.attempts, 3);
    assert_elapsed(ms, 0, 200);
    ck_assert_int_eq(th_count_fds(), before);
    close(r1);
    close(r2);
    close(r3);
}
END_TEST

/* More addresses than the race keeps on the stack (16). */
START_TEST(long_lists_work)
{
    char ports[MAX_ADDRS][8], ip[32];
    int fds[MAX_ADDRS];
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int i, n = 20, before, fd;

    list_init(&l);
    for (i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "127.0.%d.%d", i / 7, 1 + i % 7);
        fds[i] = refuser_on(ip, ports[i]);
        list_add(&l, ip, ports[i]);
    }
    before = th_count_fds();
    ck_assert_int_eq(race(&l, 2000, 250, 0, &e, &ms), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    ck_assert_str_eq(e.message,
                     "connect " NAME ": Connection refused (20 addresses tried)");
    ck_assert_int_eq(e.attempts, 20);
    assert_elapsed(ms, 0, 500);
    ck_assert_int_eq(th_count_fds(), before);

    /* the last one listens: it wins */
    close(fds[n - 1]);
    snprintf(ip, sizeof(ip), "127.0.%d.%d", (n - 1) / 7, 1 + (n - 1) % 7);
    fds[n - 1] = listener_on(ip, ports[n - 1]);
    l.n = 0;
    for (i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "127.0.%d.%d", i / 7, 1 + i % 7);
        list_add(&l, ip, ports[i]);
    }
    fd = race(&l, 2000, 250, NB_NODELAY, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_nodelay(fd), 1);
    th_check_connected_to(fd, fds[n - 1]);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    for (i = 0; i < n; i++)
        close(fds[i]);
}
END_TEST

/* --------------------------------------------- (d) every attempt stalls */

/* One deadline for the whole race, not one per attempt. */
START_TEST(all_stalled_time_out_once)
{
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before;

    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, stall_c_ip(), stall_c.port);
    list_add(&l, "127.0.0.1", stall_b.port);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(race(&l, 400, 100, 0, &e, &ms), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    assert_elapsed(ms, 390, 1000);  /* 3 x 400 would be 1200 */
    ck_assert_int_eq(th_count_fds(), before);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_str_eq(e.addr, NAME);
    ck_assert_str_eq(e.message,
                     "connect " NAME ": timed out after 400 ms (3 addresses tried)");
    ck_assert_int_eq(e.attempts, 3);  /* started at 0, 100 and 200 ms */
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
}
END_TEST

/* The deadline ends the race even when the next attempt is not due yet:
 * with a delay longer than the timeout only the first attempt starts. */
START_TEST(deadline_before_the_next_attempt)
{
    char p2[8];
    int l2;
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before;

    l2 = listener_on("127.0.0.2", p2);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.2", p2);
    before = th_count_fds();
    ck_assert_int_eq(race(&l, 200, 1000, 0, &e, &ms), -1);
    assert_elapsed(ms, 190, 900);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_str_eq(e.message, "connect " NAME ": timed out after 200 ms");
    ck_assert_int_eq(e.attempts, 1);
    check_untouched(l2);
    ck_assert_int_eq(th_count_fds(), before);
    close(l2);
}
END_TEST

/* ------------------------------------------------------ (e) signals */

START_TEST(deadline_holds_under_signals)
{
    struct sigaction old;
    struct addr_list l;
    int64_t ms;
    nb_error e;
    long signals;
    int before, fd;

    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.1", stall_b.port);
    before = th_count_fds();
    ck_assert_int_eq(sigaction(SIGALRM, NULL, &old), 0);
    th_signal_storm_start(2000);
    errno = 0;
    fd = race(&l, 400, 100, 0, &e, &ms);
    signals = th_signal_storm_stop();
    ck_assert_int_eq(sigaction(SIGALRM, &old, NULL), 0);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_gt(signals, 20);
    assert_elapsed(ms, 390, 1500);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(e.attempts, 2);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(delay_holds_under_signals)
{
    struct sigaction old;
    char p2[8];
    struct addr_list l;
    int64_t ms;
    nb_error e;
    long signals;
    int l2, before, fd;

    l2 = listener_on("127.0.0.2", p2);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.2", p2);
    before = th_count_fds();
    ck_assert_int_eq(sigaction(SIGALRM, NULL, &old), 0);
    th_signal_storm_start(2000);
    fd = race(&l, 2000, 250, 0, &e, &ms);
    signals = th_signal_storm_stop();
    ck_assert_int_eq(sigaction(SIGALRM, &old, NULL), 0);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_gt(signals, 20);
    assert_elapsed(ms, 240, 1500);
    ck_assert_int_eq(th_count_fds(), before + 1);
    th_check_connected_to(fd, l2);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(l2);
}
END_TEST

/* ------------------------------- (f) a failure skips the rest of a delay */

/* t=0: attempt 1 stalls.  t=delay: attempt 2 starts and is refused, so
 * attempt 3 starts at once (not at 2 x delay) and connects. */
START_TEST(failure_starts_the_next_attempt_at_once)
{
    char p2[8], p3[8];
    int r2, l3;
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before, fd;

    r2 = refuser_on("127.0.0.2", p2);
    l3 = listener_on(other_loopback(), p3);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.2", p2);
    list_add(&l, other_loopback(), p3);
    before = th_count_fds();
    fd = race(&l, 3000, 400, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_elapsed(ms, 390, 750);  /* 2 x delay would be 800 */
    ck_assert_int_eq(th_count_fds(), before + 1);
    th_check_connected_to(fd, l3);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(l3);
    close(r2);
}
END_TEST

/* ------------------------------------------------ (g) the winner's mode */

static const int winner_flags[] = { 0, NB_NONBLOCK, NB_NODELAY,
                                    NB_NONBLOCK | NB_NODELAY };
static const int winner_timeouts[] = { 0, -5, 2000 };
#define N_WFLAGS (int)(sizeof(winner_flags) / sizeof(winner_flags[0]))
#define N_WTIMEOUTS (int)(sizeof(winner_timeouts) / sizeof(winner_timeouts[0]))

START_TEST(winner_mode_follows_flags)
{
    int flags = winner_flags[_i % N_WFLAGS];
    int timeout = winner_timeouts[_i / N_WFLAGS];
    char p1[8], p2[8];
    int r1 = refuser_on("127.0.0.1", p1);
    int l2 = listener_on(other_loopback(), p2);
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before, fd;

    list_init(&l);
    list_add(&l, "127.0.0.1", p1);
    list_add(&l, other_loopback(), p2);
    before = th_count_fds();
    fd = race(&l, timeout, 250, flags, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_msg(th_is_nonblock(fd) == ((flags & NB_NONBLOCK) != 0),
                  "flags 0x%x timeout %d: O_NONBLOCK %d", (unsigned)flags,
                  timeout, th_is_nonblock(fd));
    ck_assert_msg(th_nodelay(fd) == ((flags & NB_NODELAY) != 0),
                  "flags 0x%x timeout %d: TCP_NODELAY %d", (unsigned)flags,
                  timeout, th_nodelay(fd));
    th_check_connected_to(fd, l2);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(r1);
    close(l2);
}
END_TEST

/* ---------------------------------------- (i) stalled first, rest refused */

/* The refusals come in early, but the first attempt is still in flight:
 * the race waits for it until the deadline, which then decides
 * (NB_ERR_TIMEOUT, every attempt counted). */
START_TEST(stalled_first_and_refusals_time_out)
{
    char p2[8], p3[8];
    int r2, r3;
    struct addr_list l;
    int64_t ms;
    nb_error e;
    int before;

    r2 = refuser_on("127.0.0.2", p2);
    r3 = refuser_on(other_loopback(), p3);
    list_init(&l);
    list_add(&l, "127.0.0.1", stall_a.port);
    list_add(&l, "127.0.0.2", p2);
    list_add(&l, other_loopback(), p3);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(race(&l, 500, 100, 0, &e, &ms), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    assert_elapsed(ms, 490, 1500);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_str_eq(e.message,
                     "connect " NAME ": timed out after 500 ms (3 addresses tried)");
    ck_assert_int_eq(e.attempts, 3);
    ck_assert_int_eq(th_count_fds(), before);
    close(r3);
    close(r2);
}
END_TEST

/* --------------------------------------------------- (h) interleaving */

struct interleave_case {
    const char *families;  /* '4' or '6' per address, getaddrinfo order */
    int want[8];           /* indexes into that order */
};

static const struct interleave_case interleave_cases[] = {
    { "6644", { 0, 2, 1, 3 } },
    { "4466", { 0, 2, 1, 3 } },
    { "4666", { 0, 1, 2, 3 } },
    { "6444", { 0, 1, 2, 3 } },
    { "444", { 0, 1, 2 } },
    { "666", { 0, 1, 2 } },
    { "6464", { 0, 1, 2, 3 } },
    { "644", { 0, 1, 2 } },
    { "44666", { 0, 2, 1, 3, 4 } },
    { "64446", { 0, 1, 4, 2, 3 } },
    { "666444", { 0, 3, 1, 4, 2, 5 } },
    { "4", { 0 } },
    { "6", { 0 } },
};
#define N_INTERLEAVE (int)(sizeof(interleave_cases) / sizeof(interleave_cases[0]))

START_TEST(interleaves_families)
{
    const struct interleave_case *c = &interleave_cases[_i];
    const struct addrinfo *in[8] = { NULL }, *out[8];
    struct addr_list l;
    char port[16];
    int i, n = (int)strlen(c->families);

    list_init(&l);
    for (i = 0; i < n; i++) {
        snprintf(port, sizeof(port), "%d", 1000 + i);
        list_add(&l, c->families[i] == '4' ? "127.0.0.1" : "::1", port);
    }
    for (i = 0; i < 8; i++)
        out[i] = NULL;
    for (i = 0; i < n; i++)
        in[i] = &l.ai[i];
    nb__interleave_families(in, out, n);
    for (i = 0; i < n; i++)
        ck_assert_msg(out[i] == &l.ai[c->want[i]],
                      "%s: position %d holds address %d, want %d", c->families,
                      i, out[i] == NULL ? -1 : (int)(out[i] - l.ai), c->want[i]);
    for (i = n; i < 8; i++)
        ck_assert_ptr_null(out[i]);  /* exactly n written */
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *race_suite(void)
{
    Suite *s = suite_create("race");
    TCase *quick = tcase_create("quick");
    TCase *timed = tcase_create("timed");
    TCase *order = tcase_create("order");

    tcase_add_test(quick, refused_first_moves_on_at_once);
    tcase_add_test(quick, refused_first_moves_on_without_deadline);
    tcase_add_test(quick, first_that_accepts_wins_alone);
    tcase_add_test(quick, all_refused_reports_the_first_error_and_the_count);
    tcase_add_test(quick, single_refused_address_has_no_count_suffix);
    tcase_add_test(quick, first_attempts_error_is_reported);
    tcase_add_test(quick, long_lists_work);
    tcase_add_loop_test(quick, winner_mode_follows_flags, 0,
                        N_WFLAGS * N_WTIMEOUTS);
    suite_add_tcase(s, quick);

    tcase_add_loop_test(timed, stalled_first_loses_after_the_delay, 0,
                        N_STALL_CASES);
    tcase_add_test(timed, each_stall_costs_one_delay);
    tcase_add_test(timed, all_stalled_time_out_once);
    tcase_add_test(timed, deadline_before_the_next_attempt);
    tcase_add_test(timed, deadline_holds_under_signals);
    tcase_add_test(timed, delay_holds_under_signals);
    tcase_add_test(timed, failure_starts_the_next_attempt_at_once);
    tcase_add_test(timed, stalled_first_and_refusals_time_out);
    tcase_add_unchecked_fixture(timed, open_stalls, close_stalls);
    tcase_set_timeout(timed, 20);
    suite_add_tcase(s, timed);

    tcase_add_loop_test(order, interleaves_families, 0, N_INTERLEAVE);
    suite_add_tcase(s, order);
    return s;
}

int main(void)
{
    return th_run_suite(race_suite());
}
