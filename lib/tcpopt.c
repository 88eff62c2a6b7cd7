/*
 * tcpopt.c - the TCP options people ask for most after deadlines:
 * keepalive (SO_KEEPALIVE with its idle time, interval and count) and
 * TCP_USER_TIMEOUT (RFC 5482), with the range checks done once and the
 * system's names for them in one place.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "internal.h"

/* Linux calls the idle time TCP_KEEPIDLE; macOS calls it TCP_KEEPALIVE. */
#if defined(TCP_KEEPIDLE)
#define NB_TCP_KEEPIDLE TCP_KEEPIDLE
#define NB_TCP_KEEPIDLE_NAME "TCP_KEEPIDLE"
#else
#define NB_TCP_KEEPIDLE TCP_KEEPALIVE
#define NB_TCP_KEEPIDLE_NAME "TCP_KEEPALIVE"
#endif

/* The kernel's limits (Linux: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL,
 * MAX_TCP_KEEPCNT). */
#define MAX_KEEP_SECONDS 32767
#define MAX_KEEP_COUNT 127

/* fd must be a TCP socket: a UDP or Unix socket, or a file, would take
 * none of these options the way the caller means. */
static int check_tcp_socket(int fd, const char *func, nb_error *err)
{
    int protocol = 0;
    socklen_t len = sizeof(protocol);

    if (nb__check_fd(fd, "setsockopt", err) != 0)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0)
        return nb__fail_fd(err, "setsockopt", fd, errno);
    if (protocol != IPPROTO_TCP)
        return nb__fail_arg(err, "setsockopt", "",
                            "%s: descriptor %d is not a TCP socket", func, fd);
    return 0;
}

static int in_range(int value, int low, int high, const char *name,
                    nb_error *err)
{
    if (value >= low && value <= high)
        return 0;
    return nb__fail_arg(err, "setsockopt", "",
                        "nb_tcp_keepalive: %s %d out of range %d..%d", name,
                        value, low, high);
}

static int set_option(int fd, int level, int name, int value,
                      const char *option, nb_error *err)
{
    char peer[NB_ADDRSTRLEN];

    if (nb__setsockopt_int(fd, level, name, value) == 0)
        return 0;
    nb__describe_fd(fd, peer, sizeof(peer));
    return nb__fail_sys_what(err, "setsockopt", peer, errno, option);
}

int nb_tcp_keepalive(int fd, int idle_s, int interval_s, int count,
                     nb_error *err)
{
    if (idle_s < 0 || (idle_s > 0 && (interval_s < 0 || count < 0)))
        return nb__fail_arg(err, "setsockopt", "",
                            "nb_tcp_keepalive: negative value (idle %d, "
                            "interval %d, count %d)", idle_s, interval_s,
                            count);
    if (idle_s > 0 &&
        (in_range(idle_s, 1, MAX_KEEP_SECONDS, "idle_s", err) != 0 ||
         in_range(interval_s, 1, MAX_KEEP_SECONDS, "interval_s", err) != 0 ||
         in_range(count, 1, MAX_KEEP_COUNT, "count", err) != 0))
        return -1;
    if (check_tcp_socket(fd, "nb_tcp_keepalive", err) != 0)
        return -1;
    if (idle_s == 0)
        return set_option(fd, SOL_SOCKET, SO_KEEPALIVE, 0, "SO_KEEPALIVE",
                          err);
    /* The timing first: keepalive starts with the values meant for it. */
    if (set_option(fd, IPPROTO_TCP, NB_TCP_KEEPIDLE, idle_s,
                   NB_TCP_KEEPIDLE_NAME, err) != 0 ||
        set_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, interval_s,
                   "TCP_KEEPINTVL", err) != 0 ||
        set_option(fd, IPPROTO_TCP, TCP_KEEPCNT, count, "TCP_KEEPCNT",
                   err) != 0)
        return -1;
    return set_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE", err);
}

int nb_tcp_user_timeout(int fd, int timeout_ms, nb_error *err)
{
    if (timeout_ms < 0)
        return nb__fail_arg(err, "setsockopt", "",
                            "nb_tcp_user_timeout: timeout_ms %d is negative",
                            timeout_ms);
    if (check_tcp_socket(fd, "nb_tcp_user_timeout", err) != 0)
        return -1;
    return set_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, timeout_ms,
                      "TCP_USER_TIMEOUT", err);
}
