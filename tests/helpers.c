/*
 * helpers.c - fixtures shared by the Check tests (see helpers.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

int th_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int n = 0;

    ck_assert_ptr_nonnull(dir);
    while ((ent = readdir(dir)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;  /* the directory's own descriptor */
}

int th_is_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : (flags & FD_CLOEXEC) != 0;
}

int th_is_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : (flags & O_NONBLOCK) != 0;
}

static int int_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof(value);

    ck_assert_int_eq(getsockopt(fd, level, name, &value, &len), 0);
    return value != 0;
}

int th_nodelay(int fd)
{
    return int_option(fd, IPPROTO_TCP, TCP_NODELAY);
}

int th_v6only(int fd)
{
    return int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY);
}

int th_have_ipv6(void)
{
    struct sockaddr_in6 sin6;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok;

    if (fd < 0)
        return 0;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    close(fd);
    return ok;
}

char *th_port_of(int fd, char buf[8])
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    snprintf(buf, 8, "%d", nb_addr_port(&a));
    return buf;
}

int64_t th_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int th_raw_listener(int family, int backlog, char port[8])
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
    ck_assert_int_eq(listen(fd, backlog), 0);
    th_port_of(fd, port);
    return fd;
}

/* Connects without blocking; 1 when the handshake finished within ms. */
static int connect_finishes(int fd, const struct sockaddr *sa, socklen_t len,
                            int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };

    if (connect(fd, sa, len) == 0)
        return 1;
    ck_assert_int_eq(errno, EINPROGRESS);
    return poll(&pfd, 1, ms) == 1;
}

void th_stall_open(struct th_stall *stall, int family)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    stall->nfillers = 0;
    stall->listener = th_raw_listener(family, 1, stall->port);
    ck_assert_int_eq(getsockname(stall->listener, (struct sockaddr *)&ss, &len), 0);
    /* Linux queues backlog + 1 connections, then drops SYNs; fill until a
     * handshake does not finish. */
    for (;;) {
        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_lt(stall->nfillers, TH_MAX_FILLERS);
        stall->fillers[stall->nfillers++] = fd;
        if (!connect_finishes(fd, (struct sockaddr *)&ss, len, 200))
            break;
    }
}

void th_stall_close(struct th_stall *stall)
{
    int i;

    for (i = 0; i < stall->nfillers; i++)
        close(stall->fillers[i]);
    close(stall->listener);
    stall->nfillers = 0;
}

void th_tcp_pair(int *client, int *server)
{
    char port[8];
    int listener = th_raw_listener(AF_INET, 1, port);

    *client = nb_tcp_connect("127.0.0.1", port, 2000, 0, NULL);
    ck_assert_int_ge(*client, 0);
    *server = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(*server, 0);
    close(listener);
}

int th_poll_for(int fd, short events, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int n;

    do
        n = poll(&pfd, 1, ms);
    while (n < 0 && errno == EINTR);
    return n;
}

void th_pass_bytes(int from, int to, const char *what)
{
    char buf[32];
    size_t n = strlen(what);
    ssize_t got;

    ck_assert_uint_lt(n, sizeof(buf));
    ck_assert_int_eq(th_poll_for(from, POLLOUT, 2000), 1);
    ck_assert_int_eq(send(from, what, n, MSG_NOSIGNAL), (ssize_t)n);
    ck_assert_int_eq(th_poll_for(to, POLLIN, 2000), 1);
    got = recv(to, buf, sizeof(buf) - 1, 0);
    ck_assert_int_eq(got, (ssize_t)n);
    buf[got] = '\0';
    ck_assert_str_eq(buf, what);
}

/* The address fd's end of the connection has (getsockname) or the other. */
static socklen_t name_of(int fd, int peer, struct sockaddr_storage *ss)
{
    socklen_t len = sizeof(*ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)ss, &len)
                  : getsockname(fd, (struct sockaddr *)ss, &len);

    ck_assert_msg(rc == 0, "%s(%d) failed: errno %d",
                  peer ? "getpeername" : "getsockname", fd, errno);
    return len;
}

