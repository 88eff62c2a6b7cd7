/*
 * test_activation.c - nb_listen_fds: descriptors passed by socket
 * activation (systemd's LISTEN_PID / LISTEN_FDS protocol, from fd 3).
 *
 * Every case runs in a child process forked here (not by Check), so that
 * it may dup2 sockets onto fd 3 and 4 and change the environment without
 * disturbing the test runner, also with CK_FORK=no.  The child must not
 * use ck_assert (a failure would unwind into a copy of the runner): it
 * checks with the CHILD_* macros, writes the first failure to a pipe and
 * exits 1; the parent turns that into a Check failure.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------------- child plumbing */

#define REPORT_FD_MIN 100  /* where the report pipe goes, out of the way */

static int report_fd = -1;

#if defined(__GNUC__)
#define TH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TH_PRINTF(f, a)
#endif

static void child_fail(int line, const char *fmt, ...) TH_PRINTF(2, 3);

static void child_fail(int line, const char *fmt, ...)
{
    char msg[768];
    int n = snprintf(msg, sizeof(msg), "line %d: ", line);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    if (write(report_fd, msg, strlen(msg)) < 0) {
        /* nothing more can be said */
    }
    th_child_exit(1);
}

#define CHILD_CHECK(cond)                                                   \
    do {                                                                    \
        if (!(cond))                                                        \
            child_fail(__LINE__, "%s", #cond);                              \
    } while (0)

#define CHILD_INT_EQ(got, want)                                             \
    do {                                                                    \
        long long got_ = (got), want_ = (want);                             \
        if (got_ != want_)                                                  \
            child_fail(__LINE__, "%s == %lld, want %lld", #got, got_,       \
                       want_);                                              \
    } while (0)

#define CHILD_STR_EQ(got, want)                                             \
    do {                                                                    \
        const char *got_ = (got), *want_ = (want);                          \
        if (got_ == NULL || strcmp(got_, want_) != 0)                       \
            child_fail(__LINE__, "%s == \"%s\", want \"%s\"", #got,         \
                       got_ != NULL ? got_ : "(null)", want_);              \
    } while (0)

#define CHILD_ENV_UNSET(name)                                               \
    do {                                                                    \
        const char *v_ = getenv(name);                                      \
        if (v_ != NULL)                                                     \
            child_fail(__LINE__, "%s still set to \"%s\"", name, v_);       \
    } while (0)

/* The failure an nb_error should hold. */
#define CHILD_ERROR(e, want_code, want_op)                                  \
    do {                                                                    \
        if ((e)->code != (want_code))                                       \
            child_fail(__LINE__, "code %s, want %s: %s",                    \
                       nb_code_name((e)->code), nb_code_name(want_code),    \
                       (e)->message);                                       \
        CHILD_STR_EQ((e)->op, want_op);                                     \
        if (strncmp((e)->message, want_op, strlen(want_op)) != 0)           \
            child_fail(__LINE__, "message \"%s\" does not start with %s",   \
                       (e)->message, want_op);                              \
    } while (0)

static int cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : (flags & FD_CLOEXEC) != 0;
}

static void set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0)
        child_fail(__LINE__, "setenv %s: %s", name, strerror(errno));
}

static void set_env_int(const char *name, long value)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%ld", value);
    set_env(name, buf);
}

/* The three variables, LISTEN_PID naming this (child) process. */
static void set_activation_env(const char *count)
{
    set_env_int("LISTEN_PID", (long)getpid());
    set_env("LISTEN_FDS", count);
    set_env("LISTEN_FDNAMES", "web:ctl");
}

/* Moves fd to exactly `target`, without close-on-exec, as a service
 * manager passes it (dup2 clears FD_CLOEXEC on the copy). */
static void place_at(int fd, int target)
{
    int high = fcntl(fd, F_DUPFD_CLOEXEC, REPORT_FD_MIN + 10);

    CHILD_CHECK(high >= 0);
    close(fd);
    CHILD_INT_EQ(dup2(high, target), target);
    close(high);
    CHILD_INT_EQ(cloexec(target), 0);
}

