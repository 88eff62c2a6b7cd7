/*
 * io.c - moving a whole buffer over a stream socket under one deadline.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "internal.h"

static int check_args(int fd, const void *buf, size_t len, const char *op,
                      nb_error *err)
{
    if (fd < 0)
        return nb__fail_arg(err, op, "", "invalid descriptor %d", fd);
    if (buf == NULL && len > 0)
        return nb__fail_arg(err, op, "", "buffer is NULL");
    if (len > SSIZE_MAX)
        return nb__fail_arg(err, op, "", "length %zu too large", len);
    return 0;
}

/* Fills *err for a failure after `done` bytes moved.  wait_result is what
 * nb__wait_fd returned (0: the deadline passed, -1: poll failed with
 * errno) or 1 when the I/O call itself failed with errno. */
static ssize_t fail_transfer(nb_error *err, const char *op, int fd,
                             int wait_result, size_t done)
{
    if (wait_result == 0) {
        char what[NB_ADDRSTRLEN];
        nb__describe_fd(fd, what, sizeof(what));
        nb__fail_timeout(err, op, what);
    } else {
        nb__fail_fd(err, wait_result < 0 ? "poll" : op, fd, errno);
    }
    if (err != NULL)
        err->transferred = done;
    return -1;
}

/* With a deadline, even a blocking socket is used with MSG_DONTWAIT so
 * that no single call can outlast it; without one, a blocking socket just
 * blocks and costs one system call per chunk. */
ssize_t nb_send_all(int fd, const void *buf, size_t len, int timeout_ms,
                    nb_error *err)
{
    const char *p = buf;
    size_t done = 0;
    nb__deadline deadline;
    int flags = MSG_NOSIGNAL;

    if (check_args(fd, buf, len, "send", err) != 0)
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
                return fail_transfer(err, "send", fd, ready, done);
        } else if (errno != EINTR) {
            return fail_transfer(err, "send", fd, 1, done);
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

    if (check_args(fd, buf, len, "recv", err) != 0)
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
                return fail_transfer(err, "recv", fd, ready, done);
        } else if (errno != EINTR) {
            return fail_transfer(err, "recv", fd, 1, done);
        }
    }
    return (ssize_t)done;
}
