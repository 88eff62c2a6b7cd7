/*
 * netbasics.h - BSD sockets made easy to use correctly.
 *
 * Every function that creates a socket returns a plain file descriptor
 * (>= 0) or -1.  Every function takes `nb_error *err` last; it may be NULL.
 * On failure *err is filled (and errno set); on success *err is untouched.
 *
 * Conventions shared by every call (see netbasics(7)):
 *  - descriptors are close-on-exec; no signal disposition is ever changed;
 *    data is sent with MSG_NOSIGNAL, so a closed peer is EPIPE, not SIGPIPE;
 *  - EINTR is retried internally with the deadline recomputed from
 *    CLOCK_MONOTONIC; callers never see it;
 *  - timeout_ms <= 0 means no time limit, > 0 is one deadline for the whole
 *    call, name resolution included: with a deadline, a host that is not
 *    an IPv4/IPv6 literal is looked up on a helper thread, and the call
 *    stops waiting for it when the deadline passes (NB_ERR_TIMEOUT, op
 *    "resolve").  Numeric hosts never start a thread;
 *  - the only shared state is the accounting of those helper threads (at
 *    most 64 lookups at once per process; reset in a forked child); only a
 *    connector and an abandoned lookup outlive a call.  Every function
 *    except nb_listen_fds is safe to call from several threads at once.
 *
 * Functions whose result must be checked (a descriptor, a count, a status)
 * are declared NB_NODISCARD: ignoring it is a compiler warning.
 */
#ifndef NETBASICS_H
#define NETBASICS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NB_BUILDING_LIBRARY) && defined(__GNUC__)
#define NB_EXPORT __attribute__((visibility("default")))
#else
#define NB_EXPORT
#endif

/* The result must be used: a descriptor to close, a count or a status to
 * check.  GCC and Clang warn when it is ignored (-Wunused-result, on by
 * default); other compilers see nothing. */
#if defined(__GNUC__) || defined(__clang__)
#define NB_NODISCARD __attribute__((warn_unused_result))
#else
#define NB_NODISCARD
#endif

#define NB_VERSION_MAJOR 0
#define NB_VERSION_MINOR 2
#define NB_VERSION_PATCH 0
#define NB_VERSION_STRING "0.2.0"

/* The version of the library actually loaded, which may be newer than the
 * NB_VERSION_STRING the program was compiled against. */
NB_EXPORT const char *nb_version(void);

/* ------------------------------------------------------------------ errors */

#define NB_ADDRSTRLEN 128   /* fits "[v6%scope]:65535" and a unix socket path */
#define NB_ERRMSG_SIZE 256

enum nb_code {
    NB_OK = 0,
    NB_ERR_ARG,       /* invalid argument: NULL/empty where required, bad port,
                         bad flags, bad fd */
    NB_ERR_RESOLVE,   /* getaddrinfo failed; gai_error holds its code */
    NB_ERR_SYSTEM,    /* a system call failed; sys_errno holds errno */
    NB_ERR_TIMEOUT,   /* the deadline passed; sys_errno is ETIMEDOUT */
    NB_ERR_CLOSED     /* the peer closed or reset the connection during
                         send/recv (sys_errno EPIPE or ECONNRESET) */
};

typedef struct nb_error {
    enum nb_code code;
    int sys_errno;               /* errno for NB_ERR_SYSTEM / NB_ERR_TIMEOUT /
                                    NB_ERR_CLOSED, else 0 */
    int gai_error;               /* getaddrinfo() result for NB_ERR_RESOLVE,
                                    else 0 */
    const char *op;              /* static string naming the failed step:
                                    "resolve", "socket", "setsockopt", "bind",
                                    "listen", "accept", "connect", "send",
                                    "recv", "sendto", "recvfrom", ... */
    char addr[NB_ADDRSTRLEN];    /* what the step was about: "[::1]:9999",
                                    "example.com:80", "/run/x.sock"; "" when
                                    none */
    char message[NB_ERRMSG_SIZE];/* one line for people, e.g.
                                    "connect 127.0.0.1:1: Connection refused" */
    int attempts;                /* attempts started by a connect/bind loop;
                                    0 when none */
    size_t transferred;          /* bytes moved by nb_send_all/nb_recv_all
                                    before failing */
} nb_error;

