/*
 * test_eyeballs.c - nb_tcp_connect and nb_tcp_listen on a name with two
 * addresses, through the public API and the real resolver: Happy Eyeballs
 * as a caller sees it (nb_tcp_connect(3), "Happy Eyeballs": the next
 * attempt starts 250 ms after the previous one, or as soon as it fails;
 * one deadline for all of them; the error of a race that every attempt
 * lost), and a listener on a name binding the first address that binds
 * (nb_tcp_listen(3), DESCRIPTION).  The race itself, on hand-made address
 * lists with delays of the test's choosing, is test_race's.
 *
 * The name is made up: this program gets a private /etc/hosts (and
 * "hosts: files" in nsswitch.conf) from th_private_etc before anything
 * else runs, with NAME on ::1 and 127.0.0.1 (on 127.0.0.1 and 127.0.0.2
 * where there is no IPv6).  NAME ends in ".localhost" so that the library
 * resolves it without AI_ADDRCONFIG (nb_tcp_connect(3), DESCRIPTION),
 * which would drop ::1 on a machine whose only IPv6 address is loopback.
 * The order of the two addresses is getaddrinfo's (RFC 6724 puts ::1
 * first here); the tests read it and make the first address stall (a
 * listener whose accept queue is full drops SYNs) or refuse, and listen
 * on the second on the same port.  Without the privilege to unshare the
 * mount namespace every test says SKIP and the program exits 77.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define NAME "twoaddr.localhost"
#define DELAY_LOW 240     /* ms: the attempt delay is 250 ms... */
#define DELAY_HIGH 500    /* ...measured on a busy machine */
#define AT_ONCE 200       /* ms: no delay at all */

static int etc_ok;
static char etc_why[256];

/* NAME's addresses, as getaddrinfo orders them for the library. */
static char first[INET6_ADDRSTRLEN], second[INET6_ADDRSTRLEN];

/* Skips the calling test when this process has no private /etc. */
#define REQUIRE_PRIVATE_ETC()                                                \
    do {                                                                     \
        if (!etc_ok) {                                                       \
            th_skip("no private /etc/hosts: %s", etc_why);                   \
            return;                                                          \
        }                                                                    \
    } while (0)

/* Reads NAME's two addresses into first and second, with the hints the
 * library uses for a ".localhost" name. */
static void read_addresses(void)
{
    struct addrinfo hints, *res, *ai;
    char *out[2] = { first, second };
    int n = 0, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(NAME, "9", &hints, &res);
    ck_assert_msg(rc == 0, "%s: %s", NAME, gai_strerror(rc));
    for (ai = res; ai != NULL; ai = ai->ai_next, n++) {
        /* via void *: getaddrinfo's addresses are aligned for their type */
        const void *sa = ai->ai_addr;
        const void *ip = ai->ai_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
            : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (n < 2)
            ck_assert_ptr_nonnull(inet_ntop(ai->ai_family, ip, out[n],
                                            INET6_ADDRSTRLEN));
    }
    freeaddrinfo(res);
    ck_assert_msg(n == 2, "%s has %d addresses, want 2", NAME, n);
}

/* ------------------------------------------------------- the two ends */

enum kind { LISTENS, STALLS, REFUSES };

struct end {
    enum kind kind;
    int fd;                  /* listener or refuser; the stall owns its own */
    struct th_stall stall;
};

/* Opens an end of the kind on ip:port; 0, or -1 when the port was taken
 * there. */
static int open_end(struct end *end, const char *ip, const char *port)
{
    if (end->kind == REFUSES) {
        end->fd = th_refusing_port_at(ip, port);
        return end->fd >= 0 ? 0 : -1;
    }
    end->fd = th_listener_at(ip, port, end->kind == STALLS ? 1 : 16);
    if (end->fd < 0)
        return -1;
    if (end->kind == STALLS)
        th_stall_fill(&end->stall, end->fd);
    return 0;
}

static void close_end(struct end *end)
{
    if (end->kind == STALLS)
        th_stall_close(&end->stall);
    else
        close(end->fd);
}

/* The first address gets an end of kind a on an ephemeral port, the second
 * one of kind b on the same port number (tried again when another socket
 * holds that port on the second address). */
static void open_pair(struct end *a, enum kind ka, struct end *b,
                      enum kind kb, char port[8])
{
    int tries;

    a->kind = ka;
    b->kind = kb;
    for (tries = 0; tries < 20; tries++) {
        ck_assert_int_eq(open_end(a, first, "0"), 0);
        th_port_of(a->fd, port);
        if (open_end(b, second, port) == 0)
            return;
        ck_assert_int_eq(errno, EADDRINUSE);
        close_end(a);
    }
    ck_abort_msg("no port free on both %s and %s in %d tries", first, second,
                 tries);
}

