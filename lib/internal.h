/*
 * internal.h - helpers shared by the library's files; nothing here is
 * exported (the library is built with -fvisibility=hidden).
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

#if defined(__GNUC__)
#define NB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NB__PRINTF(f, a)
#endif

/* ------------------------------------------------------------ error.c */

/* Fills *err (when non-NULL) with code, op, addr and a message
 * "op addr: detail", and sets errno: EINVAL for NB_ERR_ARG, else sys_errno
 * when it is not 0 (errno is left alone otherwise).  Returns -1 so callers
 * can write `return nb__fail(...)`.  The detail is formatted from fmt;
 * user strings only ever travel as %s arguments, never as the format. */
int nb__fail(nb_error *err, enum nb_code code, const char *op,
             const char *addr, int sys_errno, const char *fmt, ...)
    NB__PRINTF(6, 7);

/* Shorthands for the common cases. */
int nb__fail_arg(nb_error *err, const char *op, const char *addr,
                 const char *fmt, ...) NB__PRINTF(4, 5);
int nb__fail_sys(nb_error *err, const char *op, const char *addr, int e);
/* NB_ERR_SYSTEM with e and the message "op: reason", without an address
 * and without printf: for errors that are routine in a hot loop (EAGAIN
 * from accept on a non-blocking listener). */
int nb__fail_quick(nb_error *err, const char *op, int e);
/* As nb__fail_sys, with the message "op addr: what: reason". */
int nb__fail_sys_what(nb_error *err, const char *op, const char *addr, int e,
                      const char *what);
int nb__fail_timeout(nb_error *err, const char *op, const char *addr);
int nb__fail_resolve(nb_error *err, const char *addr, int gai, int e);

/* The error for a failed system call on a descriptor the caller passed in:
 * EBADF/ENOTSOCK are the caller's mistake (NB_ERR_ARG, errno kept),
 * EPIPE/ECONNRESET are NB_ERR_CLOSED, the rest NB_ERR_SYSTEM. */
int nb__fail_fd(nb_error *err, const char *op, int fd, int e);

/* Names a descriptor for a message: its peer ("127.0.0.1:13") when it has
 * one, which says more to a person than "fd 5"; else "fd 5".  Keeps errno. */
void nb__describe_fd(int fd, char *buf, size_t size);

/* Appends " (N addresses tried)" to the message when attempts > 1 and
 * stores attempts. */
void nb__note_attempts(nb_error *err, int attempts);

/* Writes "host:port" (host bracketed when it holds ':') into buf. */
void nb__hostport(char *buf, size_t size, const char *host, const char *port);

/* close(2) that keeps errno, for cleanup after an error was recorded. */
void nb__close_quietly(int fd);

/* --------------------------------------------------------- deadline.c */

/* A point on CLOCK_MONOTONIC; `forever` when timeout_ms <= 0.  The clock is
 * only read when there is a limit, so untimed calls pay nothing. */
typedef struct nb__deadline {
    int forever;
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

/* ---------------------------------------------------------- resolve.c */

/* Validates the flags a call accepts: unknown bits and IPV4|IPV6 together
 * are NB_ERR_ARG.  Returns 0 or -1. */
int nb__check_flags(int flags, int allowed, const char *op, nb_error *err);

/* Checks a port string: decimal 0..65535 sets *numeric to it; a service
 * name (letters, digits, '-', '_', '.', '+', at least one letter) sets
 * *numeric to -1.  Anything else is NB_ERR_ARG.  0 or -1. */
int nb__parse_port(const char *port, int *numeric, const char *op,
                   const char *host, nb_error *err);

/* 1 when host means "every interface" for a listener: NULL, "" or "*". */
int nb__is_wildcard(const char *host);

/* A resolved address list: getaddrinfo's, or one address made without it
 * when host and port are numeric (no allocation, no name service). */
#define NB__HOST_MAX 1025  /* NI_MAXHOST: the longest host accepted */
typedef struct nb__addrlist {
    struct addrinfo *head;
    struct addrinfo *gai;        /* to freeaddrinfo, NULL for the fast path */
    struct addrinfo one;
    struct sockaddr_storage one_ss;
    const char *host;            /* as given ("*" for a wildcard), brackets */
    const char *port;            /* removed; for messages only */
    char unbracketed[NB__HOST_MAX];
} nb__addrlist;

enum nb__purpose { NB__FOR_CONNECT, NB__FOR_BIND };

/* Resolves host:port for socktype.  For NB__FOR_BIND a wildcard host gives
 * the dual-stack "::" (see nb__is_dual_stack) or the family the flags ask
 * for.  On failure fills *err (op "resolve" or argument errors with op)
 * and returns -1; on success the list holds at least one address. */
int nb__resolve(const char *host, const char *port, int socktype,
                enum nb__purpose purpose, int flags, const char *op,
                nb__addrlist *list, nb_error *err);
void nb__addrlist_free(nb__addrlist *list);
/* "host:port" of the request, for messages.  Only failures format it:
 * snprintf costs more than the whole numeric fast path. */
void nb__addrlist_name(const nb__addrlist *list, char *buf, size_t size);
int nb__addrlist_count(const nb__addrlist *list);

/* ----------------------------------------------------------- socket.c */

/* socket(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK when nonblock). */
int nb__socket(int family, int socktype, int nonblock);
/* The usual int option; 0 or -1 with errno. */
int nb__setsockopt_int(int fd, int level, int name, int value);
/* FIONBIO: one system call, unlike fcntl's F_GETFL + F_SETFL. */
int nb__set_nonblock(int fd, int on);

/* Creates, configures and binds one socket for a bind loop: IPV6_V6ONLY is
 * set explicitly on every IPv6 socket (off only for the dual-stack wildcard
 * and IPv4-mapped addresses), SO_REUSEADDR when reuseaddr, SO_REUSEPORT
 * with NB_REUSEPORT.  On failure fills *err naming the step and returns -1
 * with nothing left open. */
int nb__bind_one(const struct addrinfo *ai, int dual_stack, int reuseaddr,
                 int flags, nb_error *err);

/* Tries nb__bind_one on each address of list in turn, then calls `after`
 * (listen, say) on the bound socket when it is not NULL.  A wildcard that
 * fails on IPv6 because the kernel lacks it falls back to 0.0.0.0.  When
 * all fail, the first failure is reported with the number tried. */
typedef int (*nb__after_bind)(int fd, void *ctx, nb_error *err);
int nb__bind_list(const nb__addrlist *list, int wildcard, int reuseaddr,
                  int flags, nb__after_bind after, void *ctx, nb_error *err);

/* ------------------------------------------------------------ connect.c */

/* Races connections to addrs[0..n-1] in the given order, as RFC 8305
 * describes, with `delay_ms` between attempt starts.  Exposed for tests
 * (with a hand-made list) through nb__connect_race; nb_tcp_connect orders
 * the list first.  hostport names the target in messages. */
int nb__connect_race(const struct addrinfo *const *addrs, int n,
                     const char *hostport, int timeout_ms, int delay_ms,
                     int flags, nb_error *err);

/* Orders addresses as RFC 8305 section 4: families interleaved, starting
 * with the family of the first.  Writes n pointers into out. */
void nb__interleave_families(const struct addrinfo *head,
                             const struct addrinfo **out, int n);

/* -------------------------------------------------------------- addr.c */

/* Formats an address into buf; as nb_addr_format, for sockaddr + length. */
void nb__format_sockaddr(const struct sockaddr *addr, socklen_t len,
                         char *buf, size_t size);

#endif /* NB_INTERNAL_H */