/* Reset to NB_OK: codes and counters 0, op and the strings "". */
NB_EXPORT void nb_error_clear(nb_error *err);
/* The message; never NULL, "" when err is NULL or holds NB_OK. */
NB_EXPORT const char *nb_error_message(const nb_error *err);
/* "NB_OK", "NB_ERR_RESOLVE", ...; "NB_ERR_UNKNOWN" for other values. */
NB_EXPORT const char *nb_code_name(enum nb_code code);
/* 1 when the same call may succeed later: NB_ERR_TIMEOUT; NB_ERR_SYSTEM with
 * EAGAIN, EWOULDBLOCK, EINTR, EMFILE, ENFILE, ENOBUFS, ENOMEM or
 * ECONNABORTED; NB_ERR_RESOLVE with EAI_AGAIN.  0 otherwise and for NULL. */
NB_EXPORT int nb_error_is_temporary(const nb_error *err);

/* ------------------------------------------------------------------- flags */

#define NB_NONBLOCK   0x01  /* the returned descriptor is O_NONBLOCK */
#define NB_REUSEPORT  0x02  /* listen/bind: SO_REUSEPORT (several processes
                               share a port) */
#define NB_IPV4_ONLY  0x04  /* use IPv4 addresses only */
#define NB_IPV6_ONLY  0x08  /* use IPv6 addresses only (and IPV6_V6ONLY on a
                               wildcard listener) */
#define NB_NODELAY    0x10  /* TCP: TCP_NODELAY on the connected/accepted
                               socket */

/* --------------------------------------------------------------- addresses */

typedef struct nb_addr {
    socklen_t len;                 /* 0 when empty */
    struct sockaddr_storage ss;
} nb_addr;

/* getsockname(2) / getpeername(2) into *out; 0 or -1. */
NB_EXPORT NB_NODISCARD int nb_local_addr(int fd, nb_addr *out, nb_error *err);
NB_EXPORT NB_NODISCARD int nb_peer_addr(int fd, nb_addr *out, nb_error *err);
/* The port in host order; -1 when a is NULL or not a valid IPv4/IPv6 address. */
NB_EXPORT int nb_addr_port(const nb_addr *a);
/* "127.0.0.1:9999", "[::1]:9999", "[fe80::1%eth0]:80", "/run/x.sock",
 * "@abstract"; IPv4-mapped IPv6 prints as IPv4; empty prints ""; an
 * unnamed unix socket "(unnamed)"; another family "(family N)"; a length
 * that does not fit the family "(invalid address)".  Returns buf.
 * NB_ADDRSTRLEN always suffices; a smaller buffer gets a truncated,
 * NUL-terminated string (nothing is written when size is 0). */
NB_EXPORT char *nb_addr_format(const nb_addr *a, char *buf, size_t size);
/* Splits "example.com:80", "[::1]:80", ":80" (empty host).  A host holding
 * ':' must be bracketed; the port may not be empty; a part too long for its
 * buffer is rejected.  0, or -1 with NB_ERR_ARG and the buffers untouched. */
NB_EXPORT NB_NODISCARD int nb_split_hostport(const char *s, char *host,
                                             size_t hostsize, char *port,
                                             size_t portsize, nb_error *err);

/* -------------------------------------------------------------- resolution */

/* Resolves a peer's host and port (the rules of nb_tcp_connect: host not
 * NULL, "" or "*"; port 0..65535 or a service name) for socktype
 * SOCK_STREAM or SOCK_DGRAM into up to max addresses in out[0..], in the
 * order getaddrinfo gives them (RFC 6724 preference), each distinct address
 * once: the list nb_tcp_connect would try.  With timeout_ms > 0 a name is
 * looked up on a helper thread and the call returns at the deadline
 * (NB_ERR_TIMEOUT, op "resolve").  Flags: NB_IPV4_ONLY, NB_IPV6_ONLY.
 * Returns how many addresses were stored (>= 1), or -1. */
NB_EXPORT NB_NODISCARD int nb_resolve(const char *host, const char *port,
                                      int socktype, nb_addr *out, int max,
                                      int timeout_ms, int flags,
                                      nb_error *err);

/* --------------------------------------------------------------------- TCP */

/* A listening TCP socket.  host NULL, "" or "*" is every interface: one
 * dual-stack socket on :: (IPV6_V6ONLY off), or 0.0.0.0 where the kernel has
 * no IPv6.  An explicit "::" or "0.0.0.0" is that family only.  A named host
 * binds the first of its addresses that binds.  port is 0..65535 or a
 * service name; "0" picks an ephemeral port (see nb_local_addr).  Sets
 * SO_REUSEADDR; backlog <= 0 means SOMAXCONN.  Flags: all five (NB_NODELAY
 * is inherited by accepted sockets). */
