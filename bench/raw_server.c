/*
 * raw_server - the minimal hand-written daytime server: the baseline that
 * time-server's single-process mode is measured against.
 *
 * socket, SO_REUSEADDR, bind, listen(512), then forever: blocking accept4,
 * format the local time the way time-server does
 * ("YYYY-MM-DD HH:MM:SS.ffffff\r\n"), send, close.  One process, no poll,
 * no logging.  send(2) with MSG_NOSIGNAL rather than write(2): a client
 * that reset its connection must not kill the server with SIGPIPE.
 *
 *   raw_server [-H IPV4ADDR] [-p PORT]     (defaults 127.0.0.1, 9999)
 *
 * Prints "raw-server: listening on ADDR:PORT" on stderr once listening
 * (-p 0 picks a free port); runs until killed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *port = "9999";
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int one = 1;
    int c, lfd;

    while ((c = getopt(argc, argv, "H:p:")) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 'p': port = optarg; break;
        default:
            fprintf(stderr, "usage: raw_server [-H IPV4ADDR] [-p PORT]\n");
            return 2;
        }
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "raw-server: bad IPv4 address '%s'\n", host);
        return 2;
    }
    tzset();
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(lfd, 512) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &len) != 0) {
        perror("raw-server");
        return 1;
    }
    fprintf(stderr, "raw-server: listening on %s:%d (stream)\n", host,
            ntohs(sin.sin_port));

    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof(peer);
        struct timespec now;
        struct tm tm;
        char reply[40];
        int n, fd;

        fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                usleep(10000);  /* let descriptors free up */
            else if (errno != EINTR && errno != ECONNABORTED)
                perror("raw-server: accept4");
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        localtime_r(&now.tv_sec, &tm);
        n = snprintf(reply, sizeof(reply), "%04d-%02d-%02d %02d:%02d:%02d.%06ld\r\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
        (void)send(fd, reply, (size_t)n, MSG_NOSIGNAL);
        close(fd);
    }
}
