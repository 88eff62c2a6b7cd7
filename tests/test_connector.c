/*
 * test_connector.c - nb_connector: nb_tcp_connect for programs that run
 * their own event loop.  Every connector here is driven only the way the
 * interface says: poll(2) or epoll(7) on nb_connector_fd for readability,
 * then nb_connector_step.  The test never sleeps or times anything for the
 * connector: the attempt delay and the deadline must wake the descriptor
 * by themselves.
 *
 * What is checked (include/netbasics.h, nb_connector(3)):
 *  - numeric hosts and names connect; the socket's mode follows the flags;
 *    the first attempt to a numeric host starts inside nb_connector_start;
 *  - the connector creates only what a connection needs (an epoll
 *    descriptor and the attempt's socket for a numeric host without a
 *    deadline: no timerfd, no eventfd), and frees all of it;
 *  - the race: an address that hangs loses to the next one after the
 *    attempt delay; a refused one hands over at once; three addresses;
 *  - every failure is nb_tcp_connect's, field for field and errno, for
 *    the same target (refused, unknown service, unresolvable, deadline,
 *    family flags, the descriptor limit on the attempt's socket);
 *  - argument errors; a step with nothing to do; level-triggered
 *    readiness; nb_connector_free at every stage, leaving nothing open;
 *  - the 64 helper threads: a connector waits for a free one and its
 *    descriptor wakes when the lookup can start, or at the deadline;
 *  - 2,000 connectors at once in one epoll loop, and several threads each
 *    with their own connectors.
 *
 * Two-address names.  A name with both ::1 and 127.0.0.1 needs a hosts
 * file the test controls.  main() therefore enters a private mount
 * namespace before anything else (unshare(CLONE_NEWNS), then every mount
 * made private, so that nothing can propagate back to the system) and
 * bind-mounts its own hosts, nsswitch.conf ("hosts: files dns") and
 * resolv.conf (a loopback "name server" that never answers, for lookups
 * that hang) over /etc.  The mounts vanish with the process.  Without
 * root (or IPv6 loopback) the tests that need them print "skip: ..." and
 * pass without checking anything; the others run as usual.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* The names of the private hosts file (see private_names). */
#define TWO_NAME "two.localhost"      /* ::1 and 127.0.0.1 */
#define THREE_NAME "three.localhost"  /* ::1, 127.0.0.1, 127.0.0.2 */
#define DUP_NAME "dup.localhost"      /* ::1, listed twice */
#define SLOW_NAME "slow.test"         /* asked of a server that never answers */
/* The "name server": a UDP socket that reads nothing. */
#define DNS_IP "127.0.0.77"

static int have_names;                 /* the private hosts file is in place */
static char names_skip[200];           /* why not */
static int have_slow_dns;              /* SLOW_NAME hangs in getaddrinfo */
static char slow_skip[300];
static int dns_sink = -1;              /* the name server's socket */

/* How long the resolver waits for the silent name server: 1 s, or 3 s
 * under valgrind, where everything else is slower too. */
static int resolver_timeout_s(void)
{
    return getenv("VALGRIND") != NULL ? 3 : 1;
}

#define ATTEMPT_DELAY_MS 250          /* RFC 8305, as the library uses */
#define LIMIT_MS 10000                /* no connector here may take longer */

/* ------------------------------------------------------------ fixtures */

/* Descriptors of this process by kind, from /proc/self/fd. */
struct census {
    int total, epoll, timerfd, eventfd, sockets;
};

static void take_census(struct census *c)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;

    ck_assert_ptr_nonnull(dir);
    memset(c, 0, sizeof(*c));
    while ((ent = readdir(dir)) != NULL) {
        char path[300], link[128];
        ssize_t n;
        if (ent->d_name[0] == '.' || atoi(ent->d_name) == dirfd(dir))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", ent->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        c->total++;
        if (strcmp(link, "anon_inode:[eventpoll]") == 0)
            c->epoll++;
        else if (strcmp(link, "anon_inode:[timerfd]") == 0)
            c->timerfd++;
        else if (strcmp(link, "anon_inode:[eventfd]") == 0)
            c->eventfd++;
        else if (strncmp(link, "socket:", 7) == 0)
            c->sockets++;
    }
    closedir(dir);
}

/* While a helper thread runs, the resolver it calls may hold descriptors
 * of its own (/etc/hosts, a socket to a name server): only the
 * connector's kinds are counted then. */
static void assert_connector_fds(const struct census *before, int epoll,
                                 int timerfd, int eventfd, const char *when)
{
    struct census now;

    take_census(&now);
    ck_assert_msg(now.epoll - before->epoll == epoll &&
                      now.timerfd - before->timerfd == timerfd &&
                      now.eventfd - before->eventfd == eventfd,
                  "%s: %d epoll, %d timerfd, %d eventfd more than before; "
                  "want %d, %d, %d",
                  when, now.epoll - before->epoll,
                  now.timerfd - before->timerfd,
                  now.eventfd - before->eventfd, epoll, timerfd, eventfd);
}

static void assert_census_delta(const struct census *before, int epoll,
                                int timerfd, int eventfd, int sockets,
                                const char *when)
{
    struct census now;

    take_census(&now);
    ck_assert_msg(now.epoll - before->epoll == epoll &&
                      now.timerfd - before->timerfd == timerfd &&
                      now.eventfd - before->eventfd == eventfd &&
                      now.sockets - before->sockets == sockets &&
                      now.total - before->total ==
                          epoll + timerfd + eventfd + sockets,
                  "%s: %d epoll, %d timerfd, %d eventfd, %d sockets, %d in "
                  "all more than before; want %d, %d, %d, %d",
                  when, now.epoll - before->epoll,
                  now.timerfd - before->timerfd,
                  now.eventfd - before->eventfd,
                  now.sockets - before->sockets, now.total - before->total,
                  epoll, timerfd, eventfd, sockets);
}

/* Abandoned lookups finish in the background; a test that abandons some
 * waits for their helper threads to end, so that the next test (in the
 * same process with CK_FORK=no, as under valgrind) starts with all 64
 * free and valgrind sees no thread still running at exit. */
static void wait_for_helpers_to_end(void)
{
    int64_t end = th_now_ms() + 20000;

    while (th_count_threads() > th_base_threads()) {
        struct timespec ms10 = { 0, 10000000 };
        ck_assert_msg(th_now_ms() < end, "helper threads still running");
        nanosleep(&ms10, NULL);
    }
}

static void sockaddr_of(const char *ip, int port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
        *len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        *len = sizeof(*sin6);
    }
}

/* What a test puts at a loopback address. */
enum kind {
    ACCEPTS,   /* a listener */
    REFUSES,   /* bound, not listening: connects are refused */
    STALLS     /* a listener with a full queue: SYNs are dropped */
};

#define MAX_FILLERS 16

struct endpoint {
    const char *ip;
    enum kind kind;
    int fd;
    int fillers[MAX_FILLERS];
    int nfillers;
};

/* Fills a listener's queue (backlog 1) until a handshake does not finish:
 * the kernel then drops every further SYN. */
static void fill_queue(struct endpoint *ep, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;

    sockaddr_of(ep->ip, port, &ss, &len);
    for (;;) {
        struct pollfd pfd;
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_lt(ep->nfillers, MAX_FILLERS);
        ep->fillers[ep->nfillers++] = fd;
        if (connect(fd, (struct sockaddr *)&ss, len) == 0)
            continue;
        ck_assert_int_eq(errno, EINPROGRESS);
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 200) == 0)
            return;
    }
}

