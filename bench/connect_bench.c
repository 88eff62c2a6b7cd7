/*
 * connect_bench.c - what does nb_tcp_connect + nb_recv_all cost over the
 * system calls a careful programmer would write by hand?
 *
 *   connect_bench server [IDLE_S]
 *       Listens on 127.0.0.1, an ephemeral port, and prints the port on
 *       stdout.  Each connection gets a 26-byte daytime-like line, then is
 *       closed.  Exits after IDLE_S seconds (default 30) without a client,
 *       so that a benchmark that dies leaves nothing behind.
 *   connect_bench run MODE N PORT
 *       Connects N times to 127.0.0.1:PORT, reads the reply until end of
 *       stream, closes.  Nothing else happens per connection, so that
 *       strace -c and callgrind of this process see the client alone.
 *   connect_bench wall PORT BATCH ROUNDS MODE[,MODE...]
 *       Wall time: runs BATCH connections of each mode in turn, ROUNDS
 *       times, alternating the order, and prints Markdown tables: the wall
 *       and client CPU time per connection of each mode, and the ratio of
 *       every nb mode to every raw mode, round by round.
 *
 * Modes (see the functions of the same names).  The raw modes build their
 * sockaddr once, before the loop: the least a hand-written client can do.
 * The nb modes pass "127.0.0.1" and the port string on every call, as a
 * library user does.
 *   raw            socket(SOCK_CLOEXEC) + connect + read until EOF + close
 *   nb             nb_tcp_connect + nb_recv_all + close
 *   raw-timed      the same with a 1000 ms deadline done by hand:
 *                  non-blocking connect, poll, SO_ERROR, FIONBIO back to
 *                  blocking, then poll before every read
 *   raw-timed-eager  as raw-timed, but each read is tried first
 *                  (MSG_DONTWAIT) and poll is called only on EAGAIN
 *   nb-timed       nb_tcp_connect and nb_recv_all with timeout_ms = 1000
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "netbasics.h"
#include "stats.h"

#define TIMEOUT_MS 1000
#define REPLY "Mon Jan  1 00:00:00 2024\r\n"
#define REPLY_LEN (sizeof(REPLY) - 1)
#define MAX_MODES 8

static void die_timeout(const char *what)
{
    fprintf(stderr, "%s: timed out\n", what);
    exit(2);
}

static void check_reply(ssize_t n)
{
    if (n != (ssize_t)REPLY_LEN) {
        fprintf(stderr, "short reply: %zd bytes\n", n);
        exit(2);
    }
}

/* Milliseconds left before `end` for poll(2), rounded up; 0 when past. */
static int ms_left(int64_t end)
{
    int64_t left = end - now_ns();

    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* ------------------------------------------------------------ server */

static int server(int idle_s)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct timeval idle = {idle_s, 0};
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (lfd < 0)
        die("socket");
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) != 0)
        die("setsockopt");
    if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(lfd, SOMAXCONN) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
        die("listen");
    printf("%d\n", ntohs(sin.sin_port));
    fflush(stdout);

    for (;;) {
        /* SO_RCVTIMEO bounds accept(2) too: EAGAIN means idle too long. */
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept4");
        }
        if (send(fd, REPLY, REPLY_LEN, MSG_NOSIGNAL) != (ssize_t)REPLY_LEN)
            perror("send");
        close(fd);
    }
}

/* ------------------------------------------------------------ clients */

static void raw(const struct target *t)
{
    char buf[256];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    if (connect(fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) != 0)
        die("connect");
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EINTR)
            die("read");
    }
    check_reply((ssize_t)got);
    close(fd);
}

static void nb(const struct target *t)
{
    char buf[256];
    nb_error err;
    ssize_t n;
    int fd = nb_tcp_connect("127.0.0.1", t->port, 0, 0, &err);

    if (fd < 0)
        die_nb("nb_tcp_connect", &err);
    n = nb_recv_all(fd, buf, sizeof(buf), 0, &err);
    if (n < 0)
        die_nb("nb_recv_all", &err);
    check_reply(n);
    close(fd);
}

/* Non-blocking connect bounded by `end`, then back to blocking mode. */
static int raw_connect_timed(const struct target *t, int64_t end)
{
    int off = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        die("socket");
    if (connect(fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) != 0) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        int soerr = 0, n;
        socklen_t len = sizeof(soerr);

        if (errno != EINPROGRESS)
            die("connect");
        do
            n = poll(&pfd, 1, ms_left(end));
        while (n < 0 && errno == EINTR);
        if (n == 0)
            die_timeout("connect");
        if (n < 0)
            die("poll");
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
            die("getsockopt");
        if (soerr != 0) {
            errno = soerr;
            die("connect");
        }
    }
    if (ioctl(fd, FIONBIO, &off) != 0)
        die("ioctl");
    return fd;
}

static void raw_timed(const struct target *t)
{
    char buf[256];
    size_t got = 0;
    int fd = raw_connect_timed(t, now_ns() + TIMEOUT_MS * INT64_C(1000000));
    int64_t end = now_ns() + TIMEOUT_MS * INT64_C(1000000);

    while (got < sizeof(buf)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, ms_left(end));
        ssize_t n;
        if (ready == 0)
            die_timeout("read");
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        n = read(fd, buf + got, sizeof(buf) - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EINTR && errno != EAGAIN)
            die("read");
    }
    check_reply((ssize_t)got);
    close(fd);
}

