/*
 * activation.c - descriptors passed by socket activation (systemd's
 * sd_listen_fds(3) protocol, also spoken by systemd-socket-activate and
 * several inetd-style launchers).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define FIRST_PASSED_FD 3

/* A strict decimal: digits only, no sign, no overflow.  -1 when invalid.
 * Each digit is refused before it could take the value past max, so that
 * nothing overflows where long is as narrow as int (32-bit systems). */
static long parse_count(const char *s, long max)
{
    long value = 0;

    if (s[0] == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        int digit;

        if (*s < '0' || *s > '9')
            return -1;
        digit = *s - '0';
        if (value > (max - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    return value;
}

int nb_listen_fds(int *fds, int max, nb_error *err)
{
    const char *pid_text = getenv("LISTEN_PID");
    const char *count_text = getenv("LISTEN_FDS");
    long pid, count, i;

    if (max < 0 || (fds == NULL && max > 0))
        return nb__fail_arg(err, "listen_fds", "", "fds is NULL or max < 0");
    if (pid_text == NULL || count_text == NULL)
        return 0;
    pid = parse_count(pid_text, INT_MAX);
    if (pid <= 0)
        return nb__fail_arg(err, "listen_fds", "", "LISTEN_PID=\"%s\" invalid",
                            pid_text);
    if (pid != (long)getpid())
        return 0;  /* meant for another process: leave the variables */
    count = parse_count(count_text, INT_MAX - FIRST_PASSED_FD);
    if (count < 0)
        return nb__fail_arg(err, "listen_fds", "", "LISTEN_FDS=\"%s\" invalid",
                            count_text);
    for (i = 0; i < count; i++) {
        if (fcntl(FIRST_PASSED_FD + (int)i, F_GETFD) < 0) {
            /* errno EBADF: the system's word for it, not EINVAL */
            return nb__fail(err, NB_ERR_ARG, "listen_fds", "", 0, EBADF,
                            "LISTEN_FDS=%ld but descriptor %d is not open",
                            count, FIRST_PASSED_FD + (int)i);
        }
    }
    for (i = 0; i < count; i++) {
        int fd = FIRST_PASSED_FD + (int)i;
        int fdflags = fcntl(fd, F_GETFD);
        if (fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) != 0)
            return nb__fail_fd(err, "listen_fds", fd, errno);
        if (i < max)
            fds[i] = fd;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int)count;
}
