/* basic-time-client HOST [PORT] - a time client in one page, with
 * libnetbasics: connect to HOST on PORT (default 9999), print what arrives
 * until the server closes the connection.  time-client.c does more. */
#include <netbasics.h>
#include <stdio.h>
#include <unistd.h>

#define TIMEOUT_MS 5000  /* to connect, then for each bufferful */

int main(int argc, char **argv)
{
    char buf[512];
    nb_error err;
    ssize_t n;
    int fd;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s HOST [PORT]\n", argv[0]);
        return 2;
    }
    /* tries every address of HOST, IPv6 and IPv4, within TIMEOUT_MS */
    fd = nb_tcp_connect(argv[1], argc > 2 ? argv[2] : "9999", TIMEOUT_MS, 0,
                        &err);
    if (fd < 0) {
        fprintf(stderr, "%s\n", nb_error_message(&err));
        return 1;
    }
    /* a full buffer, or what came before the end of the stream (0: the end) */
    while ((n = nb_recv_all(fd, buf, sizeof(buf), TIMEOUT_MS, &err)) > 0)
        if (fwrite(buf, 1, (size_t)n, stdout) < (size_t)n)
            return 1;  /* stdout is gone (a closed pipe): no one to tell */
    close(fd);
    if (n < 0) {
        fprintf(stderr, "%s\n", nb_error_message(&err));
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