/* Binds every endpoint on one common port (all loopback), and makes each
 * what its kind says.  The port goes into port[8]. */
static void open_endpoints(struct endpoint *eps, int n, char port[8])
{
    int tries, i;

    for (tries = 0; tries < 100; tries++) {
        int common = 0, ok = 1;
        for (i = 0; i < n; i++)
            eps[i].fd = -1;
        for (i = 0; i < n && ok; i++) {
            struct sockaddr_storage ss;
            socklen_t len;
            int one = 1;
            eps[i].nfillers = 0;
            sockaddr_of(eps[i].ip, common, &ss, &len);
            eps[i].fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            ck_assert_int_ge(eps[i].fd, 0);
            if (ss.ss_family == AF_INET6)
                ck_assert_int_eq(setsockopt(eps[i].fd, IPPROTO_IPV6,
                                            IPV6_V6ONLY, &one, sizeof(one)), 0);
            if (bind(eps[i].fd, (struct sockaddr *)&ss, len) != 0) {
                ck_assert_int_eq(errno, EADDRINUSE);
                ok = 0;
                break;
            }
            if (i == 0)
                common = atoi(th_port_of(eps[0].fd, port));
        }
        if (ok)
            break;
        for (i = 0; i < n; i++)
            if (eps[i].fd >= 0)
                close(eps[i].fd);
    }
    ck_assert_msg(tries < 100, "no port free on every address");
    for (i = 0; i < n; i++) {
        if (eps[i].kind == REFUSES)
            continue;
        ck_assert_int_eq(listen(eps[i].fd, eps[i].kind == STALLS ? 1 : 64), 0);
        if (eps[i].kind == STALLS)
            fill_queue(&eps[i], atoi(port));
    }
}

static void close_endpoints(struct endpoint *eps, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        while (eps[i].nfillers > 0)
            close(eps[i].fillers[--eps[i].nfillers]);
        close(eps[i].fd);
    }
}

/* Drives c with poll(2) on its descriptor alone, stepping whenever it is
 * readable, until a step returns 1 or -1 (returned), at most limit_ms.
 * *wakeups counts the times the descriptor was readable. */
static int drive(nb_connector *c, int limit_ms, int *fd, nb_error *e,
                 int *wakeups)
{
    int cfd = nb_connector_fd(c);
    int64_t end = th_now_ms() + limit_ms;
    int woken = 0;

    ck_assert_int_ge(cfd, 0);
    for (;;) {
        int64_t left = end - th_now_ms();
        int rc;
        ck_assert_msg(left > 0, "the connector did not finish in %d ms",
                      limit_ms);
        if (th_poll_for(cfd, POLLIN, (int)left) != 1)
            continue;
        woken++;
        *fd = 12345;
        rc = nb_connector_step(c, fd, e);
        ck_assert_int_eq(nb_connector_fd(c), cfd);  /* one for its life */
        if (rc != 0) {
            ck_assert_int_eq(rc == 1, *fd >= 0);
            if (wakeups != NULL)
                *wakeups = woken;
            return rc;
        }
        ck_assert_int_eq(*fd, -1);
    }
}

/* Once a step said 1 or -1: any further step is NB_ERR_ARG, *fd -1. */
static void assert_finished(nb_connector *c)
{
    nb_error e;
    int fd = 12345;

    errno = 0;
    ck_assert_int_eq(nb_connector_step(c, &fd, &e), -1);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "connect");
}

/* The two error objects (and errno after each call) are the same. */
static void assert_same_error(const char *what, const nb_error *got,
                              int got_errno, const nb_error *want,
                              int want_errno)
{
    ck_assert_msg(got->code == want->code, "%s: code %s (%s), nb_tcp_connect's %s (%s)",
                  what, nb_code_name(got->code), got->message,
                  nb_code_name(want->code), want->message);
    ck_assert_msg(strcmp(got->op, want->op) == 0, "%s: op \"%s\", nb_tcp_connect's \"%s\"",
                  what, got->op, want->op);
    ck_assert_msg(got->sys_errno == want->sys_errno,
                  "%s: sys_errno %d, nb_tcp_connect's %d", what, got->sys_errno,
                  want->sys_errno);
    ck_assert_msg(got->gai_error == want->gai_error,
                  "%s: gai_error %d, nb_tcp_connect's %d", what, got->gai_error,
                  want->gai_error);
    ck_assert_msg(strcmp(got->addr, want->addr) == 0,
                  "%s: addr \"%s\", nb_tcp_connect's \"%s\"", what, got->addr,
                  want->addr);
    ck_assert_msg(strcmp(got->message, want->message) == 0,
                  "%s: message \"%s\", nb_tcp_connect's \"%s\"", what,
                  got->message, want->message);
    ck_assert_msg(got->attempts == want->attempts,
                  "%s: attempts %d, nb_tcp_connect's %d", what, got->attempts,
                  want->attempts);
    ck_assert_uint_eq(got->transferred, want->transferred);
    /* errno after a resolver failure is whatever getaddrinfo left */
    if (want->code != NB_ERR_RESOLVE)
        ck_assert_msg(got_errno == want_errno, "%s: errno %d, nb_tcp_connect's %d",
                      what, got_errno, want_errno);
}

/* Skips (passes, saying so) a test that needs the private names, or the
 * slow name server: when have is 0, says why and returns. */
#define NEED(have, why)                                                \
    do {                                                               \
        if (!(have)) {                                                 \
            printf("skip: %s: %s\n", __func__, (why));                 \
            return;                                                    \
        }                                                              \
    } while (0)
#define NEED_NAMES() NEED(have_names, names_skip)
#define NEED_SLOW_DNS() NEED(have_slow_dns, slow_skip)

/* ---------------------------------------------------------- connecting */

struct mode_case {
    const char *host;
    const char *ip;      /* where the listener is */
    int timeout;
    int flags;
};

static const struct mode_case mode_cases[] = {
    { "127.0.0.1", "127.0.0.1", 0, 0 },
    { "127.0.0.1", "127.0.0.1", 0, NB_NONBLOCK },
    { "127.0.0.1", "127.0.0.1", 0, NB_NODELAY },
    { "127.0.0.1", "127.0.0.1", -5, NB_NONBLOCK | NB_NODELAY },
    { "127.0.0.1", "127.0.0.1", 2000, 0 },
    { "127.0.0.1", "127.0.0.1", 2000, NB_NONBLOCK | NB_NODELAY },
    { "127.0.0.1", "127.0.0.1", 0, NB_IPV4_ONLY },
    { "::1", "::1", 0, 0 },
    { "::1", "::1", 2000, NB_NONBLOCK },
    { "[::1]", "::1", 0, NB_NODELAY | NB_IPV6_ONLY },
};
#define N_MODE_CASES (int)(sizeof(mode_cases) / sizeof(mode_cases[0]))

/* A numeric host: the first attempt starts inside nb_connector_start (the
 * listener sees the connection before any step); the connector holds one
 * epoll descriptor and the attempt's socket, plus a timerfd only when a
 * deadline is set; the socket comes out in the mode the flags ask for,
 * connected to the listener; afterwards only it is left open. */