static char tcp_port[8];
static char unix_name[64];

/* fd 3: a TCP listener on 127.0.0.1 (its port in tcp_port); fd 4, when
 * two: a Unix listener in the abstract namespace (unix_name). */
static void pass_listeners(int how_many)
{
    nb_addr a;
    int tfd = nb_tcp_listen("127.0.0.1", "0", 4, 0, NULL);
    int ufd;

    CHILD_CHECK(tfd >= 0);
    CHILD_INT_EQ(nb_local_addr(tfd, &a, NULL), 0);
    snprintf(tcp_port, sizeof(tcp_port), "%d", nb_addr_port(&a));
    place_at(tfd, 3);
    if (how_many < 2)
        return;
    snprintf(unix_name, sizeof(unix_name), "@nbtest-activation-%ld",
             (long)getpid());
    ufd = nb_unix_listen(unix_name, 4, 0, NULL);
    CHILD_CHECK(ufd >= 0);
    place_at(ufd, 4);
}

static void check_untouched(int line, const nb_error *e)
{
    if (!th_is_poisoned(e))
        child_fail(line, "error object written on success: code %d",
                   (int)e->code);
}

#define FDS_SENTINEL (-77)

static void fill_sentinels(int *fds, int n)
{
    int i;

    for (i = 0; i < n; i++)
        fds[i] = FDS_SENTINEL;
}

typedef void (*child_case)(int arg);

/* Runs fn(arg) in a child; passes when the child exits 0, and fails with
 * what the child wrote otherwise. */
static void run_in_child(child_case fn, int arg)
{
    int fds0 = th_count_fds();
    char msg[1024];
    size_t got = 0;
    int p[2], status;
    pid_t pid;

    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        report_fd = fcntl(p[1], F_DUPFD_CLOEXEC, REPORT_FD_MIN);
        if (report_fd < 0)
            _exit(2);
        close(p[0]);
        close(p[1]);
        /* whatever the runner's environment holds, start clean */
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        fn(arg);
        th_child_exit(0);
    }
    close(p[1]);
    for (;;) {
        ssize_t n = read(p[0], msg + got, sizeof(msg) - 1 - got);
        if (n > 0 && got + (size_t)n < sizeof(msg) - 1) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            got += (size_t)n;
        break;
    }
    msg[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child failed (status 0x%x): %s", (unsigned)status,
                  got > 0 ? msg : "(no message)");
    ck_assert_int_eq(th_count_fds(), fds0);
}

/* ---------------------------------------------------------------- cases */

static void child_no_variables(int arg)
{
    int fds[4];
    nb_error e;

    (void)arg;
    pass_listeners(1);  /* an open, non-cloexec fd 3 that is not passed */
    fill_sentinels(fds, 4);
    th_poison(&e);
    CHILD_INT_EQ(nb_listen_fds(fds, 4, &e), 0);
    check_untouched(__LINE__, &e);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 0);

    /* one variable without the other is not an activation either */
    set_env("LISTEN_FDS", "1");
    CHILD_INT_EQ(nb_listen_fds(fds, 4, &e), 0);
    unsetenv("LISTEN_FDS");
    set_env_int("LISTEN_PID", (long)getpid());
    CHILD_INT_EQ(nb_listen_fds(fds, 4, &e), 0);
    check_untouched(__LINE__, &e);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 0);
}

START_TEST(no_variables_means_none_passed)
{
    run_in_child(child_no_variables, 0);
}
END_TEST

