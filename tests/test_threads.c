/*
 * test_threads.c - several threads calling the library at once: each
 * thread's error objects, errno and results are exactly its own.
 *
 * Every worker has its own loopback address (127.0.0.20+i), its own ports,
 * its own unresolvable name and its own Unix socket names, so that any
 * mixing of state between threads shows up as a wrong address or port in
 * a message.  Workers never call ck_assert (not safe off the main thread
 * when CK_FORK=no): they record their first mismatch, and the main thread
 * asserts after joining them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

#define NWORKERS 8
#define MIXED_ROUNDS 15     /* each holds one short connect timeout */
#define TIGHT_ROUNDS 200    /* fast failures only */
#define CONNECT_TIMEOUT_MS 20
#define STALL_FILLERS 16

/* What the main thread works out once, before any worker starts. */
static char text_refused[128], text_inuse[128];
static int resolve_gai;
static char text_resolve[128];

static void prepare_expectations(void)
{
    nb_error e;

    snprintf(text_refused, sizeof(text_refused), "%s", strerror(ECONNREFUSED));
    snprintf(text_inuse, sizeof(text_inuse), "%s", strerror(EADDRINUSE));
    ck_assert_int_eq(nb_tcp_connect(TH_UNRESOLVABLE, "80", 0, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
    resolve_gai = e.gai_error;
    snprintf(text_resolve, sizeof(text_resolve), "%s", gai_strerror(resolve_gai));
}

struct worker {
    int index;
    pthread_t tid;
    pthread_barrier_t *start;
    int rounds;
    int tight;              /* only the fast failures */
    char host[16];          /* 127.0.0.(20+index) */
    char bad_host[128];     /* unresolvable, naming the worker */
    char unix_name[64];     /* a listener's abstract name */
    char missing_name[64];  /* an abstract name nobody listens on */
    /* outcome */
    int calls;
    int failed;
    char why[768];
};

static void worker_fail(struct worker *w, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void worker_fail(struct worker *w, const char *step, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->failed++)
        return;  /* keep the first */
    n = snprintf(w->why, sizeof(w->why), "worker %d, %s: ", w->index, step);
    va_start(ap, fmt);
    vsnprintf(w->why + n, sizeof(w->why) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Checks a failed call completely: return value, errno taken right after
 * it, code, op, sys_errno, addr and the whole message. */
static int expect_error(struct worker *w, const char *step, long ret,
                        int got_errno, const nb_error *e, enum nb_code code,
                        const char *op, int sys_errno, int want_errno,
                        const char *addr, const char *message)
{
    w->calls++;
    if (ret != -1)
        worker_fail(w, step, "returned %ld, want -1", ret);
    else if (e->code != code)
        worker_fail(w, step, "code %s, want %s (%s)", nb_code_name(e->code),
                    nb_code_name(code), e->message);
    else if (strcmp(e->op, op) != 0)
        worker_fail(w, step, "op \"%s\", want \"%s\"", e->op, op);
    else if (e->sys_errno != sys_errno)
        worker_fail(w, step, "sys_errno %d, want %d", e->sys_errno, sys_errno);
    else if (want_errno != 0 && got_errno != want_errno)
        worker_fail(w, step, "errno %d, want %d", got_errno, want_errno);
    else if (strcmp(e->addr, addr) != 0)
        worker_fail(w, step, "addr \"%s\", want \"%s\"", e->addr, addr);
    else if (strcmp(e->message, message) != 0)
        worker_fail(w, step, "message \"%s\", want \"%s\"", e->message, message);
    else
        return 1;
    return 0;
}

/* A loopback TCP socket bound to host (raw calls); listening when backlog
 * >= 0.  -1 on failure. */
static int raw_tcp(const char *host, int backlog, int *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, host, &sin.sin_addr);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        (backlog >= 0 && listen(fd, backlog) != 0) ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* As th_stall_open, on the worker's own address and without ck_assert. */
struct stall {
    int listener;
    int fillers[STALL_FILLERS];
    int n;
    int port;
};

static int stall_open(struct stall *s, const char *host)
{
    struct sockaddr_in sin;

    s->n = 0;
    s->listener = raw_tcp(host, 1, &s->port);
    if (s->listener < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)s->port);
    inet_pton(AF_INET, host, &sin.sin_addr);
    return th_fill_queue((struct sockaddr *)&sin, sizeof(sin), s->fillers,
                         &s->n, STALL_FILLERS);
}

static void stall_close(struct stall *s)
{
    while (s->n > 0)
        close(s->fillers[--s->n]);
    if (s->listener >= 0)
        close(s->listener);
}

/* th_port_of without ck_assert, for workers. */
static void port_string(int fd, char buf[12])
{
    nb_addr a;

    if (nb_local_addr(fd, &a, NULL) != 0)
        a.len = 0;
    snprintf(buf, 12, "%d", nb_addr_port(&a));
}

static void format_local(int fd, char *buf, size_t size)
{
    nb_addr a;

    buf[0] = '\0';
    if (nb_local_addr(fd, &a, NULL) == 0)
        nb_addr_format(&a, buf, size);
}

/* A connection to the worker's own listener, both ends checked. */
static void tcp_round_trip(struct worker *w, int listener, const char *port,
                           nb_error *e, int round)
{
    nb_error before = *e;
    char want[64], got[NB_ADDRSTRLEN], msg[64], buf[64];
    int client, server;
    size_t len;

    client = nb_tcp_connect(w->host, port, 2000, NB_NODELAY, e);
    if (client < 0) {
        worker_fail(w, "connect to own listener", "%s", e->message);
        return;
    }
    server = nb_tcp_accept(listener, NULL, 0, e);
    if (server < 0) {
        worker_fail(w, "accept", "%s", e->message);
        close(client);
        return;
    }
    snprintf(want, sizeof(want), "%s:%s", w->host, port);
    format_local(server, got, sizeof(got));
    if (strcmp(got, want) != 0)
        worker_fail(w, "accept", "accepted on %s, want %s", got, want);
    len = (size_t)snprintf(msg, sizeof(msg), "worker %d round %d", w->index,
                           round);
    if (nb_send_all(client, msg, len, 2000, e) != (ssize_t)len ||
        nb_recv_all(server, buf, len, 2000, e) != (ssize_t)len)
        worker_fail(w, "send/recv", "%s", e->message);
    else if (memcmp(buf, msg, len) != 0)
        worker_fail(w, "send/recv", "got \"%.*s\", want \"%s\"", (int)len, buf,
                    msg);
    /* the successes left the previous failure alone */
    if (e->code != before.code || strcmp(e->message, before.message) != 0)
        worker_fail(w, "success", "error object changed to \"%s\"", e->message);
    close(client);
    close(server);
    w->calls += 4;
}

static void unix_round_trip(struct worker *w, int listener, nb_error *e)
{
    int client = nb_unix_connect(w->unix_name, 1000, 0, e);
    int server;

    if (client < 0) {
        worker_fail(w, "unix connect to own listener", "%s", e->message);
        return;
    }
    server = nb_tcp_accept(listener, NULL, 0, e);
    if (server < 0)
        worker_fail(w, "unix accept", "%s", e->message);
    else
        close(server);
    close(client);
    w->calls += 2;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct stall stall = { .listener = -1 };
    /* larger than anything the library makes: a mismatch shows in full */
    char lport[12], uport[12], rport[12], sport[12], bad_port[12], gai_port[12];
    char addr[256], msg[512];
    nb_error e;
    int listener, udp, refuser, unix_listener, port, round, got_errno;
    long ret;

    nb_error_clear(&e);
    /* the worker's own fixtures */
    listener = nb_tcp_listen(w->host, "0", 0, 0, &e);
    udp = nb_udp_bind(w->host, "0", 0, &e);
    refuser = raw_tcp(w->host, -1, &port);  /* bound, never listening */
    snprintf(rport, sizeof(rport), "%d", port);
    unix_listener = nb_unix_listen(w->unix_name, 0, 0, &e);
    if (listener < 0 || udp < 0 || refuser < 0 || unix_listener < 0 ||
        (!w->tight && stall_open(&stall, w->host) != 0)) {
        worker_fail(w, "setup", "%s (errno %d)", e.message, errno);
        pthread_barrier_wait(w->start);
        goto out;
    }
    port_string(listener, lport);
    port_string(udp, uport);
    snprintf(sport, sizeof(sport), "%d", stall.port);
    snprintf(bad_port, sizeof(bad_port), "7000%d", w->index);  /* > 65535 */
    snprintf(gai_port, sizeof(gai_port), "%d", 1000 + w->index);

    pthread_barrier_wait(w->start);
    for (round = 0; round < w->rounds && !w->failed; round++) {
        /* refused, without and with a deadline */
        snprintf(addr, sizeof(addr), "%s:%s", w->host, rport);
        snprintf(msg, sizeof(msg), "connect %s: %s", addr, text_refused);
        errno = 0;
        ret = nb_tcp_connect(w->host, rport, 0, 0, &e);
        got_errno = errno;
        expect_error(w, "refused connect", ret, got_errno, &e, NB_ERR_SYSTEM,
                     "connect", ECONNREFUSED, ECONNREFUSED, addr, msg);
        errno = 0;
        ret = nb_tcp_connect(w->host, rport, 1000, 0, &e);
        got_errno = errno;
        expect_error(w, "refused timed connect", ret, got_errno, &e,
                     NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED,
                     addr, msg);

        /* a name that does not resolve */
        snprintf(addr, sizeof(addr), "%s:%s", w->bad_host, gai_port);
        snprintf(msg, sizeof(msg), "resolve %s: %s", addr, text_resolve);
        ret = nb_tcp_connect(w->bad_host, gai_port, 0, 0, &e);
        got_errno = errno;
        expect_error(w, "resolve", ret, got_errno, &e, NB_ERR_RESOLVE,
                     "resolve", 0, 0, addr, msg);
        if (e.gai_error != resolve_gai)
            worker_fail(w, "resolve", "gai_error %d, want %d", e.gai_error,
                        resolve_gai);

        /* a port out of range */
        snprintf(addr, sizeof(addr), "%s:%s", w->host, bad_port);
        snprintf(msg, sizeof(msg),
                 "connect %s: invalid port \"%s\": not 0..65535 or a service name",
                 addr, bad_port);
        errno = 0;
        ret = nb_tcp_connect(w->host, bad_port, 0, 0, &e);
        got_errno = errno;
        expect_error(w, "bad port", ret, got_errno, &e, NB_ERR_ARG, "connect",
                     0, EINVAL, addr, msg);
        snprintf(msg, sizeof(msg),
                 "bind %s: invalid port \"%s\": not 0..65535 or a service name",
                 addr, bad_port);
        errno = 0;
        ret = nb_udp_bind(w->host, bad_port, 0, &e);
        got_errno = errno;
        expect_error(w, "bad udp port", ret, got_errno, &e, NB_ERR_ARG, "bind",
                     0, EINVAL, addr, msg);

        /* the worker's own ports are in use */
        snprintf(addr, sizeof(addr), "%s:%s", w->host, lport);
        snprintf(msg, sizeof(msg), "bind %s: %s", addr, text_inuse);
        errno = 0;
        ret = nb_tcp_listen(w->host, lport, 0, 0, &e);
        got_errno = errno;
        expect_error(w, "listen in use", ret, got_errno, &e, NB_ERR_SYSTEM,
                     "bind", EADDRINUSE, EADDRINUSE, addr, msg);
        snprintf(addr, sizeof(addr), "%s:%s", w->host, uport);
        snprintf(msg, sizeof(msg), "bind %s: %s", addr, text_inuse);
        errno = 0;
        ret = nb_udp_bind(w->host, uport, 0, &e);
        got_errno = errno;
        expect_error(w, "udp bind in use", ret, got_errno, &e, NB_ERR_SYSTEM,
                     "bind", EADDRINUSE, EADDRINUSE, addr, msg);

        /* a Unix name nobody listens on */
        snprintf(msg, sizeof(msg), "connect %s: %s", w->missing_name,
                 text_refused);
        errno = 0;
        ret = nb_unix_connect(w->missing_name, 0, 0, &e);
        got_errno = errno;
        expect_error(w, "unix connect refused", ret, got_errno, &e,
                     NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED,
                     w->missing_name, msg);

        /* successes in between leave e as the last failure made it */
        tcp_round_trip(w, listener, lport, &e, round);
        unix_round_trip(w, unix_listener, &e);
        if (strcmp(e.addr, w->missing_name) != 0)
            worker_fail(w, "after successes", "addr became \"%s\"", e.addr);

        if (w->tight)
            continue;
        /* a deadline on the worker's own stalled listener */
        snprintf(addr, sizeof(addr), "%s:%s", w->host, sport);
        snprintf(msg, sizeof(msg), "connect %s: timed out after %d ms", addr,
                 CONNECT_TIMEOUT_MS);
        errno = 0;
        ret = nb_tcp_connect(w->host, sport, CONNECT_TIMEOUT_MS, 0, &e);
        got_errno = errno;
        expect_error(w, "timeout", ret, got_errno, &e, NB_ERR_TIMEOUT,
                     "connect", ETIMEDOUT, ETIMEDOUT, addr, msg);
    }
out:
    stall_close(&stall);
    if (listener >= 0)
        close(listener);
    if (udp >= 0)
        close(udp);
    if (refuser >= 0)
        close(refuser);
    if (unix_listener >= 0)
        close(unix_listener);
    return NULL;
}

static void run_workers(int rounds, int tight)
{
    struct worker w[NWORKERS];
    pthread_barrier_t start;
    int fds = th_count_fds();
    int64_t t0 = th_now_ms();
    int i;

    prepare_expectations();
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, NWORKERS), 0);
    for (i = 0; i < NWORKERS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].index = i;
        w[i].start = &start;
        w[i].rounds = rounds;
        w[i].tight = tight;
        snprintf(w[i].host, sizeof(w[i].host), "127.0.0.%d", 20 + i);
        snprintf(w[i].bad_host, sizeof(w[i].bad_host),
                 TH_LONG_LABEL "w%d.invalid", i);
        snprintf(w[i].unix_name, sizeof(w[i].unix_name),
                 "@nb-test-threads-%ld-%d-%d", (long)getpid(), tight, i);
        snprintf(w[i].missing_name, sizeof(w[i].missing_name),
                 "@nb-test-threads-%ld-%d-%d-missing", (long)getpid(), tight, i);
        ck_assert_int_eq(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < NWORKERS; i++)
        ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
    pthread_barrier_destroy(&start);
    for (i = 0; i < NWORKERS; i++) {
        ck_assert_msg(w[i].failed == 0, "%d mismatches, first: %s",
                      w[i].failed, w[i].why);
        ck_assert_int_ge(w[i].calls, rounds * 14);
    }
    ck_assert_int_eq(th_count_fds(), fds);
    ck_assert_int_lt(th_now_ms() - t0, 20000);
}

START_TEST(errors_of_concurrent_threads_never_mix)
{
    run_workers(MIXED_ROUNDS, 0);
}
END_TEST

START_TEST(tight_loop_of_fast_failures_keeps_errors_per_thread)
{
    run_workers(TIGHT_ROUNDS, 1);
}
END_TEST

/* errno itself: one thread's failures never show in another's errno (the
 * other thread fails differently and checks its own errno each time). */
struct errno_probe {
    pthread_barrier_t *start;
    char missing[64];
    int rounds;
    int wrong;
};

static void *errno_is_own(void *arg)
{
    struct errno_probe *p = arg;
    int i;

    pthread_barrier_wait(p->start);
    for (i = 0; i < p->rounds; i++) {
        nb_error e;
        errno = 0;
        if (nb_unix_connect(p->missing, 0, 0, &e) != -1 ||
            errno != ECONNREFUSED)
            p->wrong++;
        /* calls that make no system call leave errno alone */
        errno = 0;
        nb_error_clear(&e);
        (void)nb_code_name(NB_ERR_SYSTEM);
        (void)nb_error_is_temporary(&e);
        if (errno != 0)
            p->wrong++;
        sched_yield();
    }
    return NULL;
}

START_TEST(errno_set_by_failures_is_per_thread)
{
    struct errno_probe probe;
    pthread_barrier_t start;
    pthread_t tid;
    nb_error e;
    int i;

    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    probe.start = &start;
    probe.rounds = 500;
    probe.wrong = 0;
    snprintf(probe.missing, sizeof(probe.missing),
             "@nb-test-threads-%ld-errno-missing", (long)getpid());
    ck_assert_int_eq(pthread_create(&tid, NULL, errno_is_own, &probe), 0);
    pthread_barrier_wait(&start);
    for (i = 0; i < 500; i++) {
        errno = 0;
        ck_assert_int_eq(nb_tcp_connect("127.0.0.1", "99999", 0, 0, &e), -1);
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_int_eq(nb_udp_bind("127.0.0.1", "0", 0x100, &e), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
    pthread_barrier_destroy(&start);
    ck_assert_int_eq(probe.wrong, 0);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, errors_of_concurrent_threads_never_mix);
    tcase_add_test(tc, tight_loop_of_fast_failures_keeps_errors_per_thread);
    tcase_add_test(tc, errno_set_by_failures_is_per_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(threads_suite());
}
