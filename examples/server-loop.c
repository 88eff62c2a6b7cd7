/*
 * server-loop.c - how one time-server process serves its sockets.
 *
 * For each TCP (or Unix) client: send the current time and close.  For
 * each UDP datagram the guard lets through (udpguard.h): one reply.  One
 * ppoll() waits for all the sockets, for the end of an accept pause and
 * for the next summary of what the guard dropped, and is the only place
 * where SIGINT and SIGTERM are let in.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "time-server.h"

/* Connections taken per wake-up, so that one busy socket cannot starve the
 * others. */
#define ACCEPT_BATCH 64
/* A reply is a few dozen bytes and always fits an empty send buffer; the
 * deadline only bounds the impossible case, so that no client can hold the
 * server. */
#define SEND_TIMEOUT_MS 10
/* Back-off while out of descriptors (EMFILE/ENFILE): first and longest. */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

/* ------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* SIGCHLD only needs to interrupt the parent's ppoll; waitpid does the rest. */
static void on_child_signal(int sig)
{
    (void)sig;
}

int stop_requested(void)
{
    return stop_signal != 0;
}

/* The signals that stop the server are blocked except inside ppoll, so
 * that one arriving between two checks of stop_signal cannot be lost. */
void catch_signals(sigset_t *during_wait, int with_sigchld)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (with_sigchld) {
        sa.sa_handler = on_child_signal;
        sa.sa_flags = SA_NOCLDSTOP;
        sigaction(SIGCHLD, &sa, NULL);
        sigaddset(&block, SIGCHLD);
    }
    sigprocmask(SIG_BLOCK, &block, during_wait);
    sigdelset(during_wait, SIGINT);
    sigdelset(during_wait, SIGTERM);
    if (with_sigchld)
        sigdelset(during_wait, SIGCHLD);
}

/* ---------------------------------------------------------------- time */

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ clients */

static void log_client(const struct server *s, const nb_addr *peer,
                       const char *what)
{
    if (!s->opt->quiet) {
        char text[NB_ADDRSTRLEN];
        fprintf(stderr, "%s %s\n", nb_addr_format(peer, text, sizeof(text)),
                what);
    }
}

static void pause_accepting(struct server *s, const nb_error *err)
{
    if (s->paused)
        return;  /* another listener already paused this round */
    s->backoff_ms = s->backoff_ms == 0 ? BACKOFF_MIN_MS
                                       : s->backoff_ms * 2 > BACKOFF_MAX_MS
                                             ? BACKOFF_MAX_MS
                                             : s->backoff_ms * 2;
    clock_gettime(CLOCK_MONOTONIC, &s->resume);
    s->resume.tv_nsec += (long)s->backoff_ms * 1000000L;
    s->resume.tv_sec += s->resume.tv_nsec / 1000000000L;
    s->resume.tv_nsec %= 1000000000L;
    s->paused = 1;
    fprintf(stderr, PROGRAM ": %s; pausing accept for %d ms\n",
            nb_error_message(err), s->backoff_ms);
}

/* Accepts what is pending and answers each client.  A failure concerns
 * one client only and never stops the server. */
static void serve_stream(struct server *s, int listen_fd)
{
    char reply[TP_REPLY_MAX];
    struct timespec now;
    nb_error err;
    int i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        nb_addr peer;
        size_t len;
        int fd = nb_tcp_accept(listen_fd, &peer, NB_NONBLOCK, &err);
        if (fd < 0) {
            if (err.code == NB_ERR_SYSTEM &&
                (err.sys_errno == EAGAIN || err.sys_errno == EWOULDBLOCK))
                return;
            if (nb_error_is_temporary(&err))
                pause_accepting(s, &err);
            else
                fprintf(stderr, PROGRAM ": %s\n", nb_error_message(&err));
            return;
        }
        s->backoff_ms = 0;
        log_client(s, &peer, "connected");
        clock_gettime(CLOCK_REALTIME, &now);
        len = tp_make_reply(s->opt->proto, &now, reply, sizeof(reply));
        if (nb_send_all(fd, reply, len, SEND_TIMEOUT_MS, &err) < 0)
            log_client(s, &peer, nb_error_message(&err));
        close(fd);
    }
}

/* One datagram in, at most one reply out.  Any datagram asks (RFC 867
 * and 868), junk and empty ones included, unless the guard says no; a
 * failure is logged and forgotten. */