static void child_other_process(int arg)
{
    char ppid[32];
    int fds[4];
    nb_error e;

    (void)arg;
    pass_listeners(2);
    snprintf(ppid, sizeof(ppid), "%ld", (long)getppid());
    set_env("LISTEN_PID", ppid);
    set_env("LISTEN_FDS", "2");
    set_env("LISTEN_FDNAMES", "web:ctl");
    fill_sentinels(fds, 4);
    th_poison(&e);
    CHILD_INT_EQ(nb_listen_fds(fds, 4, &e), 0);
    check_untouched(__LINE__, &e);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    /* meant for another process: everything is left as it was */
    CHILD_STR_EQ(getenv("LISTEN_PID"), ppid);
    CHILD_STR_EQ(getenv("LISTEN_FDS"), "2");
    CHILD_STR_EQ(getenv("LISTEN_FDNAMES"), "web:ctl");
    CHILD_INT_EQ(cloexec(3), 0);
    CHILD_INT_EQ(cloexec(4), 0);
}

START_TEST(listen_pid_of_another_process_is_left_alone)
{
    run_in_child(child_other_process, 0);
}
END_TEST

static void child_two_passed(int arg)
{
    int fds[4], cfd, sfd, ufd, n;
    char c;
    nb_error e;

    (void)arg;
    pass_listeners(2);
    set_activation_env("2");
    fill_sentinels(fds, 4);
    th_poison(&e);
    n = nb_listen_fds(fds, 4, &e);
    if (n < 0)
        child_fail(__LINE__, "nb_listen_fds: %s", e.message);
    CHILD_INT_EQ(n, 2);
    check_untouched(__LINE__, &e);
    CHILD_INT_EQ(fds[0], 3);
    CHILD_INT_EQ(fds[1], 4);
    CHILD_INT_EQ(fds[2], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 1);
    CHILD_INT_EQ(cloexec(4), 1);
    CHILD_ENV_UNSET("LISTEN_PID");
    CHILD_ENV_UNSET("LISTEN_FDS");
    CHILD_ENV_UNSET("LISTEN_FDNAMES");

    /* the passed sockets are the listeners they were */
    cfd = nb_tcp_connect("127.0.0.1", tcp_port, 2000, 0, &e);
    if (cfd < 0)
        child_fail(__LINE__, "connect: %s", e.message);
    sfd = nb_tcp_accept(fds[0], NULL, 0, &e);
    if (sfd < 0)
        child_fail(__LINE__, "accept on fd 3: %s", e.message);
    CHILD_INT_EQ(cloexec(sfd), 1);
    CHILD_INT_EQ(nb_send_all(cfd, "x", 1, 1000, &e), 1);
    CHILD_INT_EQ(nb_recv_all(sfd, &c, 1, 1000, &e), 1);
    CHILD_INT_EQ(c, 'x');
    close(cfd);
    close(sfd);
    ufd = nb_unix_connect(unix_name, 2000, 0, &e);
    if (ufd < 0)
        child_fail(__LINE__, "unix connect: %s", e.message);
    sfd = nb_tcp_accept(fds[1], NULL, 0, &e);
    if (sfd < 0)
        child_fail(__LINE__, "accept on fd 4: %s", e.message);
    close(ufd);
    close(sfd);

    /* the variables are gone: a second call finds nothing */
    fill_sentinels(fds, 4);
    CHILD_INT_EQ(nb_listen_fds(fds, 4, &e), 0);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
}

START_TEST(two_passed_descriptors_are_returned_and_made_cloexec)
{
    run_in_child(child_two_passed, 0);
}
END_TEST

/* arg: max; fds NULL when max is 0 */
static void child_max_smaller(int max)
{
    int fds[4], n;
    nb_error e;

    pass_listeners(2);
    set_activation_env("2");
    fill_sentinels(fds, 4);
    th_poison(&e);
    n = nb_listen_fds(max == 0 ? NULL : fds, max, &e);
    if (n < 0)
        child_fail(__LINE__, "nb_listen_fds: %s", e.message);
    CHILD_INT_EQ(n, 2);  /* the count, not what was stored */
    check_untouched(__LINE__, &e);
    if (max == 1)
        CHILD_INT_EQ(fds[0], 3);
    else
        CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(fds[1], FDS_SENTINEL);
    /* all passed descriptors are marked, stored or not */
    CHILD_INT_EQ(cloexec(3), 1);
    CHILD_INT_EQ(cloexec(4), 1);
    CHILD_ENV_UNSET("LISTEN_PID");
    CHILD_ENV_UNSET("LISTEN_FDS");
    CHILD_ENV_UNSET("LISTEN_FDNAMES");
}

