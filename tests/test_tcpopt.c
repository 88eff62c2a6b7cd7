/*
 * test_tcpopt.c - nb_tcp_keepalive and nb_tcp_user_timeout: the values
 * are read back with getsockopt(2) on connected and listening sockets
 * (and an accepted socket inherits the listener's), idle 0 turns
 * keepalive off, every range boundary, non-TCP descriptors, and a
 * failing setsockopt(2).
 *
 * The last needs setsockopt to fail on a good TCP socket, which the
 * kernel never does for these options: this program is linked with
 * -Wl,--wrap=setsockopt (tests/local.mk), and __wrap_setsockopt below
 * fails the one option a test arms, passing every other call through.
 * It links the library's objects (the convenience library), the very
 * ones libnetbasics.so is made of, since a wrap only reaches the objects
 * of the program being linked.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------- setsockopt fault */

int __real_setsockopt(int fd, int level, int name, const void *value,
                      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *value,
                      socklen_t len);

static int fail_level = -1, fail_name = -1, fail_errno;

int __wrap_setsockopt(int fd, int level, int name, const void *value,
                      socklen_t len)
{
    if (level == fail_level && name == fail_name) {
        errno = fail_errno;
        return -1;
    }
    return __real_setsockopt(fd, level, name, value, len);
}

static void arm_fault(int level, int name, int e)
{
    fail_level = level;
    fail_name = name;
    fail_errno = e;
}

static void disarm_fault(void)
{
    fail_level = fail_name = -1;
}

/* ------------------------------------------------------------ probes */

static int get_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

struct keep {
    int on, idle, interval, count;
};

static struct keep read_keepalive(int fd)
{
    struct keep k;

    k.on = get_int(fd, SOL_SOCKET, SO_KEEPALIVE);
    k.idle = get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE);
    k.interval = get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL);
    k.count = get_int(fd, IPPROTO_TCP, TCP_KEEPCNT);
    return k;
}

static void assert_keepalive(int fd, int on, int idle, int interval,
                             int count)
{
    struct keep k = read_keepalive(fd);

    ck_assert_msg(k.on == on && k.idle == idle && k.interval == interval &&
                  k.count == count,
                  "fd %d: SO_KEEPALIVE %d, idle %d, interval %d, count %d; "
                  "want %d, %d, %d, %d", fd, k.on, k.idle, k.interval,
                  k.count, on, idle, interval, count);
}

/* ------------------------------------------------------------- keepalive */

/* A connected socket (either end) takes the values and turns keepalive
 * on; err is left alone on success. */
START_TEST(keepalive_on_connected_socket_reads_back)
{
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    nb_error_clear(&e);
    ck_assert_int_eq(nb_tcp_keepalive(c, 60, 10, 5, &e), 0);
    ck_assert_int_eq(e.code, NB_OK);
    assert_keepalive(c, 1, 60, 10, 5);
    ck_assert_int_eq(nb_tcp_keepalive(s, 1, 1, 1, &e), 0);
    assert_keepalive(s, 1, 1, 1, 1);
    /* new values replace the old ones */
    ck_assert_int_eq(nb_tcp_keepalive(c, 32767, 32767, 127, &e), 0);
    assert_keepalive(c, 1, 32767, 32767, 127);
    close(c);
    close(s);
}
END_TEST

/* On a listener: the listener has them, and so has every accepted
 * socket (IPv4 and, where the host has it, IPv6). */
