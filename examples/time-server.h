/*
 * time-server.h - what the parts of time-server share.
 *
 *   time-server.c     the command line and main()
 *   server-sockets.c  opening the sockets: TCP, UDP, Unix, socket activation
 *   server-loop.c     serving them: one ppoll() loop, signals, EMFILE back-off
 *   server-workers.c  -w N: worker processes sharing the port
 *   udpguard.c        which UDP datagrams are answered (loops, reflection)
 *   siphash.c         the keyed hash of udpguard.c's table
 *   timeproto.c       the daytime and time protocols (shared with the client)
 */
#ifndef TIME_SERVER_H
#define TIME_SERVER_H

#include <poll.h>
#include <signal.h>
#include <time.h>

#include "netbasics.h"
#include "timeproto.h"
#include "udpguard.h"

#define PROGRAM "time-server"
#define MAX_SOCKETS 16

struct options {
    const char *host;
    const char *port;
    const char *unix_path;
    int family_flags;
    int udp;
    int workers;
    int quiet;
    enum tp_protocol proto;
    struct ug_limits udp_limits;  /* -r BURST/RATE, -R RATE */
};

/* The sockets one serving process polls. */
struct socket_set {
    struct pollfd pfd[MAX_SOCKETS];
    int is_stream[MAX_SOCKETS];
    int n;
};

/* One serving process: the sockets, and the state of serving them. */
struct server {
    struct socket_set set;
    const struct options *opt;
    int paused;              /* accepting is paused until `resume` */
    int backoff_ms;          /* the last pause; 0 after an accept works */
    struct timespec resume;  /* when accepting resumes */
    struct udpguard guard;   /* this process's UDP limits and counts */
};

/* server-sockets.c */

/* Sockets every process serves: activated ones, or the Unix listener.
 * Returns 1 when activation supplied the sockets (no TCP/UDP of our own). */
int open_shared_sockets(struct socket_set *set, const struct options *opt);
/* The TCP listener (and UDP socket with -u) on host:port, added to set.
 * Returns the port bound, so that -p 0 gives every socket the same one. */
int open_port_sockets(struct socket_set *set, const struct options *opt,
                      const char *port, int reuseport);
/* "time-server: listening on ADDRESS (stream)", one line per socket. */
void announce(const struct socket_set *set, int workers);
/* Removes the socket file of -U at a clean exit. */
void remove_socket_file(const struct options *opt, int activated);

/* server-loop.c */

/* SIGINT and SIGTERM (and SIGCHLD when with_sigchld) are caught and
 * blocked except while waiting with the mask stored in *during_wait. */
void catch_signals(sigset_t *during_wait, int with_sigchld);
/* 1 once SIGINT or SIGTERM came. */
int stop_requested(void);
/* A server for the sockets of set, with its UDP guard ready. */
void server_init(struct server *s, const struct socket_set *set,
                 const struct options *opt);
/* Serves until SIGINT or SIGTERM, then closes the sockets. */
void serve_forever(struct server *s);

/* server-workers.c */

/* -w N: opens the sockets, runs N workers until SIGINT or SIGTERM, and
 * returns the exit status. */
int run_workers(const struct options *opt);

#endif