static void raw_timed_eager(const struct target *t)
{
    char buf[256];
    size_t got = 0;
    int fd = raw_connect_timed(t, now_ns() + TIMEOUT_MS * INT64_C(1000000));
    int64_t end = now_ns() + TIMEOUT_MS * INT64_C(1000000);

    while (got < sizeof(buf)) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {fd, POLLIN, 0};
            int ready = poll(&pfd, 1, ms_left(end));
            if (ready == 0)
                die_timeout("read");
            if (ready < 0 && errno != EINTR)
                die("poll");
        } else if (errno != EINTR) {
            die("recv");
        }
    }
    check_reply((ssize_t)got);
    close(fd);
}

static void nb_timed(const struct target *t)
{
    char buf[256];
    nb_error err;
    ssize_t n;
    int fd = nb_tcp_connect("127.0.0.1", t->port, TIMEOUT_MS, 0, &err);

    if (fd < 0)
        die_nb("nb_tcp_connect", &err);
    n = nb_recv_all(fd, buf, sizeof(buf), TIMEOUT_MS, &err);
    if (n < 0)
        die_nb("nb_recv_all", &err);
    check_reply(n);
    close(fd);
}

typedef void (*client_fn)(const struct target *t);

static const struct mode {
    const char *name;
    client_fn fn;
} modes[] = {
    {"raw", raw},
    {"nb", nb},
    {"raw-timed", raw_timed},
    {"raw-timed-eager", raw_timed_eager},
    {"nb-timed", nb_timed},
};

static const struct mode *find_mode(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strlen(modes[i].name) == len &&
            strncmp(modes[i].name, name, len) == 0)
            return &modes[i];
    fprintf(stderr, "unknown mode \"%.*s\"\n", (int)len, name);
    exit(2);
}

/* ------------------------------------------------------------ wall time */

/* Runs one batch; stores the wall and CPU (user + system, client only)
 * microseconds per connection. */
static void time_batch(const struct mode *m, const struct target *t,
                       int batch, double *wall_us, double *cpu_us)
{
    int64_t cpu0 = cpu_ns(), wall0 = now_ns();
    int i;

    for (i = 0; i < batch; i++)
        m->fn(t);
    *wall_us = (double)(now_ns() - wall0) / 1000.0 / batch;
    *cpu_us = (double)(cpu_ns() - cpu0) / 1000.0 / batch;
}

static int is_library_mode(const struct mode *m)
{
    return strncmp(m->name, "nb", 2) == 0;
}

static int wall(const struct target *t, int batch, int rounds,
                const char *list)
{
    const struct mode *ms[MAX_MODES];
    double *wall_us[MAX_MODES], *cpu_us[MAX_MODES];
    int n = 0, r, i, j;
    const char *p = list;

    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (n == MAX_MODES) {
            fprintf(stderr, "at most %d modes\n", MAX_MODES);
            return 2;
        }
        ms[n++] = find_mode(p, len);
        p += len + (p[len] == ',');
    }
    if (n == 0) {
        fprintf(stderr, "no mode to measure\n");
        return 2;
    }
    for (i = 0; i < n; i++) {
        double ignored_wall, ignored_cpu;
        wall_us[i] = calloc((size_t)rounds, sizeof(*wall_us[i]));
        cpu_us[i] = calloc((size_t)rounds, sizeof(*cpu_us[i]));
        if (wall_us[i] == NULL || cpu_us[i] == NULL)
            die("calloc");
        /* Warm-up: caches, lazy binding, the server's first accepts. */
        time_batch(ms[i], t, batch, &ignored_wall, &ignored_cpu);
    }
    /* Each round runs every mode once, forwards on even rounds and
     * backwards on odd ones, so drifting load hits all modes alike. */
    for (r = 0; r < rounds; r++)
        for (i = 0; i < n; i++) {
            int k = (r % 2 == 0) ? i : n - 1 - i;
            time_batch(ms[k], t, batch, &wall_us[k][r], &cpu_us[k][r]);
        }

    printf("| mode | wall µs/conn, median | IQR | 10th percentile | min–max "
           "| client CPU µs/conn, median |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < n; i++)
        print_mode_row(ms[i]->name, wall_us[i], cpu_us[i], rounds);
    printf("\n| ratio | time | of medians | of 10th percentiles "
           "| paired: median | 95%% CI | IQR | rounds nb ≤ raw |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            if (is_library_mode(ms[i]) && !is_library_mode(ms[j])) {
                /* nb mode i against raw mode j, round by round */
                print_pair_row("wall", ms[i]->name, wall_us[i], ms[j]->name,
                               wall_us[j], rounds, 1);
                print_pair_row("CPU", ms[i]->name, cpu_us[i], ms[j]->name,
                               cpu_us[j], rounds, 1);
            }
    printf("\n%d rounds x %d connections per mode, after one warm-up batch "
           "each: %d connections in all.\n",
           rounds, batch, (rounds + 1) * batch * n);
    for (i = 0; i < n; i++) {
        free(wall_us[i]);
        free(cpu_us[i]);
    }
    return 0;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr,
            "usage: connect_bench server [IDLE_S]\n"
            "       connect_bench run MODE N PORT\n"
            "       connect_bench wall PORT BATCH ROUNDS MODE[,MODE...]\n"
            "modes: raw nb raw-timed raw-timed-eager nb-timed\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct target t;

    if (argc >= 2 && strcmp(argv[1], "server") == 0 && argc <= 3)
        return server(argc == 3 ? number(argv[2], 1, 3600) : 30);
    if (argc == 5 && strcmp(argv[1], "run") == 0) {
        const struct mode *m = find_mode(argv[2], strlen(argv[2]));
        int n = number(argv[3], 0, 100000000);
        int i;
        set_target(&t, argv[4]);
        for (i = 0; i < n; i++)
            m->fn(&t);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "wall") == 0) {
        set_target(&t, argv[2]);
        return wall(&t, number(argv[3], 1, 1000000),
                    number(argv[4], 1, 100000), argv[5]);
    }
    return usage();
}
