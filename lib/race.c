/*
 * race.c - the rules of RFC 8305 (Happy Eyeballs v2) for racing connection
 * attempts, written once and driven by both nb_tcp_connect (connect.c,
 * waiting with poll) and nb_connector (connector.c, waiting through its
 * epoll descriptor).  Nothing here waits: the race says which attempt to
 * start and when the next is due, and is told which attempts finished.
 *
 * The rules: addresses are tried in the order given (families interleaved
 * by nb__interleave_families); the next attempt starts delay_ms after the
 * previous one started, or at once when the previous one failed; the first
 * to connect wins and every other is closed; when all fail, the error
 * reported is the first attempt's, as Go reasons (the first address is the
 * most relevant), unless it timed out in the kernel and a later one had a
 * definite answer.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

void nb__interleave_families(const struct addrinfo *const *in,
                             const struct addrinfo **out, int n)
{
    int family = in[0]->ai_family;
    int first = 0, other = 0, i = 0;

    /* Alternate the first address's family with the others, each side in
     * the given order (RFC 8305 section 4, First Address Family Count of
     * 1). */
    while (i < n) {
        while (first < n && in[first]->ai_family != family)
            first++;
        if (first < n)
            out[i++] = in[first++];
        while (other < n && in[other]->ai_family == family)
            other++;
        if (other < n && i < n)
            out[i++] = in[other++];
    }
}

void nb__race_init(nb__race *r, const struct addrinfo *const *addrs,
                   nb__attempt *attempts, int n, int delay_ms)
{
    int i;

    memset(r, 0, sizeof(*r));
    r->addrs = addrs;
    r->attempts = attempts;
    r->n = n;
    r->delay_ms = delay_ms;
    for (i = 0; i < n; i++) {
        attempts[i].fd = -1;
        attempts[i].error = 0;
        attempts[i].op = NULL;
    }
}

/* connect(2) has started but not finished: wait for POLLOUT.  EINTR on a
 * blocking socket also means the kernel carries on with the handshake, and
 * calling connect(2) again would be wrong. */
static int connect_in_progress(int e)
{
    return e == EINPROGRESS || e == EALREADY || e == EINTR;
}

static void record_failure(nb__race *r, int i, const char *op, int e)
{
    r->attempts[i].op = op;
    r->attempts[i].error = e;
    nb__close_quietly(r->attempts[i].fd);
    r->attempts[i].fd = -1;
    /* The latest attempt failed: RFC 8305 starts the next one at once. */
    if (i == r->started - 1)
        r->next_start_ns = 0;
}

/* Starts attempt `started`.  1 when connect(2) finished at once, 0 when it
 * is in flight, -1 when it failed (recorded). */
static int start_one(nb__race *r)
{
    int i = r->started++;
    const struct addrinfo *ai = r->addrs[i];
    nb__attempt *a = &r->attempts[i];

    a->fd = nb__socket(ai->ai_family, SOCK_STREAM, !r->may_block);
    if (a->fd < 0) {
        record_failure(r, i, "socket", errno);
        return -1;
    }
    if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        r->in_flight++;  /* until nb__race_take or nb__race_settle */
        return 1;
    }
    if (!connect_in_progress(errno)) {
        record_failure(r, i, "connect", errno);
        return -1;
    }
    r->in_flight++;
    r->next_start_ns = r->may_block
                           ? INT64_MAX
                           : nb__now_ns() + r->delay_ms * NB__NS_PER_MS;
    return 0;
}

int nb__race_start_due(nb__race *r, int *first_new)
{
    *first_new = r->started;
    while (r->started < r->n &&
           (r->in_flight == 0 || nb__now_ns() >= r->next_start_ns)) {
        if (start_one(r) > 0)
            return r->started - 1;
    }
    return -1;
}

/* The result of a finished non-blocking connect: 0 or an errno. */
static int pending_error(int fd)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        return errno;
    return soerr;
}

int nb__race_settle(nb__race *r, int i)
{
    int e;

    if (r->attempts[i].fd < 0)
        return 0;  /* already settled */
    e = pending_error(r->attempts[i].fd);
    r->in_flight--;
    if (e == 0)
        return 1;
    record_failure(r, i, "connect", e);
    return 0;
}

int64_t nb__race_next_start(const nb__race *r)
{
    if (r->started >= r->n)
        return INT64_MAX;
    return r->in_flight == 0 ? 0 : r->next_start_ns;
}

int nb__race_lost(const nb__race *r)
{
    return r->started == r->n && r->in_flight == 0;
}

void nb__race_close(nb__race *r)
{
    int i;

    for (i = 0; i < r->started; i++) {
        nb__close_quietly(r->attempts[i].fd);
        r->attempts[i].fd = -1;
    }
    r->in_flight = 0;
}

/* Puts a connected socket in the mode the caller asked for: blocking
 * unless NB_NONBLOCK, TCP_NODELAY with NB_NODELAY.  0, or -1 with errno
 * and *op, *what naming the step that failed. */
static int set_final_mode(int fd, int made_nonblocking, int flags,
                          const char **op, const char **what)
{
    if (made_nonblocking && !(flags & NB_NONBLOCK) &&
        nb__set_nonblock(fd, 0) != 0) {
        *op = "ioctl";
        *what = "FIONBIO";
        return -1;
    }
    if ((flags & NB_NODELAY) &&
        nb__setsockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0) {
        *op = "setsockopt";
        *what = "TCP_NODELAY";
        return -1;
    }
    return 0;
}

int nb__race_take(nb__race *r, int i, int flags, const char **op,
                  const char **what)
{
    int fd = r->attempts[i].fd;

    r->attempts[i].fd = -1;
    nb__race_close(r);
    if (set_final_mode(fd, !r->may_block, flags, op, what) != 0) {
        nb__close_quietly(fd);
        return -1;
    }
    return fd;
}

/* The attempt whose error to report: the first one, unless it timed out
 * in the kernel and a later one has a definite answer such as a refusal. */
static int most_relevant_failure(const nb__race *r)
{
    int i;

    for (i = 0; i < r->started; i++)
        if (r->attempts[i].op != NULL && r->attempts[i].error != ETIMEDOUT)
            return i;
    return 0;
}

int nb__race_fail(nb__race *r, int timed_out, const char *hostport,
                  int timeout_ms, nb_error *err)
{
    nb__race_close(r);
    if (timed_out) {
        nb__fail_timeout(err, "connect", hostport, timeout_ms, "");
    } else {
        const nb__attempt *a = &r->attempts[most_relevant_failure(r)];
        nb__fail_sys(err, a->op, hostport, a->error);
    }
    nb__note_attempts(err, r->started);
    return -1;
}
