/*
 * stats.c - what the benchmark programs share (stats.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

void die(const char *what)
{
    perror(what);
    exit(2);
}

void die_nb(const char *what, const nb_error *err)
{
    fprintf(stderr, "%s: %s\n", what, nb_error_message(err));
    exit(2);
}

int number(const char *s, int min, int max)
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

/* ------------------------------------------------------------ statistics */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* A sorted copy of v[0..n-1], malloc'ed. */
static double *sorted_copy(const double *v, int n)
{
    double *copy = malloc(sizeof(*copy) * (size_t)n);

    if (copy == NULL)
        die("malloc");
    memcpy(copy, v, sizeof(*copy) * (size_t)n);
    qsort(copy, (size_t)n, sizeof(*copy), compare_double);
    return copy;
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

double quantile(const double *v, int n, double q)
{
    double *copy = sorted_copy(v, n);
    double x = q == 0.5 ? median_of_sorted(copy, n)
                        : at(copy, n, (int)(q * n));

    free(copy);
    return x;
}

double median(const double *v, int n)
{
    return quantile(v, n, 0.5);
}

void summarize(const double *v, int n, struct summary *s)
{
    double *sorted = sorted_copy(v, n);
    double half = 0.98 * sqrt((double)n);  /* 1.96 / 2 * sqrt(n) */

    s->median = median_of_sorted(sorted, n);
    s->q1 = at(sorted, n, n / 4);
    s->q3 = at(sorted, n, (3 * n) / 4);
    s->p10 = at(sorted, n, n / 10);
    s->min = sorted[0];
    s->max = sorted[n - 1];
    s->ci_low = at(sorted, n, (int)floor(n / 2.0 - half));
    s->ci_high = at(sorted, n, (int)ceil(n / 2.0 + half) - 1);
    free(sorted);
}

double *paired_ratios(const double *a, const double *b, int n)
{
    double *ratio = malloc(sizeof(*ratio) * (size_t)n);
    int i;

    if (ratio == NULL)
        die("malloc");
    for (i = 0; i < n; i++)
        ratio[i] = a[i] / b[i];
    return ratio;
}

/* ------------------------------------------------------------ rows */

void print_mode_row(const char *name, const double *wall_us,
                    const double *cpu_us, int rounds)
{
    struct summary w;

    summarize(wall_us, rounds, &w);
    printf("| %s | %.2f | %.2f–%.2f | %.2f | %.2f–%.2f | %.2f |\n", name,
           w.median, w.q1, w.q3, w.p10, w.min, w.max, median(cpu_us, rounds));
}

void print_pair_row(const char *what, const char *a, const double *us_a,
                    const char *b, const double *us_b, int rounds,
                    int tenth)
{
    double *ratio = paired_ratios(us_a, us_b, rounds);
    struct summary r;
    int i, below = 0;

    for (i = 0; i < rounds; i++)
        below += ratio[i] <= 1.0;
    summarize(ratio, rounds, &r);
    printf("| %s / %s | %s | %.3f |", a, b, what,
           median(us_a, rounds) / median(us_b, rounds));
    if (tenth)
        printf(" %.3f |",
               quantile(us_a, rounds, 0.1) / quantile(us_b, rounds, 0.1));
    printf(" %.3f | %.3f–%.3f | %.3f–%.3f | %d/%d |\n", r.median, r.ci_low,
           r.ci_high, r.q1, r.q3, below, rounds);
    free(ratio);
}

/* ------------------------------------------------------------ target */

void set_target(struct target *t, const char *port)
{
    memset(t, 0, sizeof(*t));
    t->sin.sin_family = AF_INET;
    t->sin.sin_port = htons((uint16_t)number(port, 1, 65535));
    t->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(t->port, sizeof(t->port), "%d", number(port, 1, 65535));
}