START_TEST(numeric_host_connects)
{
    const struct mode_case *m = &mode_cases[_i];
    struct endpoint ep = { m->ip, ACCEPTS, -1, { 0 }, 0 };
    struct census before;
    char port[8];
    nb_error e;
    nb_connector *c;
    int fd, cfd;

    if (strchr(m->ip, ':') != NULL && !th_have_ipv6())
        return;
    open_endpoints(&ep, 1, port);
    take_census(&before);
    memset(&e, 0x5a, sizeof(e));
    e.code = NB_ERR_CLOSED;
    c = nb_connector_start(m->host, port, m->timeout, m->flags, &e);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(e.code, NB_ERR_CLOSED);  /* success leaves it alone */
    cfd = nb_connector_fd(c);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(th_is_cloexec(cfd), 1);
    assert_census_delta(&before, 1, m->timeout > 0, 0, 1, "after start");
    /* the handshake went ahead with no step: the attempt was started */
    ck_assert_int_eq(th_poll_for(ep.fd, POLLIN, 2000), 1);

    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, NULL), 1);
    ck_assert_int_eq(e.code, NB_ERR_CLOSED);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(th_is_nonblock(fd), (m->flags & NB_NONBLOCK) != 0);
    ck_assert_int_eq(th_nodelay(fd), (m->flags & NB_NODELAY) != 0);
    assert_finished(c);
    nb_connector_free(c);
    assert_census_delta(&before, 0, 0, 0, 1, "after free");
    th_check_connected_to(fd, ep.fd);
    close(fd);
    close_endpoints(&ep, 1);
}
END_TEST

/* A name is resolved on a helper thread, which wakes the connector
 * through an eventfd; the eventfd is closed once the name is resolved.  No
 * timerfd without a deadline. */
START_TEST(name_connects)
{
    static const int timeouts[] = { 0, 3000 };
    struct endpoint ep = { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 };
    char port[8];
    size_t i;

    open_endpoints(&ep, 1, port);
    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        struct census before;
        nb_error e;
        nb_connector *c;
        int fd, rc;
        take_census(&before);
        c = nb_connector_start("localhost", port, timeouts[i], NB_IPV4_ONLY, &e);
        ck_assert_ptr_nonnull(c);
        assert_connector_fds(&before, 1, timeouts[i] > 0, 1, "after start");
        rc = drive(c, LIMIT_MS, &fd, &e, NULL);
        ck_assert_msg(rc == 1, "%s", e.message);
        /* the lookup's eventfd went with the lookup */
        assert_census_delta(&before, 1, timeouts[i] > 0, 0, 1, "connected");
        ck_assert_int_eq(th_is_nonblock(fd), 0);
        nb_connector_free(c);
        assert_census_delta(&before, 0, 0, 0, 1, "after free");
        th_check_connected_to(fd, ep.fd);
        close(fd);
    }
    close_endpoints(&ep, 1);
    wait_for_helpers_to_end();
}
END_TEST

/* nb_connector_start never waits on the network or the resolver: a
 * target whose listener drops SYNs, or a name whose lookup hangs, costs it
 * no more than one that answers. */
START_TEST(start_never_waits)
{
    struct endpoint ep = { "127.0.0.1", STALLS, -1, { 0 }, 0 };
    char port[8];
    nb_connector *c;
    int64_t t0;

    open_endpoints(&ep, 1, port);
    t0 = th_now_ms();
    c = nb_connector_start("127.0.0.1", port, 0, 0, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_lt(th_now_ms() - t0, 100);
    nb_connector_free(c);
    t0 = th_now_ms();
    c = nb_connector_start("localhost", port, 0, 0, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_lt(th_now_ms() - t0, 100);
    nb_connector_free(c);
    if (have_slow_dns) {
        /* nor on a name server that never answers */
        t0 = th_now_ms();
        c = nb_connector_start(SLOW_NAME, port, 0, 0, NULL);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_lt(th_now_ms() - t0, 100);
        nb_connector_free(c);
    }
    close_endpoints(&ep, 1);
    wait_for_helpers_to_end();
}
END_TEST

/* ---------------------------------------------------------------- race */

/* ::1 hangs (a full accept queue), 127.0.0.1 accepts: the second attempt
 * starts when the attempt delay passes, woken by the connector's own
 * timer, and wins; the hanging attempt is closed.  The descriptor is
 * readable only a few times: nothing busy-polls. */
START_TEST(hanging_address_loses_after_the_delay)
{
    static const int timeouts[] = { 0, 5000 };
    struct endpoint eps[2] = { { "::1", STALLS, -1, { 0 }, 0 },
                               { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 } };
    char port[8];
    size_t i;

    NEED_NAMES();
    open_endpoints(eps, 2, port);
    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        struct census before;
        nb_error e;
        nb_connector *c;
        int64_t t0, elapsed;
        int fd, wakeups;
        take_census(&before);
        t0 = th_now_ms();
        c = nb_connector_start(TWO_NAME, port, timeouts[i], 0, &e);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, &wakeups), 1);
        elapsed = th_now_ms() - t0;
        ck_assert_msg(elapsed >= ATTEMPT_DELAY_MS - 10 && elapsed < 2000,
                      "connected after %lld ms", (long long)elapsed);
        ck_assert_msg(wakeups <= 6, "woken %d times", wakeups);
        /* only the winner is left of the attempts */
        assert_census_delta(&before, 1, 1, 0, 1, "connected");
        nb_connector_free(c);
        assert_census_delta(&before, 0, 0, 0, 1, "after free");
        th_check_connected_to(fd, eps[1].fd);
        close(fd);
    }
    close_endpoints(eps, 2);
    wait_for_helpers_to_end();
}
END_TEST

/* ::1 refuses: 127.0.0.1 is tried at once, not after the delay. */
START_TEST(refused_address_hands_over_at_once)
{
    struct endpoint eps[2] = { { "::1", REFUSES, -1, { 0 }, 0 },
                               { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 } };
    char port[8];
    nb_error e;
    nb_connector *c;
    int64_t t0;
    int fd;

    NEED_NAMES();
    open_endpoints(eps, 2, port);
    t0 = th_now_ms();
    c = nb_connector_start(TWO_NAME, port, 0, NB_NONBLOCK, &e);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, NULL), 1);
    ck_assert_int_lt(th_now_ms() - t0, ATTEMPT_DELAY_MS - 50);
    ck_assert_int_eq(th_is_nonblock(fd), 1);
    nb_connector_free(c);
    th_check_connected_to(fd, eps[1].fd);
    close(fd);
    close_endpoints(eps, 2);
    wait_for_helpers_to_end();
}
END_TEST

/* Three addresses in RFC 8305 order (::1, 127.0.0.1, 127.0.0.2); the
 * first two hang: the third starts two delays after the first. */
START_TEST(each_hanging_address_costs_one_delay)
{
    struct endpoint eps[3] = { { "::1", STALLS, -1, { 0 }, 0 },
                               { "127.0.0.1", STALLS, -1, { 0 }, 0 },
                               { "127.0.0.2", ACCEPTS, -1, { 0 }, 0 } };
    char port[8];
    nb_error e;
    nb_connector *c;
    int64_t t0, elapsed;
    int fd;

    NEED_NAMES();
    open_endpoints(eps, 3, port);
    t0 = th_now_ms();
    c = nb_connector_start(THREE_NAME, port, 0, 0, &e);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, NULL), 1);
    elapsed = th_now_ms() - t0;
    ck_assert_msg(elapsed >= 2 * ATTEMPT_DELAY_MS - 10 && elapsed < 2500,
                  "connected after %lld ms", (long long)elapsed);
    nb_connector_free(c);
    th_check_connected_to(fd, eps[2].fd);
    close(fd);
    close_endpoints(eps, 3);
    wait_for_helpers_to_end();
}
END_TEST

/* ------------------------------------------------------------- errors */

