/*
 * test_connect.c - nb_tcp_connect: loopback over IPv4 and IPv6, the mode
 * of the returned socket, refusals, resolve failures, timeouts, family
 * flags, bad arguments, and no descriptor left behind by any of them.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------------------ fixtures */

/* A loopback socket bound to an ephemeral port without listen(): while it
 * stays open nobody else can take the port, and connects to it are
 * refused. */
static int refusing_port(int family, char port[8])
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
    th_port_of(fd, port);
    return fd;
}

static void save_alarm(struct sigaction *old)
{
    ck_assert_int_eq(sigaction(SIGALRM, NULL, old), 0);
}

static void restore_alarm(const struct sigaction *old)
{
    ck_assert_int_eq(sigaction(SIGALRM, old, NULL), 0);
}

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

    if (c->family == AF_INET6 && !th_have_ipv6())
        return;
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
        holder = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(holder, 0);
        {
            struct sockaddr_in6 sin6;
            memset(&sin6, 0, sizeof(sin6));
            sin6.sin6_family = AF_INET6;
            sin6.sin6_addr = in6addr_loopback;
            sin6.sin6_port = htons((uint16_t)atoi(port));
            if (bind(holder, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
                break;
        }
        ck_assert_int_lt(tries, 20);
        close(holder);
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

    if (family == AF_INET6 && !th_have_ipv6())
        return;
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

START_TEST(success_leaves_error_untouched)
{
    char port[8];
    nb_error e;
    int listener = th_raw_listener(AF_INET, 4, port);
    int fd;

    memset(&e, 0x5a, sizeof(e));
    e.code = NB_ERR_CLOSED;
    e.attempts = 77;
    fd = nb_tcp_connect("127.0.0.1", port, 1000, 0, &e);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(e.code, NB_ERR_CLOSED);
    ck_assert_int_eq(e.attempts, 77);
    close(fd);
    /* and a NULL error object is fine */
    fd = nb_tcp_connect("127.0.0.1", port, 0, 0, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
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

    if (c->family == AF_INET6 && !th_have_ipv6())
        return;
    holder = refusing_port(c->family, port);
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

    if (family == AF_INET6 && !th_have_ipv6())
        return;
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
    }
    close(l4);
}
END_TEST

/* ------------------------------------------------------------ timeout */

struct timeout_case {
    int family;
    int flags;
    int storm;  /* SIGALRM every 2 ms while waiting */
};

static const struct timeout_case timeout_cases[] = {
    { AF_INET, 0, 0 },
    { AF_INET, NB_NONBLOCK, 0 },
    { AF_INET, NB_NODELAY, 0 },
    { AF_INET6, 0, 0 },
    { AF_INET, 0, 1 },
    { AF_INET6, NB_NONBLOCK, 1 },
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
    struct sigaction old_alarm;
    char want_addr[64], want_msg[128];
    nb_error e;
    int64_t t0, elapsed;
    long signals = 0;
    int before, fd;

    if (c->family == AF_INET6 && !have_stall6)
        return;
    snprintf(want_addr, sizeof(want_addr), c->family == AF_INET ? "%s:%s" : "[%s]:%s",
             host, stall->port);
    snprintf(want_msg, sizeof(want_msg), "connect %s: timed out after 300 ms",
             want_addr);
    before = th_count_fds();
    if (c->storm) {
        save_alarm(&old_alarm);
        th_signal_storm_start(2000);
    }
    errno = 0;
    t0 = th_now_ms();
    fd = nb_tcp_connect(host, stall->port, 300, c->flags, &e);
    elapsed = th_now_ms() - t0;
    if (c->storm) {
        signals = th_signal_storm_stop();
        restore_alarm(&old_alarm);
    }
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
    if (c->storm)
        ck_assert_int_gt(signals, 10);
}
END_TEST

/* ----------------------------------------------------- bad arguments */

struct bad_arg {
    const char *host;
    const char *port;
    int flags;
};

/* "80x" looks like a service name that does not exist: API.md allows
 * NB_ERR_ARG or NB_ERR_RESOLVE (EAI_SERVICE) for it; see below. */

static const struct bad_arg bad_args[] = {
    { NULL, "80", 0 },
    { "", "80", 0 },
    { "127.0.0.1", NULL, 0 },
    { "127.0.0.1", "", 0 },
    { "127.0.0.1", "65536", 0 },
    { "127.0.0.1", "-1", 0 },
    { "127.0.0.1", "80x", 0 },
    { "127.0.0.1", "80", NB_REUSEPORT },
    { "127.0.0.1", "80", 0x100 },
    { "127.0.0.1", "80", -1 },
    { "127.0.0.1", "80", NB_IPV4_ONLY | NB_IPV6_ONLY },
};
#define N_BAD_ARGS (int)(sizeof(bad_args) / sizeof(bad_args[0]))

START_TEST(bad_arguments_are_rejected)
{
    const struct bad_arg *c = &bad_args[_i];
    nb_error e;
    int before = th_count_fds();

    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(c->host, c->port, 1000, c->flags, &e), -1);
    ck_assert_int_eq(th_count_fds(), before);
    if (e.code == NB_ERR_RESOLVE && c->port != NULL &&
        strcmp(c->port, "80x") == 0) {
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_int_eq(e.gai_error, EAI_SERVICE);
        ck_assert_str_eq(e.addr, "127.0.0.1:80x");
        return;
    }
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "connect");
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_int_eq(th_count_fds(), before);
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(c->host, c->port, 1000, c->flags, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
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
    tcase_add_test(ok, success_leaves_error_untouched);
    tcase_add_test(ok, family_flag_allows_its_family);
    suite_add_tcase(s, ok);

    tcase_add_loop_test(fail, refused_is_a_system_error, 0, N_REFUSED_CASES);
    tcase_add_test(fail, unresolvable_host_is_a_resolve_error);
    tcase_add_loop_test(fail, family_flag_excluding_the_address_is_a_resolve_error,
                        0, N_MISMATCHES);
    tcase_add_loop_test(fail, bad_arguments_are_rejected, 0, N_BAD_ARGS);
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
