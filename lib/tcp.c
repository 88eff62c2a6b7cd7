/*
 * tcp.c - TCP listeners and accept.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "internal.h"

#define LISTEN_FLAGS NB__ALL_FLAGS
#define ACCEPT_FLAGS (NB_NONBLOCK | NB_NODELAY)

static int start_listening(int fd, void *ctx, nb_error *err)
{
    int backlog = *(const int *)ctx;

    if (listen(fd, backlog) == 0)
        return 0;
    {
        nb_addr local;
        char where[NB_ADDRSTRLEN] = "";
        int e = errno;
        if (nb_local_addr(fd, &local, NULL) == 0)
            nb_addr_format(&local, where, sizeof(where));
        return nb__fail_sys(err, "listen", where, e);
    }
}

int nb_tcp_listen(const char *host, const char *port, int backlog, int flags,
                  nb_error *err)
{
    nb__addrlist list;
    int fd;

    if (nb__check_flags(flags, LISTEN_FLAGS, "nb_tcp_listen", "listen",
                        err) != 0)
        return -1;
    if (nb__resolve(host, port, SOCK_STREAM, NB__FOR_BIND, flags, "listen",
                    NULL, &list, err) != 0)
        return -1;
    if (backlog <= 0)
        backlog = SOMAXCONN;
    fd = nb__bind_list(&list, nb__is_wildcard(host), 1, flags, start_listening,
                       &backlog, err);
    nb__addrlist_free(&list);
    return fd;
}

/* Errors accept(2) returns for a connection that died in the queue, or (on
 * Linux) network errors already pending on the new socket: the listener is
 * fine, so try the next connection. */
static int is_dead_connection(int e)
{
    switch (e) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENONET:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENETUNREACH:
        return 1;
    default:
        return 0;
    }
}

/* accept4(2) until a connection or a real error.  *family is the peer's
 * address family. */
static int accept_retrying(int listen_fd, nb_addr *peer, int flags,
                           int *family)
{
    struct sockaddr_storage ss;
    struct sockaddr_storage *out;
    int type = SOCK_CLOEXEC | ((flags & NB_NONBLOCK) ? SOCK_NONBLOCK : 0);

    /* accept4 writes the family of every address it returns; setting it
     * first tells the static analyzers, which cannot know that */
    ss.ss_family = AF_UNSPEC;
    out = peer != NULL ? &peer->ss : &ss;
    for (;;) {
        socklen_t len = sizeof(*out);
        int fd = accept4(listen_fd, (struct sockaddr *)out, &len, type);
        if (fd >= 0) {
            if (peer != NULL)
                peer->len = len;
            *family = len >= sizeof(sa_family_t) ? out->ss_family : AF_UNSPEC;
            return fd;
        }
        if (errno != EINTR && !is_dead_connection(errno))
            return -1;
    }
}

/* The error for a failed accept4(2).  An empty queue (EAGAIN) is the
 * normal end of every accept loop on a non-blocking listener, so it is
 * reported without describing the socket or formatting anything.  Other
 * errors name the listener by its own address ("accept [::]:9999: Too
 * many open files"): it has no peer. */
static int fail_accept(int listen_fd, int e, nb_error *err)
{
    nb_addr local;
    char where[NB_ADDRSTRLEN];

    if (e == EAGAIN || e == EWOULDBLOCK)
        return nb__fail(err, NB_ERR_SYSTEM, "accept", "", e, e, NULL);
    if (e == EINVAL || e == EOPNOTSUPP)
        return nb__fail_arg(err, "accept", "",
                            "descriptor %d is not a listening stream socket",
                            listen_fd);
    if (e == EBADF || e == ENOTSOCK ||
        nb_local_addr(listen_fd, &local, NULL) != 0)
        return nb__fail_fd(err, "accept", listen_fd, e);
    nb_addr_format(&local, where, sizeof(where));
    return nb__fail_sys(err, "accept", where, e);
}

int nb_tcp_accept(int listen_fd, nb_addr *peer, int flags, nb_error *err)
{
    int fd, family;

    if (nb__check_flags(flags, ACCEPT_FLAGS, "nb_tcp_accept", "accept",
                        err) != 0)
        return -1;
    if (nb__check_fd(listen_fd, "accept", err) != 0)
        return -1;
    fd = accept_retrying(listen_fd, peer, flags, &family);
    if (fd < 0)
        return fail_accept(listen_fd, errno, err);
    /* TCP_NODELAY is a TCP option: a Unix stream listener's connection
     * is kept, not lost to a setsockopt that cannot apply */
    if ((flags & NB_NODELAY) && (family == AF_INET || family == AF_INET6) &&
        nb__setsockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0) {
        char peer_text[NB_ADDRSTRLEN];
        nb__describe_fd(fd, peer_text, sizeof(peer_text));
        nb__fail_sys_what(err, "setsockopt", peer_text, errno, "TCP_NODELAY");
        nb__close_quietly(fd);
        return -1;
    }
    return fd;
}
