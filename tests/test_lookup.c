/*
 * test_lookup.c - name resolution under a deadline, against a resolver the
 * test builds itself.
 *
 * main() moves the process, before any thread or lookup, into a mount and
 * a network namespace of its own (root only: otherwise the whole program
 * is skipped, status 77).  There it mounts its own /etc/hosts,
 * /etc/resolv.conf (nameserver 127.0.0.53, timeout:1 attempts:1),
 * /etc/nsswitch.conf (hosts: files dns) and /etc/gai.conf, and starts a
 * DNS server on 127.0.0.53:53, UDP and TCP, in a child process:
 *
 *   stall.test   never answered (queries are read and dropped; TCP
 *                connections are accepted and held), so that glibc waits
 *                timeout x attempts = 1 s before it gives up (4 s under
 *                valgrind);
 *   slow.test    A 127.0.0.1 after SLOW_MS, AAAA NOERROR without an answer;
 *   slower.test  the same after SLOWER_MS;
 *   any other    NXDOMAIN at once.
 *
 * Nothing leaks into the machine's namespaces: / is made private
 * recursively before anything is mounted (and nothing is mounted when that
 * fails), the files live on a tmpfs that is detached (and its directory
 * removed) as soon as they are bound, and the server listens in the
 * private network namespace, where only this program's loopback exists.
 *
 * Check forks each test (CK_FORK); the children inherit the namespaces and
 * share the one server.  Timing assertions allow SLACK_MS for a busy
 * machine (ten times as much under valgrind).  Threads are counted in
 * /proc/self/task, descriptors in /proc/self/fd.  Threads that call the
 * library never use ck_assert: they record, the main thread asserts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* ThreadSanitizer (configure --enable-tsan) */
#if defined(__SANITIZE_THREAD__)
#define NB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NB_TSAN 1
#endif
#endif
#ifndef NB_TSAN
#define NB_TSAN 0
#endif

#if NB_TSAN
/* test_fork_child_has_free_helpers starts a helper in the child of a
 * process with threads, which ThreadSanitizer refuses by default (it
 * cannot follow locks held at the fork); what the test checks there is
 * timing, not races. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}
#endif

#define DNS_ADDR "127.0.0.53"
#define SLOW_MS 200
#define SLOWER_MS 500
#define MAX_HELPERS 64          /* NB__MAX_HELPERS, as the header promises */
#define HELPER_WAIT_MS 15000    /* for hung lookups to end (glibc: 1 s) */

static const char hosts_text[] =
    "127.0.0.1 localhost files.test\n"
    "::1 localhost files.test\n"
    /* getaddrinfo returns 127.0.0.1 twice for this one */
    "127.0.0.1 dup.test\n"
    "127.0.0.1 dup.test\n"
    "127.0.0.2 dup.test\n"
    "::1 dup.test\n";
/* resolv.conf: written by private_etc with the resolver's timeout, 1 s
 * (under valgrind, which runs threads one at a time, 4 s: the hung helpers
 * must outlive the callers that start them). */
static int resolver_s = 1;
static const char nsswitch_text[] =
    "hosts: files dns\n"
    "services: files\n"
    "protocols: files\n";
/* Empty: RFC 6724's default order, whatever the machine has configured. */
static const char gai_text[] = "";

/* What the server has seen, in memory shared with it. */
struct dns_stats {
    atomic_int queries;        /* every query, UDP or TCP */
    atomic_int stalled;        /* queries for stall.test, dropped */
    atomic_int answered;       /* replies sent */
};

static struct dns_stats *stats;
static pid_t dns_pid = -1;
static int slack_ms = 400;
static int main_threads;       /* threads of the process before any test */
static pid_t main_pid;

/* ------------------------------------------------------- counting */

/* Threads of this process; -1 when /proc cannot tell (never asserts: main
 * counts them too). */
static int count_threads(void)
{
    return th_count_entries("/proc/self/task");
}

/* Waits up to ms for the thread count to fall to at most n; returns the
 * count it saw last. */
static int wait_threads_at_most(int n, int ms)
{
    int64_t end = th_now_ms() + ms;
    int count;

    while ((count = count_threads()) > n && th_now_ms() < end)
        poll(NULL, 0, 20);
    return count;
}

/* The threads of this process once every helper left over by an earlier
 * test has ended: the baseline a test counts from.  A test forked by Check
 * has none (main never looks a name up), and counts what it was born with
 * (ThreadSanitizer's runtime has threads of its own in each child); with
 * CK_FORK=no, the earlier tests' helpers must end first. */
static void *nothing(void *arg)
{
    return arg;
}

static int settled_threads(void)
{
    int n;

    if (NB_TSAN) {
        /* ThreadSanitizer starts its own threads at a process's first
         * pthread_create: let it, before counting */
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, nothing, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    if (getpid() != main_pid)
        return count_threads();
    n = wait_threads_at_most(main_threads, HELPER_WAIT_MS);

    ck_assert_int_le(n, main_threads);
    return n;
}

/* ------------------------------------------------- calls on threads */

enum call_kind { CALL_RESOLVE, CALL_CONNECT };

/* One library call made on a thread of its own, and what it returned. */
struct call {
    enum call_kind kind;
    const char *host;
    const char *port;
    int timeout_ms;
    int flags;
    atomic_int *started;       /* + 1 when the thread runs */
    /* results */
    pthread_t thread;
    atomic_int tid;
    atomic_int done;           /* 1 once the call has returned */
    int rc;
    int saved_errno;
    int64_t elapsed_ms;
    nb_addr out[8];
    nb_error err;
};

static void make_call(struct call *c)
{
    int64_t t0 = th_now_ms();

    nb_error_clear(&c->err);
    errno = 0;
    if (c->kind == CALL_RESOLVE)
        c->rc = nb_resolve(c->host, c->port, SOCK_STREAM, c->out, 8,
                           c->timeout_ms, c->flags, &c->err);
    else
        c->rc = nb_tcp_connect(c->host, c->port, c->timeout_ms, c->flags,
                               &c->err);
    c->saved_errno = errno;
    c->elapsed_ms = th_now_ms() - t0;
    if (c->kind == CALL_CONNECT && c->rc >= 0)
        close(c->rc);
}

static void *call_thread(void *arg)
{
    struct call *c = arg;

    atomic_store(&c->tid, (int)th_gettid());
    if (c->started != NULL)
        atomic_fetch_add(c->started, 1);
    make_call(c);
    atomic_store(&c->done, 1);
    return NULL;
}

static void set_call(struct call *c, enum call_kind kind, const char *host,
                     const char *port, int timeout_ms, atomic_int *started)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->host = host;
    c->port = port;
    c->timeout_ms = timeout_ms;
    c->started = started;
}

