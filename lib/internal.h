/*
 * internal.h - helpers shared by the library's files; nothing here is
 * exported (the library is built with -fvisibility=hidden and a version
 * script, lib/libnetbasics.sym).
 *
 * The files form layers; each calls only files below it, never one above
 * or beside it round a loop (tests/layering.sh checks this):
 *
 *   connect.c connector.c    nb_tcp_connect, nb_connector_*: the drivers
 *   race.c                   RFC 8305 rules, no waiting
 *   tcp.c udp.c unix.c io.c  the other public calls
 *   resolve.c                host:port -> addresses; nb_resolve
 *   lookup.c                 getaddrinfo on helper threads
 *   socket.c                 creating and binding sockets
 *   addr.c                   addresses, printed; errors about descriptors
 *   args.c                   argument checks
 *   deadline.c error.c       the clock; nb_error, at the bottom
 */
#ifndef NB_INTERNAL_H
#define NB_INTERNAL_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netbasics.h"

/* Flags accepted by each call; anything else is NB_ERR_ARG. */
#define NB__FAMILY_FLAGS (NB_IPV4_ONLY | NB_IPV6_ONLY)
#define NB__ALL_FLAGS \
    (NB_NONBLOCK | NB_REUSEPORT | NB__FAMILY_FLAGS | NB_NODELAY)
#define NB__CONNECT_FLAGS (NB_NONBLOCK | NB__FAMILY_FLAGS | NB_NODELAY)

#if defined(__GNUC__)
#define NB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NB__PRINTF(f, a)
#endif

#define NB__NS_PER_MS INT64_C(1000000)

/* ------------------------------------------------------------ error.c */

/* The constructors of nb_error.  Each fills *err (when non-NULL) through
 * one writer, with code, op, addr and the message "op addr: detail", sets
 * errno, and returns -1 so that callers can write `return nb__fail...`.
 *
 * nb__fail is the general one: sys_errno goes into the object, errno_value
 * into errno (they differ for a bad descriptor: NB_ERR_ARG keeps
 * sys_errno 0 while errno says EBADF).  The detail is formatted from fmt,
 * or, when fmt is NULL, is the text of sys_errno (no printf: the path of
 * routine errors).  User strings travel as %s arguments, never as fmt. */
int nb__fail(nb_error *err, enum nb_code code, const char *op,
             const char *addr, int sys_errno, int errno_value,
             const char *fmt, ...) NB__PRINTF(7, 8);
/* NB_ERR_ARG, errno EINVAL. */
int nb__fail_arg(nb_error *err, const char *op, const char *addr,
                 const char *fmt, ...) NB__PRINTF(4, 5);
/* NB_ERR_SYSTEM with e: "op addr: reason". */
int nb__fail_sys(nb_error *err, const char *op, const char *addr, int e);
/* As nb__fail_sys, with the message "op addr: what: reason". */
int nb__fail_sys_what(nb_error *err, const char *op, const char *addr, int e,
                      const char *what);
/* NB_ERR_TIMEOUT, ETIMEDOUT: "op addr: timed out after N ms what" (what
 * may be "": "while resolving", "(28 of 256 bytes received)"). */
int nb__fail_timeout(nb_error *err, const char *op, const char *addr,
                     int timeout_ms, const char *what);
/* NB_ERR_RESOLVE with getaddrinfo's gai and errno e; the detail is
 * gai_strerror's unless detail is not NULL. */
int nb__fail_resolve(nb_error *err, const char *addr, int gai, int e,
                     const char *detail);
/* Appends " (N addresses tried)" to the message when attempts > 1 and
 * stores attempts. */
void nb__note_attempts(nb_error *err, int attempts);
/* strerror_r, whichever flavour the C library has. */
const char *nb__errno_text(int e, char *buf, size_t size);
/* close(2) that keeps errno, for cleanup after an error was recorded. */
void nb__close_quietly(int fd);

/* --------------------------------------------------------- deadline.c */

/* A point on CLOCK_MONOTONIC; `forever` when timeout_ms <= 0.  The clock is
 * only read when there is a limit, so untimed calls pay nothing.
 * timeout_ms is kept for messages ("timed out after 300 ms"). */
