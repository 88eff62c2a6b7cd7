/* basic-time-server [PORT] - a time server in one page, with libnetbasics:
 * listen on PORT (default 9999; 0: any free one), accept a client, send it
 * the time, close, print who it was, and again.  time-server.c does more. */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime(), localtime_r() */
#include <netbasics.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The time as time-server sends it: "2026-11-25 14:01:36.123456\r\n". */
static size_t format_time(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &now);
    n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", localtime_r(&now.tv_sec, &tm));
    return n + (size_t)snprintf(buf + n, size - n, ".%06ld\r\n",
                                now.tv_nsec / 1000);
}

int main(int argc, char **argv)
{
    char reply[64], text[NB_ADDRSTRLEN];
    nb_addr addr;
    nb_error err;
    int server;

    /* NULL: every address, IPv6 and IPv4; 0: the default backlog */
    server = nb_tcp_listen(NULL, argc > 1 ? argv[1] : "9999", 0, 0, &err);
    if (server < 0 || nb_local_addr(server, &addr, &err) < 0) {
        fprintf(stderr, "%s\n", nb_error_message(&err));
        return 1;
    }
    fprintf(stderr, "listening on %s\n",
            nb_addr_format(&addr, text, sizeof(text)));
    for (;;) {
        int client = nb_tcp_accept(server, &addr, 0, &err);
        if (client < 0) {
            fprintf(stderr, "%s\n", nb_error_message(&err));
            if (!nb_error_is_temporary(&err))
                return 1;
            sleep(1);  /* out of descriptors, say: wait for some to be closed */
            continue;
        }
        /* a client that does not read gets a second, not the whole server */
        if (nb_send_all(client, reply, format_time(reply, sizeof(reply)), 1000,
                        &err) < 0)
            fprintf(stderr, "%s\n", nb_error_message(&err));
        close(client);
        fprintf(stderr, "%s\n", nb_addr_format(&addr, text, sizeof(text)));
    }
}