static void start_calls(struct call *calls, int n)
{
    int i;

    for (i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&calls[i].thread, NULL, call_thread,
                                        &calls[i]), 0);
}

static void join_calls(struct call *calls, int n)
{
    int i;

    for (i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(calls[i].thread, NULL), 0);
}

/* Fills every helper slot: MAX_HELPERS lookups of stall.test that time
 * out after 100 ms and leave their helper threads hung in the resolver
 * for resolver_s seconds.  Returns the thread count once they are all
 * up; or 0 under valgrind when the first had ended before the last
 * started (valgrind runs one thread at a time: starting 64 takes
 * seconds), after saying so: the caller skips what needs them all. */
static int fill_helpers(int base)
{
    static struct call calls[MAX_HELPERS];
    int i, n;

    for (i = 0; i < MAX_HELPERS; i++)
        set_call(&calls[i], CALL_RESOLVE, "stall.test", "80", 100, NULL);
    start_calls(calls, MAX_HELPERS);
    join_calls(calls, MAX_HELPERS);
    for (i = 0; i < MAX_HELPERS; i++)
        ck_assert_msg(calls[i].rc == -1 && calls[i].err.code == NB_ERR_TIMEOUT,
                      "filler %d: %d, %s", i, calls[i].rc, calls[i].err.message);
    n = count_threads();
    if (n != base + MAX_HELPERS && getenv("VALGRIND") != NULL) {
        fprintf(stderr, "skip (valgrind): %d of %d helpers still hung once "
                "all had started\n", n - base, MAX_HELPERS);
        ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
        return 0;
    }
    ck_assert_int_eq(n, base + MAX_HELPERS);
    return n;
}

/* ------------------------------------------------------ assertions */

static void assert_took(int64_t elapsed, int at_least, int at_most,
                        const char *what)
{
    ck_assert_msg(elapsed >= at_least && elapsed <= at_most,
                  "%s took %lld ms, want %d..%d", what, (long long)elapsed,
                  at_least, at_most);
}

