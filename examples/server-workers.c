/*
 * server-workers.c - time-server -w N: N worker processes share the port.
 *
 * Each worker owns one set: the shared sockets (Unix, or those passed by
 * socket activation) plus its own SO_REUSEPORT TCP (and UDP) socket, and
 * serves it as a single server would (server-loop.c).  The parent keeps
 * every socket open, so a worker that dies loses no queued connection: its
 * replacement takes over the same listener.  The parent restarts dead
 * workers, and stops them all on SIGINT or SIGTERM.
 *
 * Each worker has its own UDP guard: the kernel sends one client's
 * datagrams (one address and port) to one worker, but a source that
 * changes ports can reach them all, so the UDP limits hold per worker.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "time-server.h"

struct worker {
    pid_t pid;               /* 0: waiting to be (re)started */
    struct socket_set set;
    int64_t started_ms;
    int64_t restart_at_ms;
};

struct pool {
    struct worker *w;
    int n;
    int shared_n;            /* sockets at the start of every set */
    int activated;           /* the sockets came from socket activation */
    const struct options *opt;
};

/* A worker that dies this soon after starting is restarted only after the
 * same delay, so that a crash loop cannot eat the machine. */
#define CRASH_LOOP_MS 1000

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_other_sets(const struct pool *p, int keep)
{
    int i, j;

    for (i = 0; i < p->n; i++)
        if (i != keep)
            for (j = p->shared_n; j < p->w[i].set.n; j++)
                close(p->w[i].set.pfd[j].fd);
}

static void start_worker(struct pool *p, int index)
{
    struct worker *w = &p->w[index];
    pid_t pid;

    (void)fflush(stderr);  /* best effort: nothing buffered is printed twice */
    pid = fork();
    if (pid < 0) {
        perror(PROGRAM ": fork");
        w->restart_at_ms = monotonic_ms() + CRASH_LOOP_MS;
        return;
    }
    if (pid == 0) {
        struct server s;
        sigset_t none;
        (void)signal(SIGCHLD, SIG_DFL);  /* cannot fail for SIGCHLD */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close_other_sets(p, index);
        server_init(&s, &w->set, p->opt);
        serve_forever(&s);
        exit(0);
    }
    w->pid = pid;
    w->started_ms = monotonic_ms();
}

static void note_exit(struct worker *w, int status)
{
    int64_t now = monotonic_ms();

    if (WIFSIGNALED(status))
        fprintf(stderr, PROGRAM ": worker %ld killed by signal %d; restarting\n",
                (long)w->pid, WTERMSIG(status));
    else
        fprintf(stderr, PROGRAM ": worker %ld exited with status %d; restarting\n",
                (long)w->pid, WEXITSTATUS(status));
    w->pid = 0;
    w->restart_at_ms = now - w->started_ms < CRASH_LOOP_MS ? now + CRASH_LOOP_MS
                                                            : now;
}

/* Reaps dead workers, starts those whose time has come, and returns the
 * milliseconds until the next pending start (-1: none pending). */
static int tend_workers(struct pool *p)
{
    int64_t now, next = -1;
    pid_t pid;
    int status, i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (i = 0; i < p->n; i++)
            if (p->w[i].pid == pid)
                note_exit(&p->w[i], status);
    now = monotonic_ms();
    for (i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0 && w->restart_at_ms <= now)
            start_worker(p, i);
        if (w->pid == 0 && (next < 0 || w->restart_at_ms - now < next))
            next = w->restart_at_ms - now;
    }
    return (int)next;
}

static void stop_workers(const struct pool *p)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (p->w[i].pid > 0)
            kill(p->w[i].pid, SIGTERM);
    for (i = 0; i < p->n; i++) {
        pid_t r;
        if (p->w[i].pid <= 0)
            continue;
        do
            r = waitpid(p->w[i].pid, NULL, 0);
        while (r < 0 && errno == EINTR);
    }
}

static void open_pool_sockets(struct pool *p)
{
    struct socket_set shared;
    const char *port = p->opt->port;
    char bound[8];
    int activated = open_shared_sockets(&shared, p->opt);
    int i;

    p->activated = activated;
    p->shared_n = shared.n;
    for (i = 0; i < p->n; i++) {
        p->w[i].set = shared;
        if (activated)
            continue;  /* everyone serves the passed sockets */
        snprintf(bound, sizeof(bound), "%d",
                 open_port_sockets(&p->w[i].set, p->opt, port, 1));
        port = bound;  /* "-p 0": the others join the port the first got */
    }
}

static void close_pool_sockets(const struct pool *p)
{
    int i, j;

    for (i = 0; i < p->n; i++)
        for (j = i == 0 ? 0 : p->shared_n; j < p->w[i].set.n; j++)
            close(p->w[i].set.pfd[j].fd);
}

int run_workers(const struct options *opt)
{
    struct pool p;
    sigset_t wait_mask;
    int i;

    memset(&p, 0, sizeof(p));
    p.opt = opt;
    p.n = opt->workers;
    p.w = calloc((size_t)p.n, sizeof(*p.w));
    if (p.w == NULL) {
        perror(PROGRAM);
        return 1;
    }
    open_pool_sockets(&p);
    announce(&p.w[0].set, p.n);
    catch_signals(&wait_mask, 1);
    for (i = 0; i < p.n; i++)
        start_worker(&p, i);
    while (!stop_requested()) {
        int next = tend_workers(&p);
        struct timespec ts = { next / 1000, (next % 1000) * 1000000L };
        ppoll(NULL, 0, next < 0 ? NULL : &ts, &wait_mask);
    }
    stop_workers(&p);
    close_pool_sockets(&p);
    remove_socket_file(opt, p.activated);
    free(p.w);
    return 0;
}
