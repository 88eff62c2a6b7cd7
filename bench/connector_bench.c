/*
 * connector_bench.c - what does an nb_connector cost in an event loop,
 * over the non-blocking connect a careful programmer writes by hand?
 *
 *   connector_bench server [IDLE_S]
 *       Listens on 127.0.0.1, an ephemeral port (backlog 4096), and prints
 *       the port on stdout; accepts every connection and closes it at
 *       once, from an epoll loop.  Exits after IDLE_S seconds (default 30)
 *       without a client, so that a benchmark that dies leaves nothing
 *       behind.
 *   connector_bench run MODE N PORT [INFLIGHT]
 *       N connections to 127.0.0.1:PORT, INFLIGHT (default 200) at a time,
 *       from one epoll loop.  Nothing else happens, so that strace -c and
 *       callgrind of this process see the client alone.
 *   connector_bench rounds PORT N ROUNDS [INFLIGHT]
 *       Client CPU time (and wall time) per connection: one batch of N
 *       connections of each mode per round, ROUNDS rounds, the order
 *       reversed every other round, after a warm-up batch of each; prints
 *       Markdown tables with the median of the paired ratios (the two
 *       batches of one round ran next to each other in time).
 *   connector_bench footprint PORT
 *       Heap bytes (mallinfo2: bytes in use, malloc's headers included)
 *       and descriptors held by one connector, averaged over 1,000 held at
 *       once, for a numeric host without and with a deadline, and for a
 *       name once resolved.
 *
 * Modes (see the functions of the same names):
 *   raw        socket(SOCK_NONBLOCK | SOCK_CLOEXEC) + connect (EINPROGRESS)
 *              + epoll_ctl(ADD, EPOLLOUT) into the loop's epoll; when the
 *              socket is writable, getsockopt(SO_ERROR) + close.  The
 *              sockaddr is built once, before the loop: the least a
 *              hand-written client can do.
 *   raw-nested the connector's system calls by hand: per connection an
 *              epoll instance holding the socket, added to the loop's
 *              epoll; when readable, epoll_wait on it, SO_ERROR, both
 *              closed.  Between the two above: the cost of the design.
 *   connector  nb_connector_start("127.0.0.1", "PORT", 0, NB_NONBLOCK)
 *              + epoll_ctl(ADD, EPOLLIN) of its descriptor into the loop's
 *              epoll; when readable, nb_connector_step; on 1, close the
 *              socket and nb_connector_free.
 * Both are non-blocking with no deadline.  Every connection must succeed:
 * any failure stops the benchmark (exit 2).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netbasics.h"
#include "stats.h"

#define DEFAULT_INFLIGHT 200
#define MAX_INFLIGHT 4096
#define WAIT_MS 10000   /* no event for this long: the benchmark is stuck */

/* ------------------------------------------------------------ server */

static int server(int idle_s)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct epoll_event ev;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC), one = 1;

    if (lfd < 0 || ep < 0)
        die("socket");
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
        die("listen");
    printf("%d\n", ntohs(sin.sin_port));
    fflush(stdout);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        die("epoll_ctl");
    for (;;) {
        int n = epoll_wait(ep, &ev, 1, idle_s * 1000), fd;
        if (n == 0)
            return 0;  /* idle: the benchmark is over */
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
            close(fd);
        if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
            die("accept4");
    }
}

/* ------------------------------------------------------------ clients */

/* One connection in flight: the raw socket, or the connector. */
struct slot {
    int fd;
    int inner;          /* raw-nested: the connection's epoll instance */
    nb_connector *c;
};

struct mode {
    const char *name;
    /* starts slot s's connection and adds it to ep with data.u32 = index */
    void (*start)(const struct target *t, int ep, struct slot *s, uint32_t i);
    /* s's descriptor reported an event: 1 when its connection is done
     * (and closed), 0 when not yet */
    int (*finish)(struct slot *s);
};