/* A bounded call that ended at its deadline while resolving. */
static void assert_resolve_timeout(const struct call *c, const char *hostport)
{
    char want[NB_ERRMSG_SIZE];

    snprintf(want, sizeof(want),
             "resolve %s: timed out after %d ms while resolving", hostport,
             c->timeout_ms);
    ck_assert_int_eq(c->rc, -1);
    ck_assert_msg(c->err.code == NB_ERR_TIMEOUT, "%s: %s",
                  nb_code_name(c->err.code), c->err.message);
    ck_assert_str_eq(c->err.op, "resolve");
    ck_assert_str_eq(c->err.addr, hostport);
    ck_assert_int_eq(c->err.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(c->err.gai_error, 0);
    ck_assert_int_eq(c->err.attempts, 0);
    ck_assert_uint_eq(c->err.transferred, 0);
    ck_assert_str_eq(c->err.message, want);
    ck_assert_int_eq(c->saved_errno, ETIMEDOUT);
    assert_took(c->elapsed_ms, c->timeout_ms - 1, c->timeout_ms + slack_ms,
                hostport);
}

static void assert_is(const nb_addr *a, const char *text)
{
    char buf[NB_ADDRSTRLEN];

    ck_assert_str_eq(nb_addr_format(a, buf, sizeof(buf)), text);
}

/* -------------------------------------------------- stalled resolver */

START_TEST(test_resolve_times_out)
{
    int base = settled_threads();
    int fds = th_count_fds();
    int during, after;
    struct call c;

    int64_t t0 = th_now_ms();

    set_call(&c, CALL_RESOLVE, "stall.test", "80", 300, NULL);
    make_call(&c);
    assert_resolve_timeout(&c, "stall.test:80");
    /* the abandoned lookup still runs, on its own thread */
    during = count_threads();
    ck_assert_int_eq(during, base + 1);
    /* until glibc gives up (timeout:1 attempts:1), then nothing is left */
    after = wait_threads_at_most(base, HELPER_WAIT_MS);
    ck_assert_int_eq(after, base);
    fprintf(stderr, "stall.test, 300 ms: returned after %lld ms; its helper "
            "ended %lld ms after the call\n", (long long)c.elapsed_ms,
            (long long)(th_now_ms() - t0 - c.elapsed_ms));
    ck_assert_int_eq(th_count_fds(), fds);
    ck_assert_int_gt(atomic_load(&stats->stalled), 0);
}
END_TEST

START_TEST(test_connect_times_out_while_resolving)
{
    int base = settled_threads();
    int fds = th_count_fds();
    struct call c;

    set_call(&c, CALL_CONNECT, "stall.test", "80", 300, NULL);
    make_call(&c);
    assert_resolve_timeout(&c, "stall.test:80");
    /* a service name and a family flag change nothing */
    set_call(&c, CALL_CONNECT, "stall.test", "http", 250, NULL);
    c.flags = NB_IPV4_ONLY | NB_NODELAY;
    make_call(&c);
    assert_resolve_timeout(&c, "stall.test:http");
    set_call(&c, CALL_RESOLVE, "stall.test", "53", 200, NULL);
    c.flags = NB_IPV6_ONLY;
    make_call(&c);
    assert_resolve_timeout(&c, "stall.test:53");
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* Without a deadline the lookup runs in the calling thread, as long as the
 * resolver's configuration says (timeout x attempts), and no thread is
 * started. */
START_TEST(test_unbounded_waits_for_resolver)
{
    int base = settled_threads();
    int fds = th_count_fds();
    nb_addr out[2];
    nb_error e;
    int64_t t0 = th_now_ms(), elapsed;
    int rc;

    rc = nb_resolve("stall.test", "80", SOCK_STREAM, out, 2, 0, 0, &e);
    elapsed = th_now_ms() - t0;
    ck_assert_int_eq(rc, -1);
    th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    ck_assert_int_eq(e.gai_error, EAI_AGAIN);
    ck_assert_str_eq(e.addr, "stall.test:80");
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    assert_took(elapsed, resolver_s * 1000 - 100,
                2 * resolver_s * 1000 + slack_ms, "an unbounded lookup");
    fprintf(stderr, "stall.test without a deadline: EAI_AGAIN after %lld ms\n",
            (long long)elapsed);
    ck_assert_int_eq(count_threads(), base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* --------------------------------------------------- a slow resolver */

START_TEST(test_slow_answer_within_deadline)
{
    int base = settled_threads();
    int fds = th_count_fds();
    struct call c;

    set_call(&c, CALL_RESOLVE, "slow.test", "8080", 1000, NULL);
    make_call(&c);
    ck_assert_msg(c.rc == 1, "rc %d: %s", c.rc, c.err.message);
    assert_is(&c.out[0], "127.0.0.1:8080");
    ck_assert_int_eq(c.err.code, NB_OK);  /* untouched on success */
    assert_took(c.elapsed_ms, SLOW_MS - 1, SLOW_MS + slack_ms, "slow.test");
    /* the helper has returned: it ends at once */
    ck_assert_int_eq(wait_threads_at_most(base, 2000), base);
    ck_assert_int_eq(th_count_fds(), fds);
    ck_assert_int_gt(atomic_load(&stats->answered), 0);

    /* the same through nb_tcp_connect, to a listener on the answer */
    {
        char port[8];
        int listener = th_raw_listener(AF_INET, 4, port);
        int64_t t0 = th_now_ms();
        nb_error e;
        int fd = nb_tcp_connect("slow.test", port, 1000, 0, &e);

        ck_assert_msg(fd >= 0, "%s", e.message);
        assert_took(th_now_ms() - t0, SLOW_MS - 1, SLOW_MS + slack_ms,
                    "connect slow.test");
        th_check_connected_to(fd, listener);
        close(fd);
        close(listener);
    }
    ck_assert_int_eq(wait_threads_at_most(base, 2000), base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

START_TEST(test_slow_answer_after_deadline)
{
    int base = settled_threads();
    int fds = th_count_fds();
    struct call c;

    set_call(&c, CALL_RESOLVE, "slow.test", "80", 100, NULL);
    make_call(&c);
    assert_resolve_timeout(&c, "slow.test:80");
    /* the abandoned lookup gets its answer and frees it */
    ck_assert_int_eq(wait_threads_at_most(base, 2000), base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* The deadline covers resolution and connection together: a name that
 * takes SLOWER_MS to resolve, then an address whose accept queue is full,
 * ends at the one deadline, not SLOWER_MS after it. */
START_TEST(test_resolve_and_connect_share_deadline)
{
    struct th_stall stall;
    char want[NB_ERRMSG_SIZE], hostport[64];
    struct call c;
    /* valgrind needs more than the 200 ms left for the connection */
    const int deadline = getenv("VALGRIND") == NULL ? 700 : 1500;
    int upper;

    th_stall_open(&stall, AF_INET);
    snprintf(hostport, sizeof(hostport), "slower.test:%s", stall.port);
    set_call(&c, CALL_CONNECT, "slower.test", stall.port, deadline, NULL);
    make_call(&c);
    ck_assert_int_eq(c.rc, -1);
    ck_assert_msg(c.err.code == NB_ERR_TIMEOUT, "%s", c.err.message);
    ck_assert_str_eq(c.err.op, "connect");
    ck_assert_str_eq(c.err.addr, hostport);
    ck_assert_int_eq(c.err.sys_errno, ETIMEDOUT);
    ck_assert_int_eq(c.err.attempts, 1);
    snprintf(want, sizeof(want), "connect %s: timed out after %d ms",
             hostport, deadline);
    ck_assert_str_eq(c.err.message, want);
    /* SLOWER_MS + deadline (1200 ms) would mean a deadline restarted after
     * the lookup: the slack never reaches that far */
    upper = deadline + slack_ms;
    if (upper > SLOWER_MS + deadline - 50)
        upper = SLOWER_MS + deadline - 50;
    assert_took(c.elapsed_ms, deadline - 1, upper,
                "resolve + connect");
    fprintf(stderr, "slower.test (%d ms to resolve), then a stalled address, "
            "%d ms: returned after %lld ms\n", SLOWER_MS, deadline,
            (long long)c.elapsed_ms);
    th_stall_close(&stall);
}
END_TEST

START_TEST(test_unknown_name_fails_at_once)
{
    struct call c;

    set_call(&c, CALL_RESOLVE, "no-such-name.test", "80", 1000, NULL);
    make_call(&c);
    ck_assert_int_eq(c.rc, -1);
    th_assert_error(&c.err, NB_ERR_RESOLVE, "resolve");
    ck_assert_int_eq(c.err.gai_error, EAI_NONAME);
    ck_assert_str_eq(c.err.addr, "no-such-name.test:80");
    assert_took(c.elapsed_ms, 0, slack_ms, "an NXDOMAIN answer");
    /* slow.test has no IPv6 address: NODATA, after SLOW_MS */
    set_call(&c, CALL_RESOLVE, "slow.test", "80", 1000, NULL);
    c.flags = NB_IPV6_ONLY;
    make_call(&c);
    ck_assert_int_eq(c.rc, -1);
    th_assert_error(&c.err, NB_ERR_RESOLVE, "resolve");
    ck_assert_str_eq(c.err.addr, "slow.test:80");
}
END_TEST

/* ------------------------------------------------------ the 64 limit */

#define CALLERS 100

/* 100 bounded callers against the stalled resolver: 64 start helpers, 36
 * wait for one, and all of them return at their deadline.  The helpers
 * outlive their callers by about resolver_s (glibc's timeout), so none
 * ends, and none starts, while the callers run: the thread count never
 * passes callers + 64 helpers. */
START_TEST(test_at_most_64_helpers)
{
    static struct call calls[CALLERS];
    atomic_int started = 0;
    int base = settled_threads();
    int fds = th_count_fds();
    int most = 0, i, n, helpers;
    int64_t fastest = INT64_MAX, slowest = 0;

    for (i = 0; i < CALLERS; i++)
        set_call(&calls[i], CALL_RESOLVE, "stall.test", "80", 300, &started);
    start_calls(calls, CALLERS);
    /* sample while they run, until every caller has returned */
    for (;;) {
        int done = 0;
        n = count_threads();
        if (n > most)
            most = n;
        for (i = 0; i < CALLERS; i++)
            done += atomic_load(&calls[i].done);
        if (done == CALLERS)
            break;
        poll(NULL, 0, 5);
    }
    join_calls(calls, CALLERS);
    helpers = count_threads() - base;
    ck_assert_int_eq(atomic_load(&started), CALLERS);
    for (i = 0; i < CALLERS; i++)
        assert_resolve_timeout(&calls[i], "stall.test:80");
    ck_assert_msg(most <= base + CALLERS + MAX_HELPERS,
                  "%d threads at most, want <= %d + %d callers + %d helpers",
                  most, base, CALLERS, MAX_HELPERS);
    ck_assert_msg(helpers <= MAX_HELPERS, "%d helper threads", helpers);
    if (getenv("VALGRIND") == NULL)  /* slow enough for some to end */
        ck_assert_msg(helpers == MAX_HELPERS,
                      "%d helper threads hang, want all %d", helpers,
                      MAX_HELPERS);
    for (i = 0; i < CALLERS; i++) {
        if (calls[i].elapsed_ms < fastest)
            fastest = calls[i].elapsed_ms;
        if (calls[i].elapsed_ms > slowest)
            slowest = calls[i].elapsed_ms;
    }
    fprintf(stderr, "%d callers, 300 ms: returned after %lld..%lld ms; "
            "threads at most %d (%d + %d callers + %d helpers); %d helpers "
            "hung after the callers returned\n", CALLERS, (long long)fastest,
            (long long)slowest, most, base, CALLERS, most - base - CALLERS,
            helpers);
    n = wait_threads_at_most(base, HELPER_WAIT_MS);
    ck_assert_msg(n == base, "%d threads left, want %d", n, base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* A caller with time to spare waits for a slot and gets the first one
 * freed. */
START_TEST(test_waiter_gets_freed_helper)
{
    int base = settled_threads();
    int deadline = resolver_s * 1000 + 4000;
    struct call c;

    if (fill_helpers(base) == 0)
        return;
    set_call(&c, CALL_RESOLVE, "slow.test", "80", deadline, NULL);
    make_call(&c);
    ck_assert_msg(c.rc == 1, "rc %d: %s", c.rc, c.err.message);
    assert_is(&c.out[0], "127.0.0.1:80");
    /* it waited for the first hung helper to end (about resolver_s; under
     * valgrind sooner: they started one by one), then SLOW_MS */
    assert_took(c.elapsed_ms,
                getenv("VALGRIND") == NULL ? resolver_s * 1000 / 2 : SLOW_MS,
                deadline, "a lookup that waited for a slot");
    fprintf(stderr, "slow.test behind 64 hung helpers: resolved after %lld ms\n",
            (long long)c.elapsed_ms);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
}
END_TEST

/* Numeric hosts need no helper: with every slot taken they are served at
 * once, and no thread is started. */
START_TEST(test_numeric_needs_no_helper)
{
    int base = settled_threads();
    char port[8];
    int listener = th_raw_listener(AF_INET, 8, port);
    int full, fd, rc;
    nb_addr out[2];
    nb_error e;
    int64_t t0;

    full = fill_helpers(base);
    if (full == 0) {
        close(listener);
        return;
    }
    t0 = th_now_ms();
    /* a name waits for a slot, then times out */
    rc = nb_resolve("files.test", "80", SOCK_STREAM, out, 2, 100, 0, &e);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(e.message,
                     "resolve files.test:80: timed out after 100 ms while resolving");
    t0 = th_now_ms();
    rc = nb_resolve("127.0.0.1", "80", SOCK_STREAM, out, 2, 100, 0, &e);
    ck_assert_int_eq(rc, 1);
    assert_is(&out[0], "127.0.0.1:80");
    rc = nb_resolve("[::1]", "80", SOCK_DGRAM, out, 2, 100, 0, &e);
    ck_assert_int_eq(rc, 1);
    assert_is(&out[0], "[::1]:80");
    fd = nb_tcp_connect("127.0.0.1", port, 100, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    th_check_connected_to(fd, listener);
    close(fd);
    assert_took(th_now_ms() - t0, 0, 50 + slack_ms / 2, "numeric calls");
    /* the hung helpers are all there still, and no other thread */
    ck_assert_int_eq(count_threads(), full);
    close(listener);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
}
END_TEST

/* ------------------------------------------------------------ signals */

#define SIGNAL_CALLERS 8
#define SIGNALS 150

static atomic_int handled_on[SIGNALS * 2];
static atomic_int handled;

/* Records the thread, then lingers: SIGUSR1 stays blocked in this thread
 * while its handler runs, so the kernel gives the next signal to another
 * thread (it keeps giving them to the same one as long as that one will
 * take them). */
static void record_thread(int sig)
{
    struct timespec linger = { 0, 3 * 1000 * 1000 };
    int i = atomic_fetch_add(&handled, 1);

    (void)sig;
    if (i < (int)(sizeof(handled_on) / sizeof(handled_on[0])))
        atomic_store(&handled_on[i], (int)th_gettid());
    nanosleep(&linger, NULL);
}

/* A signal sent to the process is handled by a thread that does not block
 * it.  The main thread blocks SIGUSR1 here once the callers run (the
 * kernel would otherwise always pick it, the thread group leader, and no
 * other thread would be put to the test); the callers do not block it.  A
 * helper that kept their mask would get some of the signals. */
START_TEST(test_signals_never_on_helpers)
{
    static struct call calls[SIGNAL_CALLERS];
    atomic_int started = 0;
    int base = settled_threads();
    int me = (int)th_gettid();
    struct sigaction sa;
    sigset_t usr1, old;
    int i, j, n, sent = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = record_thread;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    for (i = 0; i < SIGNAL_CALLERS; i++)
        set_call(&calls[i], CALL_RESOLVE, "stall.test", "80", 900, &started);
    /* created before the main thread blocks SIGUSR1: they inherit its
     * mask, which blocks nothing */
    start_calls(calls, SIGNAL_CALLERS);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
    /* every caller has its helper */
    n = base;
    for (i = 0; i < 500 && n < base + 2 * SIGNAL_CALLERS; i++) {
        poll(NULL, 0, 2);
        n = count_threads();
    }
    ck_assert_int_eq(n, base + 2 * SIGNAL_CALLERS);
    for (i = 0; i < SIGNALS; i++) {
        ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
        sent++;
        poll(NULL, 0, 1);  /* one at a time: a pending one absorbs the next */
    }
    join_calls(calls, SIGNAL_CALLERS);
    /* what was left pending comes to the main thread now */
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    n = atomic_load(&handled);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, sent);
    for (i = 0; i < n; i++) {
        int tid = atomic_load(&handled_on[i]);
        int known = tid == me;
        for (j = 0; j < SIGNAL_CALLERS && !known; j++)
            known = tid == atomic_load(&calls[j].tid);
        ck_assert_msg(known, "signal %d of %d handled on thread %d: a helper",
                      i, n, tid);
    }
    fprintf(stderr, "%d of %d signals handled, every one on the main "
            "thread or a caller\n", n, sent);
    /* the callers were interrupted, and still ended at their deadline */
    for (i = 0; i < SIGNAL_CALLERS; i++)
        assert_resolve_timeout(&calls[i], "stall.test:80");
    signal(SIGUSR1, SIG_DFL);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
}
END_TEST

/* --------------------------------------------------------------- fork */

/* A child forked while the parent's lookups fill every slot starts with
 * none of them: its own bounded lookup gets a helper at once. */
START_TEST(test_fork_child_has_free_helpers)
{
    int base = settled_threads();
    int status, pipefd[2];
    int64_t child_ms = -1;
    pid_t pid;

    if (fill_helpers(base) == 0)
        return;
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nb_addr out[4];
        nb_error e;
        int64_t t0 = th_now_ms(), took;
        int rc = nb_resolve("localhost", "80", SOCK_STREAM, out, 4, 2000,
                            NB_IPV4_ONLY, &e);
        took = th_now_ms() - t0;
        if (rc != 1 || out[0].len != sizeof(struct sockaddr_in))
            took = -2;
        /* and a stalled lookup still times out there */
        if (nb_resolve("stall.test", "80", SOCK_STREAM, out, 4, 100, 0, &e) !=
                -1 || e.code != NB_ERR_TIMEOUT)
            took = -3;
        if (write(pipefd[1], &took, sizeof(took)) != sizeof(took))
            th_child_exit(2);
        th_child_exit(0);
    }
    close(pipefd[1]);
    ck_assert_int_eq(th_poll_for(pipefd[0], POLLIN, 10000), 1);
    ck_assert_int_eq(read(pipefd[0], &child_ms, sizeof(child_ms)),
                     sizeof(child_ms));
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* (under valgrind the child's exit status is its leak report, which
     * counts its parent's abandoned lookups: they are the parent's to
     * free, with threads the child does not have) */
    ck_assert(WIFEXITED(status));
    ck_assert(WEXITSTATUS(status) == 0 || getenv("VALGRIND") != NULL);
    ck_assert_msg(child_ms >= 0, "the child's lookups failed (%lld)",
                  (long long)child_ms);
    fprintf(stderr, "a child forked with 64 hung helpers in its parent: "
            "resolved localhost in %lld ms\n", (long long)child_ms);
    ck_assert_msg(child_ms < 200 + slack_ms / 2,
                  "the child waited %lld ms: it counted its parent's helpers",
                  (long long)child_ms);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
}
END_TEST

/* ------------------------------------------------ /etc/hosts answers */

/* nb_resolve gives getaddrinfo's addresses in its order, each once. */
START_TEST(test_distinct_addresses_in_order)
{
    struct addrinfo hints, *res, *ai;
    nb_addr out[8], small[2];
    nb_error e;
    int n, i, expected = 0;

    /* what getaddrinfo says, duplicates included */
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    ck_assert_int_eq(getaddrinfo("dup.test", "80", &hints, &res), 0);
    for (ai = res; ai != NULL; ai = ai->ai_next)
        expected++;
    ck_assert_int_eq(expected, 4);  /* ::1, 127.0.0.1 twice, 127.0.0.2 */

    for (i = 0; i < 2; i++) {
        int timeout = i == 0 ? 0 : 1000;
        int k = 0;
        n = nb_resolve("dup.test", "80", SOCK_STREAM, out, 8, timeout, 0, &e);
        ck_assert_msg(n == 3, "%d: %s", n, e.message);
        /* getaddrinfo's order, the second 127.0.0.1 left out */
        for (ai = res; ai != NULL; ai = ai->ai_next) {
            int seen = 0, j;
            for (j = 0; j < k; j++)
                seen |= out[j].len == ai->ai_addrlen &&
                        memcmp(&out[j].ss, ai->ai_addr, ai->ai_addrlen) == 0;
            if (seen)
                continue;
            ck_assert_int_lt(k, n);
            ck_assert_uint_eq(out[k].len, ai->ai_addrlen);
            ck_assert_int_eq(memcmp(&out[k].ss, ai->ai_addr, ai->ai_addrlen),
                             0);
            k++;
        }
        ck_assert_int_eq(k, n);
        /* at most max */
        n = nb_resolve("dup.test", "80", SOCK_STREAM, small, 2, timeout, 0,
                       &e);
        ck_assert_int_eq(n, 2);
        ck_assert_int_eq(memcmp(small, out, sizeof(small)), 0);
    }
    /* the family flags */
    n = nb_resolve("dup.test", "80", SOCK_STREAM, out, 8, 1000, NB_IPV4_ONLY,
                   &e);
    ck_assert_int_eq(n, 2);
    assert_is(&out[0], "127.0.0.1:80");
    assert_is(&out[1], "127.0.0.2:80");
    if (th_have_ipv6()) {
        n = nb_resolve("dup.test", "80", SOCK_STREAM, out, 8, 0, NB_IPV6_ONLY,
                       &e);
        ck_assert_int_eq(n, 1);
        assert_is(&out[0], "[::1]:80");
    }
    freeaddrinfo(res);
}
END_TEST

/* Numeric hosts open no resolver file, bounded or not; a name does (the
 * control that shows the watch works). */
START_TEST(test_numeric_opens_no_file)
{
    static const char *const files[] = {
        "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
    };
    char buf[4096], port[8];
    int listener = th_raw_listener(AF_INET, 8, port);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int queries = atomic_load(&stats->queries);
    nb_addr out[2];
    nb_error e;
    size_t i;
    int fd;

    ck_assert_int_ge(in, 0);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        ck_assert_int_ge(inotify_add_watch(in, files[i], IN_OPEN | IN_ACCESS),
                         0);
    for (i = 0; i < 2; i++) {
        int timeout = i == 0 ? 0 : 1000;
        ck_assert_int_eq(nb_resolve("127.0.0.1", "80", SOCK_STREAM, out, 2,
                                    timeout, 0, &e), 1);
        ck_assert_int_eq(nb_resolve("::1", "80", SOCK_DGRAM, out, 2,
                                    timeout, NB_IPV6_ONLY, &e), 1);
        fd = nb_tcp_connect("127.0.0.1", port, timeout, 0, &e);
        ck_assert_msg(fd >= 0, "%s", e.message);
        th_check_connected_to(fd, listener);
        close(fd);
    }
    ck_assert_int_eq(read(in, buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EAGAIN);
    /* nor ask the DNS server anything */
    ck_assert_int_eq(atomic_load(&stats->queries), queries);

    ck_assert_int_eq(nb_resolve("files.test", "80", SOCK_STREAM, out, 2,
                                1000, NB_IPV4_ONLY, &e), 1);
    assert_is(&out[0], "127.0.0.1:80");
    ck_assert_int_gt(read(in, buf, sizeof(buf)), 0);
    close(in);
    close(listener);
}
END_TEST

/* --------------------------------------------------------- connector */

/* Steps c whenever its descriptor is readable, as an event loop would,
 * for at most limit_ms: what the last step returned (1 connected, -1
 * failed), or 0 when it was still in progress at the limit. */
static int drive(nb_connector *c, int limit_ms, int *fd, nb_error *e)
{
    int64_t end = th_now_ms() + limit_ms;

    for (;;) {
        int64_t left = end - th_now_ms();
        int rc;
        if (left <= 0)
            return 0;
        if (th_poll_for(nb_connector_fd(c), POLLIN, (int)left) != 1)
            continue;
        rc = nb_connector_step(c, fd, e);
        if (rc != 0)
            return rc;
    }
}

/* The connector reports a stalled lookup as nb_tcp_connect does. */
START_TEST(test_connector_times_out_while_resolving)
{
    int base = settled_threads();
    int fds = th_count_fds();
    struct call c;
    nb_connector *conn;
    int64_t t0 = th_now_ms();
    int fd = -1;

    set_call(&c, CALL_CONNECT, "stall.test", "80", 300, NULL);
    conn = nb_connector_start("stall.test", "80", 300, 0, &c.err);
    ck_assert_msg(conn != NULL, "%s", c.err.message);
    c.rc = drive(conn, 300 + slack_ms, &fd, &c.err);
    c.saved_errno = errno;
    c.elapsed_ms = th_now_ms() - t0;
    ck_assert_int_eq(fd, -1);
    assert_resolve_timeout(&c, "stall.test:80");
    nb_connector_free(conn);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

START_TEST(test_connector_slow_name)
{
    int base = settled_threads();
    char port[8];
    int listener = th_raw_listener(AF_INET, 4, port);
    int fds = th_count_fds();
    int64_t t0 = th_now_ms();
    nb_connector *conn;
    nb_error e;
    int fd = -1, rc;

    conn = nb_connector_start("slow.test", port, 2000, 0, &e);
    ck_assert_msg(conn != NULL, "%s", e.message);
    rc = drive(conn, 2000 + slack_ms, &fd, &e);
    ck_assert_msg(rc == 1, "%d: %s", rc, e.message);
    assert_took(th_now_ms() - t0, SLOW_MS - 1, SLOW_MS + slack_ms,
                "a connector to slow.test");
    nb_connector_free(conn);
    th_check_connected_to(fd, listener);
    close(fd);
    ck_assert_int_eq(th_count_fds(), fds);
    close(listener);
    ck_assert_int_eq(wait_threads_at_most(base, 2000), base);
}
END_TEST

/* With every helper busy, a connector queues for one, and its descriptor
 * becomes readable when one is freed; a connector freed while queued, or
 * while its lookup runs, leaves nothing behind (nor anything that a
 * helper ending later would touch). */
START_TEST(test_connector_waits_for_helper)
{
    int base = settled_threads();
    char port[8];
    int listener = th_raw_listener(AF_INET, 4, port);
    int fds = th_count_fds();
    nb_connector *queued, *dropped, *running;
    int64_t t0;
    nb_error e;
    int fd = -1, rc;

    if (fill_helpers(base) == 0) {
        close(listener);
        return;
    }
    t0 = th_now_ms();
    queued = nb_connector_start("slow.test", port, resolver_s * 1000 + 4000,
                                0, &e);
    ck_assert_msg(queued != NULL, "%s", e.message);
    dropped = nb_connector_start("slow.test", port, 5000, 0, &e);
    ck_assert_msg(dropped != NULL, "%s", e.message);
    /* nothing to do while every helper is busy */
    ck_assert_int_eq(th_poll_for(nb_connector_fd(queued), POLLIN, 100), 0);
    ck_assert_int_eq(nb_connector_step(queued, &fd, &e), 0);
    nb_connector_free(dropped);
    rc = drive(queued, resolver_s * 1000 + 4000, &fd, &e);
    ck_assert_msg(rc == 1, "%d: %s", rc, e.message);
    assert_took(th_now_ms() - t0,
                getenv("VALGRIND") == NULL ? resolver_s * 1000 / 2 : SLOW_MS,
                resolver_s * 1000 + 4000, "a connector that waited for a slot");
    nb_connector_free(queued);
    th_check_connected_to(fd, listener);
    close(fd);
    /* freed while its lookup runs on a helper */
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
    running = nb_connector_start("stall.test", "80", 5000, 0, &e);
    ck_assert_msg(running != NULL, "%s", e.message);
    ck_assert_int_eq(drive(running, 50, &fd, &e), 0);
    ck_assert_int_eq(count_threads(), base + 1);
    nb_connector_free(running);
    ck_assert_int_eq(wait_threads_at_most(base, HELPER_WAIT_MS), base);
    ck_assert_int_eq(th_count_fds(), fds);
    close(listener);
}
END_TEST

/* ------------------------------------------------------- time-client */

/* time-client -t 500 against the stalled resolver: the message at the
 * deadline, then exit 1.  (The message is timed, not the exit: a program
 * built with ThreadSanitizer sleeps a second at exit.) */
START_TEST(test_time_client_deadline)
{
    const char *builddir = getenv("top_builddir");
    char path[4096], text[512];
    const char *want = "resolve stall.test:80: timed out after 500 ms while resolving";
    int errpipe[2], status;
    size_t got = 0;
    int64_t t0, elapsed = -1;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/examples/time-client",
             builddir != NULL ? builddir : "..");
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "skip: %s is not built\n", path);
        return;
    }
    ck_assert_int_eq(pipe2(errpipe, O_CLOEXEC), 0);
    t0 = th_now_ms();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(errpipe[1], STDERR_FILENO);
        execl(path, "time-client", "-t", "500", "stall.test", "80",
              (char *)NULL);
        _exit(127);
    }
    close(errpipe[1]);
    for (;;) {
        ssize_t n;
        ck_assert_int_eq(th_poll_for(errpipe[0], POLLIN, 10000), 1);
        n = read(errpipe[0], text + got, sizeof(text) - 1 - got);
        ck_assert_int_ge(n, 0);
        if (n > 0 && elapsed < 0)
            elapsed = th_now_ms() - t0;
        if (n == 0 || got + (size_t)n == sizeof(text) - 1)
            break;
        got += (size_t)n;
    }
    text[got] = '\0';
    close(errpipe[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                  "status %#x, stderr: %s", status, text);
    ck_assert_msg(strstr(text, want) != NULL, "stderr: %s", text);
    assert_took(elapsed, 500, 500 + 2 * slack_ms, "time-client -t 500");
    fprintf(stderr, "time-client -t 500 stall.test: its message after %lld "
            "ms, then exit 1\n", (long long)elapsed);
}
END_TEST

/* -------------------------------------------------- the DNS server */

#define DNS_MAX_PENDING 512
#define DNS_MAX_CONNS 256

struct pending {
    int64_t due;
    int tcp;                       /* the connection, or -1: UDP */
    struct sockaddr_in peer;
    unsigned char msg[512];
    size_t len;
};

struct conn {
    int fd;
    unsigned char buf[514];
    size_t len;
};

static struct pending pending[DNS_MAX_PENDING];
static int npending;
static struct conn conns[DNS_MAX_CONNS];
static int nconns;

/* The question of a query: its name, lower case, dotted; its type; where
 * it ends.  0, or -1 for anything else. */
static int parse_query(const unsigned char *q, size_t len, char *name,
                       size_t size, int *qtype, size_t *end)
{
    size_t off = 12, n = 0;

    if (len < 12 || (q[2] & 0x80) != 0 || q[4] != 0 || q[5] != 1)
        return -1;
    for (;;) {
        size_t label, i;
        if (off >= len)
            return -1;
        label = q[off++];
        if (label == 0)
            break;
        if (label > 63 || off + label > len || n + label + 2 > size)
            return -1;
        if (n > 0)
            name[n++] = '.';
        for (i = 0; i < label; i++)
            name[n++] = (char)tolower(q[off + i]);
        off += label;
    }
    name[n] = '\0';
    if (off + 4 > len)
        return -1;
    *qtype = q[off] << 8 | q[off + 1];
    *end = off + 4;
    return 0;
}

/* The reply to the question q[0..end): rcode, and for an A question of a
 * name that has one, the answer 127.0.0.1.  Its length. */
static size_t make_reply(const unsigned char *q, size_t end, int rcode,
                         int answer, unsigned char *out)
{
    static const unsigned char a_record[] = {
        0xc0, 0x0c,             /* the name: a pointer to the question's */
        0x00, 0x01,             /* type A */
        0x00, 0x01,             /* class IN */
        0x00, 0x00, 0x00, 0x3c, /* TTL 60 s */
        0x00, 0x04,             /* rdlength */
        127, 0, 0, 1,
    };
    size_t n = end;

    memcpy(out, q, end);
    /* QR, the opcode and RD copied, AA; RA, rcode */
    out[2] = (unsigned char)(0x80 | (q[2] & 0x79) | 0x04);
    out[3] = (unsigned char)(0x80 | rcode);
    out[4] = 0;
    out[5] = 1;
    out[6] = 0;
    out[7] = answer ? 1 : 0;
    memset(out + 8, 0, 4);      /* no authority, no additional records */
    if (answer) {
        memcpy(out + n, a_record, sizeof(a_record));
        n += sizeof(a_record);
    }
    return n;
}

static int64_t dns_now(void)
{
    return th_now_ms();
}

/* A query from UDP peer (tcp < 0) or connection tcp: dropped, answered
 * later, or answered at once. */
static void handle_query(int udp, const unsigned char *q, size_t len, int tcp,
                         const struct sockaddr_in *peer)
{
    char name[256];
    int qtype, delay, rcode = 0;
    size_t end;
    struct pending *p;

    if (parse_query(q, len, name, sizeof(name), &qtype, &end) != 0 ||
        end + 16 > sizeof(p->msg))
        return;
    atomic_fetch_add(&stats->queries, 1);
    if (strcmp(name, "stall.test") == 0) {
        atomic_fetch_add(&stats->stalled, 1);
        return;
    }
    if (strcmp(name, "slow.test") == 0)
        delay = SLOW_MS;
    else if (strcmp(name, "slower.test") == 0)
        delay = SLOWER_MS;
    else
        delay = 0, rcode = 3;   /* NXDOMAIN */
    if (npending == DNS_MAX_PENDING)
        return;
    p = &pending[npending++];
    p->due = dns_now() + delay;
    p->tcp = tcp;
    if (peer != NULL)
        p->peer = *peer;
    p->len = make_reply(q, end, rcode, rcode == 0 && qtype == 1, p->msg);
    (void)udp;
}

static void send_due(int udp)
{
    int64_t now = dns_now();
    int i = 0;

    while (i < npending) {
        struct pending *p = &pending[i];
        if (p->due > now) {
            i++;
            continue;
        }
        if (p->tcp < 0) {
            if (sendto(udp, p->msg, p->len, 0, (struct sockaddr *)&p->peer,
                       sizeof(p->peer)) < 0) {
                /* lost: glibc will time out */
            }
        } else {
            unsigned char framed[2 + sizeof(p->msg)];
            framed[0] = (unsigned char)(p->len >> 8);
            framed[1] = (unsigned char)p->len;
            memcpy(framed + 2, p->msg, p->len);
            if (send(p->tcp, framed, p->len + 2, MSG_NOSIGNAL | MSG_DONTWAIT) <
                0) {
                /* the client left */
            }
        }
        atomic_fetch_add(&stats->answered, 1);
        pending[i] = pending[--npending];
    }
}

static void drop_conn(int i)
{
    int j;

    for (j = 0; j < npending; j++)
        if (pending[j].tcp == conns[i].fd)
            pending[j--] = pending[--npending];
    close(conns[i].fd);
    conns[i] = conns[--nconns];
}

static void read_conn(int udp, int i)
{
    struct conn *c = &conns[i];
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
                     MSG_DONTWAIT);

    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            drop_conn(i);
        return;
    }
    c->len += (size_t)n;
    while (c->len >= 2) {
        size_t need = (size_t)c->buf[0] << 8 | c->buf[1];
        if (need + 2 > sizeof(c->buf)) {
            drop_conn(i);
            return;
        }
        if (c->len < need + 2)
            break;
        handle_query(udp, c->buf + 2, need, c->fd, NULL);
        memmove(c->buf, c->buf + 2 + need, c->len - 2 - need);
        c->len -= 2 + need;
    }
}

static int dns_socket(int type, const struct sockaddr_in *sin)
{
    int one = 1;
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) != 0 ||
        (type == SOCK_STREAM && listen(fd, 128) != 0))
        return -1;
    return fd;
}

/* The server's life: never returns.  Writes one byte to ready once it
 * listens (or exits 1). */
static void dns_serve(int ready)
{
    struct pollfd pfds[2 + DNS_MAX_CONNS];
    struct sockaddr_in sin;
    int udp, tcp, i;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(53);
    inet_pton(AF_INET, DNS_ADDR, &sin.sin_addr);
    udp = dns_socket(SOCK_DGRAM, &sin);
    tcp = dns_socket(SOCK_STREAM, &sin);
    if (udp < 0 || tcp < 0) {
        perror("test_lookup: the DNS server on " DNS_ADDR ":53");
        _exit(1);
    }
    if (write(ready, "x", 1) != 1)
        _exit(1);
    close(ready);
    for (;;) {
        int timeout = -1, n;
        for (i = 0; i < npending; i++) {
            int64_t wait = pending[i].due - dns_now();
            int ms = wait < 0 ? 0 : (int)wait + 1;
            if (timeout < 0 || ms < timeout)
                timeout = ms;
        }
        pfds[0].fd = udp;
        pfds[1].fd = tcp;
        for (i = 0; i < nconns; i++)
            pfds[2 + i].fd = conns[i].fd;
        n = 2 + nconns;
        for (i = 0; i < n; i++) {
            pfds[i].events = POLLIN;
            pfds[i].revents = 0;
        }
        if (poll(pfds, (nfds_t)n, timeout) < 0 && errno != EINTR)
            _exit(1);
        if (pfds[0].revents & POLLIN) {
            unsigned char q[512];
            struct sockaddr_in peer;
            socklen_t plen = sizeof(peer);
            ssize_t got = recvfrom(udp, q, sizeof(q), MSG_DONTWAIT,
                                   (struct sockaddr *)&peer, &plen);
            if (got > 0)
                handle_query(udp, q, (size_t)got, -1, &peer);
        }
        if (pfds[1].revents & POLLIN) {
            int fd = accept4(tcp, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && nconns < DNS_MAX_CONNS) {
                conns[nconns].fd = fd;
                conns[nconns].len = 0;
                nconns++;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        /* connections, from the last: drop_conn moves the last into i */
        for (i = n - 3; i >= 0; i--)
            if (pfds[2 + i].revents != 0 && i < nconns &&
                conns[i].fd == pfds[2 + i].fd)
                read_conn(udp, i);
        send_due(udp);
    }
}

/* Forks the server; it dies with this process (PR_SET_PDEATHSIG). */
static int dns_start(char *why, size_t size)
{
    int ready[2];
    char byte;
    pid_t parent = getpid();

    stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stats == MAP_FAILED || pipe2(ready, O_CLOEXEC) != 0) {
        snprintf(why, size, "mmap/pipe: %s", strerror(errno));
        return -1;
    }
    memset(stats, 0, sizeof(*stats));
    dns_pid = fork();
    if (dns_pid < 0) {
        snprintf(why, size, "fork: %s", strerror(errno));
        return -1;
    }
    if (dns_pid == 0) {
        close(ready[0]);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(1);
        dns_serve(ready[1]);
    }
    close(ready[1]);
    if (th_poll_for(ready[0], POLLIN, 10000) != 1 ||
        read(ready[0], &byte, 1) != 1) {
        snprintf(why, size, "the DNS server did not start");
        close(ready[0]);
        return -1;
    }
    close(ready[0]);
    return 0;
}

static void dns_stop(void)
{
    if (dns_pid > 0) {
        kill(dns_pid, SIGKILL);
        waitpid(dns_pid, NULL, 0);
        dns_pid = -1;
    }
}

/* ------------------------------------------------- the namespaces */

static int loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

/* Writes text into dir/name and binds it over target.  0 or -1 (why). */
static int bind_file(const char *dir, const char *name, const char *text,
                     const char *target, char *why, size_t size)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(why, size, "writing %s: %s", path, strerror(errno));
        return -1;
    }
    if (mount(path, target, "none", MS_BIND, NULL) != 0) {
        snprintf(why, size, "bind-mounting over %s: %s", target,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* The private /etc and network: 0; 77 with why when this cannot be done
 * here (the test is then skipped); 1 with why on failure. */
static int private_etc(char *why, size_t size)
{
    char dir[] = "/tmp/nb-test-etc.XXXXXX";
    char resolv_text[128];
    struct stat st;
    int rc = 0;

    if (geteuid() != 0) {
        snprintf(why, size, "needs root (mount and network namespaces)");
        return 77;
    }
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) {
        snprintf(why, size, "unshare(CLONE_NEWNS | CLONE_NEWNET): %s",
                 strerror(errno));
        return 77;
    }
    /* Nothing mounted from here on may reach the machine's namespace:
     * every mount becomes private first, or nothing is mounted. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, size, "making / private: %s", strerror(errno));
        return 77;
    }
    if (loopback_up() != 0) {
        snprintf(why, size, "bringing up lo: %s", strerror(errno));
        return 77;
    }
    if (mkdtemp(dir) == NULL) {
        snprintf(why, size, "mkdtemp: %s", strerror(errno));
        return 1;
    }
    if (mount("nb-test-etc", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0755,size=64k") != 0) {
        snprintf(why, size, "tmpfs on %s: %s", dir, strerror(errno));
        rmdir(dir);
        return 77;
    }
    snprintf(resolv_text, sizeof(resolv_text),
             "nameserver " DNS_ADDR "\noptions timeout:%d attempts:1\n",
             resolver_s);
    if (bind_file(dir, "hosts", hosts_text, "/etc/hosts", why, size) != 0 ||
        bind_file(dir, "resolv.conf", resolv_text, "/etc/resolv.conf", why,
                  size) != 0 ||
        bind_file(dir, "nsswitch.conf", nsswitch_text, "/etc/nsswitch.conf",
                  why, size) != 0 ||
        (stat("/etc/gai.conf", &st) == 0 &&
         bind_file(dir, "gai.conf", gai_text, "/etc/gai.conf", why, size) != 0))
        rc = 1;
    /* nscd would answer in place of these files */
    if (rc == 0 && stat("/run/nscd", &st) == 0 && S_ISDIR(st.st_mode) &&
        mount("nb-test-nscd", "/run/nscd", "tmpfs", MS_NOSUID | MS_NODEV,
              "size=4k") != 0) {
        snprintf(why, size, "hiding /run/nscd: %s", strerror(errno));
        rc = 1;
    }
    /* The bound files stay; the directory goes, here and for the machine. */
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    return rc;
}

static Suite *lookup_suite(void)
{
    Suite *s = suite_create("lookup");
    TCase *tc;

    tc = tcase_create("stalled");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_resolve_times_out);
    tcase_add_test(tc, test_connect_times_out_while_resolving);
    tcase_add_test(tc, test_unbounded_waits_for_resolver);
    suite_add_tcase(s, tc);

    tc = tcase_create("slow");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_slow_answer_within_deadline);
    tcase_add_test(tc, test_slow_answer_after_deadline);
    tcase_add_test(tc, test_resolve_and_connect_share_deadline);
    tcase_add_test(tc, test_unknown_name_fails_at_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_at_most_64_helpers);
    tcase_add_test(tc, test_waiter_gets_freed_helper);
    tcase_add_test(tc, test_numeric_needs_no_helper);
    suite_add_tcase(s, tc);

    tc = tcase_create("signals and fork");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_signals_never_on_helpers);
    tcase_add_test(tc, test_fork_child_has_free_helpers);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_distinct_addresses_in_order);
    tcase_add_test(tc, test_numeric_opens_no_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("connector");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_connector_times_out_while_resolving);
    tcase_add_test(tc, test_connector_slow_name);
    tcase_add_test(tc, test_connector_waits_for_helper);
    suite_add_tcase(s, tc);

    tc = tcase_create("time-client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_time_client_deadline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    char why[512];
    int rc;

    if (getenv("VALGRIND") != NULL) {
        slack_ms *= 10;
        resolver_s = 4;
    }
    rc = private_etc(why, sizeof(why));

    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", rc == 77 ? "skip" : "FAIL", why);
        return rc;
    }
    if (dns_start(why, sizeof(why)) != 0) {
        fprintf(stderr, "FAIL: %s\n", why);
        dns_stop();
        return 1;
    }
    main_pid = getpid();
    main_threads = count_threads();
    rc = th_run_suite(lookup_suite());
    /* with CK_FORK=no the last hung helpers are this process's: let them
     * end (and close their resolver sockets) before it does */
    wait_threads_at_most(main_threads, HELPER_WAIT_MS);
    dns_stop();
    return rc;
}