START_TEST(max_smaller_than_count_stores_only_max)
{
    run_in_child(child_max_smaller, 1);
}
END_TEST

START_TEST(max_zero_with_null_fds_counts)
{
    run_in_child(child_max_smaller, 0);
}
END_TEST

static void child_zero_passed(int arg)
{
    int fds[2];
    nb_error e;

    (void)arg;
    pass_listeners(1);
    set_activation_env("0");
    fill_sentinels(fds, 2);
    th_poison(&e);
    CHILD_INT_EQ(nb_listen_fds(fds, 2, &e), 0);
    check_untouched(__LINE__, &e);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 0);  /* fd 3 was not passed */
    CHILD_ENV_UNSET("LISTEN_PID");
    CHILD_ENV_UNSET("LISTEN_FDS");
    CHILD_ENV_UNSET("LISTEN_FDNAMES");
}

START_TEST(listen_fds_zero_passes_nothing)
{
    run_in_child(child_zero_passed, 0);
}
END_TEST

/* "$" stands for this process's pid, "$x" for it followed by "x". */
static const struct {
    const char *pid;
    const char *count;
    const char *bad;  /* the variable the message must name */
} invalid_values[] = {
    { "$", "abc", "LISTEN_FDS" },
    { "$", "-1", "LISTEN_FDS" },
    { "$", "", "LISTEN_FDS" },
    { "$", "99999999999999", "LISTEN_FDS" },
    { "$", "2147483647", "LISTEN_FDS" },
    { "$", "+1", "LISTEN_FDS" },
    { "$", " 1", "LISTEN_FDS" },
    { "$", "1 ", "LISTEN_FDS" },
    { "$", "0x1", "LISTEN_FDS" },
    { "$", "1.0", "LISTEN_FDS" },
    { "0", "1", "LISTEN_PID" },
    { "x", "1", "LISTEN_PID" },
    { "-1", "1", "LISTEN_PID" },
    { "", "1", "LISTEN_PID" },
    { "99999999999999", "1", "LISTEN_PID" },
    { "$x", "1", "LISTEN_PID" },
};
#define N_INVALID (int)(sizeof(invalid_values) / sizeof(invalid_values[0]))

static void child_invalid(int i)
{
    const char *pid = invalid_values[i].pid;
    char pidbuf[40];
    int fds[2];
    nb_error e;

    pass_listeners(1);
    if (pid[0] == '$') {
        snprintf(pidbuf, sizeof(pidbuf), "%ld%s", (long)getpid(), pid + 1);
        pid = pidbuf;
    }
    set_env("LISTEN_PID", pid);
    set_env("LISTEN_FDS", invalid_values[i].count);
    fill_sentinels(fds, 2);
    errno = 0;
    CHILD_INT_EQ(nb_listen_fds(fds, 2, &e), -1);
    CHILD_ERROR(&e, NB_ERR_ARG, "listen_fds");
    CHILD_INT_EQ(errno, EINVAL);
    if (strstr(e.message, invalid_values[i].bad) == NULL)
        child_fail(__LINE__, "message \"%s\" does not name %s", e.message,
                   invalid_values[i].bad);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 0);  /* nothing was touched */
    /* err NULL: the same failure, no crash */
    errno = 0;
    CHILD_INT_EQ(nb_listen_fds(fds, 2, NULL), -1);
    CHILD_INT_EQ(errno, EINVAL);
}

START_TEST(invalid_variables_are_argument_errors)
{
    run_in_child(child_invalid, _i);
}
END_TEST

