/*
 * syscall_probe.c - one connection, for tests/connect-syscalls.sh and
 * tests/connector-syscalls.sh to watch under strace.
 *
 *   syscall_probe connect HOST TIMEOUT_MS FLAGS
 *       nb_tcp_connect(HOST, port, TIMEOUT_MS, FLAGS).
 *   syscall_probe connector HOST TIMEOUT_MS FLAGS
 *       One nb_connector, start to free: nb_connector_start(HOST, port,
 *       TIMEOUT_MS, FLAGS), poll(2) on nb_connector_fd and
 *       nb_connector_step until it says 1, and nb_connector_free.
 *
 * Makes a loopback listener of HOST's family (::1 when HOST holds ':',
 * else 127.0.0.1) on an ephemeral port, then makes the connection between
 * two marker system calls, write(-1, "nb-probe-begin", 14) and
 * write(-1, "nb-probe-end", 12), which fail with EBADF and are easy to find
 * in a trace.  The connected socket is closed after the end marker: it is
 * the caller's.  Prints nothing on success; exits 1 (with a message on
 * stderr) when the connection fails, 77 when HOST is IPv6 and IPv6 is not
 * available, 2 on bad usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netbasics.h"

static void marker(const char *text)
{
    ssize_t r = write(-1, text, strlen(text));
    (void)r;
}

static int make_listener(int family, char *port, size_t portsize)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    snprintf(port, portsize, "%u",
             ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port));
    return fd;
}

/* The connected socket, or -1 with err set. */
static int with_connect(const char *host, const char *port, int timeout_ms,
                        int flags, nb_error *err)
{
    int fd;

    marker("nb-probe-begin");
    fd = nb_tcp_connect(host, port, timeout_ms, flags, err);
    marker("nb-probe-end");
    return fd;
}

static int with_connector(const char *host, const char *port, int timeout_ms,
                          int flags, nb_error *err)
{
    nb_connector *c;
    int fd = -1, rc = -1;

    /* A warm-up connector: the first malloc of a process sets up the heap
     * (getrandom, brk), which is not the connector's cost. */
    nb_connector_free(nb_connector_start("127.0.0.1", "1", 0, 0, NULL));

    marker("nb-probe-begin");
    c = nb_connector_start(host, port, timeout_ms, flags, err);
    if (c != NULL) {
        struct pollfd pfd = { nb_connector_fd(c), POLLIN, 0 };
        do
            rc = poll(&pfd, 1, 10000) == 1 ? nb_connector_step(c, &fd, err) : -1;
        while (rc == 0);
        nb_connector_free(c);
    }
    marker("nb-probe-end");
    return rc == 1 ? fd : -1;
}

int main(int argc, char **argv)
{
    int (*with)(const char *, const char *, int, int, nb_error *);
    char port[8];
    nb_error err;
    int family, listener, fd, timeout_ms, flags;

    if (argc == 5 && strcmp(argv[1], "connect") == 0) {
        with = with_connect;
    } else if (argc == 5 && strcmp(argv[1], "connector") == 0) {
        with = with_connector;
    } else {
        fprintf(stderr, "usage: %s connect|connector HOST TIMEOUT_MS FLAGS\n",
                argv[0]);
        return 2;
    }
    family = strchr(argv[2], ':') != NULL ? AF_INET6 : AF_INET;
    timeout_ms = atoi(argv[3]);
    flags = (int)strtol(argv[4], NULL, 0);
    listener = make_listener(family, port, sizeof(port));
    if (listener < 0)
        return family == AF_INET6 ? 77 : 1;
    nb_error_clear(&err);

    fd = with(argv[2], port, timeout_ms, flags, &err);

    close(listener);
    if (fd < 0) {
        fprintf(stderr, "syscall_probe %s: %s\n", argv[1],
                nb_error_message(&err));
        return 1;
    }
    close(fd);
    return 0;
}