/* Each target is given to nb_tcp_connect and to a connector: the error
 * objects must be equal, field for field, and errno too. */
struct error_case {
    const char *what;
    const char *host;      /* NULL: the first endpoint's address */
    const char *port;      /* NULL: the endpoints' port */
    int timeout;
    int flags;
    int need;              /* 1: the private names, 2: the slow resolver */
    struct { const char *ip; enum kind kind; } at[3];
};

static const struct error_case error_cases[] = {
    { "refused, IPv4", NULL, NULL, 0, 0, 0,
      { { "127.0.0.1", REFUSES }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "refused, IPv6, deadline", "[::1]", NULL, 2000, NB_NONBLOCK, 0,
      { { "::1", REFUSES }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "refused, two addresses", TWO_NAME, NULL, 0, 0, 1,
      { { "::1", REFUSES }, { "127.0.0.1", REFUSES }, { NULL, ACCEPTS } } },
    { "refused, two addresses, deadline", TWO_NAME, NULL, 3000, NB_NODELAY, 1,
      { { "::1", REFUSES }, { "127.0.0.1", REFUSES }, { NULL, ACCEPTS } } },
    { "refused, three addresses", THREE_NAME, NULL, 0, 0, 1,
      { { "::1", REFUSES }, { "127.0.0.1", REFUSES }, { "127.0.0.2", REFUSES } } },
    { "refused, one address listed twice", DUP_NAME, NULL, 0, 0, 1,
      { { "::1", REFUSES }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "refused, IPv6 only of two", TWO_NAME, NULL, 0, NB_IPV6_ONLY, 1,
      { { "::1", REFUSES }, { "127.0.0.1", REFUSES }, { NULL, ACCEPTS } } },
    { "unknown service, numeric host", "127.0.0.1", "dytime", 0, 0, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "unknown service, name", "localhost", "dytime", 1000, 0, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "unresolvable name", TH_UNRESOLVABLE, "80", 0, 0, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "unresolvable name, deadline", TH_UNRESOLVABLE, "80", 1000, 0, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "deadline, stalled listener", NULL, NULL, 300, 0, 0,
      { { "127.0.0.1", STALLS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "deadline, two stalled addresses", TWO_NAME, NULL, 400, NB_NONBLOCK, 1,
      { { "::1", STALLS }, { "127.0.0.1", STALLS }, { NULL, ACCEPTS } } },
    { "deadline before the second attempt", TWO_NAME, NULL, 200, 0, 1,
      { { "::1", STALLS }, { "127.0.0.1", STALLS }, { NULL, ACCEPTS } } },
    { "deadline while resolving", SLOW_NAME, "80", 300, 0, 2,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "IPv4 only, IPv6 address", "::1", "80", 0, NB_IPV4_ONLY, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "IPv6 only, IPv4 address", "127.0.0.1", "80", 1000, NB_IPV6_ONLY, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
    { "port 0 refused", "127.0.0.1", "0", 0, 0, 0,
      { { NULL, ACCEPTS }, { NULL, ACCEPTS }, { NULL, ACCEPTS } } },
};
#define N_ERROR_CASES (int)(sizeof(error_cases) / sizeof(error_cases[0]))

START_TEST(errors_are_nb_tcp_connects)
{
    const struct error_case *t = &error_cases[_i];
    struct endpoint eps[3];
    struct census before;
    char port[8] = "";
    const char *host, *portp;
    nb_error want, got;
    nb_connector *c;
    int n = 0, want_errno, got_errno, fd, i;

    if (t->need == 1)
        NEED_NAMES();
    if (t->need == 2)
        NEED_SLOW_DNS();
    for (i = 0; i < 3 && t->at[i].ip != NULL; i++) {
        if (strchr(t->at[i].ip, ':') != NULL && !th_have_ipv6())
            return;
        eps[i].ip = t->at[i].ip;
        eps[i].kind = t->at[i].kind;
        n++;
    }
    if (n > 0)
        open_endpoints(eps, n, port);
    host = t->host != NULL ? t->host : eps[0].ip;
    portp = t->port != NULL ? t->port : port;
    take_census(&before);

    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(host, portp, t->timeout, t->flags, &want), -1);
    want_errno = errno;

    c = nb_connector_start(host, portp, t->timeout, t->flags, &got);
    ck_assert_msg(c != NULL, "%s: start failed: %s", t->what, got.message);
    ck_assert_int_eq(th_is_cloexec(nb_connector_fd(c)), 1);
    errno = 0;
    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &got, NULL), -1);
    got_errno = errno;
    ck_assert_int_eq(fd, -1);
    assert_same_error(t->what, &got, got_errno, &want, want_errno);
    assert_finished(c);
    nb_connector_free(c);
    /* an abandoned lookup's resolver socket goes with its thread */
    wait_for_helpers_to_end();
    assert_census_delta(&before, 0, 0, 0, 0, "after free");

    /* and without an error object, the same errno */
    if (want.code != NB_ERR_RESOLVE) {
        c = nb_connector_start(host, portp, t->timeout, t->flags, NULL);
        ck_assert_ptr_nonnull(c);
        while (th_poll_for(nb_connector_fd(c), POLLIN, LIMIT_MS) == 1 &&
               nb_connector_step(c, &fd, NULL) == 0)
            continue;
        ck_assert_int_eq(errno, want_errno);
        nb_connector_free(c);
    }
    if (n > 0)
        close_endpoints(eps, n);
    wait_for_helpers_to_end();
}
END_TEST

/* ------------------------------------------------- the descriptor limit */

static struct rlimit saved_limit;
#define MAX_FILL 4096
static int fillers[MAX_FILL];
static int nfill;

/* The highest descriptor open below the soft limit (valgrind keeps its
 * own above it). */
static int highest_fd(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    struct rlimit now;
    int highest = -1;

    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
    while ((ent = readdir(dir)) != NULL) {
        int fd = atoi(ent->d_name);
        if (ent->d_name[0] != '.' && fd != dirfd(dir) &&
            (rlim_t)fd < now.rlim_cur && fd > highest)
            highest = fd;
    }
    closedir(dir);
    return highest;
}

/* Lowers the soft limit to just above the open descriptors, takes every
 * free one, then gives back `room` of them. */
static void leave_room(int room)
{
    struct rlimit low;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(devnull, 0);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &low), 0);
    low.rlim_cur = (rlim_t)highest_fd() + 8;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    nfill = 0;
    fillers[nfill++] = devnull;
    for (;;) {
        int fd = dup(devnull);
        if (fd < 0)
            break;
        ck_assert_int_lt(nfill, MAX_FILL);
        fillers[nfill++] = fd;
    }
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_int_gt(nfill, room);
    while (room-- > 0)
        close(fillers[--nfill]);
}

static void unfill(void)
{
    while (nfill > 0)
        close(fillers[--nfill]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
}

/* A checked fixture: runs around the test even when it fails, also with
 * CK_FORK=no, so that a failure leaves the limit as it was. */
static void limit_setup(void)
{
    nfill = 0;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
}

static void limit_teardown(void)
{
    unfill();
}

/* With room descriptors free, nb_connector_start(host, port, timeout_ms)
 * fails with EMFILE, reported as op's failure in *got. */
static void start_fails_for_room(int room, const char *host, const char *port,
                                 int timeout_ms, const char *op, nb_error *got)
{
    leave_room(room);
    errno = 0;
    ck_assert_ptr_null(nb_connector_start(host, port, timeout_ms, 0, got));
    ck_assert_int_eq(errno, EMFILE);
    th_assert_error(got, NB_ERR_SYSTEM, op);
    unfill();
}

/* With one descriptor free, the connector takes it for its epoll instance
 * and the attempt's socket() fails with EMFILE: that is reported by the
 * step, as nb_tcp_connect reports it with no descriptor free.  With none
 * free, nb_connector_start itself fails (epoll_create1); for a name with a
 * deadline it needs an eventfd and a timerfd as well. */
START_TEST(descriptor_limit)
{
    struct endpoint ep = { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 };
    char port[8];
    nb_error want, got;
    nb_connector *c;
    int want_errno, got_errno, fd;

    open_endpoints(&ep, 1, port);

    leave_room(0);
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", port, 0, 0, &want), -1);
    want_errno = errno;
    ck_assert_int_eq(want_errno, EMFILE);
    ck_assert_str_eq(want.op, "socket");
    unfill();

    leave_room(1);
    c = nb_connector_start("127.0.0.1", port, 0, 0, &got);
    ck_assert_msg(c != NULL, "start: %s", got.message);
    errno = 0;
    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &got, NULL), -1);
    got_errno = errno;
    assert_same_error("EMFILE on the attempt", &got, got_errno, &want, want_errno);
    nb_connector_free(c);
    unfill();

    start_fails_for_room(0, "127.0.0.1", port, 0, "epoll_create1", &got);
    ck_assert_int_eq(got.sys_errno, EMFILE);
    start_fails_for_room(1, "localhost", port, 1000, "eventfd", &got);
    start_fails_for_room(2, "localhost", port, 1000, "timerfd_create", &got);
    wait_for_helpers_to_end();
    close_endpoints(&ep, 1);
}
END_TEST