START_TEST(keepalive_on_listener_is_inherited)
{
    const int v6 = _i;
    char port[8];
    nb_error e;
    int l, c, a;

    if (v6 && !th_have_ipv6())
        return;
    l = nb_tcp_listen(v6 ? "::1" : "127.0.0.1", "0", 0, 0, &e);
    ck_assert_msg(l >= 0, "%s", e.message);
    ck_assert_int_eq(nb_tcp_keepalive(l, 120, 15, 3, &e), 0);
    assert_keepalive(l, 1, 120, 15, 3);
    th_port_of(l, port);
    c = nb_tcp_connect(v6 ? "::1" : "127.0.0.1", port, 2000, 0, &e);
    ck_assert_msg(c >= 0, "%s", e.message);
    a = nb_tcp_accept(l, NULL, 0, &e);
    ck_assert_msg(a >= 0, "%s", e.message);
    assert_keepalive(a, 1, 120, 15, 3);
    /* the connecting side is not affected */
    ck_assert_int_eq(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    close(a);
    close(c);
    close(l);
}
END_TEST

/* idle 0 turns keepalive off, whatever the other two say (they are
 * ignored, negative or out of range included); it was on before. */
START_TEST(idle_zero_turns_keepalive_off)
{
    static const int others[][2] = {
        { 0, 0 }, { 10, 5 }, { -1, -1 }, { 99999, 1000 },
    };
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(nb_tcp_keepalive(c, 30, 5, 4, &e), 0);
    assert_keepalive(c, 1, 30, 5, 4);
    nb_error_clear(&e);
    ck_assert_int_eq(nb_tcp_keepalive(c, 0, others[_i][0], others[_i][1], &e),
                     0);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    /* off twice is still off, and no error */
    ck_assert_int_eq(nb_tcp_keepalive(c, 0, 0, 0, &e), 0);
    ck_assert_int_eq(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    close(c);
    close(s);
}
END_TEST

/* Every boundary: each value just inside its range is taken, each value
 * just outside (and each negative) is NB_ERR_ARG whose message names the
 * argument and the value, and leaves the socket as it was. */
static const struct bound {
    int idle, interval, count;
    int ok;
    const char *names;   /* in the message when !ok */
} bounds[] = {
    { 1, 1, 1, 1, NULL },
    { 32767, 1, 1, 1, NULL },
    { 1, 32767, 1, 1, NULL },
    { 1, 1, 127, 1, NULL },
    { 32767, 32767, 127, 1, NULL },
    { 32768, 10, 5, 0, "idle_s 32768 out of range 1..32767" },
    { 60, 0, 5, 0, "interval_s 0 out of range 1..32767" },
    { 60, 32768, 5, 0, "interval_s 32768 out of range 1..32767" },
    { 60, 10, 0, 0, "count 0 out of range 1..127" },
    { 60, 10, 128, 0, "count 128 out of range 1..127" },
    { -1, 10, 5, 0, "negative value (idle -1, interval 10, count 5)" },
    { 60, -1, 5, 0, "negative value (idle 60, interval -1, count 5)" },
    { 60, 10, -1, 0, "negative value (idle 60, interval 10, count -1)" },
    { -2147483647 - 1, 10, 5, 0, "idle -2147483648" },
    { 2147483647, 10, 5, 0, "idle_s 2147483647 out of range 1..32767" },
};

START_TEST(range_boundaries)
{
    const struct bound *b = &bounds[_i];
    struct keep before;
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(nb_tcp_keepalive(c, 77, 7, 7, &e), 0);
    before = read_keepalive(c);
    errno = 0;
    if (b->ok) {
        ck_assert_msg(nb_tcp_keepalive(c, b->idle, b->interval, b->count,
                                       &e) == 0, "%s", e.message);
        assert_keepalive(c, 1, b->idle, b->interval, b->count);
    } else {
        ck_assert_int_eq(nb_tcp_keepalive(c, b->idle, b->interval, b->count,
                                          &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "setsockopt");
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_msg(strstr(e.message, "nb_tcp_keepalive") != NULL &&
                      strstr(e.message, b->names) != NULL,
                      "message \"%s\" does not say \"%s\"", e.message,
                      b->names);
        assert_keepalive(c, before.on, before.idle, before.interval,
                         before.count);
    }
    close(c);
    close(s);
}
END_TEST

/* ------------------------------------------------------- user timeout */

START_TEST(user_timeout_reads_back)
{
    static const int values[] = { 1, 5000, 30000, 2147483647 };
    nb_error e;
    size_t i;
    int c, s, l;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(get_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        nb_error_clear(&e);
        ck_assert_msg(nb_tcp_user_timeout(c, values[i], &e) == 0, "%s",
                      e.message);
        ck_assert_int_eq(e.code, NB_OK);
        ck_assert_int_eq(get_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT),
                         values[i]);
    }
    /* 0: back to the system's default */
    ck_assert_int_eq(nb_tcp_user_timeout(c, 0, &e), 0);
    ck_assert_int_eq(get_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
    /* a listener takes it too */
    l = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(l, 0);
    ck_assert_int_eq(nb_tcp_user_timeout(l, 4000, &e), 0);
    ck_assert_int_eq(get_int(l, IPPROTO_TCP, TCP_USER_TIMEOUT), 4000);
    close(l);
    close(c);
    close(s);
}
END_TEST

START_TEST(negative_user_timeout_is_an_argument_error)
{
    static const int values[] = { -1, -5000, -2147483647 - 1 };
    char want[128];
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(nb_tcp_user_timeout(c, 1234, &e), 0);
    errno = 0;
    ck_assert_int_eq(nb_tcp_user_timeout(c, values[_i], &e), -1);
    th_assert_error(&e, NB_ERR_ARG, "setsockopt");
    ck_assert_int_eq(errno, EINVAL);
    snprintf(want, sizeof(want), "timeout_ms %d is negative", values[_i]);
    ck_assert_msg(strstr(e.message, want) != NULL &&
                  strstr(e.message, "nb_tcp_user_timeout") != NULL,
                  "message \"%s\"", e.message);
    ck_assert_int_eq(get_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 1234);
    close(c);
    close(s);
}
END_TEST

/* --------------------------------------------------- not a TCP socket */

enum not_tcp { UDP, UNIX_STREAM, PIPE, NEGATIVE, CLOSED, N_NOT_TCP };
static const char *const not_tcp_name[] = { "UDP", "Unix stream", "pipe",
                                            "-1", "closed fd" };

/* A UDP socket, a Unix stream socket, a pipe, -1 and a closed descriptor
 * are NB_ERR_ARG for both calls, with good values. */
START_TEST(non_tcp_descriptors_are_argument_errors)
{
    const enum not_tcp kind = (enum not_tcp)_i;
    int fd = -1, other = -1, p[2];
    nb_error e;

    switch (kind) {
    case UDP:
        fd = nb_udp_bind("127.0.0.1", "0", 0, NULL);
        break;
    case UNIX_STREAM:
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p),
                         0);
        fd = p[0];
        other = p[1];
        break;
    case PIPE:
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fd = p[0];
        other = p[1];
        break;
    case NEGATIVE:
        fd = -1;
        break;
    case CLOSED:
    default:
        fd = dup(0);
        ck_assert_int_ge(fd, 0);
        close(fd);
        break;
    }
    if (kind == UDP)
        ck_assert_int_ge(fd, 0);

    errno = 0;
    ck_assert_msg(nb_tcp_keepalive(fd, 60, 10, 5, &e) == -1,
                  "nb_tcp_keepalive took a %s", not_tcp_name[kind]);
    th_assert_error(&e, NB_ERR_ARG, "setsockopt");
    ck_assert_int_ne(errno, 0);
    errno = 0;
    ck_assert_msg(nb_tcp_keepalive(fd, 0, 0, 0, &e) == -1,
                  "nb_tcp_keepalive (off) took a %s", not_tcp_name[kind]);
    th_assert_error(&e, NB_ERR_ARG, "setsockopt");
    errno = 0;
    ck_assert_msg(nb_tcp_user_timeout(fd, 1000, &e) == -1,
                  "nb_tcp_user_timeout took a %s", not_tcp_name[kind]);
    th_assert_error(&e, NB_ERR_ARG, "setsockopt");
    ck_assert_int_ne(errno, 0);
    if (kind == UDP || kind == UNIX_STREAM) {
        ck_assert_int_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
        ck_assert_ptr_nonnull(strstr(e.message, "is not a TCP socket"));
    }
    if (kind == NEGATIVE)
        ck_assert_str_eq(e.message, "setsockopt: invalid descriptor -1");
    if (kind != NEGATIVE && kind != CLOSED)
        close(fd);
    if (other >= 0)
        close(other);
}
END_TEST

/* ------------------------------------------------ setsockopt failures */

/* Each option the calls set, failing: NB_ERR_SYSTEM, op "setsockopt",
 * the option named in the message, errno kept. */
static const struct fault {
    int level, name;
    const char *option;
    int user_timeout;    /* the call that sets it */
    int turn_off;        /* nb_tcp_keepalive(fd, 0, ...) */
} faults[] = {
    { IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 0, 0 },
    { IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 0, 0 },
    { IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 0, 0 },
    { SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, 0 },
    { SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, 1 },
    { IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 1, 0 },
};

START_TEST(failing_setsockopt_is_a_system_error)
{
    const struct fault *f = &faults[_i];
    nb_error e;
    int c, s, rc;

    th_tcp_pair(&c, &s);
    arm_fault(f->level, f->name, ENOMEM);
    errno = 0;
    if (f->user_timeout)
        rc = nb_tcp_user_timeout(c, 1000, &e);
    else if (f->turn_off)
        rc = nb_tcp_keepalive(c, 0, 0, 0, &e);
    else
        rc = nb_tcp_keepalive(c, 60, 10, 5, &e);
    disarm_fault();
    ck_assert_int_eq(rc, -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "setsockopt");
    ck_assert_int_eq(e.sys_errno, ENOMEM);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_msg(strstr(e.message, f->option) != NULL,
                  "message \"%s\" does not name %s", e.message, f->option);
    ck_assert_ptr_nonnull(strstr(e.message, strerror(ENOMEM)));
    /* keepalive is never left on with the wrong timing */
    if (!f->user_timeout && !f->turn_off)
        ck_assert_int_eq(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    /* the next call works */
    ck_assert_int_eq(nb_tcp_keepalive(c, 60, 10, 5, &e), 0);
    assert_keepalive(c, 1, 60, 10, 5);
    close(c);
    close(s);
}
END_TEST

static Suite *tcpopt_suite(void)
{
    Suite *s = suite_create("tcpopt");
    TCase *tc = tcase_create("tcpopt");

    tcase_add_test(tc, keepalive_on_connected_socket_reads_back);
    tcase_add_loop_test(tc, keepalive_on_listener_is_inherited, 0, 2);
    tcase_add_loop_test(tc, idle_zero_turns_keepalive_off, 0, 4);
    tcase_add_loop_test(tc, range_boundaries, 0,
                        (int)(sizeof(bounds) / sizeof(bounds[0])));
    tcase_add_test(tc, user_timeout_reads_back);
    tcase_add_loop_test(tc, negative_user_timeout_is_an_argument_error, 0, 3);
    tcase_add_loop_test(tc, non_tcp_descriptors_are_argument_errors, 0,
                        N_NOT_TCP);
    tcase_add_loop_test(tc, failing_setsockopt_is_a_system_error, 0,
                        (int)(sizeof(faults) / sizeof(faults[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (TH_WRAP_MISSES_TIME64) {
        printf("skip: test_tcpopt: %s\n", TH_WRAP_MISSES_TIME64_WHY);
        return 77;
    }
    return th_run_suite(tcpopt_suite());
}
