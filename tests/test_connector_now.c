/*
 * test_connector_now.c - nb_connector when connect(2) finishes inside the
 * call, at once: connected, or refused.
 *
 * Linux's TCP answers EINPROGRESS to a non-blocking connect(2) even on
 * loopback, but connect(2) may also return 0 or fail outright (POSIX), and
 * race.c then reports the attempt as won, or failed, straight away.  To
 * make that happen here, connect is wrapped (-Wl,--wrap=connect; the
 * library's objects are linked in statically, as for the other tests of
 * internals): in mode AT_ONCE the wrapper waits for the handshake itself
 * and returns its result.  A connector must hand out the connection, or
 * report the failure, through its descriptor exactly as when the kernel
 * takes its time, and a failure must be nb_tcp_connect's.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

static int at_once;  /* 1: connect(2) waits for its own result */
static int calls;    /* connect(2) calls made */

int __real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len);

int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    int rc = __real_connect(fd, sa, len);
    int soerr = 0;
    socklen_t soerr_len = sizeof(soerr);
    struct pollfd pfd;

    calls++;
    if (!at_once || rc == 0 || errno != EINPROGRESS)
        return rc;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, 5000) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) != 0)
        return -1;
    if (soerr == 0)
        return 0;
    errno = soerr;
    return -1;
}

/* Frees c, which handed out fd: fd stays open, the one descriptor more
 * than the `before` of the test, connected to listener; then closes it. */
static void free_keeping(nb_connector *c, int fd, int before, int listener)
{
    nb_connector_free(c);
    ck_assert_int_eq(th_count_fds(), before + 1);
    th_check_connected_to(fd, listener);
    close(fd);
}

/* The descriptor becomes readable by itself, and a step hands out the
 * connection made inside nb_connector_start; nothing else is left open. */
START_TEST(connected_at_once)
{
    static const int flag_cases[] = { 0, NB_NONBLOCK | NB_NODELAY };
    char port[8];
    int listener = th_raw_listener(AF_INET, 8, port);
    size_t i;

    for (i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
        int flags = flag_cases[i], before = th_count_fds(), fd = -1;
        nb_error e;
        nb_connector *c;

        at_once = 1;
        calls = 0;
        c = nb_connector_start("127.0.0.1", port, 0, flags, &e);
        at_once = 0;
        ck_assert_msg(c != NULL, "%s", e.message);
        ck_assert_int_eq(calls, 1);
        ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 2000), 1);
        ck_assert_int_eq(nb_connector_step(c, &fd, &e), 1);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(th_is_nonblock(fd), (flags & NB_NONBLOCK) != 0);
        ck_assert_int_eq(th_nodelay(fd), (flags & NB_NODELAY) != 0);
        free_keeping(c, fd, before, listener);
    }
    close(listener);
}
END_TEST

/* A name: the attempt starts in a step (once the lookup is done), and the
 * connection made inside that step's connect(2) is handed out by it. */
START_TEST(connected_at_once_in_a_step)
{
    char port[8];
    int listener = th_raw_listener(AF_INET, 8, port);
    int before = th_count_fds(), fd = -1, rc = 0, steps = 0;
    nb_error e;
    nb_connector *c;

    c = nb_connector_start("localhost", port, 0, NB_IPV4_ONLY, &e);
    ck_assert_msg(c != NULL, "%s", e.message);
    at_once = 1;
    calls = 0;
    while (rc == 0 && th_poll_for(nb_connector_fd(c), POLLIN, 2000) == 1) {
        rc = nb_connector_step(c, &fd, &e);
        steps++;
    }
    at_once = 0;
    ck_assert_msg(rc == 1, "step %d: %s", steps, rc < 0 ? e.message : "0");
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(steps, 1);  /* the lookup's wake-up: resolved, connected */
    free_keeping(c, fd, before, listener);
    close(listener);
}
END_TEST

/* Refused inside nb_connector_start: the step reports it, as
 * nb_tcp_connect reports the same refusal. */
START_TEST(refused_at_once)
{
    char port[8], busy_port[8];
    int holder = th_raw_listener(AF_INET, 1, busy_port);
    int before, fd = 7, want_errno;
    nb_error want, got;
    nb_connector *c;

    /* a port nobody listens on: the listener's, once it is closed */
    snprintf(port, sizeof(port), "%s", busy_port);
    close(holder);
    before = th_count_fds();
    at_once = 1;
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", port, 0, 0, &want), -1);
    want_errno = errno;
    c = nb_connector_start("127.0.0.1", port, 0, 0, &got);
    at_once = 0;
    ck_assert_msg(c != NULL, "start: %s", got.message);
    ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 2000), 1);
    errno = 0;
    ck_assert_int_eq(nb_connector_step(c, &fd, &got), -1);
    ck_assert_int_eq(errno, want_errno);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(got.code, want.code);
    ck_assert_str_eq(got.op, want.op);
    ck_assert_int_eq(got.sys_errno, want.sys_errno);
    ck_assert_str_eq(got.addr, want.addr);
    ck_assert_str_eq(got.message, want.message);
    ck_assert_int_eq(got.attempts, want.attempts);
    ck_assert_int_eq(nb_connector_step(c, &fd, &got), -1);
    ck_assert_int_eq(got.code, NB_ERR_ARG);
    nb_connector_free(c);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static Suite *now_suite(void)
{
    Suite *s = suite_create("connector_now");
    TCase *tc = tcase_create("at once");

    tcase_add_test(tc, connected_at_once);
    tcase_add_test(tc, connected_at_once_in_a_step);
    tcase_add_test(tc, refused_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(now_suite());
}