static void raw_start(const struct target *t, int ep, struct slot *s,
                      uint32_t i)
{
    struct epoll_event ev;

    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        die("socket");
    if (connect(s->fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) != 0 &&
        errno != EINPROGRESS)
        die("connect");
    ev.events = EPOLLOUT;
    ev.data.u32 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
        die("epoll_ctl");
}

static int raw_finish(struct slot *s)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        die("getsockopt");
    if (soerr != 0) {
        errno = soerr;
        die("connect");
    }
    close(s->fd);  /* also takes it out of the epoll set */
    return 1;
}

static void connector_start(const struct target *t, int ep, struct slot *s,
                            uint32_t i)
{
    struct epoll_event ev;
    nb_error err;

    s->c = nb_connector_start("127.0.0.1", t->port, 0, NB_NONBLOCK, &err);
    if (s->c == NULL)
        die_nb("nb_connector_start", &err);
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, nb_connector_fd(s->c), &ev) != 0)
        die("epoll_ctl");
}

static int connector_finish(struct slot *s)
{
    nb_error err;
    int fd;
    int rc = nb_connector_step(s->c, &fd, &err);

    if (rc == 0)
        return 0;
    if (rc < 0)
        die_nb("nb_connector_step", &err);
    close(fd);
    nb_connector_free(s->c);  /* its descriptor leaves the epoll set */
    return 1;
}

/* The connector's system calls, made by hand: an epoll instance per
 * connection holding its socket, itself watched by the loop's epoll;
 * epoll_wait on it when it is readable, then SO_ERROR; both closed.  What
 * this costs over raw is the price of the design (one descriptor to
 * watch per connection); what the connector costs over it is the
 * library's own work in user space. */
static void nested_start(const struct target *t, int ep, struct slot *s,
                         uint32_t i)
{
    struct epoll_event ev;
    int inner = epoll_create1(EPOLL_CLOEXEC);

    if (inner < 0)
        die("epoll_create1");
    raw_start(t, inner, s, 0);
    s->inner = inner;
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev) != 0)
        die("epoll_ctl");
}

static int nested_finish(struct slot *s)
{
    struct epoll_event ev;

    if (epoll_wait(s->inner, &ev, 1, 0) != 1)
        return 0;
    raw_finish(s);
    close(s->inner);
    return 1;
}

static const struct mode modes[] = {
    { "raw", raw_start, raw_finish },
    { "raw-nested", nested_start, nested_finish },
    { "connector", connector_start, connector_finish },
};
#define N_MODES (int)(sizeof(modes) / sizeof(modes[0]))

static const struct mode *find_mode(const char *name)
{
    int i;

    for (i = 0; i < N_MODES; i++)
        if (strcmp(modes[i].name, name) == 0)
            return &modes[i];
    fprintf(stderr, "unknown mode \"%s\" (raw, raw-nested, connector)\n",
            name);
    exit(2);
}

/* n connections, inflight at a time, from one epoll loop. */
static void run(const struct mode *m, const struct target *t, int n,
                int inflight)
{
    static struct slot slots[MAX_INFLIGHT];
    struct epoll_event evs[256];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int started = 0, done = 0, i;

    if (ep < 0)
        die("epoll_create1");
    for (i = 0; i < inflight && started < n; i++, started++)
        m->start(t, ep, &slots[i], (uint32_t)i);
    while (done < n) {
        int k, ready = epoll_wait(ep, evs, 256, WAIT_MS);
        if (ready == 0) {
            fprintf(stderr, "%s: no event for %d ms, %d of %d done\n",
                    m->name, WAIT_MS, done, n);
            exit(2);
        }
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (k = 0; k < ready; k++) {
            uint32_t s = evs[k].data.u32;
            if (!m->finish(&slots[s]))
                continue;
            done++;
            if (started < n) {
                m->start(t, ep, &slots[s], s);
                started++;
            }
        }
    }
    close(ep);
}

