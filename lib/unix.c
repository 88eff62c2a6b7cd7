/*
 * unix.c - Unix domain sockets: stream listeners and connections, and bound
 * datagram sockets; "@name" is Linux's abstract namespace.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define UNIX_FLAGS NB_NONBLOCK

/* Builds the address; a path that does not fit sun_path is refused, never
 * truncated.  0 or -1. */
static int make_unix_addr(const char *path, struct sockaddr_un *sun,
                          socklen_t *len, const char *op, nb_error *err)
{
    const size_t room = sizeof(sun->sun_path);
    size_t n;

    /* *sun and *len are defined on every path, the failures too */
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    *len = 0;
    if (path == NULL || path[0] == '\0')
        return nb__fail_arg(err, op, "", "path is %s",
                            path == NULL ? "NULL" : "empty");
    n = strlen(path);
    if (path[0] == '@') {
        /* abstract: a leading NUL, then the name without a terminator */
        if (n == 1)
            return nb__fail_arg(err, op, path, "empty abstract socket name");
        if (n > room)
            return nb__fail_arg(err, op, "",
                                "abstract name of %zu bytes exceeds %zu",
                                n - 1, room - 1);
        memcpy(sun->sun_path + 1, path + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        return 0;
    }
    if (n >= room)
        return nb__fail_arg(err, op, "", "path of %zu bytes exceeds %zu", n,
                            room - 1);
    memcpy(sun->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

/* A socket file nobody listens on is left behind by a process that died.
 * It is removed only when it is a socket and a connect(2) to it is
 * refused; a live socket (even one with a full backlog: EAGAIN) or any
 * other kind of file stays.  Returns 1 when the file was removed, 0 when
 * it stays, -1 with errno when the probe socket could not be made (at the
 * descriptor limit, say: that, not EADDRINUSE, is then the error). */
static int remove_if_stale(const struct sockaddr_un *sun, socklen_t len,
                           int socktype)
{
    struct stat st;
    int probe, refused;

    if (sun->sun_path[0] == '\0')
        return 0;  /* abstract names vanish with their socket */
    if (lstat(sun->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return 0;
    probe = nb__socket(AF_UNIX, socktype, 1);
    if (probe < 0)
        return -1;
    refused = connect(probe, (const struct sockaddr *)sun, len) != 0 &&
              errno == ECONNREFUSED;
    close(probe);
    return refused && unlink(sun->sun_path) == 0;
}

static int bind_unix(const char *path, int socktype, int flags,
                     const char *func, const char *op, nb_error *err)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd, e;

    if (nb__check_flags(flags, UNIX_FLAGS, func, op, err) != 0 ||
        make_unix_addr(path, &sun, &len, op, err) != 0)
        return -1;
    fd = nb__socket(AF_UNIX, socktype, flags & NB_NONBLOCK);
    if (fd < 0)
        return nb__fail_sys(err, "socket", path, errno);
    if (bind(fd, (struct sockaddr *)&sun, len) == 0)
        return fd;
    e = errno;
    if (e == EADDRINUSE) {
        int stale = remove_if_stale(&sun, len, socktype);
        if (stale < 0) {
            nb__fail_sys(err, "socket", path, errno);
            nb__close_quietly(fd);
            return -1;
        }
        if (stale) {
            if (bind(fd, (struct sockaddr *)&sun, len) == 0)
                return fd;
            e = errno;
        }
    }
    nb__fail_sys(err, "bind", path, e);
    nb__close_quietly(fd);
    return -1;
}

/* The socket file this call created is removed again when a later step
 * fails: a failing call leaves nothing behind. */
static void undo_bind(int fd, const char *path)
{
    int saved = errno;

    if (path[0] != '@')
        unlink(path);
    close(fd);
    errno = saved;
}

int nb_unix_listen(const char *path, int backlog, int flags, nb_error *err)
{
    int fd = bind_unix(path, SOCK_STREAM, flags, "nb_unix_listen", "listen",
                       err);

    if (fd < 0)
        return -1;
    if (listen(fd, backlog <= 0 ? SOMAXCONN : backlog) != 0) {
        nb__fail_sys(err, "listen", path, errno);
        undo_bind(fd, path);
        return -1;
    }
    return fd;
}

int nb_unix_bind(const char *path, int flags, nb_error *err)
{
    return bind_unix(path, SOCK_DGRAM, flags, "nb_unix_bind", "bind", err);
}

/* Unix connects never go "in progress": a full backlog either blocks or
 * fails with EAGAIN.  The deadline is therefore enforced with SO_SNDTIMEO,
 * which Linux applies to that wait, re-armed with what is left after each
 * interruption. */
static int set_send_timeout(int fd, int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int connect_with_deadline(int fd, const struct sockaddr_un *sun,
                                 socklen_t len, const nb__deadline *d)
{
    for (;;) {
        int left = nb__deadline_poll_ms(d);
        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (left > 0 && set_send_timeout(fd, left) != 0)
            return -1;
        if (connect(fd, (const struct sockaddr *)sun, len) == 0)
            return left > 0 ? set_send_timeout(fd, 0) : 0;
        if (errno != EINTR && !(errno == EAGAIN && left > 0))
            return -1;
    }
}

int nb_unix_connect(const char *path, int timeout_ms, int flags, nb_error *err)
{
    struct sockaddr_un sun;
    socklen_t len;
    nb__deadline deadline;
    int fd;

    if (nb__check_flags(flags, UNIX_FLAGS, "nb_unix_connect", "connect",
                        err) != 0 ||
        make_unix_addr(path, &sun, &len, "connect", err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    fd = nb__socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return nb__fail_sys(err, "socket", path, errno);
    if (connect_with_deadline(fd, &sun, len, &deadline) != 0) {
        if (errno == ETIMEDOUT)
            nb__fail_timeout(err, "connect", path, timeout_ms, "");
        else
            nb__fail_sys(err, "connect", path, errno);
        nb__close_quietly(fd);
        return -1;
    }
    if ((flags & NB_NONBLOCK) && nb__set_nonblock(fd, 1) != 0) {
        nb__fail_sys_what(err, "ioctl", path, errno, "FIONBIO");
        nb__close_quietly(fd);
        return -1;
    }
    return fd;
}