/* nb_tcp_connect(NAME, port, ...): the descriptor, the time it took. */
static int connect_name(const char *port, int timeout_ms, int flags,
                        nb_error *e, int64_t *ms)
{
    int64_t t0 = th_now_ms();
    int fd = nb_tcp_connect(NAME, port, timeout_ms, flags, e);

    *ms = th_now_ms() - t0;
    return fd;
}

/* ------------------------------------------------------ the attempt delay */

static const struct {
    int timeout_ms;
    int flags;
} delay_rows[] = {
    { 5000, 0 },
    { 0, 0 },              /* no deadline */
    { 5000, NB_NONBLOCK },
};

/* The first address does not answer: the second attempt starts 250 ms
 * after the first, and wins.  Measured from outside, on nb_tcp_connect
 * itself: a delay of 0 or of a second would both fail here. */
START_TEST(second_address_is_tried_after_the_attempt_delay)
{
    const int flags = delay_rows[_i].flags;
    struct end a, b;
    char port[8];
    nb_error e;
    int64_t ms;
    int fd, before;

    REQUIRE_PRIVATE_ETC();
    open_pair(&a, STALLS, &b, LISTENS, port);
    before = th_count_fds();
    fd = connect_name(port, delay_rows[_i].timeout_ms, flags, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    printf("%s:%s: the first address (%s) stalled, connected to the second "
           "(%s) after %lld ms (timeout_ms %d, flags 0x%x)\n", NAME, port,
           first, second, (long long)ms, delay_rows[_i].timeout_ms,
           (unsigned)flags);
    ck_assert_msg(ms >= DELAY_LOW && ms <= DELAY_HIGH,
                  "connected after %lld ms, want %d..%d (the attempt delay "
                  "is 250 ms)", (long long)ms, DELAY_LOW, DELAY_HIGH);
    th_check_connected_to(fd, b.fd);
    /* the losing attempt is closed; the winner is as asked */
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
    close(fd);
    close_end(&a);
    close_end(&b);
}
END_TEST

/* A refusal does not wait for the delay: the next attempt starts at once. */
START_TEST(refused_first_address_moves_on_at_once)
{
    struct end a, b;
    char port[8];
    nb_error e;
    int64_t ms;
    int fd;

    REQUIRE_PRIVATE_ETC();
    open_pair(&a, REFUSES, &b, LISTENS, port);
    fd = connect_name(port, 5000, 0, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_msg(ms < AT_ONCE, "took %lld ms after a refusal", (long long)ms);
    th_check_connected_to(fd, b.fd);
    close(fd);
    close_end(&a);
    close_end(&b);
}
END_TEST

/* Both ends of one kind: connect_name(port, timeout_ms) fails with code
 * and want_errno (errno and sys_errno), both attempts counted, the
 * message "connect NAME:PORT: WHY (2 addresses tried)", and no descriptor
 * left.  Returns how long it took; the port in port[8], the error in *e. */
static int64_t both_fail(enum kind kind, int timeout_ms, enum nb_code code,
                         int want_errno, const char *why, char port[8],
                         nb_error *e)
{
    struct end a, b;
    char want[128];
    int64_t ms;
    int before;

    open_pair(&a, kind, &b, kind, port);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(connect_name(port, timeout_ms, 0, e, &ms), -1);
    ck_assert_int_eq(errno, want_errno);
    th_assert_error(e, code, "connect");
    ck_assert_int_eq(e->sys_errno, want_errno);
    ck_assert_int_eq(e->attempts, 2);
    snprintf(want, sizeof(want), "connect %s:%s: %s (2 addresses tried)", NAME,
             port, why);
    ck_assert_str_eq(e->message, want);
    ck_assert_int_eq(th_count_fds(), before);
    close_end(&a);
    close_end(&b);
    return ms;
}

/* Both refuse: the first attempt's error, both attempts counted, and the
 * name as given in addr and the message. */
START_TEST(every_address_refused_is_one_error_counting_both)
{
    char port[8], want[128];
    nb_error e;
    int64_t ms;

    REQUIRE_PRIVATE_ETC();
    ms = both_fail(REFUSES, 5000, NB_ERR_SYSTEM, ECONNREFUSED,
                   "Connection refused", port, &e);
    snprintf(want, sizeof(want), "%s:%s", NAME, port);
    ck_assert_str_eq(e.addr, want);
    ck_assert_msg(ms < AT_ONCE, "took %lld ms", (long long)ms);
}
END_TEST

/* Neither answers: one deadline for the whole race (not one per attempt),
 * and both attempts were started before it passed. */
START_TEST(one_deadline_covers_every_attempt)
{
    char port[8];
    nb_error e;
    int64_t ms;

    REQUIRE_PRIVATE_ETC();
    ms = both_fail(STALLS, 600, NB_ERR_TIMEOUT, ETIMEDOUT,
                   "timed out after 600 ms", port, &e);
    ck_assert_msg(ms >= 590 && ms < 600 + DELAY_HIGH - DELAY_LOW,
                  "timed out after %lld ms, want 600", (long long)ms);
}
END_TEST

/* A family flag leaves out the other family's address: no attempt, no
 * delay. */
START_TEST(family_flag_skips_the_other_address)
{
    struct end a, b;
    char port[8];
    nb_error e;
    int64_t ms;
    int fd, flags;

    REQUIRE_PRIVATE_ETC();
    if ((strchr(first, ':') != NULL) == (strchr(second, ':') != NULL)) {
        th_skip("%s has two addresses of one family here (no IPv6)", NAME);
        return;
    }
    flags = strchr(second, ':') != NULL ? NB_IPV6_ONLY : NB_IPV4_ONLY;
    open_pair(&a, STALLS, &b, LISTENS, port);
    fd = connect_name(port, 5000, flags, &e, &ms);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_msg(ms < AT_ONCE, "took %lld ms: %s was tried", (long long)ms,
                  first);
    th_check_connected_to(fd, b.fd);
    close(fd);
    close_end(&a);
    close_end(&b);
}
END_TEST

/* ------------------------------------------------------------ listeners */

/* A listener on the name binds its first address that binds: the second
 * one when another socket holds the port on the first. */
START_TEST(listen_on_a_name_takes_the_first_address_that_binds)
{
    struct end a, b;
    char port[8], want[NB_ADDRSTRLEN], got[NB_ADDRSTRLEN];
    nb_addr local;
    nb_error e;
    int fd, before;

    REQUIRE_PRIVATE_ETC();
    /* a listener on the first address, nothing yet on the second: b is
     * opened only to find a port free on both, and closed again */
    open_pair(&a, LISTENS, &b, REFUSES, port);
    close_end(&b);
    before = th_count_fds();
    fd = nb_tcp_listen(NAME, port, 0, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(nb_local_addr(fd, &local, NULL), 0);
    snprintf(want, sizeof(want),
             strchr(second, ':') != NULL ? "[%s]:%s" : "%s:%s", second, port);
    ck_assert_str_eq(nb_addr_format(&local, got, sizeof(got)), want);
    close(fd);
    close_end(&a);
}
END_TEST

/* Both taken: every address was tried, the error is the first one's. */
START_TEST(listen_on_a_name_with_every_address_taken_counts_both)
{
    struct end a, b;
    char port[8], want[NB_ADDRSTRLEN];
    nb_error e;
    int before;

    REQUIRE_PRIVATE_ETC();
    open_pair(&a, LISTENS, &b, LISTENS, port);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(nb_tcp_listen(NAME, port, 0, 0, &e), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    th_assert_error(&e, NB_ERR_SYSTEM, "bind");
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);
    ck_assert_int_eq(e.attempts, 2);
    snprintf(want, sizeof(want),
             strchr(first, ':') != NULL ? "[%s]:%s" : "%s:%s", first, port);
    ck_assert_str_eq(e.addr, want);
    ck_assert_msg(strstr(e.message, "(2 addresses tried)") != NULL,
                  "message \"%s\"", e.message);
    ck_assert_int_eq(th_count_fds(), before);
    close_end(&a);
    close_end(&b);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static void resolve_fixture(void)
{
    if (etc_ok)
        read_addresses();
}

static Suite *eyeballs_suite(void)
{
    Suite *s = suite_create("eyeballs");
    TCase *tc = tcase_create("eyeballs");

    tcase_add_checked_fixture(tc, resolve_fixture, NULL);
    tcase_set_timeout(tc, 15);
    tcase_add_loop_test(tc, second_address_is_tried_after_the_attempt_delay,
                        0, sizeof(delay_rows) / sizeof(delay_rows[0]));
    tcase_add_test(tc, refused_first_address_moves_on_at_once);
    tcase_add_test(tc, every_address_refused_is_one_error_counting_both);
    tcase_add_test(tc, one_deadline_covers_every_attempt);
    tcase_add_test(tc, family_flag_skips_the_other_address);
    tcase_add_test(tc, listen_on_a_name_takes_the_first_address_that_binds);
    tcase_add_test(tc, listen_on_a_name_with_every_address_taken_counts_both);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Before anything resolves a name or starts a thread.  Without IPv6,
     * two IPv4 loopback addresses instead of ::1 and 127.0.0.1. */
    const char *hosts = th_have_ipv6()
        ? "127.0.0.1 localhost\n::1 " NAME "\n127.0.0.1 " NAME "\n"
        : "127.0.0.1 localhost\n127.0.0.1 " NAME "\n127.0.0.2 " NAME "\n";

    etc_ok = th_private_etc(hosts, NULL, "hosts: files\n") == 0;
    snprintf(etc_why, sizeof(etc_why), "%s", th_private_etc_error());
    return th_run_suite(eyeballs_suite());
}