typedef struct nb__deadline {
    int forever;
    int timeout_ms;
    int64_t end_ns;
} nb__deadline;

void nb__deadline_start(nb__deadline *d, int timeout_ms);
int64_t nb__now_ns(void);
/* Milliseconds left for poll(2): -1 forever, 0 when passed, else rounded
 * up so that a wait never ends just before the deadline. */
int nb__deadline_poll_ms(const nb__deadline *d);
int nb__deadline_passed(const nb__deadline *d);

/* Waits for `events` on fd until the deadline, retrying EINTR.  Returns 1
 * when ready (revents may hold POLLERR/POLLHUP: the next I/O call reports
 * them), 0 when the deadline passed, -1 with errno on failure (EBADF for
 * POLLNVAL). */
int nb__wait_fd(int fd, short events, const nb__deadline *d);

/* ------------------------------------------------------------- addr.c */

/* Formats an address into buf; as nb_addr_format, for sockaddr + length. */
void nb__format_sockaddr(const struct sockaddr *addr, socklen_t len,
                         char *buf, size_t size);
/* Writes "host:port" (host bracketed when it holds ':') into buf. */
void nb__hostport(char *buf, size_t size, const char *host, const char *port);
/* Names a descriptor for a message: its peer ("127.0.0.1:13") when it has
 * one, which says more to a person than "fd 5"; else "fd 5".  Keeps errno. */
void nb__describe_fd(int fd, char *buf, size_t size);
/* The error for a failed system call on a descriptor the caller passed in:
 * EBADF/ENOTSOCK are the caller's mistake (NB_ERR_ARG, errno kept),
 * EPIPE/ECONNRESET are NB_ERR_CLOSED, the rest NB_ERR_SYSTEM. */
int nb__fail_fd(nb_error *err, const char *op, int fd, int e);

/* ------------------------------------------------------------- args.c */

/* Unknown bits, or IPV4|IPV6 together, are NB_ERR_ARG naming the flags
 * `func` accepts.  0 or -1. */
int nb__check_flags(int flags, int allowed, const char *func, const char *op,
                    nb_error *err);
/* fd < 0 is NB_ERR_ARG.  0 or -1. */
int nb__check_fd(int fd, const char *op, nb_error *err);
/* buf NULL with len > 0, or len > SSIZE_MAX, is NB_ERR_ARG.  0 or -1. */
int nb__check_buffer(const void *buf, size_t len, const char *op,
                     nb_error *err);
/* 1 when host means "every interface" for a listener: NULL, "" or "*". */
int nb__is_wildcard(const char *host);
/* A peer's host: NULL, "", "*" (a wildcard names no peer) and names
 * longer than NB__HOST_MAX - 1 are NB_ERR_ARG.  0 or -1. */
#define NB__HOST_MAX 1025  /* NI_MAXHOST: the longest host accepted */
int nb__check_peer_host(const char *host, const char *op, nb_error *err);

/* ----------------------------------------------------------- socket.c */

/* socket(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK when nonblock). */
int nb__socket(int family, int socktype, int nonblock);
/* The usual int option; 0 or -1 with errno. */
int nb__setsockopt_int(int fd, int level, int name, int value);
/* FIONBIO: one system call, unlike fcntl's F_GETFL + F_SETFL. */
int nb__set_nonblock(int fd, int on);

/* A resolved address list: getaddrinfo's, or one address made without it
 * when host and port are numeric (no allocation, no name service). */
typedef struct nb__addrlist {
    struct addrinfo *head;
    struct addrinfo *gai;        /* to freeaddrinfo, NULL for the fast path */
    struct addrinfo one;
    struct sockaddr_storage one_ss;
    const char *host;            /* as given ("*" for a wildcard), brackets */
    const char *port;            /* removed; for messages only */
    char unbracketed[64];        /* "[v6%scope]" without its brackets */
} nb__addrlist;

/* Tries nb__bind_one on each address of list in turn, then calls `after`
 * (listen, say) on the bound socket when it is not NULL.  A wildcard that
 * fails on IPv6 because the kernel lacks it falls back to 0.0.0.0.  When
 * all fail, the first failure is reported with the number tried. */