/* ---------------------------------------------------------- arguments */

struct bad_arg {
    const char *host;
    const char *port;
    int flags;
};

static const struct bad_arg bad_args[] = {
    { NULL, "80", 0 },
    { "", "80", 0 },
    { "*", "80", 0 },
    { "127.0.0.1", NULL, 0 },
    { "127.0.0.1", "", 0 },
    { "127.0.0.1", "65536", 0 },
    { "127.0.0.1", "-1", 0 },
    { "localhost", "8 0", 0 },
    { "127.0.0.1", "80", NB_REUSEPORT },
    { "127.0.0.1", "80", 0x100 },
    { "127.0.0.1", "80", -1 },
    { "127.0.0.1", "80", NB_IPV4_ONLY | NB_IPV6_ONLY },
};
#define N_BAD_ARGS (int)(sizeof(bad_args) / sizeof(bad_args[0]))

/* nb_connector_start fails at once, as nb_tcp_connect does, and leaves
 * nothing behind. */
START_TEST(bad_arguments_are_rejected)
{
    const struct bad_arg *a = &bad_args[_i];
    char what[64];
    nb_error want, got;
    int before = th_count_fds();

    snprintf(what, sizeof(what), "argument case %d", _i);
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(a->host, a->port, 1000, a->flags, &want), -1);
    ck_assert_int_eq(want.code, NB_ERR_ARG);
    errno = 0;
    ck_assert_ptr_null(nb_connector_start(a->host, a->port, 1000, a->flags, &got));
    if (strstr(want.message, "nb_tcp_connect") != NULL) {
        /* a flags error names the function that was called */
        char *at = strstr(want.message, "nb_tcp_connect");
        char fixed[NB_ERRMSG_SIZE];
        snprintf(fixed, sizeof(fixed), "%.*snb_connector_start%s",
                 (int)(at - want.message), want.message,
                 at + strlen("nb_tcp_connect"));
        snprintf(want.message, sizeof(want.message), "%s", fixed);
    }
    assert_same_error(what, &got, errno, &want, EINVAL);
    errno = 0;
    ck_assert_ptr_null(nb_connector_start(a->host, a->port, 0, a->flags, NULL));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(null_connector_and_fd)
{
    nb_connector *c;
    nb_error e;
    int fd = 7;

    ck_assert_int_eq(nb_connector_fd(NULL), -1);
    nb_connector_free(NULL);
    errno = 0;
    ck_assert_int_eq(nb_connector_step(NULL, &fd, &e), -1);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "connect");
    ck_assert_int_eq(nb_connector_step(NULL, NULL, NULL), -1);

    c = nb_connector_start("127.0.0.1", "1", 0, 0, &e);
    ck_assert_ptr_nonnull(c);
    errno = 0;
    ck_assert_int_eq(nb_connector_step(c, NULL, &e), -1);
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "connect");
    nb_connector_free(c);
}
END_TEST

/* --------------------------------------------------------------- steps */

/* A step when the descriptor is not readable does nothing: 0, *fd -1,
 * *err untouched, however often; the descriptor stays quiet (nothing is
 * due without a deadline); the connector still works afterwards. */
START_TEST(step_with_nothing_to_do)
{
    struct endpoint ep = { "127.0.0.1", STALLS, -1, { 0 }, 0 };
    char port[8];
    nb_error e;
    nb_connector *c;
    int fd, i;

    open_endpoints(&ep, 1, port);
    c = nb_connector_start("127.0.0.1", port, 0, 0, &e);
    ck_assert_ptr_nonnull(c);
    memset(&e, 0x5a, sizeof(e));
    e.code = NB_ERR_CLOSED;
    for (i = 0; i < 100; i++) {
        fd = 12345;
        ck_assert_int_eq(nb_connector_step(c, &fd, &e), 0);
        ck_assert_int_eq(fd, -1);
    }
    ck_assert_int_eq(e.code, NB_ERR_CLOSED);
    ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 300), 0);
    nb_connector_free(c);

    /* with a deadline: the steps change nothing, the deadline still
     * wakes the descriptor */
    c = nb_connector_start("127.0.0.1", port, 300, 0, &e);
    ck_assert_ptr_nonnull(c);
    for (i = 0; i < 100; i++)
        ck_assert_int_eq(nb_connector_step(c, &fd, &e), 0);
    ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, NULL), -1);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    nb_connector_free(c);
    close_endpoints(&ep, 1);
}
END_TEST

/* The descriptor is level-triggered: readable until stepped.  The
 * deadline wakes it with no timer of the caller's: poll waits "forever"
 * (bounded here only so that a bug fails instead of hanging). */
START_TEST(deadline_wakes_the_descriptor)
{
    struct endpoint ep = { "127.0.0.1", STALLS, -1, { 0 }, 0 };
    char port[8], want[96];
    nb_error e;
    nb_connector *c;
    int64_t t0, elapsed;
    int fd;

    open_endpoints(&ep, 1, port);
    t0 = th_now_ms();
    c = nb_connector_start("127.0.0.1", port, 300, 0, &e);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, LIMIT_MS), 1);
    elapsed = th_now_ms() - t0;
    ck_assert_msg(elapsed >= 295 && elapsed < 1500, "woken after %lld ms",
                  (long long)elapsed);
    /* level-triggered: still readable, until a step takes the event */
    ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 0), 1);
    ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 0), 1);
    ck_assert_int_eq(nb_connector_step(c, &fd, &e), -1);
    ck_assert_int_eq(fd, -1);
    snprintf(want, sizeof(want), "connect 127.0.0.1:%s: timed out after 300 ms",
             port);
    th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
    ck_assert_str_eq(e.message, want);
    ck_assert_int_eq(e.attempts, 1);
    nb_connector_free(c);
    close_endpoints(&ep, 1);
}
END_TEST

/* ---------------------------------------------------------------- free */

