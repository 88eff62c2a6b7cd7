/*
 * helpers.c - fixtures shared by the Check tests (see helpers.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static socklen_t fill_sockaddr(struct sockaddr_storage *ss, const char *ip,
                               int port);

int th_count_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *ent;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((ent = readdir(dir)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

int th_count_fds(void)
{
    int n = th_count_entries("/proc/self/fd");

    ck_assert_msg(n >= 0, "/proc/self/fd cannot be read");
    return n - 1;  /* the directory's own descriptor */
}

int th_count_threads(void)
{
    int n = th_count_entries("/proc/self/task");

    ck_assert_msg(n >= 0, "/proc/self/task cannot be read");
    return n;
}

static void *no_work(void *arg)
{
    return arg;
}

int th_base_threads(void)
{
    static pid_t measured_in;
    static int base;

    if (measured_in != getpid()) {
        /* sanitizers start their own threads at a process's first
         * pthread_create: let them, before counting */
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, no_work, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        base = th_count_threads();
        measured_in = getpid();
    }
    return base;
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

int th_sockopt_int(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof(value);

    ck_assert_msg(getsockopt(fd, level, name, &value, &len) == 0,
                  "getsockopt(%d, %d, %d): errno %d", fd, level, name, errno);
    return value;
}

int th_nodelay(int fd)
{
    return th_sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY) != 0;
}

int th_v6only(int fd)
{
    return th_sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) != 0;
}

int th_have_ipv6(void)
{
    struct sockaddr_storage ss;
    socklen_t len = fill_sockaddr(&ss, "::1", 0);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok;

    if (fd < 0)
        return 0;
    ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

char *th_port_of(int fd, char buf[8])
{
    snprintf(buf, 8, "%d", th_local_port(fd));
    return buf;
}

int th_local_port(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return nb_addr_port(&a);
}

int64_t th_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ addresses */

/* th_sockaddr without assertions (for main(), outside any test): 0 when
 * ip is not numeric. */
static socklen_t fill_sockaddr(struct sockaddr_storage *ss, const char *ip,
                               int port)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? sizeof(*sin) : 0;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1 ? sizeof(*sin6)
                                                               : 0;
    }
}

socklen_t th_sockaddr(struct sockaddr_storage *ss, const char *ip, int port)
{
    socklen_t len = fill_sockaddr(ss, ip, port);

    ck_assert_msg(len > 0, "not a numeric address: %s", ip);
    return len;
}

socklen_t th_loopback(struct sockaddr_storage *ss, int family, int port)
{
    ck_assert(family == AF_INET || family == AF_INET6);
    return th_sockaddr(ss, family == AF_INET ? "127.0.0.1" : "::1", port);
}

nb_addr th_loopback_addr(int family, int port)
{
    nb_addr a;

    memset(&a, 0, sizeof(a));
    a.len = th_loopback(&a.ss, family, port);
    return a;
}

int th_raw_listener(int family, int backlog, char port[8])
{
    int fd = th_listener_at(family == AF_INET ? "127.0.0.1" : "::1", "0",
                            backlog);

    ck_assert_msg(fd >= 0, "bind to an ephemeral loopback port: errno %d",
                  errno);
    th_port_of(fd, port);
    return fd;
}

/* A TCP socket bound to ip:port, listening when backlog >= 0; -1 with
 * errno when bind(2) fails. */
static int bound_tcp(const char *ip, const char *port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len = th_sockaddr(&ss, ip, atoi(port));
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (backlog >= 0)
        ck_assert_int_eq(listen(fd, backlog), 0);
    return fd;
}

int th_listener_at(const char *ip, const char *port, int backlog)
{
    ck_assert_int_ge(backlog, 0);
    return bound_tcp(ip, port, backlog);
}

int th_refusing_port_at(const char *ip, const char *port)
{
    return bound_tcp(ip, port, -1);
}

int th_refusing_port(int family, char port[8])
{
    int fd = bound_tcp(family == AF_INET ? "127.0.0.1" : "::1", "0", -1);

    ck_assert_msg(fd >= 0, "bind to an ephemeral loopback port: errno %d",
                  errno);
    th_port_of(fd, port);
    return fd;
}

socklen_t th_unix_sockaddr(struct sockaddr_un *sun, const char *path)
{
    size_t n = strlen(path);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    ck_assert_uint_le(n, sizeof(sun->sun_path));
    memcpy(sun->sun_path, path, n);
    if (path[0] == '@')
        sun->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                       (path[0] == '@' ? 0 : 1));
}

int th_unix_listener(const char *path, int backlog)
{
    struct sockaddr_un sun;
    socklen_t len = th_unix_sockaddr(&sun, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0, "bind %s: %s",
                  path, strerror(errno));
    ck_assert_int_eq(listen(fd, backlog), 0);
    return fd;
}