void th_check_connected_to(int fd, int listener)
{
    struct sockaddr_storage peer_of_server, local_of_client;
    struct sockaddr_storage peer_of_client, local_of_listener;
    socklen_t len1 = sizeof(peer_of_server), len2, len3, len4;
    int server;

    ck_assert_int_eq(th_poll_for(listener, POLLIN, 2000), 1);
    server = accept4(listener, (struct sockaddr *)&peer_of_server, &len1,
                     SOCK_CLOEXEC);
    ck_assert_int_ge(server, 0);
    len2 = name_of(fd, 0, &local_of_client);
    len3 = name_of(fd, 1, &peer_of_client);
    len4 = name_of(listener, 0, &local_of_listener);
    /* the accepted connection is this very client... */
    ck_assert_uint_eq(len1, len2);
    ck_assert_int_eq(memcmp(&peer_of_server, &local_of_client, len1), 0);
    /* ...and the client is connected to this very listener */
    ck_assert_uint_eq(len3, len4);
    ck_assert_msg(memcmp(&peer_of_client, &local_of_listener, len3) == 0,
                  "connected to another address");

    th_pass_bytes(fd, server, "ping from the client");
    th_pass_bytes(server, fd, "pong from the server");
    close(server);
}

/* Atomic, not volatile sig_atomic_t: the handler runs on whichever thread
 * the kernel picks, and other threads read the count (a data race for
 * ThreadSanitizer otherwise).  Lock-free atomics are async-signal-safe. */
static atomic_long signals_seen;

static void count_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&signals_seen, 1);
}

void th_signal_storm_start(long interval_us)
{
    struct sigaction sa;
    struct itimerval it;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = count_signal;
    sa.sa_flags = 0;  /* no SA_RESTART: system calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    atomic_store(&signals_seen, 0);
    it.it_interval.tv_sec = interval_us / 1000000;
    it.it_interval.tv_usec = interval_us % 1000000;
    it.it_value = it.it_interval;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

long th_signals_seen(void)
{
    return atomic_load(&signals_seen);
}

long th_signal_storm_stop(void)
{
    struct itimerval off;

    memset(&off, 0, sizeof(off));
    ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
    signal(SIGALRM, SIG_IGN);
    return atomic_load(&signals_seen);
}

int th_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    /* Under `make check-valgrind` (which sets VALGRIND) all tests run in
     * one process: Check's fork mode would only show valgrind the parent,
     * and forked children make false leak reports.  CK_FORK still wins. */
    if (getenv("VALGRIND") != NULL && getenv("CK_FORK") == NULL)
        srunner_set_fork_status(runner, CK_NOFORK);

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}

/* ---------------------------------------------- added for test_udp/test_io */

#include <sys/syscall.h>

pid_t th_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* 1 when nr is a system call in which a socket is waited for. */
static int is_waiting_syscall(long nr)
{
    static const long waits[] = {
#ifdef SYS_poll
        SYS_poll,
#endif
#ifdef SYS_select
        SYS_select,
#endif
#ifdef SYS_epoll_wait
        SYS_epoll_wait,
#endif
        SYS_ppoll, SYS_pselect6, SYS_epoll_pwait, SYS_recvfrom, SYS_recvmsg,
    };
    size_t i;

    for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
        if (nr == waits[i])
            return 1;
    return 0;
}

/* The system call thread tid is blocked in: its number, -1 when it is
 * running or blocked outside a system call, -2 when /proc cannot tell. */
static long blocked_syscall(pid_t tid)
{
    char path[64], text[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", (long)tid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -2;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -2;
    text[n] = '\0';
    if (text[0] < '0' || text[0] > '9')
        return -1;  /* "running", or "-1 ..." */
    return strtol(text, NULL, 10);
}

int th_wait_blocked(pid_t tid, int timeout_ms, atomic_int *stop)
{
    int64_t end = th_now_ms() + timeout_ms;
    struct timespec tick = { 0, 1000000 };

    for (;;) {
        long nr = blocked_syscall(tid);
        if (nr == -2)
            return -1;
        if (is_waiting_syscall(nr))
            return 1;
        if ((stop != NULL && atomic_load(stop)) || th_now_ms() >= end)
            return 0;
        nanosleep(&tick, NULL);
    }
}

/* ------------------------------------------ added for tests/coverage.sh */

#ifdef TH_GCOV_DUMP
#include <stdio_ext.h>
#endif

void th_child_exit(int status)
{
#ifdef TH_GCOV_DUMP
    /* The counters are written by a destructor in each object, the shared
     * library's included (it has its own copy of libgcov, which a
     * __gcov_dump() here would not reach): exit(3) runs them.  What the
     * parent had buffered is dropped first, not printed a second time. */
    __fpurge(stdout);
    __fpurge(stderr);
    exit(status);
#else
    _exit(status);
#endif
}