NB_EXPORT NB_NODISCARD int nb_tcp_listen(const char *host, const char *port,
                                         int backlog, int flags,
                                         nb_error *err);
/* accept4(2) with close-on-exec; fills *peer when non-NULL.  Retries EINTR,
 * ECONNABORTED, EPROTO and the network errors Linux passes on from a dead
 * queued connection (ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH,
 * ENONET); a non-blocking listener with nothing pending gives
 * NB_ERR_SYSTEM/EAGAIN; EMFILE/ENFILE are reported (temporary).  Flags:
 * NB_NONBLOCK, NB_NODELAY.  Works on Unix stream listeners too (NB_NODELAY,
 * a TCP option, is then not applied). */
NB_EXPORT NB_NODISCARD int nb_tcp_accept(int listen_fd, nb_addr *peer,
                                         int flags, nb_error *err);
/* A connected TCP socket.  host may not be NULL, "" or "*".  Every distinct
 * resolved address is tried once, racing the families as RFC 8305 (Happy
 * Eyeballs v2) describes: the next attempt starts 250 ms after the previous
 * one unless that failed sooner; the first to connect wins.  The deadline
 * (timeout_ms > 0) covers name resolution and all attempts.  When all fail,
 * the error is the most relevant attempt's and the message says how many
 * addresses were tried.  A numeric host costs exactly socket + connect
 * (plus poll when a deadline must be waited for).
 * Flags: NB_NONBLOCK, NB_IPV4_ONLY, NB_IPV6_ONLY, NB_NODELAY. */
NB_EXPORT NB_NODISCARD int nb_tcp_connect(const char *host, const char *port,
                                          int timeout_ms, int flags,
                                          nb_error *err);

/* Keepalive on a TCP socket (connected or listening: accepted sockets
 * inherit it): idle_s > 0 turns SO_KEEPALIVE on with idle_s seconds of
 * silence before the first probe, interval_s between probes (each
 * 1..32767) and count unanswered probes (1..127) before the connection is
 * dropped; idle_s == 0 turns it off (the others are then ignored).  Out of
 * range or negative is NB_ERR_ARG.  0 or -1. */
NB_EXPORT NB_NODISCARD int nb_tcp_keepalive(int fd, int idle_s, int interval_s,
                                            int count, nb_error *err);
/* TCP_USER_TIMEOUT (RFC 5482): how long sent data may stay unacknowledged
 * before the connection is dropped; 0 restores the system default,
 * negative is NB_ERR_ARG.  0 or -1. */
NB_EXPORT NB_NODISCARD int nb_tcp_user_timeout(int fd, int timeout_ms,
                                               nb_error *err);

/* ------------------------------------------------ connector (event loops) */

/* nb_tcp_connect for programs with their own event loop (epoll, poll,
 * libuv's uv_poll, libevent): the same arguments, rules, racing, deadline
 * and errors, without ever blocking.
 *
 *   nb_connector *c = nb_connector_start(host, port, timeout_ms, flags, &err);
 *   register nb_connector_fd(c) for readability (level-triggered);
 *   when it is readable: nb_connector_step(c, &fd, &err):
 *     1: connected, fd is the caller's;  0: in progress;  -1: failed;
 *   nb_connector_free(c) when done, or to cancel at any time.
 *
 * The descriptor becomes readable whenever a step has work (an attempt
 * finished, the lookup finished, the attempt delay or the deadline
 * passed): the caller needs no timer.  A name is always resolved on a
 * helper thread.  nb_connector_start fails (NULL) only for invalid
 * arguments or for what the connector itself needs; everything
 * nb_tcp_connect would report is reported by nb_connector_step.  One thread
 * uses a connector at a time; it does not survive fork(2). */
typedef struct nb_connector nb_connector;

NB_EXPORT NB_NODISCARD nb_connector *nb_connector_start(const char *host,
                                                        const char *port,
                                                        int timeout_ms,
                                                        int flags,
                                                        nb_error *err);
/* The descriptor to wait on (the same for the connector's whole life,
 * close-on-exec, owned by the connector); -1 for NULL. */
NB_EXPORT int nb_connector_fd(const nb_connector *c);
/* Never blocks.  1 with *fd connected (blocking unless NB_NONBLOCK), 0 in
 * progress, -1 failed (*err as nb_tcp_connect's).  *fd is -1 unless 1 is
 * returned.  After 1 or -1, further calls are NB_ERR_ARG. */
