/*
 * udp.c - UDP sockets: bound, connected, and one datagram in or out.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>

#include "internal.h"

#define BIND_FLAGS (NB_NONBLOCK | NB_REUSEPORT | NB__FAMILY_FLAGS)
#define CONNECT_FLAGS (NB_NONBLOCK | NB__FAMILY_FLAGS)

int nb_udp_bind(const char *host, const char *port, int flags, nb_error *err)
{
    nb__addrlist list;
    int fd;

    if (nb__check_flags(flags, BIND_FLAGS, "nb_udp_bind", "bind", err) != 0)
        return -1;
    if (nb__resolve(host, port, SOCK_DGRAM, NB__FOR_BIND, flags, "bind", NULL,
                    &list, err) != 0)
        return -1;
    fd = nb__bind_list(&list, nb__is_wildcard(host), 0, flags, NULL, NULL, err);
    nb__addrlist_free(&list);
    return fd;
}

/* connect(2) on a UDP socket only sets the default peer; it fails at once
 * (ENETUNREACH, say) or not at all, so the first address that takes wins. */
static int connect_first_usable(const nb__addrlist *list, int flags,
                                nb_error *err)
{
    const struct addrinfo *ai;
    const char *op = "connect";
    int first_error = 0, attempts = 0;

    for (ai = list->head; ai != NULL; ai = ai->ai_next) {
        int fd = nb__socket(ai->ai_family, SOCK_DGRAM, flags & NB_NONBLOCK);
        int e;

        attempts++;
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            return fd;
        e = errno;
        if (first_error == 0) {
            first_error = e;
            op = fd < 0 ? "socket" : "connect";
        }
        nb__close_quietly(fd);
    }
    {
        char name[NB_ADDRSTRLEN];
        nb__addrlist_name(list, name, sizeof(name));
        nb__fail_sys(err, op, name, first_error);
    }
    nb__note_attempts(err, attempts);
    return -1;
}

int nb_udp_connect(const char *host, const char *port, int flags, nb_error *err)
{
    nb__addrlist list;
    int fd;

    if (nb__check_flags(flags, CONNECT_FLAGS, "nb_udp_connect", "connect",
                        err) != 0)
        return -1;
    if (nb__resolve(host, port, SOCK_DGRAM, NB__FOR_CONNECT, flags, "connect",
                    NULL, &list, err) != 0)
        return -1;
    fd = connect_first_usable(&list, flags, err);
    nb__addrlist_free(&list);
    return fd;
}

ssize_t nb_udp_sendto(int fd, const void *buf, size_t len, const nb_addr *to,
                      nb_error *err)
{
    const struct sockaddr *sa = NULL;
    socklen_t salen = 0;
    ssize_t n;

    if (nb__check_fd(fd, "sendto", err) != 0 ||
        nb__check_buffer(buf, len, "sendto", err) != 0)
        return -1;
    if (to != NULL) {
        if (to->len == 0 || to->len > sizeof(to->ss))
            return nb__fail_arg(err, "sendto", "",
                                "destination address length %u invalid",
                                (unsigned)to->len);
        sa = (const struct sockaddr *)&to->ss;
        salen = to->len;
    }
    do
        n = sendto(fd, buf, len, MSG_NOSIGNAL, sa, salen);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        char where[NB_ADDRSTRLEN];
        int e = errno;
        if (to == NULL || e == EBADF || e == ENOTSOCK)
            return nb__fail_fd(err, "sendto", fd, e);
        return nb__fail_sys(err, "sendto", nb_addr_format(to, where,
                                                          sizeof(where)), e);
    }
    return n;
}

/* recvfrom(2) once, EINTR retried; MSG_TRUNC makes the kernel report the
 * datagram's real length so that truncation is never silent. */
static ssize_t receive_datagram(int fd, void *buf, size_t len, nb_addr *from,
                                int dontwait)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    /* cppcheck-suppress uninitvar ; false positive: recvfrom fills ss */
    struct sockaddr *sa = (struct sockaddr *)(from ? &from->ss : &ss);
    int flags = MSG_TRUNC | (dontwait ? MSG_DONTWAIT : 0);
    ssize_t n;

    do
        n = recvfrom(fd, buf, len, flags, sa, &sslen);
    while (n < 0 && errno == EINTR);
    if (n >= 0 && from != NULL)
        from->len = sslen;
    return n;
}

ssize_t nb_udp_recvfrom(int fd, void *buf, size_t len, nb_addr *from,
                        int timeout_ms, nb_error *err)
{
    nb__deadline deadline;
    ssize_t n;

    if (nb__check_fd(fd, "recvfrom", err) != 0 ||
        nb__check_buffer(buf, len, "recvfrom", err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    for (;;) {
        /* Without a deadline a blocking socket simply blocks: one call. */
        n = receive_datagram(fd, buf, len, from, !deadline.forever);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            break;
        int ready = nb__wait_fd(fd, POLLIN, &deadline);
        if (ready == 0) {
            char what[NB_ADDRSTRLEN];
            nb__describe_fd(fd, what, sizeof(what));
            return nb__fail_timeout(err, "recvfrom", what,
                                    deadline.timeout_ms, "");
        }
        if (ready < 0)
            return nb__fail_fd(err, "poll", fd, errno);
    }
    if (n < 0)
        return nb__fail_fd(err, "recvfrom", fd, errno);
    if ((size_t)n > len) {
        char what[NB_ADDRSTRLEN];
        nb__describe_fd(fd, what, sizeof(what));
        nb__fail(err, NB_ERR_SYSTEM, "recvfrom", what, EMSGSIZE, EMSGSIZE,
                 "datagram of %zd bytes truncated to %zu", n, len);
        if (err != NULL)
            err->transferred = len;
        return -1;
    }
    return n;
}
