/*
 * server-sockets.c - the sockets time-server serves: its own TCP listener
 * and UDP socket, a Unix listener (-U), or those passed by socket
 * activation.  Every socket is non-blocking: one process polls them all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "time-server.h"

#define BACKLOG 512

/* A startup failure: exit 2 for a bad value the user gave, 1 otherwise. */
static void die_error(const nb_error *err)
{
    fprintf(stderr, PROGRAM ": %s\n", nb_error_message(err));
    exit(err->code == NB_ERR_ARG ? 2 : 1);
}

static void add_socket(struct socket_set *set, int fd, int is_stream)
{
    if (set->n == MAX_SOCKETS) {
        fprintf(stderr, PROGRAM ": too many sockets (at most %d)\n", MAX_SOCKETS);
        exit(1);
    }
    set->pfd[set->n].fd = fd;
    set->pfd[set->n].events = POLLIN;
    set->is_stream[set->n] = is_stream;
    set->n++;
}

void announce(const struct socket_set *set, int workers)
{
    int i;

    for (i = 0; i < set->n; i++) {
        char text[NB_ADDRSTRLEN] = "?";
        nb_addr local;
        if (nb_local_addr(set->pfd[i].fd, &local, NULL) == 0)
            nb_addr_format(&local, text, sizeof(text));
        fprintf(stderr, PROGRAM ": listening on %s (%s)", text,
                set->is_stream[i] ? "stream" : "datagram");
        if (workers > 0)
            fprintf(stderr, ", %d workers", workers);
        fputc('\n', stderr);
    }
}

/* Sockets from systemd-style activation: streams are listeners, datagram
 * sockets get the UDP treatment.  They come blocking, and are made
 * non-blocking like the server's own: it accepts until EAGAIN, and a
 * blocking accept would hold it (and its signals) until the next client.
 * Returns how many were taken. */
static int add_activated_sockets(struct socket_set *set)
{
    int fds[MAX_SOCKETS];
    nb_error err;
    int n, i;

    n = nb_listen_fds(fds, MAX_SOCKETS, &err);
    if (n < 0)
        die_error(&err);
    if (n > MAX_SOCKETS) {
        fprintf(stderr, PROGRAM ": %d sockets passed, at most %d supported\n",
                n, MAX_SOCKETS);
        exit(1);
    }
    for (i = 0; i < n; i++) {
        int type = 0, fl;
        socklen_t len = sizeof(type);
        if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
            (fl = fcntl(fds[i], F_GETFL)) < 0 ||
            fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0) {
            fprintf(stderr, PROGRAM ": passed descriptor %d: %s\n", fds[i],
                    strerror(errno));
            exit(1);
        }
        add_socket(set, fds[i], type == SOCK_STREAM);
    }
    return n;
}

int open_port_sockets(struct socket_set *set, const struct options *opt,
                      const char *port, int reuseport)
{
    int flags = NB_NONBLOCK | opt->family_flags | (reuseport ? NB_REUSEPORT : 0);
    char bound_port[8];
    nb_addr local;
    nb_error err;
    int fd;

    fd = nb_tcp_listen(opt->host, port, BACKLOG, flags, &err);
    if (fd < 0 || nb_local_addr(fd, &local, &err) != 0)
        die_error(&err);
    add_socket(set, fd, 1);
    snprintf(bound_port, sizeof(bound_port), "%d", nb_addr_port(&local));
    if (opt->udp) {
        fd = nb_udp_bind(opt->host, bound_port, flags, &err);
        if (fd < 0)
            die_error(&err);
        add_socket(set, fd, 0);
    }
    return nb_addr_port(&local);
}

int open_shared_sockets(struct socket_set *set, const struct options *opt)
{
    memset(set, 0, sizeof(*set));
    if (add_activated_sockets(set) > 0)
        return 1;
    if (opt->unix_path != NULL) {
        nb_error err;
        int fd = nb_unix_listen(opt->unix_path, BACKLOG, NB_NONBLOCK, &err);
        if (fd < 0)
            die_error(&err);
        add_socket(set, fd, 1);
    }
    return 0;
}

/* The socket file of -U is ours to remove at a clean exit (not the one of
 * an abstract name, which has no file, nor one passed by activation). */
void remove_socket_file(const struct options *opt, int activated)
{
    if (opt->unix_path != NULL && opt->unix_path[0] != '@' && !activated)
        unlink(opt->unix_path);
}