void th_make_dir(char dir[64], const char *prefix)
{
    snprintf(dir, 64, "/tmp/%s-XXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int th_remove_tree(const char *dir)
{
    if (dir[0] == '\0')
        return 0;
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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

int th_fill_queue(const struct sockaddr *sa, socklen_t len, int *fillers,
                  int *n, int max)
{
    while (*n < max) {
        struct pollfd pfd;
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
        if (fd < 0)
            return -1;
        fillers[(*n)++] = fd;
        if (connect(fd, sa, len) == 0)
            continue;
        if (errno != EINPROGRESS)
            return -1;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 200) == 0)
            return 0;  /* this SYN was dropped: the queue is full */
    }
    return -1;
}

void th_stall_fill(struct th_stall *stall, int listener)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    stall->nfillers = 0;
    stall->listener = listener;
    th_port_of(listener, stall->port);
    ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&ss, &len), 0);
    /* Linux queues backlog + 1 connections, then drops SYNs; fill until a
     * handshake does not finish. */
    for (;;) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_lt(stall->nfillers, TH_MAX_FILLERS);
        stall->fillers[stall->nfillers++] = fd;
        if (!connect_finishes(fd, (struct sockaddr *)&ss, len, 200))
            break;
    }
}

void th_stall_open(struct th_stall *stall, int family)
{
    char port[8];

    th_stall_fill(stall, th_raw_listener(family, 1, port));
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

/* ---------------------------------------------------------------- skips */

/* Counters shared with every child Check forks: made before the suite
 * runs (th_run_suite), or by a skip in main() before that. */
static struct skip_counts {
    long tests;
    long parts;
} *skips;

static void skip_counts_init(void)
{
    void *p;

    if (skips != NULL)
        return;
    /* no ck_assert: this also runs outside any test */
    p = mmap(NULL, sizeof(*skips), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("helpers: mmap");
        abort();
    }
    skips = p;
    memset(skips, 0, sizeof(*skips));
}

/* "test_listen", without libtool's "lt-". */
static const char *program_name(void)
{
    const char *name = program_invocation_short_name;

    return strncmp(name, "lt-", 3) == 0 ? name + 3 : name;
}

void th_skip_at(const char *test, int part, const char *fmt, ...)
{
    char why[512];
    size_t n = strlen(test);
    va_list ap;

    skip_counts_init();
    /* START_TEST(name) defines name_fn */
    if (n > 3 && strcmp(test + n - 3, "_fn") == 0)
        n -= 3;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "skip: %s: %.*s: %s%s\n", program_name(), (int)n, test,
            part ? "part skipped: " : "", why);
    fflush(stderr);
    __atomic_add_fetch(part ? &skips->parts : &skips->tests, 1,
                       __ATOMIC_SEQ_CST);
}

int th_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed, ran;

    skip_counts_init();
    /* Under `make check-valgrind` (which sets VALGRIND) all tests run in
     * one process: Check's fork mode would only show valgrind the parent,
     * and forked children make false leak reports.  CK_FORK still wins. */
    if (getenv("VALGRIND") != NULL && getenv("CK_FORK") == NULL)
        srunner_set_fork_status(runner, CK_NOFORK);

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    ran = srunner_ntests_run(runner);
    srunner_free(runner);
    if (skips->tests > 0 || skips->parts > 0) {
        fflush(stdout);
        fprintf(stderr, "%s: SKIP: %ld of %d tests skipped", program_name(),
                skips->tests, ran);
        if (skips->parts > 0)
            fprintf(stderr, ", parts of others %ld times", skips->parts);
        fprintf(stderr, " (Check counts them as passed; the skip: lines above "
                "say why)\n");
    }
    if (failed != 0)
        return 1;
    return ran > 0 && skips->tests >= ran ? 77 : 0;
}

/* -------------------------------------------------------- error objects */

const char th_poison_op[] = "(poison: never written)";

void th_poison(nb_error *e)
{
    memset(e, 0x5a, sizeof(*e));
    e->op = th_poison_op;
}

int th_is_poisoned(const nb_error *e)
{
    nb_error fresh;

    th_poison(&fresh);
    return memcmp(e, &fresh, sizeof(fresh)) == 0;
}

/* ---------------------------------------------- added for test_udp/test_io */

#include <sys/syscall.h>

pid_t th_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* 1 when nr (with first argument arg0) is a system call in which a
 * socket is waited for.  32-bit systems have more of them: the *_time64
 * calls a 64-bit time_t build makes, and on i386 socketcall(2), through
 * which the C library makes recv, recvfrom and recvmsg (arg0 says which;
 * the numbers are the kernel's, <linux/net.h>). */
static int is_waiting_syscall(long nr, unsigned long arg0)
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
#ifdef SYS_ppoll_time64
        SYS_ppoll_time64,
#endif
#ifdef SYS_pselect6_time64
        SYS_pselect6_time64,
#endif
#ifdef SYS_recvmmsg_time64
        SYS_recvmmsg_time64,
#endif
        SYS_ppoll, SYS_pselect6, SYS_epoll_pwait, SYS_recvfrom, SYS_recvmsg,
    };
    size_t i;

    for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
        if (nr == waits[i])
            return 1;
