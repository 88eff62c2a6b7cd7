/*
 * resolve_bench.c - what does a lookup with a deadline cost?
 *
 * nb_resolve with a deadline runs getaddrinfo on a helper thread (a new,
 * detached thread per lookup: lib/lookup.c) and waits for it on an
 * eventfd.  Any thread-per-lookup design pays at least a thread's start
 * and end; the floor here is the least code that does it: getaddrinfo on
 * a freshly created thread that the caller joins.
 *
 *   resolve_bench wall BATCH ROUNDS [HOST]
 *       Runs BATCH lookups of HOST (default "localhost") in each mode in
 *       turn, ROUNDS times, the order reversed every other round, and
 *       prints Markdown tables: wall and CPU time per lookup of each mode,
 *       and the ratios of the modes, round by round.
 *   resolve_bench run MODE N [HOST]
 *       N lookups in one mode and nothing else (for strace -c, perf stat
 *       and callgrind).
 *
 * Modes:
 *   gai       getaddrinfo + freeaddrinfo in the calling thread, with the
 *             hints nb_resolve uses for HOST
 *   inline    nb_resolve(HOST, "80", SOCK_STREAM, out, 8, 0, 0, &err):
 *             no deadline, getaddrinfo in the calling thread
 *   bounded   the same with timeout_ms = 1000: on a helper thread
 *   floor     pthread_create of a thread that runs gai, then pthread_join
 *
 * "localhost" is answered from /etc/hosts: no network, the same work for
 * every mode, so that the differences are the threads'.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netbasics.h"
#include "stats.h"

#define TIMEOUT_MS 1000
#define MAX_OUT 8

static const char *host = "localhost";

/* ------------------------------------------------------------ modes */

/* The question nb_resolve asks for a peer's host (lib/resolve.c): the
 * port as a number, TCP; AI_ADDRCONFIG unless the name is this host's. */
static struct addrinfo hints_for(const char *name)
{
    struct addrinfo hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    if (strcmp(name, "localhost") != 0)
        hints.ai_flags |= AI_ADDRCONFIG;
    return hints;
}

static void gai(void)
{
    struct addrinfo hints = hints_for(host), *res = NULL;
    int rc = getaddrinfo(host, "80", &hints, &res);

    if (rc != 0) {
        fprintf(stderr, "getaddrinfo %s: %s\n", host, gai_strerror(rc));
        exit(2);
    }
    freeaddrinfo(res);
}

static void lookup(int timeout_ms)
{
    nb_addr out[MAX_OUT];
    nb_error err;

    if (nb_resolve(host, "80", SOCK_STREAM, out, MAX_OUT, timeout_ms, 0,
                   &err) < 1)
        die_nb("nb_resolve", &err);
}

static void inline_lookup(void)
{
    lookup(0);
}

static void bounded_lookup(void)
{
    lookup(TIMEOUT_MS);
}

static void *gai_thread(void *arg)
{
    gai();
    return arg;
}

static void floor_lookup(void)
{
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, gai_thread, NULL);

    if (rc != 0) {
        errno = rc;
        die("pthread_create");
    }
    rc = pthread_join(thread, NULL);
    if (rc != 0) {
        errno = rc;
        die("pthread_join");
    }
}

typedef void (*lookup_fn)(void);

static const struct mode {
    const char *name;
    lookup_fn fn;
} modes[] = {
    {"gai", gai},
    {"inline", inline_lookup},
    {"bounded", bounded_lookup},
    {"floor", floor_lookup},
};
#define NMODES (int)(sizeof(modes) / sizeof(modes[0]))

static const struct mode *find_mode(const char *name)
{
    int i;

    for (i = 0; i < NMODES; i++)
        if (strcmp(modes[i].name, name) == 0)
            return &modes[i];
    fprintf(stderr, "unknown mode \"%s\" (gai, inline, bounded, floor)\n",
            name);
    exit(2);
}

