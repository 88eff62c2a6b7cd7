/*
 * socket.c - creating, configuring and binding sockets; the bind loop
 * shared by TCP listeners and UDP sockets.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

int nb__socket(int family, int socktype, int nonblock)
{
    int type = socktype | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);

    return socket(family, type, 0);
}

int nb__setsockopt_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value));
}

int nb__set_nonblock(int fd, int on)
{
    return ioctl(fd, FIONBIO, &on);
}

static int is_v4_mapped(const struct addrinfo *ai)
{
    struct sockaddr_in6 sin6;

    if (ai->ai_family != AF_INET6 || ai->ai_addrlen < sizeof(sin6))
        return 0;
    memcpy(&sin6, ai->ai_addr, sizeof(sin6));
    return IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr);
}

/* Options applied before bind(2); on failure errno is set and *what names
 * the option. */
static int configure_for_bind(int fd, const struct addrinfo *ai, int dual_stack,
                              int reuseaddr, int flags, const char **what)
{
    if (reuseaddr || (flags & NB_REUSEPORT)) {
        *what = "SO_REUSEADDR";
        if (nb__setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
            return -1;
    }
    if (flags & NB_REUSEPORT) {
        *what = "SO_REUSEPORT";
        if (nb__setsockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0)
            return -1;
    }
    if (ai->ai_family == AF_INET6) {
        /* Never trust the net.ipv6.bindv6only sysctl: say what we mean. */
        *what = "IPV6_V6ONLY";
        if (nb__setsockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY,
                               !(dual_stack || is_v4_mapped(ai))) != 0)
            return -1;
    }
    if ((flags & NB_NODELAY) && ai->ai_socktype == SOCK_STREAM) {
        *what = "TCP_NODELAY";
        if (nb__setsockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0)
            return -1;
    }
    return 0;
}

/* The step of bind_one that failed. */
enum bind_step { STEP_NONE, STEP_SOCKET, STEP_OPTION, STEP_BIND, STEP_AFTER };

/* Creates, configures and binds one socket for a bind loop: IPV6_V6ONLY is
 * set explicitly on every IPv6 socket (off only for the dual-stack wildcard
 * and IPv4-mapped addresses), SO_REUSEADDR when reuseaddr, SO_REUSEPORT
 * with NB_REUSEPORT.  On failure fills *err naming the step, stores the
 * step in *failed and returns -1 with nothing left open. */
static int bind_one(const struct addrinfo *ai, int dual_stack, int reuseaddr,
                    int flags, enum bind_step *failed, nb_error *err)
{
    char where[NB_ADDRSTRLEN];
    const char *what = "";
    int fd;

    nb__format_sockaddr(ai->ai_addr, ai->ai_addrlen, where, sizeof(where));
    fd = nb__socket(ai->ai_family, ai->ai_socktype, flags & NB_NONBLOCK);
    if (fd < 0) {
        *failed = STEP_SOCKET;
        return nb__fail_sys(err, "socket", where, errno);
    }
    if (configure_for_bind(fd, ai, dual_stack, reuseaddr, flags, &what) != 0) {
        *failed = STEP_OPTION;
        nb__fail_sys_what(err, "setsockopt", where, errno, what);
        nb__close_quietly(fd);
        return -1;
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        *failed = STEP_BIND;
        nb__fail_sys(err, "bind", where, errno);
        nb__close_quietly(fd);
        return -1;
    }
    *failed = STEP_NONE;
    return fd;
}

/* The kernel has no IPv6 (or it is disabled): the dual-stack wildcard then
 * becomes 0.0.0.0 rather than a failure.  Decided by the step that failed
 * and its errno, never by the text of a message. */
static int lacks_ipv6(enum bind_step failed, int e)
{
    if (failed == STEP_SOCKET)
        return e == EAFNOSUPPORT || e == EPROTONOSUPPORT;
    return failed == STEP_BIND && e == EADDRNOTAVAIL;
}

static void ipv4_wildcard_like(const struct addrinfo *v6, struct addrinfo *ai,
                               struct sockaddr_in *sin)
{
    struct sockaddr_in6 sin6;

    memcpy(&sin6, v6->ai_addr, sizeof(sin6));
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = sin6.sin6_port;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    *ai = *v6;
    ai->ai_family = AF_INET;
    ai->ai_addr = (struct sockaddr *)sin;
    ai->ai_addrlen = sizeof(*sin);
    ai->ai_next = NULL;
}

/* One attempt: bind, then `after` (listen, say).  0 with *fd, or -1
 * with *failed naming the step. */
static int try_bind(const struct addrinfo *ai, int dual_stack, int reuseaddr,
                    int flags, nb__after_bind after, void *ctx, int *fd,
                    enum bind_step *failed, nb_error *err)
{
    *fd = bind_one(ai, dual_stack, reuseaddr, flags, failed, err);
    if (*fd < 0)
        return -1;
    if (after != NULL && after(*fd, ctx, err) != 0) {
        *failed = STEP_AFTER;
        nb__close_quietly(*fd);
        *fd = -1;
        return -1;
    }
    return 0;
}

int nb__bind_list(const nb__addrlist *list, int wildcard, int reuseaddr,
                  int flags, nb__after_bind after, void *ctx, nb_error *err)
{
    nb_error first, later;
    const struct addrinfo *ai;
    enum bind_step failed;
    int attempts = 0;
    int fd = -1;

    for (ai = list->head; ai != NULL; ai = ai->ai_next) {
        int dual = wildcard && ai->ai_family == AF_INET6 &&
                   !(flags & NB_IPV6_ONLY);
        /* cppcheck-suppress uninitvar ; false positive: try_bind fills it */
        nb_error *slot = attempts == 0 ? &first : &later;

        attempts++;
        if (try_bind(ai, dual, reuseaddr, flags, after, ctx, &fd, &failed,
                     slot) == 0)
            return fd;
        if (dual && lacks_ipv6(failed, slot->sys_errno)) {
            struct addrinfo v4;
            struct sockaddr_in sin;
            ipv4_wildcard_like(ai, &v4, &sin);
            attempts++;
            if (try_bind(&v4, 0, reuseaddr, flags, after, ctx, &fd, &failed,
                         slot) == 0)
                return fd;
        }
    }
    nb__note_attempts(&first, attempts);
    if (err != NULL)
        *err = first;
    errno = first.sys_errno != 0 ? first.sys_errno : EINVAL;
    return -1;
}
