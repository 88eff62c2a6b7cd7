/*
 * deadline.c - one deadline per call on CLOCK_MONOTONIC, and the poll(2)
 * wait that honours it across EINTR.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

#include "internal.h"

#define NS_PER_S INT64_C(1000000000)

int64_t nb__now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail on Linux; it is read through the vDSO. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void nb__deadline_start(nb__deadline *d, int timeout_ms)
{
    d->forever = timeout_ms <= 0;
    d->timeout_ms = timeout_ms;
    d->end_ns = d->forever ? 0 : nb__now_ns() + timeout_ms * NB__NS_PER_MS;
}

int nb__deadline_poll_ms(const nb__deadline *d)
{
    int64_t left;

    if (d->forever)
        return -1;
    left = d->end_ns - nb__now_ns();
    if (left <= 0)
        return 0;
    left = (left + NB__NS_PER_MS - 1) / NB__NS_PER_MS;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int nb__deadline_passed(const nb__deadline *d)
{
    return !d->forever && nb__now_ns() >= d->end_ns;
}

int nb__wait_fd(int fd, short events, const nb__deadline *d)
{
    struct pollfd pfd;

    pfd.fd = fd;
    pfd.events = events;
    for (;;) {
        int n;
        pfd.revents = 0;
        n = poll(&pfd, 1, nb__deadline_poll_ms(d));
        if (n > 0) {
            if (pfd.revents & POLLNVAL) {
                errno = EBADF;
                return -1;
            }
            return 1;
        }
        if (n == 0) {
            /* poll's timeout may end a hair early by clock granularity;
             * only the monotonic clock decides that the deadline passed. */
            if (nb__deadline_passed(d))
                return 0;
            continue;
        }
        if (errno != EINTR)
            return -1;
    }
}