enum stage {
    JUST_STARTED,       /* numeric host, attempt in flight */
    TIMER_ARMED,        /* the same with a deadline */
    MID_RACE,           /* both attempts of a two-address name in flight */
    FAILED_UNREAD,      /* a failure waiting for its step */
    LOOKING_UP,         /* a lookup hanging on its helper thread */
    WAITING_FOR_HELPER, /* all 64 helpers busy */
    CONNECTED           /* the socket was handed out */
};
#define N_STAGES 7

/* nb_connector_free at every stage leaves no descriptor (and, under
 * valgrind, no memory) behind, and never closes a socket handed out. */
START_TEST(free_at_any_stage_leaks_nothing)
{
    enum stage stage = (enum stage)_i;
    struct endpoint eps[2] = { { "::1", STALLS, -1, { 0 }, 0 },
                               { "127.0.0.1", STALLS, -1, { 0 }, 0 } };
    struct endpoint acc = { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 };
    nb_connector *busy[64];
    struct census before;
    char port[8], aport[8];
    nb_error e;
    nb_connector *c = NULL;
    int i, fd = -1;

    if (stage == MID_RACE)
        NEED_NAMES();
    if (stage == LOOKING_UP || stage == WAITING_FOR_HELPER)
        NEED_SLOW_DNS();
    if (stage == MID_RACE)
        open_endpoints(eps, 2, port);
    else
        open_endpoints(&eps[1], 1, port);
    open_endpoints(&acc, 1, aport);
    take_census(&before);
    switch (stage) {
    case JUST_STARTED:
    case TIMER_ARMED:
        c = nb_connector_start("127.0.0.1", port, stage == TIMER_ARMED ? 5000 : 0,
                               0, &e);
        ck_assert_ptr_nonnull(c);
        assert_census_delta(&before, 1, stage == TIMER_ARMED, 0, 1, "started");
        break;
    case MID_RACE:
        c = nb_connector_start(TWO_NAME, port, 0, 0, &e);
        ck_assert_ptr_nonnull(c);
        /* step until both attempts are in flight */
        for (i = 0; i < 10; i++) {
            struct census now;
            take_census(&now);
            if (now.sockets - before.sockets == 2)
                break;
            ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 2000), 1);
            ck_assert_int_eq(nb_connector_step(c, &fd, &e), 0);
        }
        assert_census_delta(&before, 1, 1, 0, 2, "racing");
        break;
    case FAILED_UNREAD:
        c = nb_connector_start("127.0.0.1", "dytime", 0, 0, &e);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 2000), 1);
        break;
    case LOOKING_UP:
        c = nb_connector_start(SLOW_NAME, "80", 0, 0, &e);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(th_count_threads(), th_base_threads() + 1);
        ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 100), 0);
        break;
    case WAITING_FOR_HELPER:
        for (i = 0; i < 64; i++) {
            busy[i] = nb_connector_start(SLOW_NAME, "80", 0, 0, &e);
            ck_assert_ptr_nonnull(busy[i]);
        }
        c = nb_connector_start("localhost", aport, 0, 0, &e);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(th_poll_for(nb_connector_fd(c), POLLIN, 100), 0);
        break;
    case CONNECTED:
        c = nb_connector_start("127.0.0.1", aport, 1000, NB_NONBLOCK, &e);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(drive(c, LIMIT_MS, &fd, &e, NULL), 1);
        break;
    }
    nb_connector_free(c);
    if (stage == WAITING_FOR_HELPER)
        for (i = 0; i < 64; i++)
            nb_connector_free(busy[i]);
    /* an abandoned lookup's resolver socket goes with its thread */
    wait_for_helpers_to_end();
    assert_census_delta(&before, 0, 0, 0, stage == CONNECTED, "freed");
    if (stage == CONNECTED) {
        th_check_connected_to(fd, acc.fd);
        close(fd);
    }
    if (stage == MID_RACE)
        close_endpoints(eps, 2);
    else
        close_endpoints(&eps[1], 1);
    close_endpoints(&acc, 1);
    wait_for_helpers_to_end();
}
END_TEST

/* ----------------------------------------------------- helper threads */

/* All 64 helpers hang on the name server.  A connector for another name
 * waits for one: its descriptor stays quiet, then wakes when a helper is
 * free (the hanging lookups give up after the resolver's 1 s timeout), and
 * it connects.  Another, with a deadline, wakes at its deadline and times
 * out while resolving, as nb_tcp_connect would.  The 64 fail as
 * nb_tcp_connect fails for the same name. */
START_TEST(waits_for_a_free_helper)
{
    struct endpoint ep = { "127.0.0.1", ACCEPTS, -1, { 0 }, 0 };
    nb_connector *busy[64], *waiting, *hurried;
    char port[8];
    nb_error e, want;
    int64_t t0, elapsed, hang_ms = resolver_timeout_s() * 1000;
    int i, fd;

    NEED_SLOW_DNS();
    open_endpoints(&ep, 1, port);
    t0 = th_now_ms();
    for (i = 0; i < 64; i++) {
        busy[i] = nb_connector_start(SLOW_NAME, "80", 0, 0, &e);
        ck_assert_ptr_nonnull(busy[i]);
    }
    waiting = nb_connector_start("localhost", port, 0, NB_IPV4_ONLY, &e);
    ck_assert_ptr_nonnull(waiting);
    hurried = nb_connector_start("localhost", port, 300, NB_IPV4_ONLY, &e);
    ck_assert_ptr_nonnull(hurried);
    ck_assert_int_eq(th_count_threads(), th_base_threads() + 64);

    ck_assert_int_eq(drive(hurried, LIMIT_MS, &fd, &e, NULL), -1);
    elapsed = th_now_ms() - t0;
    ck_assert_msg(elapsed >= 295 && elapsed < hang_ms - 100,
                  "timed out after %lld ms",
                  (long long)elapsed);
    th_assert_error(&e, NB_ERR_TIMEOUT, "resolve");
    ck_assert_str_eq(e.message + strlen(e.message) - strlen("while resolving"),
                     "while resolving");
    nb_connector_free(hurried);

    ck_assert_msg(th_now_ms() - t0 < hang_ms - 100,
                  "the hanging lookups ended too soon");
    ck_assert_int_eq(th_poll_for(nb_connector_fd(waiting), POLLIN, 0), 0);
    ck_assert_int_eq(drive(waiting, LIMIT_MS, &fd, &e, NULL), 1);
    nb_connector_free(waiting);
    th_check_connected_to(fd, ep.fd);
    close(fd);

    ck_assert_int_eq(nb_tcp_connect(SLOW_NAME, "80", 0, 0, &want), -1);
    for (i = 0; i < 64; i++) {
        ck_assert_int_eq(drive(busy[i], LIMIT_MS, &fd, &e, NULL), -1);
        assert_same_error("hanging lookup", &e, 0, &want, 0);
        nb_connector_free(busy[i]);
    }
    close_endpoints(&ep, 1);
    wait_for_helpers_to_end();
}
END_TEST

/* ---------------------------------------------------------------- scale */

#define MANY 2000

/* Accepts and closes every connection waiting on the non-blocking
 * listener; returns how many (errno: accept4's, EAGAIN once none is
 * left).  Never asserts: the threads' loops use it too. */
static int accept_all(int listener)
{
    int fd, n = 0;

    while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        n++;
        close(fd);
    }
    return n;
}

/* Raises the descriptor limit to `want` if it is lower; returns the limit
 * in force. */
