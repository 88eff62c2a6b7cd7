/*
 * program-0.1.c - a program written against the 0.1.0 interface, every one
 * of its 23 functions.  tests/abi-compat.sh compiles it against the 0.1.0
 * release, runs it on that release's library and on the current one, and
 * requires the same output: a program linked against 0.1.0 must keep
 * working, unchanged, against every later 0.x library.
 *
 * It prints what a program relies on (return values, codes, ops, errno
 * values, counts, formatted addresses), not the messages' wording, which a
 * later release may improve.  Only loopback addresses and ephemeral ports.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netbasics.h>

static void show(const char *what, long rc, const nb_error *err)
{
    printf("%-28s rc=%ld", what, rc);
    if (rc < 0)
        printf(" code=%s op=%s errno=%d gai=%d attempts=%d transferred=%zu "
               "message=%s temporary=%d",
               nb_code_name(err->code), err->op, err->sys_errno,
               err->gai_error, err->attempts, err->transferred,
               nb_error_message(err)[0] != '\0' ? "yes" : "EMPTY",
               nb_error_is_temporary(err));
    printf("\n");
}

static void tcp(void)
{
    char port[8], text[NB_ADDRSTRLEN], buf[16];
    nb_addr local, peer, accepted;
    nb_error err;
    int lfd, cfd, sfd;

    lfd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &err);
    show("nb_tcp_listen", lfd < 0 ? -1 : 0, &err);
    if (lfd < 0 || nb_local_addr(lfd, &local, &err) != 0)
        exit(1);
    snprintf(port, sizeof(port), "%d", nb_addr_port(&local));
    cfd = nb_tcp_connect("127.0.0.1", port, 2000, NB_NODELAY, &err);
    show("nb_tcp_connect", cfd < 0 ? -1 : 0, &err);
    sfd = nb_tcp_accept(lfd, &accepted, 0, &err);
    show("nb_tcp_accept", sfd < 0 ? -1 : 0, &err);
    if (cfd < 0 || sfd < 0)
        exit(1);
    show("nb_peer_addr", nb_peer_addr(cfd, &peer, &err), &err);
    printf("peer port matches: %d\n", nb_addr_port(&peer) == nb_addr_port(&local));
    nb_addr_format(&accepted, text, sizeof(text));
    printf("accepted from 127.0.0.1: %d\n", strncmp(text, "127.0.0.1:", 10) == 0);
    show("nb_recv_all timeout", nb_recv_all(cfd, buf, 1, 50, &err), &err);
    show("nb_send_all", nb_send_all(sfd, "hello", 5, 2000, &err), &err);
    close(sfd);
    show("nb_recv_all", nb_recv_all(cfd, buf, sizeof(buf), 2000, &err), &err);
    close(cfd);
    cfd = nb_tcp_connect("127.0.0.1", "1", 2000, 0, &err);
    show("nb_tcp_connect refused", cfd, &err);
    show("nb_tcp_connect bad flags", nb_tcp_connect("127.0.0.1", "1", 0, 0x4000, &err), &err);
    show("nb_tcp_listen bad port", nb_tcp_listen(NULL, "65536", 0, 0, &err), &err);
    show("nb_tcp_accept bad fd", nb_tcp_accept(-1, NULL, 0, &err), &err);
    close(lfd);
}

static void udp(void)
{
    char buf[16];
    nb_addr local, from;
    nb_error err;
    int bfd, cfd;
    char port[8];

    bfd = nb_udp_bind("127.0.0.1", "0", 0, &err);
    show("nb_udp_bind", bfd < 0 ? -1 : 0, &err);
    if (bfd < 0 || nb_local_addr(bfd, &local, &err) != 0)
        exit(1);
    snprintf(port, sizeof(port), "%d", nb_addr_port(&local));
    cfd = nb_udp_connect("127.0.0.1", port, 0, &err);
    show("nb_udp_connect", cfd < 0 ? -1 : 0, &err);
    if (cfd < 0)
        exit(1);
    show("nb_udp_sendto", nb_udp_sendto(cfd, "ping", 4, NULL, &err), &err);
    show("nb_udp_recvfrom", nb_udp_recvfrom(bfd, buf, sizeof(buf), &from, 2000, &err), &err);
    show("nb_udp_sendto reply", nb_udp_sendto(bfd, "pong!", 5, &from, &err), &err);
    show("nb_udp_recvfrom reply", nb_udp_recvfrom(cfd, buf, sizeof(buf), NULL, 2000, &err), &err);
    show("nb_udp_recvfrom timeout", nb_udp_recvfrom(cfd, buf, sizeof(buf), NULL, 50, &err), &err);
    show("nb_udp_sendto short buf", nb_udp_sendto(cfd, NULL, 4, NULL, &err), &err);
    close(cfd);
    close(bfd);
}

static void unix_sockets(void)
{
    char path[64];
    nb_error err;
    int lfd, cfd, dfd;

    snprintf(path, sizeof(path), "@nb-abi-%ld", (long)getpid());
    lfd = nb_unix_listen(path, 0, 0, &err);
    show("nb_unix_listen", lfd < 0 ? -1 : 0, &err);
    cfd = nb_unix_connect(path, 1000, NB_NONBLOCK, &err);
    show("nb_unix_connect", cfd < 0 ? -1 : 0, &err);
    snprintf(path, sizeof(path), "@nb-abi-dgram-%ld", (long)getpid());
    dfd = nb_unix_bind(path, 0, &err);
    show("nb_unix_bind", dfd < 0 ? -1 : 0, &err);
    show("nb_unix_connect too long", nb_unix_connect("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0, &err), &err);
    if (lfd >= 0)
        close(lfd);
    if (cfd >= 0)
        close(cfd);
    if (dfd >= 0)
        close(dfd);
}

static void addresses(void)
{
    char host[64], port[16], text[NB_ADDRSTRLEN];
    nb_addr empty;
    nb_error err;
    int fds[4];

    show("nb_split_hostport", nb_split_hostport("[::1]:80", host, sizeof(host), port, sizeof(port), &err), &err);
    printf("split: %s %s\n", host, port);
    show("nb_split_hostport bad", nb_split_hostport("::1:80", host, sizeof(host), port, sizeof(port), &err), &err);
    memset(&empty, 0, sizeof(empty));
    printf("format empty: '%s' port %d\n", nb_addr_format(&empty, text, sizeof(text)), nb_addr_port(&empty));
    show("nb_local_addr bad fd", nb_local_addr(-1, &empty, &err), &err);
    unsetenv("LISTEN_PID");
    show("nb_listen_fds none", nb_listen_fds(fds, 4, &err), &err);
}

int main(void)
{
    nb_error err;

    printf("version ok: %d\n", nb_version() != NULL && nb_version()[0] == '0');
    nb_error_clear(&err);
    printf("cleared: %s '%s' temporary %d\n", nb_code_name(err.code),
           nb_error_message(&err), nb_error_is_temporary(&err));
    printf("sizeof(nb_error) %zu, sizeof(nb_addr) %zu\n", sizeof(nb_error), sizeof(nb_addr));
    tcp();
    udp();
    unix_sockets();
    addresses();
    return 0;
}
