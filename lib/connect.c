/*
 * connect.c - nb_tcp_connect: one address the cheap way, several raced as
 * RFC 8305 (Happy Eyeballs v2) describes.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CONNECT_FLAGS (NB_NONBLOCK | NB__FAMILY_FLAGS | NB_NODELAY)
/* RFC 8305 section 5: the recommended Connection Attempt Delay. */
#define ATTEMPT_DELAY_MS 250
/* Lists up to this size live on the stack; longer ones are allocated. */
#define SMALL_LIST 16

#define NS_PER_MS INT64_C(1000000)

/* connect(2) has started but not finished: wait for POLLOUT.  EINTR on a
 * blocking socket also means the kernel carries on with the handshake, and
 * calling connect(2) again would be wrong. */
static int connect_in_progress(int e)
{
    return e == EINPROGRESS || e == EALREADY || e == EINTR;
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

/* Fills *err for connect_one's failure at `op` with e (ETIMEDOUT from our
 * own deadline is NB_ERR_TIMEOUT) and closes fd. */
static int fail_one(const nb__addrlist *list, const char *op, int e,
                    int timed_out, int fd, nb_error *err)
{
    char name[NB_ADDRSTRLEN];

    nb__addrlist_name(list, name, sizeof(name));
    if (timed_out)
        nb__fail_timeout(err, op, name);
    else
        nb__fail_sys(err, op, name, e);
    nb__note_attempts(err, 1);
    nb__close_quietly(fd);
    return -1;
}

/* One address.  Without a deadline or NB_NONBLOCK this is exactly
 * socket(2) + connect(2); otherwise the socket is non-blocking and the
 * wait is a poll(2) bounded by the deadline. */
static int connect_one(const nb__addrlist *list, int timeout_ms, int flags,
                       nb_error *err)
{
    const struct addrinfo *ai = list->head;
    int nonblocking = timeout_ms > 0 || (flags & NB_NONBLOCK);
    const char *op, *what;
    nb__deadline deadline;
    int fd;

    nb__deadline_start(&deadline, timeout_ms);
    fd = nb__socket(ai->ai_family, SOCK_STREAM, nonblocking);
    if (fd < 0)
        return fail_one(list, "socket", errno, 0, -1, err);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        int ready;
        if (!connect_in_progress(e))
            return fail_one(list, "connect", e, 0, fd, err);
        ready = nb__wait_fd(fd, POLLOUT, &deadline);
        if (ready <= 0)
            return fail_one(list, ready == 0 ? "connect" : "poll", errno,
                            ready == 0, fd, err);
        e = pending_error(fd);
        if (e != 0)
            return fail_one(list, "connect", e, 0, fd, err);
    }
    if (set_final_mode(fd, nonblocking, flags, &op, &what) != 0) {
        char name[NB_ADDRSTRLEN];
        nb__addrlist_name(list, name, sizeof(name));
        nb__fail_sys_what(err, op, name, errno, what);
        nb__close_quietly(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------ racing */

/* What became of one attempt that failed. */
struct outcome {
    const char *op;  /* "socket" or "connect" */
    int error;
};

struct race {
    const struct addrinfo *const *addrs;
    int n;
    int started;             /* attempts begun, in order */
    int active;              /* how many of pfds are in flight */
    struct pollfd *pfds;     /* in-flight sockets... */
    int *which;              /* ...and the attempt each one is */
    struct outcome *failed;  /* per attempt; op NULL while not failed */
    int64_t next_start_ns;   /* when the next attempt may begin */
};

static void record_failure(struct race *r, int attempt, const char *op, int e)
{
    r->failed[attempt].op = op;
    r->failed[attempt].error = e;
    /* The latest attempt failed: RFC 8305 starts the next one at once. */
    if (attempt == r->started - 1)
        r->next_start_ns = 0;
}

static void drop_active(struct race *r, int slot)
{
    r->active--;
    r->pfds[slot] = r->pfds[r->active];
    r->which[slot] = r->which[r->active];
}

static void close_active(struct race *r)
{
    while (r->active > 0)
        nb__close_quietly(r->pfds[--r->active].fd);
}

/* Starts the next attempt.  Returns a connected descriptor when connect(2)
 * finished at once, else -1 (in flight, or failed and recorded). */
static int start_attempt(struct race *r, int delay_ms)
{
    int attempt = r->started++;
    const struct addrinfo *ai = r->addrs[attempt];
    int fd = nb__socket(ai->ai_family, SOCK_STREAM, 1);

    if (fd < 0) {
        record_failure(r, attempt, "socket", errno);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (!connect_in_progress(errno)) {
        record_failure(r, attempt, "connect", errno);
        nb__close_quietly(fd);
        return -1;
    }
    r->pfds[r->active].fd = fd;
    r->pfds[r->active].events = POLLOUT;
    r->which[r->active] = attempt;
    r->active++;
    r->next_start_ns = nb__now_ns() + delay_ms * NS_PER_MS;
    return -1;
}

/* Collects finished attempts after poll(2).  Returns the winner or -1. */
static int reap_attempts(struct race *r)
{
    int slot = 0;

    while (slot < r->active) {
        int fd = r->pfds[slot].fd;
        int attempt = r->which[slot];
        int e;

        if (r->pfds[slot].revents == 0) {
            slot++;
            continue;
        }
        e = pending_error(fd);
        drop_active(r, slot);
        if (e == 0)
            return fd;
        record_failure(r, attempt, "connect", e);
        nb__close_quietly(fd);
    }
    return -1;
}

/* poll(2) timeout: the sooner of the deadline and the next attempt start. */
static int race_poll_ms(const struct race *r, const nb__deadline *d)
{
    int ms = nb__deadline_poll_ms(d);

    if (r->started < r->n) {
        int64_t wait = r->next_start_ns - nb__now_ns();
        int until_next = wait <= 0 ? 0 : (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
        if (ms < 0 || until_next < ms)
            ms = until_next;
    }
    return ms;
}

/* The attempt whose error to report: the first one (the most relevant
 * address, as Go reasons), unless it timed out in the kernel and a later
 * one has a definite answer such as a refusal. */
static int most_relevant_failure(const struct race *r)
{
    int i;

    for (i = 0; i < r->started; i++)
        if (r->failed[i].op != NULL && r->failed[i].error != ETIMEDOUT)
            return i;
    return 0;
}

/* How a race ended without a winner (a winner is a descriptor >= 0). */
enum race_end {
    RACE_ALL_FAILED = -1,
    RACE_TIMED_OUT = -2,
    RACE_POLL_FAILED = -3
};

static int run_race(struct race *r, const nb__deadline *d, int delay_ms)
{
    for (;;) {
        int fd = -1, n;

        if (nb__deadline_passed(d))
            return RACE_TIMED_OUT;
        if (r->started < r->n &&
            (r->active == 0 || nb__now_ns() >= r->next_start_ns)) {
            fd = start_attempt(r, delay_ms);
            if (fd >= 0)
                return fd;
            continue;
        }
        if (r->active == 0)
            return RACE_ALL_FAILED;
        n = poll(r->pfds, (nfds_t)r->active, race_poll_ms(r, d));
        if (n < 0 && errno != EINTR)
            return RACE_POLL_FAILED;
        if (n > 0 && (fd = reap_attempts(r)) >= 0)
            return fd;
    }
}

static int race_failed(struct race *r, enum race_end why,
                       const char *hostport, nb_error *err)
{
    int e = errno;

    close_active(r);
    if (why == RACE_TIMED_OUT) {
        nb__fail_timeout(err, "connect", hostport);
    } else if (why == RACE_POLL_FAILED) {
        nb__fail_sys(err, "poll", hostport, e);
    } else {
        const struct outcome *o = &r->failed[most_relevant_failure(r)];
        nb__fail_sys(err, o->op, hostport, o->error);
    }
    nb__note_attempts(err, r->started);
    return -1;
}

int nb__connect_race(const struct addrinfo *const *addrs, int n,
                     const char *hostport, int timeout_ms, int delay_ms,
                     int flags, nb_error *err)
{
    struct pollfd small_pfds[SMALL_LIST];
    int small_which[SMALL_LIST];
    struct outcome small_failed[SMALL_LIST];
    void *block = NULL;
    struct race r;
    nb__deadline deadline;
    int fd;

    memset(&r, 0, sizeof(r));
    r.addrs = addrs;
    r.n = n;
    r.pfds = small_pfds;
    r.which = small_which;
    r.failed = small_failed;
    if (n > SMALL_LIST) {
        size_t each = sizeof(struct pollfd) + sizeof(int) + sizeof(struct outcome);
        block = malloc(each * (size_t)n);
        if (block == NULL)
            return nb__fail_sys(err, "connect", hostport, ENOMEM);
        r.failed = block;
        r.pfds = (struct pollfd *)(r.failed + n);
        r.which = (int *)(r.pfds + n);
    }
    memset(r.failed, 0, sizeof(*r.failed) * (size_t)n);

    nb__deadline_start(&deadline, timeout_ms);
    fd = run_race(&r, &deadline, delay_ms);
    if (fd >= 0) {
        const char *op, *what;
        close_active(&r);
        if (set_final_mode(fd, 1, flags, &op, &what) != 0) {
            nb__fail_sys_what(err, op, hostport, errno, what);
            nb__close_quietly(fd);
            fd = -1;
        }
    } else {
        race_failed(&r, (enum race_end)fd, hostport, err);
        fd = -1;
    }
    free(block);
    return fd;
}

void nb__interleave_families(const struct addrinfo *head,
                             const struct addrinfo **out, int n)
{
    const struct addrinfo *first_family = head, *other = head;
    int family = head->ai_family;
    int i = 0;

    /* Alternate the first address's family with the others, each side in
     * getaddrinfo's order (RFC 8305 section 4, First Address Family Count
     * of 1). */
    while (i < n) {
        while (first_family != NULL && first_family->ai_family != family)
            first_family = first_family->ai_next;
        if (first_family != NULL) {
            out[i++] = first_family;
            first_family = first_family->ai_next;
        }
        while (other != NULL && other->ai_family == family)
            other = other->ai_next;
        if (other != NULL && i < n) {
            out[i++] = other;
            other = other->ai_next;
        }
    }
}

static int connect_list(const nb__addrlist *list, int timeout_ms, int flags,
                        nb_error *err)
{
    const struct addrinfo *small[SMALL_LIST];
    const struct addrinfo **order = small;
    char name[NB_ADDRSTRLEN];
    int n = nb__addrlist_count(list);
    int fd;

    if (n == 1)
        return connect_one(list, timeout_ms, flags, err);
    nb__addrlist_name(list, name, sizeof(name));
    if (n > SMALL_LIST) {
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
        order = malloc(sizeof(*order) * (size_t)n);
        if (order == NULL)
            return nb__fail_sys(err, "connect", name, ENOMEM);
    }
    nb__interleave_families(list->head, order, n);
    fd = nb__connect_race(order, n, name, timeout_ms, ATTEMPT_DELAY_MS, flags,
                          err);
    if (order != small)
        free(order);
    return fd;
}

int nb_tcp_connect(const char *host, const char *port, int timeout_ms,
                   int flags, nb_error *err)
{
    nb__addrlist list;
    int fd;

    if (nb__check_flags(flags, CONNECT_FLAGS, "connect", err) != 0)
        return -1;
    if (nb__resolve(host, port, SOCK_STREAM, NB__FOR_CONNECT, flags,
                    "connect", &list, err) != 0)
        return -1;
    fd = connect_list(&list, timeout_ms, flags, err);
    nb__addrlist_free(&list);
    return fd;
}