/* ------------------------------------------------------------ wall time */

/* Runs one batch; stores the wall and CPU (user + system of the whole
 * process, helper threads included) microseconds per lookup. */
static void time_batch(const struct mode *m, int batch, double *wall_us,
                       double *cpu_us)
{
    int64_t cpu0 = cpu_ns(), wall0 = now_ns();
    int i;

    for (i = 0; i < batch; i++)
        m->fn();
    *wall_us = (double)(now_ns() - wall0) / 1000.0 / batch;
    *cpu_us = (double)(cpu_ns() - cpu0) / 1000.0 / batch;
}

static int index_of(const char *name)
{
    return (int)(find_mode(name) - modes);
}

static int wall(int batch, int rounds)
{
    static const char *const pairs[][2] = {
        {"bounded", "floor"},  /* the goal: <= 1.25 */
        {"bounded", "inline"}, /* what a deadline costs */
        {"floor", "inline"},   /* what a thread costs */
        {"inline", "gai"},     /* the library without a deadline */
    };
    double *wall_us[NMODES], *cpu_us[NMODES];
    int r, i;

    for (i = 0; i < NMODES; i++) {
        double ignored_wall, ignored_cpu;
        wall_us[i] = calloc((size_t)rounds, sizeof(*wall_us[i]));
        cpu_us[i] = calloc((size_t)rounds, sizeof(*cpu_us[i]));
        if (wall_us[i] == NULL || cpu_us[i] == NULL)
            die("calloc");
        /* Warm-up: caches, lazy binding, glibc's stack cache. */
        time_batch(&modes[i], batch, &ignored_wall, &ignored_cpu);
    }
    /* Each round runs every mode once, forwards on even rounds and
     * backwards on odd ones, so drifting load hits all modes alike. */
    for (r = 0; r < rounds; r++)
        for (i = 0; i < NMODES; i++) {
            int k = (r % 2 == 0) ? i : NMODES - 1 - i;
            time_batch(&modes[k], batch, &wall_us[k][r], &cpu_us[k][r]);
        }

    printf("| mode | wall µs/lookup, median | IQR | 10th percentile "
           "| min–max | CPU µs/lookup, median |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < NMODES; i++)
        print_mode_row(modes[i].name, wall_us[i], cpu_us[i], rounds);
    printf("\n| ratio | time | of medians | paired: median | 95%% CI | IQR "
           "| rounds ≤ 1 |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < (int)(sizeof(pairs) / sizeof(pairs[0])); i++) {
        int a = index_of(pairs[i][0]), b = index_of(pairs[i][1]);
        print_pair_row("wall", pairs[i][0], wall_us[a], pairs[i][1],
                       wall_us[b], rounds, 0);
        print_pair_row("CPU", pairs[i][0], cpu_us[a], pairs[i][1], cpu_us[b],
                       rounds, 0);
    }
    printf("\n%d rounds x %d lookups of \"%s\" per mode, after one warm-up "
           "batch each: %d lookups in all.\n",
           rounds, batch, host, (rounds + 1) * batch * NMODES);
    for (i = 0; i < NMODES; i++) {
        free(wall_us[i]);
        free(cpu_us[i]);
    }
    return 0;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr,
            "usage: resolve_bench wall BATCH ROUNDS [HOST]\n"
            "       resolve_bench run gai|inline|bounded|floor N [HOST]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "wall") == 0) {
        int batch = number(argv[2], 1, 1000000);
        int rounds = number(argv[3], 1, 1000000);
        if (argc == 5)
            host = argv[4];
        return wall(batch, rounds);
    }
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "run") == 0) {
        const struct mode *m = find_mode(argv[2]);
        int n = number(argv[3], 0, 100000000);
        int i;
        if (argc == 5)
            host = argv[4];
        for (i = 0; i < n; i++)
            m->fn();
        return 0;
    }
    return usage();
}