#ifdef SYS_socketcall
    if (nr == SYS_socketcall)
        return arg0 == 10 /* SYS_RECV */ || arg0 == 12 /* SYS_RECVFROM */ ||
               arg0 == 17 /* SYS_RECVMSG */;
#else
    (void)arg0;
#endif
    return 0;
}

/* The system call thread tid is blocked in: its number, -1 when it is
 * running or blocked outside a system call, -2 when /proc cannot tell.
 * Its first argument goes to *arg0. */
static long blocked_syscall(pid_t tid, unsigned long *arg0)
{
    char path[64], text[64];
    char *end;
    long nr;
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
    /* "NR 0xARG0 0xARG1 ..." */
    nr = strtol(text, &end, 10);
    *arg0 = strtoul(end, NULL, 16);
    return nr;
}

int th_wait_blocked(pid_t tid, int timeout_ms, atomic_int *stop)
{
    int64_t end = th_now_ms() + timeout_ms;
    struct timespec tick = { 0, 1000000 };

    for (;;) {
        unsigned long arg0 = 0;
        long nr = blocked_syscall(tid, &arg0);
        if (nr == -2)
            return -1;
        if (is_waiting_syscall(nr, arg0))
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

/* ----------------------------------------------------------- private /etc */

#include <sched.h>
#include <sys/mount.h>

static char private_etc_why[256] = "th_private_etc was not called";

const char *th_private_etc_error(void)
{
    return private_etc_why;
}

static int etc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int etc_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(private_etc_why, sizeof(private_etc_why), fmt, ap);
    va_end(ap);
    return -1;
}

/* Writes text to path (created, truncated); 0 or -1 with errno. */
static int write_file(const char *path, const char *text, int flags)
{
    size_t n = strlen(text), off = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);

    if (fd < 0)
        return -1;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* A mount namespace of our own: as root directly; otherwise inside a new
 * user namespace in which this user is root (where the kernel allows
 * unprivileged user namespaces). */
static int unshare_mounts(void)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int e;

    if (unshare(CLONE_NEWNS) == 0)
        return 0;
    e = errno;
    if (uid == 0)
        return etc_fail("unshare(CLONE_NEWNS): %s", strerror(e));
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return etc_fail("not root, and unshare(CLONE_NEWUSER | CLONE_NEWNS) "
                        "failed: %s", strerror(errno));
    /* setgroups must be denied before an unprivileged gid_map */
    if (write_file("/proc/self/setgroups", "deny", 0) != 0 && errno != ENOENT)
        return etc_fail("/proc/self/setgroups: %s", strerror(errno));
    snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
    if (write_file("/proc/self/uid_map", map, 0) != 0)
        return etc_fail("/proc/self/uid_map: %s", strerror(errno));
    snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
    if (write_file("/proc/self/gid_map", map, 0) != 0)
        return etc_fail("/proc/self/gid_map: %s", strerror(errno));
    return 0;
}

int th_private_etc(const char *hosts, const char *resolv_conf,
                   const char *nsswitch)
{
    static const char *const targets[] = {
        "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
    };
    const char *contents[] = { hosts, resolv_conf, nsswitch };
    char dir[] = "/tmp/nb-test-etc-XXXXXX";
    char files[3][64];
    int made[3] = { 0, 0, 0 };
    int i, rc = 0;

    for (i = 0; i < 3; i++) {
        struct stat st;
        if (contents[i] != NULL && stat(targets[i], &st) != 0)
            return etc_fail("%s: %s (nothing to bind-mount over)", targets[i],
                            strerror(errno));
    }
    if (unshare_mounts() != 0)
        return -1;
    /* nothing mounted from now on may reach the parent namespace */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        return etc_fail("making / private: %s", strerror(errno));
    if (mkdtemp(dir) == NULL)
        return etc_fail("mkdtemp %s: %s", dir, strerror(errno));
    for (i = 0; i < 3 && rc == 0; i++) {
        if (contents[i] == NULL)
            continue;
        snprintf(files[i], sizeof(files[i]), "%s/%d", dir, i);
        if (write_file(files[i], contents[i], O_CREAT | O_EXCL) != 0) {
            rc = etc_fail("writing %s: %s", files[i], strerror(errno));
            break;
        }
        made[i] = 1;
        if (mount(files[i], targets[i], "none", MS_BIND, NULL) != 0)
            rc = etc_fail("bind-mounting over %s: %s", targets[i],
                          strerror(errno));
    }
    /* the mounts hold the files: their names can go */
    for (i = 0; i < 3; i++)
        if (made[i])
            unlink(files[i]);
    rmdir(dir);
    if (rc == 0)
        snprintf(private_etc_why, sizeof(private_etc_why),
                 "no error: this process has its own /etc files");
    return rc;
}