static long raise_fd_limit(long want)
{
    struct rlimit r;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    if ((long)r.rlim_cur < want) {
        struct rlimit more = r;
        more.rlim_cur = (rlim_t)want;
        if (more.rlim_max < more.rlim_cur)
            more.rlim_max = more.rlim_cur;
        if (setrlimit(RLIMIT_NOFILE, &more) != 0) {
            more.rlim_max = r.rlim_max;
            more.rlim_cur = r.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &more);
        }
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    }
    return (long)r.rlim_cur;
}

/* 2,000 connectors started at once, all watched by one epoll loop with
 * the listener, which accepts as they come: every one connects, to this
 * listener, within a bounded time.  Each connector holds two descriptors
 * (its epoll instance and its attempt). */
START_TEST(two_thousand_connectors_in_one_loop)
{
    static nb_connector *cs[MANY];
    struct epoll_event ev, evs[256];
    struct census before;
    struct rlimit old;
    char port[8];
    int64_t t0;
    long limit;
    int many = MANY, listener, ep, i, done = 0, accepted = 0, lport;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    limit = raise_fd_limit(2 * MANY + 512);
    if (limit < 2 * MANY + 512) {
        /* e.g. under valgrind, which fixes the limit when it starts */
        many = (int)(limit - 512) / 2;
        ck_assert_int_ge(many, 100);
        printf("note: %d connectors only: RLIMIT_NOFILE is %ld\n", many, limit);
    }
    listener = th_raw_listener(AF_INET, 4096, port);
    lport = atoi(port);
    ck_assert_int_eq(fcntl(listener, F_SETFL, O_NONBLOCK), 0);
    ep = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(ep, 0);
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev), 0);
    take_census(&before);
    t0 = th_now_ms();
    for (i = 0; i < many; i++) {
        nb_error e;
        cs[i] = nb_connector_start("127.0.0.1", port, 0, NB_NONBLOCK, &e);
        ck_assert_msg(cs[i] != NULL, "connector %d: %s", i, e.message);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, nb_connector_fd(cs[i]), &ev), 0);
    }
    assert_census_delta(&before, many, 0, 0, many, "all started");
    while (done < many || accepted < many) {
        int n = epoll_wait(ep, evs, 256, 1000), k;
        ck_assert_msg(th_now_ms() - t0 < 60000,
                      "after 60 s: %d of %d connected, %d accepted", done, many,
                      accepted);
        ck_assert_int_ge(n, 0);
        for (k = 0; k < n; k++) {
            uint32_t tag = evs[k].data.u32;
            nb_error e;
            int fd, rc;
            if (tag == UINT32_MAX) {
                accepted += accept_all(listener);
                ck_assert_int_eq(errno, EAGAIN);
                continue;
            }
            rc = nb_connector_step(cs[tag], &fd, &e);
            ck_assert_msg(rc >= 0, "connector %u: %s", tag, e.message);
            if (rc == 0)
                continue;
            {
                nb_addr peer;
                ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
                ck_assert_int_eq(nb_addr_port(&peer), lport);
            }
            close(fd);
            nb_connector_free(cs[tag]);  /* its descriptor leaves ep */
            cs[tag] = NULL;
            done++;
        }
    }
    printf("%d connectors in one loop: %lld ms\n", many,
           (long long)(th_now_ms() - t0));
    assert_census_delta(&before, 0, 0, 0, 0, "all freed");
    close(ep);
    close(listener);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

/* Several threads, each with its own listener, epoll loop and connectors
 * for "localhost" (so that 200 lookups share the 64 helpers): every
 * connection reaches its own thread's listener.  Workers record their
 * first failure; the main thread asserts. */
#define NTHREADS 4
#define PER_THREAD 50

struct worker {
    pthread_t tid;
    int index;
    int connected;
    char why[256];
};