NB_EXPORT NB_NODISCARD int nb_connector_step(nb_connector *c, int *fd,
                                             nb_error *err);
/* Closes what the connector still owns (never a socket handed out) and
 * abandons a lookup in flight.  NULL is a no-op. */
NB_EXPORT void nb_connector_free(nb_connector *c);

/* --------------------------------------------------------------------- UDP */

/* A bound UDP socket; host/port as nb_tcp_listen.  SO_REUSEADDR and
 * SO_REUSEPORT only with NB_REUSEPORT.  Flags: NB_NONBLOCK, NB_REUSEPORT,
 * NB_IPV4_ONLY, NB_IPV6_ONLY. */
NB_EXPORT NB_NODISCARD int nb_udp_bind(const char *host, const char *port,
                                       int flags, nb_error *err);
/* A UDP socket connect(2)ed to the first usable address of host:port.
 * Flags: NB_NONBLOCK, NB_IPV4_ONLY, NB_IPV6_ONLY. */
NB_EXPORT NB_NODISCARD int nb_udp_connect(const char *host, const char *port,
                                          int flags, nb_error *err);
/* One datagram to *to (or to the connected peer when to is NULL).  Returns
 * len or -1. */
NB_EXPORT NB_NODISCARD ssize_t nb_udp_sendto(int fd, const void *buf,
                                             size_t len, const nb_addr *to,
                                             nb_error *err);
/* One datagram, waiting at most timeout_ms (NB_ERR_TIMEOUT after); fills
 * *from when non-NULL.  Returns its length.  A datagram longer than len is
 * not silently cut: the first len bytes are stored and the call fails with
 * NB_ERR_SYSTEM/EMSGSIZE (transferred = len). */
NB_EXPORT NB_NODISCARD ssize_t nb_udp_recvfrom(int fd, void *buf, size_t len,
                                               nb_addr *from, int timeout_ms,
                                               nb_error *err);

/* -------------------------------------------------------------- stream I/O */

/* Sends all len bytes; returns len or -1 (err->transferred says how many
 * went).  A closed or reset peer is NB_ERR_CLOSED.  A datagram socket is
 * NB_ERR_ARG (use nb_udp_sendto). */
NB_EXPORT NB_NODISCARD ssize_t nb_send_all(int fd, const void *buf, size_t len,
                                           int timeout_ms, nb_error *err);
/* Reads until len bytes or end of stream; returns the count (< len only at
 * end of stream) or -1 (err->transferred says how many arrived).  A
 * datagram socket is NB_ERR_ARG (use nb_udp_recvfrom). */
NB_EXPORT NB_NODISCARD ssize_t nb_recv_all(int fd, void *buf, size_t len,
                                           int timeout_ms, nb_error *err);
/* What one read gives, waiting at most timeout_ms for data: 1..len bytes,
 * 0 at end of stream, or -1 (NB_ERR_TIMEOUT at the deadline, NB_ERR_CLOSED
 * when reset).  The call for echo servers and line protocols.  len 0, a
 * NULL buf or a datagram socket is NB_ERR_ARG. */
NB_EXPORT NB_NODISCARD ssize_t nb_recv(int fd, void *buf, size_t len,
                                       int timeout_ms, nb_error *err);

/* ------------------------------------------- unix sockets, socket activation */

/* path "/run/x.sock", or "@name" for Linux's abstract namespace.  A path that
 * does not fit sun_path is NB_ERR_ARG.  A stale socket file (a connect(2) to
 * it is refused) is replaced; a live one or any other file is NB_ERR_SYSTEM/
 * EADDRINUSE (the live server sees that probe as one connection closed at
 * once).  The only flag is NB_NONBLOCK. */
NB_EXPORT NB_NODISCARD int nb_unix_listen(const char *path, int backlog,
                                          int flags, nb_error *err);
NB_EXPORT NB_NODISCARD int nb_unix_connect(const char *path, int timeout_ms,
                                           int flags, nb_error *err);
NB_EXPORT NB_NODISCARD int nb_unix_bind(const char *path, int flags,
                                        nb_error *err);
/* Descriptors passed by socket activation (LISTEN_PID, LISTEN_FDS, from fd 3):
 * stores up to max of them in fds, marks them close-on-exec, unsets
 * LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES and returns how many were passed.
 * 0 when none were, or LISTEN_PID names another process (the variables are
 * then left alone).  Not thread-safe, like setenv(3): call it at start-up. */
NB_EXPORT NB_NODISCARD int nb_listen_fds(int *fds, int max, nb_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NETBASICS_H */