static void serve_datagram(struct server *s, int fd)
{
    char in[512], reply[TP_REPLY_MAX];
    struct timespec now;
    nb_addr peer;
    nb_error err;
    ssize_t n;
    size_t len;
    int is_reply;

    /* poll said readable; the short deadline only guards against a
     * datagram that vanished in between */
    n = nb_udp_recvfrom(fd, in, sizeof(in), &peer, 1, &err);
    if (n < 0 && err.code == NB_ERR_SYSTEM && err.sys_errno == EMSGSIZE)
        n = (ssize_t)sizeof(in);  /* longer: its first bytes are enough */
    if (n < 0) {
        if (err.code != NB_ERR_TIMEOUT)
            fprintf(stderr, PROGRAM ": %s\n", nb_error_message(&err));
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    is_reply = tp_looks_like_reply(in, (size_t)n, now.tv_sec);
    if (ug_check(&s->guard, &peer, is_reply, monotonic_ns()) != UG_ANSWER)
        return;  /* counted: the next summary line tells */
    log_client(s, &peer, "datagram");
    len = tp_make_reply(s->opt->proto, &now, reply, sizeof(reply));
    if (nb_udp_sendto(fd, reply, len, &peer, &err) < 0)
        log_client(s, &peer, nb_error_message(&err));
}

/* ------------------------------------------------------------ the loop */

/* The UDP summary line, when it is due (or, at the end, when anything is
 * left to tell).  With -q it is not printed, but the counts start again,
 * so that it is not due forever. */
static void report_guard(struct server *s, int final)
{
    int64_t due = ug_summary_due(&s->guard), now = monotonic_ns();
    char line[512];

    if (due < 0 || (!final && now < due))
        return;
    if (ug_summary(&s->guard, now, line, sizeof(line)) && !s->opt->quiet)
        fprintf(stderr, PROGRAM ": %s\n", line);
}

/* Milliseconds from now to t (ns), rounded up; 0 when t has come. */
static int64_t ms_until(int64_t t, int64_t now)
{
    return t <= now ? 0 : (t - now + 999999) / 1000000;
}

/* Milliseconds until ppoll must return by itself (0: now, -1: never):
 * the end of an accept pause, or the next UDP summary.  Both are at most
 * seconds away. */
static int wait_ms(struct server *s)
{
    int64_t now = monotonic_ns(), due = ug_summary_due(&s->guard);
    int64_t ms = due < 0 ? -1 : ms_until(due, now);

    if (s->paused) {
        int64_t resume = (int64_t)s->resume.tv_sec * 1000000000 +
                         s->resume.tv_nsec;
        int64_t left = ms_until(resume, now);
        if (left == 0)
            s->paused = 0;  /* its length is kept: the next failure doubles it */
        else if (ms < 0 || left < ms)
            ms = left;
    }
    return (int)ms;
}

void server_init(struct server *s, const struct socket_set *set,
                 const struct options *opt)
{
    uint64_t key[2];

    memset(s, 0, sizeof(*s));
    s->set = *set;
    s->opt = opt;
    /* A secret key, so that no one can pick addresses that crowd one
     * corner of the guard's table.  Without getrandom (older kernels),
     * the clocks and the pid are less secret but still unknown from
     * outside. */
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
        key[0] = (uint64_t)monotonic_ns() ^ (uint64_t)time(NULL) << 32;
        key[1] = (uint64_t)getpid() * UINT64_C(0x9e3779b97f4a7c15);
    }
    ug_init(&s->guard, &opt->udp_limits, key, monotonic_ns());
}

void serve_forever(struct server *s)
{
    struct socket_set *set = &s->set;
    sigset_t wait_mask;
    int i;

    catch_signals(&wait_mask, 0);
    while (!stop_signal) {
        int ms = wait_ms(s);
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        int n;

        for (i = 0; i < set->n; i++)
            set->pfd[i].events = set->is_stream[i] && s->paused ? 0 : POLLIN;
        n = ppoll(set->pfd, (nfds_t)set->n, ms < 0 ? NULL : &ts, &wait_mask);
        if (n < 0 && errno != EINTR) {
            perror(PROGRAM ": ppoll");
            exit(1);
        }
        for (i = 0; n > 0 && i < set->n; i++) {
            if (set->pfd[i].revents == 0)
                continue;
            if (set->is_stream[i])
                serve_stream(s, set->pfd[i].fd);
            else
                serve_datagram(s, set->pfd[i].fd);
        }
        report_guard(s, 0);
    }
    report_guard(s, 1);
    for (i = 0; i < set->n; i++)
        close(set->pfd[i].fd);
}