typedef int (*nb__after_bind)(int fd, void *ctx, nb_error *err);
int nb__bind_list(const nb__addrlist *list, int wildcard, int reuseaddr,
                  int flags, nb__after_bind after, void *ctx, nb_error *err);

/* ----------------------------------------------------------- lookup.c */

/* What getaddrinfo is asked: host (not owned), a numeric service, hints. */
typedef struct nb__query {
    const char *host;
    char service[12];        /* "65535", with room for any int */
    struct addrinfo hints;
} nb__query;

/* What it answered. */
typedef struct nb__answer {
    int rc;                  /* getaddrinfo's result */
    int saved_errno;         /* errno after it, for EAI_SYSTEM */
    struct addrinfo *res;    /* the caller's to freeaddrinfo */
} nb__answer;

/* At most this many lookups run on helper threads at once in a process. */
#define NB__MAX_HELPERS 64

/* One lookup on a helper thread, shared by the thread and the caller
 * (reference counted: whichever lets go last frees it). */
typedef struct nb__lookup nb__lookup;

/* A caller waiting for a free helper: its descriptor is written (an
 * eventfd counter += 1) when one may be free.  Kept in a list inside
 * lookup.c while queued. */
typedef struct nb__waiter {
    int wake_fd;
    int queued;
    unsigned generation;     /* of the process that queued it (fork) */
    struct nb__waiter *prev, *next;
} nb__waiter;

/* Starts q on a helper thread that writes wake_fd when getaddrinfo has
 * returned.  Returns the lookup; or NULL with *error 0 when all helpers
 * are busy (w is then queued and wake_fd written when one is freed: call
 * again); or NULL with *error an errno and *op the failed step
 * ("malloc", "pthread_create"). */
nb__lookup *nb__lookup_start(const nb__query *q, int wake_fd, nb__waiter *w,
                             int *error, const char **op);
/* 1 with *answer when getaddrinfo has returned (the lookup is then
 * released: do not use it again), 0 while it runs. */
int nb__lookup_collect(nb__lookup *l, nb__answer *answer);
/* Stops waiting: wake_fd is never written again, and the lookup frees
 * itself (and whatever getaddrinfo returned) when getaddrinfo returns. */
void nb__lookup_abandon(nb__lookup *l);
/* Leaves the queue of callers waiting for a helper (no-op if not in it). */
void nb__waiter_leave(nb__waiter *w);
/* q on a helper thread, waited for until d: 0 with *answer; 1 when the
 * deadline passed first (the lookup is abandoned); -1 with errno and *op
 * when the lookup could not start. */
int nb__lookup_wait(const nb__query *q, const nb__deadline *d,
                    nb__answer *answer, const char **op);

/* ---------------------------------------------------------- resolve.c */

/* Checks a port string: decimal 0..65535 sets *numeric to it; a service
 * name (letters, digits, '-', '_', '.', '+', at least one letter) sets
 * *numeric to -1.  Anything else is NB_ERR_ARG.  0 or -1. */
int nb__parse_port(const char *port, int *numeric, const char *op,
                   const char *host, nb_error *err);

enum nb__purpose { NB__FOR_CONNECT, NB__FOR_BIND };

/* The first half of a resolution: checks host and port, looks up a
 * service name, and fills list when the host needs no resolver (a
 * wildcard for NB__FOR_BIND, an IPv4/IPv6 literal).  Returns 0 when list
 * is complete; 1 when getaddrinfo must answer *q (then *inline_only is 1
 * when the host is numeric: whatever it still needs is done in the
 * calling thread); -1 with *err filled. */
int nb__resolve_prepare(const char *host, const char *port, int socktype,
                        enum nb__purpose purpose, int flags, const char *op,
                        nb__addrlist *list, nb__query *q, int *inline_only,
                        nb_error *err);
/* The second half: takes getaddrinfo's answer into list.  0, or -1 with
 * NB_ERR_RESOLVE. */
int nb__resolve_finish(nb__addrlist *list, nb__answer *answer, nb_error *err);
/* Both halves.  With d NULL or without a limit, getaddrinfo runs in the
 * calling thread; with one, a name is looked up on a helper thread and the
 * call stops waiting at the deadline (NB_ERR_TIMEOUT, op "resolve").  On
 * failure fills *err and returns -1; on success the list holds at least
 * one address. */
