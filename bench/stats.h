/*
 * stats.h - what the benchmark programs (bench/connect_bench.c,
 * connector_bench.c, resolve_bench.c) share: the clocks they time batches
 * with, the statistics of their rounds and the Markdown rows that show
 * them, and the handling of their arguments and failures.  Each program
 * keeps its own modes and tables.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <netinet/in.h>
#include <stdint.h>
#include <time.h>

#include "netbasics.h"

/* perror(what), or what and the error's message; then exit 2. */
_Noreturn void die(const char *what);
_Noreturn void die_nb(const char *what, const nb_error *err);

/* s as a decimal number from min to max; exits 2 when it is not one. */
int number(const char *s, int min, int max);

/* Inline: connect_bench's hand-written timed modes read the clock for
 * their deadline, and a call would add to the instructions measured. */
static inline int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* User + system time of the process, all its threads. */
static inline int64_t cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* The q-quantile (q = 0.5: the median) of v[0..n-1], left untouched: the
 * element at q * n of the sorted values. */
double quantile(const double *v, int n, double q);
double median(const double *v, int n);

/* v[0..n-1] at a glance (n >= 1); v is left untouched. */
struct summary {
    double median;
    double q1, q3;           /* the interquartile range: elements n/4, 3n/4 */
    double p10;              /* the 10th percentile: element n/10 */
    double min, max;
    /* A distribution-free 95 % confidence interval for the median: the
     * order statistics n/2 -+ 0.98 sqrt(n). */
    double ci_low, ci_high;
};
void summarize(const double *v, int n, struct summary *s);

/* a[i] / b[i] for the n rounds, malloc'ed: the paired ratios of two modes
 * whose batches of one round ran next to each other in time. */
double *paired_ratios(const double *a, const double *b, int n);

/* "| NAME | wall median | IQR | 10th percentile | min–max | CPU median |":
 * the row of one mode, microseconds per operation over the rounds. */
void print_mode_row(const char *name, const double *wall_us,
                    const double *cpu_us, int rounds);

/* "| A / B | WHAT | ratio of medians | [ratio of 10th percentiles |]
 * paired: median | 95 % CI | IQR | rounds A <= B |": mode a against mode
 * b, the column of 10th percentiles when tenth is true. */
void print_pair_row(const char *what, const char *a, const double *us_a,
                    const char *b, const double *us_b, int rounds,
                    int tenth);

/* 127.0.0.1:PORT, both as a sockaddr (the hand-written modes) and as the
 * port string a library user has (the library's). */
struct target {
    struct sockaddr_in sin;
    char port[8];
};
void set_target(struct target *t, const char *port);

#endif
