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
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netbasics.h"

#define TIMEOUT_MS 1000
#define MAX_OUT 8

static const char *host = "localhost";

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void die_nb(const char *what, const nb_error *err)
{
    fprintf(stderr, "%s: %s\n", what, nb_error_message(err));
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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

/* ------------------------------------------------------------ statistics */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void sort_doubles(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), compare_double);
}

/* Element k of the sorted v[0..n-1], k clamped to the array. */
static double at(const double *v, int n, int k)
{
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static double median_of_sorted(const double *v, int n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The q-quantile (q = 0.5: the median) of v[0..n-1], left untouched. */
static double quantile(const double *v, int n, double q)
{
    double *copy = malloc(sizeof(*copy) * (size_t)n);
    double x;

    if (copy == NULL)
        die("malloc");
    memcpy(copy, v, sizeof(*copy) * (size_t)n);
    sort_doubles(copy, n);
    x = q == 0.5 ? median_of_sorted(copy, n) : at(copy, n, (int)(q * n));
    free(copy);
    return x;
}

static double median(const double *v, int n)
{
    return quantile(v, n, 0.5);
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

/* Mode a against mode b, round by round: the ratio of the two batches of
 * the same round, which ran next to each other in time. */
static void print_pair(const char *what, const char *a, const double *us_a,
                       const char *b, const double *us_b, int rounds)
{
    double *ratio = malloc(sizeof(*ratio) * (size_t)rounds);
    double half = 0.98 * sqrt((double)rounds);  /* 1.96 / 2 * sqrt(n) */
    int r, below = 0;

    if (ratio == NULL)
        die("malloc");
    for (r = 0; r < rounds; r++) {
        ratio[r] = us_a[r] / us_b[r];
        below += ratio[r] <= 1.0;
    }
    sort_doubles(ratio, rounds);
    /* A distribution-free 95 % confidence interval for the median of the
     * paired ratios: the order statistics n/2 -+ 0.98 sqrt(n). */
    printf("| %s / %s | %s | %.3f | %.3f | %.3f–%.3f | %.3f–%.3f | %d/%d |\n",
           a, b, what, median(us_a, rounds) / median(us_b, rounds),
           median_of_sorted(ratio, rounds),
           at(ratio, rounds, (int)floor(rounds / 2.0 - half)),
           at(ratio, rounds, (int)ceil(rounds / 2.0 + half) - 1),
           at(ratio, rounds, rounds / 4), at(ratio, rounds, (3 * rounds) / 4),
           below, rounds);
    free(ratio);
}

static void print_mode(const char *name, const double *wall_us,
                       const double *cpu_us, int rounds)
{
    double *v = malloc(sizeof(*v) * (size_t)rounds);

    if (v == NULL)
        die("malloc");
    memcpy(v, wall_us, sizeof(*v) * (size_t)rounds);
    sort_doubles(v, rounds);
    printf("| %s | %.2f | %.2f–%.2f | %.2f | %.2f–%.2f | %.2f |\n", name,
           median_of_sorted(v, rounds), at(v, rounds, rounds / 4),
           at(v, rounds, (3 * rounds) / 4), at(v, rounds, rounds / 10), v[0],
           v[rounds - 1], median(cpu_us, rounds));
    free(v);
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
        print_mode(modes[i].name, wall_us[i], cpu_us[i], rounds);
    printf("\n| ratio | time | of medians | paired: median | 95%% CI | IQR "
           "| rounds ≤ 1 |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < (int)(sizeof(pairs) / sizeof(pairs[0])); i++) {
        int a = index_of(pairs[i][0]), b = index_of(pairs[i][1]);
        print_pair("wall", pairs[i][0], wall_us[a], pairs[i][1], wall_us[b],
                   rounds);
        print_pair("CPU", pairs[i][0], cpu_us[a], pairs[i][1], cpu_us[b],
                   rounds);
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

static int number(const char *s, int min, int max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "bad number \"%s\" (%d..%d)\n", s, min, max);
        exit(2);
    }
    return (int)v;
}

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