int nb__resolve(const char *host, const char *port, int socktype,
                enum nb__purpose purpose, int flags, const char *op,
                const nb__deadline *d, nb__addrlist *list, nb_error *err);
void nb__addrlist_free(nb__addrlist *list);
/* "host:port" of the request, for messages.  Only failures format it:
 * snprintf costs more than the whole numeric fast path. */
void nb__addrlist_name(const nb__addrlist *list, char *buf, size_t size);
int nb__addrlist_count(const nb__addrlist *list);
/* The distinct addresses of list, in order, into out[0..max-1]; returns
 * how many (getaddrinfo can return one address twice). */
int nb__addrlist_unique(const nb__addrlist *list, const struct addrinfo **out,
                        int max);

/* ------------------------------------------------------------- race.c */

/* RFC 8305 section 5: the recommended Connection Attempt Delay. */
#define NB__ATTEMPT_DELAY_MS 250

/* One connection attempt of a race. */
typedef struct nb__attempt {
    int fd;              /* in flight or connected; -1 otherwise */
    int error;           /* errno of a failed attempt, else 0 */
    const char *op;      /* "socket" or "connect" when it failed */
} nb__attempt;

/* The racing rules, without any waiting: which attempt starts when, which
 * one won, which error to report.  The drivers (connect.c with poll,
 * connector.c with epoll) wait on the attempts in flight and until
 * nb__race_next_start, and tell the race what happened. */
typedef struct nb__race {
    const struct addrinfo *const *addrs;  /* in the order to try */
    nb__attempt *attempts;                /* one per address */
    int n;
    int started;            /* attempts begun, in order */
    int in_flight;
    int delay_ms;
    int may_block;          /* one address, no deadline, blocking socket */
    int64_t next_start_ns;  /* when attempt `started` may begin */
} nb__race;

/* Orders addresses as RFC 8305 section 4: families interleaved, starting
 * with the family of the first.  Writes n pointers into out. */
void nb__interleave_families(const struct addrinfo *const *in,
                             const struct addrinfo **out, int n);
void nb__race_init(nb__race *r, const struct addrinfo *const *addrs,
                   nb__attempt *attempts, int n, int delay_ms);
/* Starts the attempts that are due: the first at once, each next one when
 * the previous failed or delay_ms after it started.  Returns the index of
 * an attempt whose connect(2) finished at once (the winner), else -1.
 * *first_new is set to the first attempt started by this call (== started
 * when none), so that a driver can watch the new sockets. */
int nb__race_start_due(nb__race *r, int *first_new);
/* Attempt i's socket reported an event: reads its result (SO_ERROR).
 * Returns 1 when it connected (the winner), 0 when it failed (recorded;
 * its socket closed), -1 when it is still in progress. */
int nb__race_settle(nb__race *r, int i);
/* When the next attempt is due, on CLOCK_MONOTONIC; INT64_MAX when none
 * is left to start. */
int64_t nb__race_next_start(const nb__race *r);
/* 1 when every attempt has failed. */
int nb__race_lost(const nb__race *r);
/* Attempt i won: closes the others and puts its socket in the mode flags
 * ask for.  Returns the socket, or -1 with errno and *op, *what naming the
 * step that failed (the socket is then closed). */
int nb__race_take(nb__race *r, int i, int flags, const char **op,
                  const char **what);
/* The race ended without a winner: closes what is in flight and fills
 * *err: a timeout (timed_out) or the most relevant failure, with the
 * number of attempts.  Returns -1. */
int nb__race_fail(nb__race *r, int timed_out, const char *hostport,
                  int timeout_ms, nb_error *err);
/* Closes every attempt still in flight. */
void nb__race_close(nb__race *r);

/* ---------------------------------------------------------- connect.c */

/* The blocking driver over a hand-made address list, in the given order,
 * with `delay_ms` between attempt starts (for tests; nb_tcp_connect orders
 * and deduplicates its list first).  hostport names the target in
 * messages. */
int nb__connect_race(const struct addrinfo *const *addrs, int n,
                     const char *hostport, int timeout_ms, int delay_ms,
                     int flags, nb_error *err);

#endif /* NB_INTERNAL_H */
