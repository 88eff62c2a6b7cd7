/*
 * test_connect.c - nb_tcp_connect: loopback over IPv4 and IPv6, the mode
 * of the returned socket, refusals, resolve failures, timeouts, family
 * flags, and no descriptor left behind by any of them.  (Names with several
 * addresses: test_eyeballs; the race itself: test_race; bad arguments:
 * test_args; signals: test_signals.)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* --------------------------------------------------------- connecting */

struct family_case {
    int family;
    const char *host;
};

static const struct family_case family_cases[] = {
    { AF_INET, "127.0.0.1" },
    { AF_INET6, "::1" },
    { AF_INET6, "[::1]" },  /* brackets, as in "[::1]:80", are accepted */
};
#define N_FAMILY_CASES (int)(sizeof(family_cases) / sizeof(family_cases[0]))

START_TEST(connects_to_numeric_loopback)
{
    const struct family_case *c = &family_cases[_i];
    char port[8];
    nb_error e;
    int listener, fd, before;

    if (c->family == AF_INET6)
        TH_REQUIRE_IPV6();
    listener = th_raw_listener(c->family, 4, port);
    before = th_count_fds();
    fd = nb_tcp_connect(c->host, port, 0, 0, &e);
    ck_assert_msg(fd >= 0, "%s: %s", c->host, e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    ck_assert_int_eq(th_nodelay(fd), 0);
    th_check_connected_to(fd, listener);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(listener);
}
END_TEST

/* "localhost" resolves through /etc/hosts; here to 127.0.0.1 (elsewhere
 * perhaps also ::1, whose port is then held without a listener so that
 * the attempt is refused and 127.0.0.1 wins either way). */
START_TEST(connects_to_localhost)
{
    char port[8];
    nb_error e;
    int listener, holder = -1, fd, before, tries;

    for (tries = 0;; tries++) {
        listener = th_raw_listener(AF_INET, 4, port);
        if (!th_have_ipv6())
            break;
        holder = th_refusing_port_at("::1", port);
        if (holder >= 0)
            break;
        ck_assert_int_lt(tries, 20);
        close(listener);
    }
    before = th_count_fds();
    fd = nb_tcp_connect("localhost", port, 2000, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    th_check_connected_to(fd, listener);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    if (holder >= 0)
        close(holder);
    close(listener);
}
END_TEST

/* The socket's mode for every combination of deadline and flags: blocking
 * unless NB_NONBLOCK (even when a deadline made the library wait on a
 * non-blocking socket), TCP_NODELAY exactly with NB_NODELAY, close-on-exec
 * always; timeout_ms <= 0 means no limit, not "fail at once". */
static const int mode_timeouts[] = { 0, -5, 2000 };
static const int mode_flags[] = { 0, NB_NONBLOCK, NB_NODELAY,
                                  NB_NONBLOCK | NB_NODELAY };
#define N_TIMEOUTS (int)(sizeof(mode_timeouts) / sizeof(mode_timeouts[0]))
#define N_FLAGS (int)(sizeof(mode_flags) / sizeof(mode_flags[0]))
#define N_MODE_CASES (2 * N_TIMEOUTS * N_FLAGS)

START_TEST(socket_mode_follows_flags)
{
    int family = _i / (N_TIMEOUTS * N_FLAGS) == 0 ? AF_INET : AF_INET6;
    int timeout = mode_timeouts[(_i / N_FLAGS) % N_TIMEOUTS];
    int flags = mode_flags[_i % N_FLAGS];
    const char *host = family == AF_INET ? "127.0.0.1" : "::1";
    char port[8];
    nb_error e;
    int listener, fd, before;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    listener = th_raw_listener(family, 4, port);
    before = th_count_fds();
    fd = nb_tcp_connect(host, port, timeout, flags, &e);
    ck_assert_msg(fd >= 0, "%s timeout %d flags 0x%x: %s", host, timeout,
                  (unsigned)flags, e.message);
    ck_assert_int_eq(th_count_fds(), before + 1);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_msg(th_is_nonblock(fd) == ((flags & NB_NONBLOCK) != 0),
                  "%s timeout %d flags 0x%x: O_NONBLOCK is %d", host, timeout,
                  (unsigned)flags, th_is_nonblock(fd));
    ck_assert_msg(th_nodelay(fd) == ((flags & NB_NODELAY) != 0),
                  "%s timeout %d flags 0x%x: TCP_NODELAY is %d", host, timeout,
                  (unsigned)flags, th_nodelay(fd));
    th_check_connected_to(fd, listener);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
    close(listener);
}
END_TEST

/* ------------------------------------------------------------ refused */

/* A refusal is the same with or without a deadline or NB_NONBLOCK: a
 * system error naming the step and the address, one attempt. */
struct refused_case {
    int family;
    const char *host;
    const char *shown;  /* host as the message shows it */
    int timeout;
    int flags;
};

static const struct refused_case refused_cases[] = {
    { AF_INET, "127.0.0.1", "127.0.0.1", 0, 0 },
    { AF_INET, "127.0.0.1", "127.0.0.1", -5, 0 },
    { AF_INET, "127.0.0.1", "127.0.0.1", 2000, 0 },
    { AF_INET, "127.0.0.1", "127.0.0.1", 0, NB_NONBLOCK },
    { AF_INET, "127.0.0.1", "127.0.0.1", 2000, NB_NONBLOCK | NB_NODELAY },
    { AF_INET, "127.0.0.1", "127.0.0.1", 0, NB_IPV4_ONLY },
    { AF_INET6, "::1", "[::1]", 0, 0 },
    { AF_INET6, "[::1]", "[::1]", 2000, 0 },
    { AF_INET6, "::1", "[::1]", 2000, NB_IPV6_ONLY | NB_NONBLOCK },
};
#define N_REFUSED_CASES (int)(sizeof(refused_cases) / sizeof(refused_cases[0]))

START_TEST(refused_is_a_system_error)
{
    const struct refused_case *c = &refused_cases[_i];
    char port[8], want_addr[64], want_msg[128];
    nb_error e;
    int holder, before;

    if (c->family == AF_INET6)
        TH_REQUIRE_IPV6();
    holder = th_refusing_port(c->family, port);
    snprintf(want_addr, sizeof(want_addr), "%s:%s", c->shown, port);
    snprintf(want_msg, sizeof(want_msg), "connect %s: Connection refused",
             want_addr);
    before = th_count_fds();
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(c->host, port, c->timeout, c->flags, &e), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    ck_assert_int_eq(th_count_fds(), before);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_str_eq(e.addr, want_addr);
    ck_assert_str_eq(e.message, want_msg);
    ck_assert_str_eq(nb_error_message(&e), want_msg);
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_uint_eq(e.transferred, 0);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);

    /* without an error object: the same errno, nothing left open */
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(c->host, port, c->timeout, c->flags, NULL), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    ck_assert_int_eq(th_count_fds(), before);
    close(holder);
}
END_TEST

/* ------------------------------------------------------------ resolve */

START_TEST(unresolvable_host_is_a_resolve_error)
{
    nb_error e;
    int before = th_count_fds();
    int timeouts[] = { 0, 1000 };
    size_t i;

    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        ck_assert_int_eq(nb_tcp_connect(TH_UNRESOLVABLE, "80", timeouts[i], 0,
                                        &e), -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_int_ne(e.gai_error, 0);
        ck_assert_int_eq(e.sys_errno, 0);
        ck_assert_str_eq(e.addr, TH_UNRESOLVABLE ":80");
        ck_assert_str_eq(e.message + strlen("resolve " TH_UNRESOLVABLE ":80: "),
                         gai_strerror(e.gai_error));
        ck_assert_int_eq(e.attempts, 0);
        ck_assert_int_eq(nb_error_is_temporary(&e), 0);
        ck_assert_int_eq(th_count_fds(), before);
    }
}
END_TEST

/* A numeric address of the family the flags exclude has no usable address:
 * getaddrinfo says so (EAI_ADDRFAMILY on glibc, or EAI_NONAME/EAI_FAMILY
 * elsewhere), and the call never tries to connect. */
struct family_mismatch {
    const char *host;
    const char *shown;
    int flags;
};

static const struct family_mismatch mismatches[] = {
    { "::1", "[::1]", NB_IPV4_ONLY },
    { "[::1]", "[::1]", NB_IPV4_ONLY },
    { "127.0.0.1", "127.0.0.1", NB_IPV6_ONLY },
    { "127.0.0.1", "127.0.0.1", NB_IPV6_ONLY | NB_NONBLOCK },
};
#define N_MISMATCHES (int)(sizeof(mismatches) / sizeof(mismatches[0]))

START_TEST(family_flag_excluding_the_address_is_a_resolve_error)
{
    const struct family_mismatch *c = &mismatches[_i];
    char port[8], want_addr[64], want_prefix[96];
    nb_error e;
    int family = strchr(c->host, ':') != NULL ? AF_INET6 : AF_INET;
    int listener, before;

    if (family == AF_INET6)
        TH_REQUIRE_IPV6();
    /* a listener on the address itself: connecting would succeed */
    listener = th_raw_listener(family, 4, port);
    snprintf(want_addr, sizeof(want_addr), "%s:%s", c->shown, port);
    snprintf(want_prefix, sizeof(want_prefix), "resolve %s: ", want_addr);
    before = th_count_fds();
    ck_assert_int_eq(nb_tcp_connect(c->host, port, 1000, c->flags, &e), -1);
    ck_assert_int_eq(th_count_fds(), before);
    th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    ck_assert_msg(e.gai_error == EAI_ADDRFAMILY || e.gai_error == EAI_NONAME ||
                  e.gai_error == EAI_FAMILY,
                  "gai_error %d (%s)", e.gai_error, gai_strerror(e.gai_error));
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_str_eq(e.addr, want_addr);
    ck_assert_int_eq(strncmp(e.message, want_prefix, strlen(want_prefix)), 0);
    ck_assert_str_eq(e.message + strlen(want_prefix), gai_strerror(e.gai_error));
    ck_assert_int_eq(e.attempts, 0);
    /* the listener saw no connection attempt */
    ck_assert_int_eq(th_poll_for(listener, POLLIN, 0), 0);
    close(listener);
}
END_TEST

/* The family flags do allow what they name. */
START_TEST(family_flag_allows_its_family)
{
    char port4[8], port6[8];
    nb_error e;
    int l4 = th_raw_listener(AF_INET, 4, port4), l6 = -1, fd;

    fd = nb_tcp_connect("127.0.0.1", port4, 1000, NB_IPV4_ONLY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    th_check_connected_to(fd, l4);
    close(fd);
    fd = nb_tcp_connect("localhost", port4, 1000, NB_IPV4_ONLY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    th_check_connected_to(fd, l4);
    close(fd);
    if (th_have_ipv6()) {
        l6 = th_raw_listener(AF_INET6, 4, port6);
        fd = nb_tcp_connect("::1", port6, 1000, NB_IPV6_ONLY, &e);
        ck_assert_msg(fd >= 0, "%s", e.message);
        th_check_connected_to(fd, l6);
        close(fd);
        close(l6);
    } else {
        th_skip_part("NB_IPV6_ONLY: no IPv6 here");
    }
    close(l4);
}
END_TEST

/* ------------------------------------------------------------ timeout */

struct timeout_case {
    int family;
    int flags;
};

/* (Through a storm of signals: test_signals.) */
static const struct timeout_case timeout_cases[] = {
    { AF_INET, 0 },
    { AF_INET, NB_NONBLOCK },
    { AF_INET, NB_NODELAY },
    { AF_INET6, 0 },
    { AF_INET6, NB_NONBLOCK },
};
#define N_TIMEOUT_CASES (int)(sizeof(timeout_cases) / sizeof(timeout_cases[0]))

/* Stalled listeners on 127.0.0.1 and ::1, made once for the test case (an
 * unchecked fixture: they take a moment to make).  Each test's attempt is
 * closed by the end of the test. */
static struct th_stall stall4, stall6;
static int have_stall6;

static void open_stalls(void)
{
    th_stall_open(&stall4, AF_INET);
    have_stall6 = th_have_ipv6();
    if (have_stall6)
        th_stall_open(&stall6, AF_INET6);
}

static void close_stalls(void)
{
    if (have_stall6)
        th_stall_close(&stall6);
    th_stall_close(&stall4);
}

START_TEST(stalled_connect_times_out)
{
    const struct timeout_case *c = &timeout_cases[_i];
    const char *host = c->family == AF_INET ? "127.0.0.1" : "::1";
    const struct th_stall *stall = c->family == AF_INET ? &stall4 : &stall6;
    char want_addr[64], want_msg[128];
    nb_error e;
    int64_t t0, elapsed;
    int before, fd;

    if (c->family == AF_INET6 && !have_stall6) {
        th_skip("no IPv6 here: ::1 cannot be bound");
        return;
    }
    snprintf(want_addr, sizeof(want_addr), c->family == AF_INET ? "%s:%s" : "[%s]:%s",
             host, stall->port);
    snprintf(want_msg, sizeof(want_msg), "connect %s: timed out after 300 ms",
             want_addr);
    before = th_count_fds();
    errno = 0;
    t0 = th_now_ms();
    fd = nb_tcp_connect(host, stall->port, 300, c->flags, &e);
    elapsed = th_now_ms() - t0;
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(th_count_fds(), before);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_str_eq(e.addr, want_addr);
    ck_assert_str_eq(e.message, want_msg);
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_msg(elapsed >= 290 && elapsed < 1500, "timed out after %lld ms",
                  (long long)elapsed);
}
END_TEST

/* ------------------------------------------------------------- suite */

static Suite *connect_suite(void)
{
    Suite *s = suite_create("connect");
    TCase *ok = tcase_create("connects");
    TCase *fail = tcase_create("failures");
    TCase *timeout = tcase_create("timeouts");

    tcase_add_loop_test(ok, connects_to_numeric_loopback, 0, N_FAMILY_CASES);
    tcase_add_test(ok, connects_to_localhost);
    tcase_add_loop_test(ok, socket_mode_follows_flags, 0, N_MODE_CASES);
    tcase_add_test(ok, family_flag_allows_its_family);
    suite_add_tcase(s, ok);

    tcase_add_loop_test(fail, refused_is_a_system_error, 0, N_REFUSED_CASES);
    tcase_add_test(fail, unresolvable_host_is_a_resolve_error);
    tcase_add_loop_test(fail, family_flag_excluding_the_address_is_a_resolve_error,
                        0, N_MISMATCHES);
    suite_add_tcase(s, fail);

    tcase_add_loop_test(timeout, stalled_connect_times_out, 0, N_TIMEOUT_CASES);
    tcase_add_unchecked_fixture(timeout, open_stalls, close_stalls);
    tcase_set_timeout(timeout, 20);
    suite_add_tcase(s, timeout);
    return s;
}

int main(void)
{
    return th_run_suite(connect_suite());
}