static void worker_fail(struct worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void worker_fail(struct worker *w, const char *fmt, ...)
{
    va_list ap;

    if (w->why[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    nb_connector *cs[PER_THREAD];
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct epoll_event ev, evs[64];
    char port[8];
    int listener, ep, i, left = PER_THREAD, accepted = 0;
    int64_t end = th_now_ms() + 30000;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (listener < 0 || ep < 0 ||
        bind(listener, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(listener, 256) != 0 ||
        getsockname(listener, (struct sockaddr *)&sin, &len) != 0) {
        worker_fail(w, "listener: %s", strerror(errno));
        return NULL;
    }
    snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    for (i = 0; i < PER_THREAD; i++) {
        nb_error e;
        /* half with a deadline, half without; half non-blocking */
        cs[i] = nb_connector_start("localhost", port, i % 2 ? 20000 : 0,
                                   NB_IPV4_ONLY | (i % 4 < 2 ? NB_NONBLOCK : 0),
                                   &e);
        if (cs[i] == NULL) {
            worker_fail(w, "start %d: %s", i, e.message);
            left--;
            continue;
        }
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, nb_connector_fd(cs[i]), &ev);
    }
    while ((left > 0 || accepted < w->connected) && th_now_ms() < end) {
        int n = epoll_wait(ep, evs, 64, 1000), k;
        for (k = 0; k < n; k++) {
            uint32_t tag = evs[k].data.u32;
            nb_addr peer;
            nb_error e;
            int fd, rc;
            if (tag == UINT32_MAX) {
                accepted += accept_all(listener);
                continue;
            }
            rc = nb_connector_step(cs[tag], &fd, &e);
            if (rc == 0)
                continue;
            if (rc < 0) {
                worker_fail(w, "connector %u: %s", tag, e.message);
            } else if (nb_peer_addr(fd, &peer, NULL) != 0 ||
                       nb_addr_port(&peer) != ntohs(sin.sin_port)) {
                worker_fail(w, "connector %u reached port %d, not %s", tag,
                            nb_addr_port(&peer), port);
            } else if ((th_is_nonblock(fd) == 1) != (tag % 4 < 2)) {
                worker_fail(w, "connector %u: wrong O_NONBLOCK", tag);
            } else {
                w->connected++;
            }
            if (fd >= 0)
                close(fd);
            nb_connector_free(cs[tag]);
            left--;
        }
    }
    if (left > 0)
        worker_fail(w, "%d connectors unfinished after 30 s", left);
    if (accepted != w->connected)
        worker_fail(w, "%d accepted, %d connected", accepted, w->connected);
    close(ep);
    close(listener);
    return NULL;
}

START_TEST(threads_with_their_own_connectors)
{
    struct worker ws[NTHREADS];
    struct census before;
    int i;

    take_census(&before);
    memset(ws, 0, sizeof(ws));
    for (i = 0; i < NTHREADS; i++) {
        ws[i].index = i;
        ck_assert_int_eq(pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_join(ws[i].tid, NULL), 0);
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_msg(ws[i].why[0] == '\0', "worker %d: %s", i, ws[i].why);
        ck_assert_int_eq(ws[i].connected, PER_THREAD);
    }
    wait_for_helpers_to_end();
    assert_census_delta(&before, 0, 0, 0, 0, "after the threads");
}
END_TEST

/* ------------------------------------------------------ private names */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Bind-mounts a file holding text over target; the file itself is removed
 * at once (the mount keeps it).  0 or -1 with errno. */
static int mount_text(const char *dir, const char *name, const char *text,
                      const char *target)
{
    char path[128];
    int rc, e;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (write_file(path, text) != 0)
        return -1;
    rc = mount(path, target, "none", MS_BIND, NULL);
    e = errno;
    unlink(path);
    errno = e;
    return rc;
}

/* 1 when host resolves to exactly the addresses in want (in that order). */
static int resolves_to(const char *host, const char *const *want, int n)
{
    nb_addr got[4];
    int k = nb_resolve(host, "80", SOCK_STREAM, got, 4, 0, 0, NULL), i;

    if (k != n)
        return 0;
    for (i = 0; i < n; i++) {
        char text[NB_ADDRSTRLEN], expect[NB_ADDRSTRLEN];
        nb_addr_format(&got[i], text, sizeof(text));
        snprintf(expect, sizeof(expect),
                 strchr(want[i], ':') != NULL ? "[%s]:80" : "%s:80", want[i]);
        if (strcmp(text, expect) != 0)
            return 0;
    }
    return 1;
}

/* Runs in main before anything else (no thread exists yet), and outside
 * any test: no ck_assert here. */
static void private_names(void)
{
    static const char *const two[] = { "::1", "127.0.0.1" };
    static const char *const three[] = { "::1", "127.0.0.1", "127.0.0.2" };
    struct sockaddr_in sin;
    char dir[] = "/tmp/nb-test-connector-XXXXXX", resolv[128];
    const char *why = NULL, *slow_why = NULL;
    int e = 0, slow_e = 0, made_dir = 0;

    /* A name server on loopback that reads nothing: lookups of a name
     * that is not in the hosts file hang for the resolver's timeout. */
    snprintf(resolv, sizeof(resolv),
             "nameserver " DNS_IP "\noptions timeout:%d attempts:1\n",
             resolver_timeout_s());
    dns_sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(53);
    inet_pton(AF_INET, DNS_IP, &sin.sin_addr);
    if (dns_sink < 0 || bind(dns_sink, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        slow_why = "cannot bind " DNS_IP ":53", slow_e = errno;
    else if (access("/etc/resolv.conf", F_OK) != 0)
        slow_why = "no /etc/resolv.conf to mount over", slow_e = errno;

    if (geteuid() != 0)
        why = "not root (a private /etc/hosts needs a mount namespace)";
    else if (!th_have_ipv6())
        why = "no IPv6 loopback";
    else if (access("/var/run/nscd/socket", F_OK) == 0)
        why = "nscd runs: it would answer instead of the private hosts file";
    else if (unshare(CLONE_NEWNS) != 0)
        why = "unshare(CLONE_NEWNS) failed", e = errno;
    /* Before any mount: nothing may propagate to the system's namespace.
     * (A source and a type are ignored here and for bind mounts; they are
     * given for valgrind, which checks they are readable.) */
    else if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        why = "cannot make the mounts private", e = errno;
    else if (mkdtemp(dir) == NULL)
        why = "mkdtemp", e = errno;
    else if ((made_dir = 1,
              mount_text(dir, "hosts",
                         "127.0.0.1 localhost\n"
                         "::1 " TWO_NAME "\n127.0.0.1 " TWO_NAME "\n"
                         "::1 " THREE_NAME "\n127.0.0.1 " THREE_NAME "\n"
                         "127.0.0.2 " THREE_NAME "\n"
                         "::1 " DUP_NAME "\n::1 " DUP_NAME "\n",
                         "/etc/hosts")) != 0)
        why = "bind-mounting /etc/hosts", e = errno;
    else if (mount_text(dir, "nsswitch.conf", "hosts: files dns\n",
                        "/etc/nsswitch.conf") != 0)
        why = "bind-mounting /etc/nsswitch.conf", e = errno;
    else if (slow_why == NULL &&
             mount_text(dir, "resolv.conf", resolv, "/etc/resolv.conf") != 0)
        slow_why = "bind-mounting /etc/resolv.conf", slow_e = errno;
    if (made_dir)
        rmdir(dir);
    if (why == NULL && !(resolves_to(TWO_NAME, two, 2) &&
                         resolves_to(THREE_NAME, three, 3)))
        why = "the private hosts file is not used for " TWO_NAME;
    if (why != NULL) {
        snprintf(names_skip, sizeof(names_skip), "%s%s%s", why,
                 e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
        printf("skip: tests of two-address names: %s\n", names_skip);
        slow_why = names_skip, slow_e = 0;
    }
    have_names = why == NULL;
    if (slow_why != NULL) {
        snprintf(slow_skip, sizeof(slow_skip), "%s%s%s", slow_why,
                 slow_e != 0 ? ": " : "", slow_e != 0 ? strerror(slow_e) : "");
        printf("skip: tests of hanging lookups: %s\n", slow_skip);
        if (dns_sink >= 0)
            close(dns_sink);
        dns_sink = -1;
    }
    have_slow_dns = slow_why == NULL;
}

/* ------------------------------------------------------------- suite */

/* Counted before any helper thread of a test starts (see
 * th_base_threads). */
static void count_base_threads(void)
{
    (void)th_base_threads();
}

static Suite *connector_suite(void)
{
    Suite *s = suite_create("connector");
    TCase *ok = tcase_create("connects");
    TCase *race = tcase_create("race");
    TCase *errors = tcase_create("errors");
    TCase *limits = tcase_create("limits");
    TCase *steps = tcase_create("steps");
    TCase *scale = tcase_create("scale");

    tcase_add_loop_test(ok, numeric_host_connects, 0, N_MODE_CASES);
    tcase_add_test(ok, name_connects);
    tcase_add_test(ok, start_never_waits);
    tcase_set_timeout(ok, 30);
    tcase_add_checked_fixture(ok, count_base_threads, NULL);
    suite_add_tcase(s, ok);

    tcase_add_test(race, hanging_address_loses_after_the_delay);
    tcase_add_test(race, refused_address_hands_over_at_once);
    tcase_add_test(race, each_hanging_address_costs_one_delay);
    tcase_set_timeout(race, 30);
    tcase_add_checked_fixture(race, count_base_threads, NULL);
    suite_add_tcase(s, race);

    tcase_add_loop_test(errors, errors_are_nb_tcp_connects, 0, N_ERROR_CASES);
    tcase_add_loop_test(errors, bad_arguments_are_rejected, 0, N_BAD_ARGS);
    tcase_add_test(errors, null_connector_and_fd);
    tcase_set_timeout(errors, 30);
    tcase_add_checked_fixture(errors, count_base_threads, NULL);
    suite_add_tcase(s, errors);

    tcase_add_test(limits, descriptor_limit);
    tcase_add_checked_fixture(limits, limit_setup, limit_teardown);
    tcase_set_timeout(limits, 30);
    tcase_add_checked_fixture(limits, count_base_threads, NULL);
    suite_add_tcase(s, limits);

    tcase_add_test(steps, step_with_nothing_to_do);
    tcase_add_test(steps, deadline_wakes_the_descriptor);
    tcase_add_loop_test(steps, free_at_any_stage_leaks_nothing, 0, N_STAGES);
    tcase_add_test(steps, waits_for_a_free_helper);
    tcase_set_timeout(steps, 30);
    tcase_add_checked_fixture(steps, count_base_threads, NULL);
    suite_add_tcase(s, steps);

    tcase_add_test(scale, two_thousand_connectors_in_one_loop);
    tcase_add_test(scale, threads_with_their_own_connectors);
    tcase_set_timeout(scale, 120);
    tcase_add_checked_fixture(scale, count_base_threads, NULL);
    suite_add_tcase(s, scale);
    return s;
}

int main(void)
{
    int status;

    setvbuf(stdout, NULL, _IOLBF, 0);
    private_names();
    status = th_run_suite(connector_suite());
    if (dns_sink >= 0)
        close(dns_sink);
    return status;
}