/* ------------------------------------------------------------ rounds */

/* connector / raw, round by round: median, a distribution-free 95 %
 * confidence interval, IQR, min and max; the rounds over goal, if any. */
static void print_ratio(const char *what, const double *a, const double *b,
                        int rounds, double goal)
{
    double *r = paired_ratios(a, b, rounds);
    struct summary s;
    int i, over = 0;

    for (i = 0; i < rounds; i++)
        over += goal > 0 && r[i] > goal;
    summarize(r, rounds, &s);
    printf("| %s | %.3f | %.3f–%.3f | %.3f–%.3f | %.3f–%.3f |", what,
           s.median, s.ci_low, s.ci_high, s.q1, s.q3, s.min, s.max);
    if (goal > 0)
        printf(" %d/%d |\n", over, rounds);
    else
        printf(" |\n");
    free(r);
}

/* A cell: the median (IQR) of one mode's rounds. */
static void per_mode(const double *v, int rounds)
{
    struct summary s;

    summarize(v, rounds, &s);
    printf(" %.2f (%.2f–%.2f) |", s.median, s.q1, s.q3);
}

static int rounds_cmd(const struct target *t, int n, int rounds, int inflight)
{
    double *cpu[N_MODES], *wall[N_MODES];
    int r, i;

    for (i = 0; i < N_MODES; i++) {
        cpu[i] = calloc((size_t)rounds, sizeof(double));
        wall[i] = calloc((size_t)rounds, sizeof(double));
        if (cpu[i] == NULL || wall[i] == NULL)
            die("calloc");
        run(&modes[i], t, n, inflight);  /* warm-up */
    }
    for (r = 0; r < rounds; r++)
        for (i = 0; i < N_MODES; i++) {
            int k = r % 2 == 0 ? i : N_MODES - 1 - i;
            int64_t c0 = cpu_ns(), w0 = now_ns();
            run(&modes[k], t, n, inflight);
            cpu[k][r] = (double)(cpu_ns() - c0) / 1e3 / n;
            wall[k][r] = (double)(now_ns() - w0) / 1e3 / n;
        }

    printf("| per connection, median (IQR) |");
    for (i = 0; i < N_MODES; i++)
        printf(" %s |", modes[i].name);
    printf("\n|---|");
    for (i = 0; i < N_MODES; i++)
        printf("---:|");
    printf("\n| client CPU, µs |");
    for (i = 0; i < N_MODES; i++)
        per_mode(cpu[i], rounds);
    printf("\n| wall, µs |");
    for (i = 0; i < N_MODES; i++)
        per_mode(wall[i], rounds);
    printf("\n\n| paired by round | median | 95%% CI "
           "| IQR | min–max | rounds over 1.3 |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    print_ratio("client CPU, connector / raw", cpu[2], cpu[0], rounds, 1.3);
    print_ratio("client CPU, raw-nested / raw", cpu[1], cpu[0], rounds, 0);
    print_ratio("client CPU, connector / raw-nested", cpu[2], cpu[1], rounds, 0);
    print_ratio("wall, connector / raw", wall[2], wall[0], rounds, 0);
    printf("\n%d rounds x %d connections per mode, %d in flight, after one "
           "warm-up batch each: %d connections in all.\n",
           rounds, n, inflight, (rounds + 1) * n * N_MODES);
    for (i = 0; i < N_MODES; i++) {
        free(cpu[i]);
        free(wall[i]);
    }
    return 0;
}

/* ------------------------------------------------------------ footprint */

static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int n = 0;

    if (dir == NULL)
        die("/proc/self/fd");
    while ((ent = readdir(dir)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;
}

#define HELD 1000

static int count_threads(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *ent;
    int n = 0;

    if (dir == NULL)
        die("/proc/self/task");
    while ((ent = readdir(dir)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* Heap bytes and descriptors of HELD connectors held at once, divided by
 * HELD; for a name (until_racing), once resolved and its attempt started. */
static void footprint_of(const char *what, const char *host, const char *port,
                         int timeout_ms, int until_racing)
{
    static nb_connector *held[HELD];
    struct mallinfo2 before, after;
    int fds_before, fds_after, i;

    fds_before = count_fds();
    before = mallinfo2();
    for (i = 0; i < HELD; i++) {
        nb_error err;
        held[i] = nb_connector_start(host, port, timeout_ms, NB_NONBLOCK, &err);
        if (held[i] == NULL)
            die_nb("nb_connector_start", &err);
    }
    if (until_racing) {
        /* wait for every lookup, then one step starts the attempt */
        for (i = 0; i < HELD; i++) {
            struct epoll_event ev;
            int ep = epoll_create1(EPOLL_CLOEXEC), fd;
            nb_error err;
            ev.events = EPOLLIN;
            ev.data.u32 = 0;
            if (ep < 0 ||
                epoll_ctl(ep, EPOLL_CTL_ADD, nb_connector_fd(held[i]), &ev) != 0 ||
                epoll_wait(ep, &ev, 1, WAIT_MS) != 1 ||
                nb_connector_step(held[i], &fd, &err) < 0)
                die("waiting for a lookup");
            close(ep);
        }
        /* helper threads free what they held (their resolver state) as
         * they exit, just after their answer */
        while (count_threads() > 1) {
            struct timespec ms = { 0, 1000000 };
            nanosleep(&ms, NULL);
        }
    }
    after = mallinfo2();
    fds_after = count_fds();
    printf("| %s | %.0f | %.2f |\n", what,
           (double)(after.uordblks - before.uordblks) / HELD,
           (double)(fds_after - fds_before) / HELD);
    for (i = 0; i < HELD; i++)
        nb_connector_free(held[i]);
}

static int footprint(const struct target *t)
{
    struct rlimit r;

    /* 1,000 connectors hold up to 3,000 descriptors */
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 4096 &&
        r.rlim_max >= 4096) {
        r.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    printf("| connector (held %d at once, NB_NONBLOCK) | heap bytes each "
           "| descriptors each |\n|---|---:|---:|\n", HELD);
    footprint_of("127.0.0.1, no deadline", "127.0.0.1", t->port, 0, 0);
    footprint_of("127.0.0.1, deadline", "127.0.0.1", t->port, 5000, 0);
    footprint_of("localhost, no deadline, resolved, attempt in flight",
                 "localhost", t->port, 0, 1);
    footprint_of("localhost, deadline, resolved, attempt in flight",
                 "localhost", t->port, 5000, 1);
    return 0;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr,
            "usage: connector_bench server [IDLE_S]\n"
            "       connector_bench run MODE N PORT [INFLIGHT]\n"
            "       connector_bench rounds PORT N ROUNDS [INFLIGHT]\n"
            "       connector_bench footprint PORT\n"
            "modes: raw raw-nested connector\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct target t;

    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "server") == 0 && argc <= 3)
        return server(argc == 3 ? number(argv[2], 1, 3600) : 30);
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "run") == 0) {
        set_target(&t, argv[4]);
        run(find_mode(argv[2]), &t, number(argv[3], 1, 100000000),
            argc == 6 ? number(argv[5], 1, MAX_INFLIGHT) : DEFAULT_INFLIGHT);
        return 0;
    }
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "rounds") == 0) {
        set_target(&t, argv[2]);
        return rounds_cmd(&t, number(argv[3], 1, 10000000),
                          number(argv[4], 1, 100000),
                          argc == 6 ? number(argv[5], 1, MAX_INFLIGHT)
                                    : DEFAULT_INFLIGHT);
    }
    if (argc == 3 && strcmp(argv[1], "footprint") == 0) {
        set_target(&t, argv[2]);
        return footprint(&t);
    }
    return usage();
}