/* LISTEN_FDS=1 but fd 3 is not open (arg 0); LISTEN_FDS=2 with fd 3
 * open but fd 4 not (arg 1): an error naming the missing descriptor, and
 * nothing is changed - not even fd 3's close-on-exec. */
static void child_fd_not_open(int arg)
{
    char want[32];
    int fds[2], missing = arg == 0 ? 3 : 4;
    nb_error e;

    if (arg == 0) {
        close(3);
        close(4);
        set_activation_env("1");
    } else {
        pass_listeners(1);
        close(4);
        set_activation_env("2");
    }
    fill_sentinels(fds, 2);
    errno = 0;
    CHILD_INT_EQ(nb_listen_fds(fds, 2, &e), -1);
    CHILD_ERROR(&e, NB_ERR_ARG, "listen_fds");
    CHILD_INT_EQ(errno, EBADF);
    snprintf(want, sizeof(want), "descriptor %d", missing);
    CHILD_STR_EQ(e.addr, "");
    if (strstr(e.message, want) == NULL ||
        strstr(e.message, "LISTEN_FDS") == NULL)
        child_fail(__LINE__, "message \"%s\" does not name %s", e.message,
                   want);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    if (arg == 1)
        CHILD_INT_EQ(cloexec(3), 0);
}

START_TEST(passed_descriptor_not_open_is_an_error)
{
    run_in_child(child_fd_not_open, _i);
}
END_TEST

/* arg 0: fds NULL with max 1; arg 1: max -1 - both with a valid
 * activation in place, which must then be left untouched. */
static void child_bad_arguments(int arg)
{
    int fds[2];
    nb_error e;

    pass_listeners(1);
    set_activation_env("1");
    fill_sentinels(fds, 2);
    errno = 0;
    if (arg == 0)
        CHILD_INT_EQ(nb_listen_fds(NULL, 1, &e), -1);
    else
        CHILD_INT_EQ(nb_listen_fds(fds, -1, &e), -1);
    CHILD_ERROR(&e, NB_ERR_ARG, "listen_fds");
    CHILD_INT_EQ(errno, EINVAL);
    CHILD_INT_EQ(fds[0], FDS_SENTINEL);
    CHILD_INT_EQ(cloexec(3), 0);
    CHILD_CHECK(getenv("LISTEN_PID") != NULL);
    CHILD_STR_EQ(getenv("LISTEN_FDS"), "1");
    CHILD_STR_EQ(getenv("LISTEN_FDNAMES"), "web:ctl");

    /* and without any activation: still an argument error */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    errno = 0;
    CHILD_INT_EQ(nb_listen_fds(arg == 0 ? NULL : fds, arg == 0 ? 5 : -5, &e),
                 -1);
    CHILD_ERROR(&e, NB_ERR_ARG, "listen_fds");
    CHILD_INT_EQ(errno, EINVAL);
    errno = 0;
    CHILD_INT_EQ(nb_listen_fds(NULL, -1, NULL), -1);
    CHILD_INT_EQ(errno, EINVAL);
}

START_TEST(null_fds_or_negative_max_are_argument_errors)
{
    run_in_child(child_bad_arguments, _i);
}
END_TEST

static Suite *activation_suite(void)
{
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("activation");

    tcase_add_test(tc, no_variables_means_none_passed);
    tcase_add_test(tc, listen_pid_of_another_process_is_left_alone);
    tcase_add_test(tc, two_passed_descriptors_are_returned_and_made_cloexec);
    tcase_add_test(tc, max_smaller_than_count_stores_only_max);
    tcase_add_test(tc, max_zero_with_null_fds_counts);
    tcase_add_test(tc, listen_fds_zero_passes_nothing);
    tcase_add_loop_test(tc, invalid_variables_are_argument_errors, 0,
                        N_INVALID);
    tcase_add_loop_test(tc, passed_descriptor_not_open_is_an_error, 0, 2);
    tcase_add_loop_test(tc, null_fds_or_negative_max_are_argument_errors, 0,
                        2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(activation_suite());
}
