/*
 * io.c - stream I/O under one deadline: a whole buffer out (nb_send_all),
 * a whole buffer in (nb_recv_all), or whatever has arrived (nb_recv).
 *
 * With a deadline, even a blocking socket is used with MSG_DONTWAIT so
 * that no single call can outlast it; without one, a blocking socket just
 * blocks and costs one system call per chunk.  A non-blocking socket is
 * waited for with poll(2) on EAGAIN either way.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "internal.h"

/* A datagram socket given to a stream call is NB_ERR_ARG ("use `use`"):
 * its message boundaries would be lost.  One getsockopt(SO_TYPE) tells. */
static int check_stream_socket(int fd, const char *op, const char *use,
                               nb_error *err)
{
    int type = 0;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return nb__fail_fd(err, op, fd, errno);
    if (type == SOCK_DGRAM)
        return nb__fail_arg(err, op, "",
                            "descriptor %d is a datagram socket (use %s)", fd,
                            use);
    return 0;
}

/* The checks all three share. */
static int check_stream_args(int fd, const void *buf, size_t len,
                             const char *op, const char *use, nb_error *err)
{
    if (nb__check_fd(fd, op, err) != 0 ||
        nb__check_buffer(buf, len, op, err) != 0)
        return -1;
    return check_stream_socket(fd, op, use, err);
}

/* Fills *err for a failure after `done` of `len` bytes moved.
 * wait_result is what nb__wait_fd returned (0: the deadline passed, -1:
 * poll failed with errno) or 1 when the I/O call itself failed with errno.
 * moved is "sent" or "received", or NULL to leave the count out of a
 * timeout's message. */
static ssize_t fail_transfer(nb_error *err, const char *op, int fd,
                             int wait_result, const nb__deadline *d,
                             size_t done, size_t len, const char *moved)
{
    if (wait_result == 0) {
        char peer[NB_ADDRSTRLEN], count[64] = "";
        nb__describe_fd(fd, peer, sizeof(peer));
        if (moved != NULL)
            snprintf(count, sizeof(count), "(%zu of %zu bytes %s)", done, len,
                     moved);
        nb__fail_timeout(err, op, peer, d->timeout_ms, count);
    } else {
        nb__fail_fd(err, wait_result < 0 ? "poll" : op, fd, errno);
    }
    if (err != NULL)
        err->transferred = done;
    return -1;
}

ssize_t nb_send_all(int fd, const void *buf, size_t len, int timeout_ms,
                    nb_error *err)
{
    const char *p = buf;
    size_t done = 0;
    nb__deadline deadline;
    int flags = MSG_NOSIGNAL;

    if (check_stream_args(fd, buf, len, "send", "nb_udp_sendto", err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    if (!deadline.forever)
        flags |= MSG_DONTWAIT;
    while (done < len) {
        ssize_t n = send(fd, p + done, len - done, flags);
        if (n >= 0) {
            done += (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = nb__wait_fd(fd, POLLOUT, &deadline);
            if (ready <= 0)
                return fail_transfer(err, "send", fd, ready, &deadline, done,
                                     len, "sent");
        } else if (errno != EINTR) {
            return fail_transfer(err, "send", fd, 1, &deadline, done, len,
                                 "sent");
        }
    }
    return (ssize_t)len;
}

ssize_t nb_recv_all(int fd, void *buf, size_t len, int timeout_ms,
                    nb_error *err)
{
    char *p = buf;
    size_t done = 0;
    nb__deadline deadline;
    int flags = 0;

    if (check_stream_args(fd, buf, len, "recv", "nb_udp_recvfrom", err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    if (!deadline.forever)
        flags |= MSG_DONTWAIT;
    while (done < len) {
        ssize_t n = recv(fd, p + done, len - done, flags);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            break;  /* end of stream */
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = nb__wait_fd(fd, POLLIN, &deadline);
            if (ready <= 0)
                return fail_transfer(err, "recv", fd, ready, &deadline, done,
                                     len, "received");
        } else if (errno != EINTR) {
            return fail_transfer(err, "recv", fd, 1, &deadline, done, len,
                                 "received");
        }
    }
    return (ssize_t)done;
}

ssize_t nb_recv(int fd, void *buf, size_t len, int timeout_ms, nb_error *err)
{
    nb__deadline deadline;
    int flags = 0;

    if (len == 0)
        return nb__fail_arg(err, "recv", "",
                            "length 0: nothing could be received");
    if (check_stream_args(fd, buf, len, "recv", "nb_udp_recvfrom", err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    if (!deadline.forever)
        flags |= MSG_DONTWAIT;
    for (;;) {
        ssize_t n = recv(fd, buf, len, flags);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = nb__wait_fd(fd, POLLIN, &deadline);
            if (ready <= 0)
                return fail_transfer(err, "recv", fd, ready, &deadline, 0,
                                     len, NULL);
        } else if (errno != EINTR) {
            return fail_transfer(err, "recv", fd, 1, &deadline, 0, len, NULL);
        }
    }
}
