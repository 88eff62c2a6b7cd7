/*
 * server-loop.c - how one time-server process serves its sockets.
 *
 * For each TCP (or Unix) client: send the current time and close.  For
 * each UDP datagram: one reply.  One ppoll() waits for all the sockets
 * and for the end of an accept pause, and is the only place where SIGINT
 * and SIGTERM are let in.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One datagram in, one reply out.  Junk and empty datagrams are answered
 * like any other; a failure is logged and forgotten. */
static void serve_datagram(const struct server *s, int fd)
{
    char in[512], reply[TP_REPLY_MAX];
    struct timespec now;
    nb_addr peer;
    nb_error err;
    size_t len;

    /* poll said readable; the short deadline only guards against a
     * datagram that vanished in between */
    if (nb_udp_recvfrom(fd, in, sizeof(in), &peer, 1, &err) < 0 &&
        !(err.code == NB_ERR_SYSTEM && err.sys_errno == EMSGSIZE)) {
        if (err.code != NB_ERR_TIMEOUT)
            fprintf(stderr, PROGRAM ": %s\n", nb_error_message(&err));
        return;
    }
    log_client(s, &peer, "datagram");
    clock_gettime(CLOCK_REALTIME, &now);
    len = tp_make_reply(s->opt->proto, &now, reply, sizeof(reply));
    if (nb_udp_sendto(fd, reply, len, &peer, &err) < 0)
        log_client(s, &peer, nb_error_message(&err));
}

/* ------------------------------------------------------------ the loop */

/* Milliseconds from now to t (ns), rounded up; 0 when t has come. */
static int64_t ms_until(int64_t t, int64_t now)
{
    return t <= now ? 0 : (t - now + 999999) / 1000000;
}

/* Milliseconds until ppoll must return by itself (0: now, -1: never):
 * the end of an accept pause, at most a second away. */
static int wait_ms(struct server *s)
{
    int64_t ms = -1;

    if (s->paused) {
        int64_t resume = (int64_t)s->resume.tv_sec * 1000000000 +
                         s->resume.tv_nsec;
        int64_t left = ms_until(resume, monotonic_ns());
        if (left == 0)
            s->paused = 0;  /* its length is kept: the next failure doubles it */
        else
            ms = left;
    }
    return (int)ms;
}

void server_init(struct server *s, const struct socket_set *set,
                 const struct options *opt)
{
    memset(s, 0, sizeof(*s));
    s->set = *set;
    s->opt = opt;
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
    }
    for (i = 0; i < set->n; i++)
        close(set->pfd[i].fd);
}
