/*
 * connect.c - nb_tcp_connect: the blocking driver of the race (race.c).
 * It resolves under the call's deadline, then waits with poll(2) on the
 * attempts in flight and until the next attempt is due.
 *
 * One address without a deadline costs what a hand-written client pays:
 * socket(2) + connect(2) on a blocking socket.  A deadline adds only what
 * waiting needs: poll, getsockopt(SO_ERROR) and FIONBIO back to blocking.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Lists up to this size live on the stack; longer ones are allocated. */
#define SMALL_LIST 16

/* What the poll loop watches: the attempts in flight, and which attempt
 * each pollfd is. */
struct watch {
    struct pollfd *pfds;
    int *which;
    int n;
};

static void watch_new_attempts(struct watch *w, const nb__race *r, int from)
{
    int i;

    for (i = from; i < r->started; i++) {
        if (r->attempts[i].fd < 0)
            continue;
        w->pfds[w->n].fd = r->attempts[i].fd;
        w->pfds[w->n].events = POLLOUT;
        w->which[w->n] = i;
        w->n++;
    }
}

/* Settles the attempts poll reported.  The winner's index, or -1. */
static int settle_ready(struct watch *w, nb__race *r)
{
    int slot = 0;

    while (slot < w->n) {
        int i = w->which[slot];
        int connected;

        if (w->pfds[slot].revents == 0) {
            slot++;
            continue;
        }
        connected = nb__race_settle(r, i);
        w->n--;
        w->pfds[slot] = w->pfds[w->n];
        w->which[slot] = w->which[w->n];
        if (connected)
            return i;
    }
    return -1;
}

/* poll(2) timeout: the sooner of the deadline and the next attempt (at
 * most delay_ms away, so the int cannot overflow). */
static int poll_ms(const nb__race *r, const nb__deadline *d)
{
    int ms = nb__deadline_poll_ms(d);
    int64_t next = nb__race_next_start(r);

    if (next != INT64_MAX) {
        int64_t wait = next - nb__now_ns();
        int until_next = wait <= 0 ? 0
                         : (int)((wait + NB__NS_PER_MS - 1) / NB__NS_PER_MS);
        if (ms < 0 || until_next < ms)
            ms = until_next;
    }
    return ms;
}

/* How a race run ended: a winner (*winner), or why not. */
enum run_end { RUN_WON, RUN_LOST, RUN_TIMED_OUT, RUN_POLL_FAILED };

static enum run_end run(nb__race *r, struct watch *w, const nb__deadline *d,
                        int *winner)
{
    for (;;) {
        int first_new, n;

        if (nb__deadline_passed(d))
            return RUN_TIMED_OUT;
        *winner = nb__race_start_due(r, &first_new);
        if (*winner >= 0)
            return RUN_WON;
        watch_new_attempts(w, r, first_new);
        if (nb__race_lost(r))
            return RUN_LOST;
        if (w->n == 0)
            continue;  /* the next attempt is due at once */
        n = poll(w->pfds, (nfds_t)w->n, poll_ms(r, d));
        if (n < 0 && errno != EINTR)
            return RUN_POLL_FAILED;
        if (n > 0 && (*winner = settle_ready(w, r)) >= 0)
            return RUN_WON;
    }
}

/* The target's name for a message: given, or made from the list (only
 * failures make it: snprintf costs more than the whole numeric fast
 * path). */
struct target {
    const char *given;
    const nb__addrlist *list;
    char buf[NB_ADDRSTRLEN];
};

static const char *target_name(struct target *t)
{
    if (t->given != NULL)
        return t->given;
    nb__addrlist_name(t->list, t->buf, sizeof(t->buf));
    return t->buf;
}

static int finish(nb__race *r, enum run_end end, int winner,
                  struct target *t, const nb__deadline *d, int flags,
                  nb_error *err)
{
    const char *op, *what;
    int fd, e;

    switch (end) {
    case RUN_WON:
        fd = nb__race_take(r, winner, flags, &op, &what);
        if (fd >= 0)
            return fd;
        nb__fail_sys_what(err, op, target_name(t), errno, what);
        break;
    case RUN_POLL_FAILED:
        e = errno;
        nb__race_close(r);
        nb__fail_sys(err, "poll", target_name(t), e);
        break;
    default:
        return nb__race_fail(r, end == RUN_TIMED_OUT, target_name(t),
                             d->timeout_ms, err);
    }
    nb__note_attempts(err, r->started);
    return -1;
}

/* Races addrs[0..n-1] in that order under the deadline d. */
static int race_addresses(const struct addrinfo *const *addrs, int n,
                          struct target *t, const nb__deadline *d,
                          int delay_ms, int flags, nb_error *err)
{
    struct pollfd small_pfds[SMALL_LIST];
    int small_which[SMALL_LIST];
    nb__attempt small_attempts[SMALL_LIST];
    struct watch w = { small_pfds, small_which, 0 };
    nb__attempt *attempts = small_attempts;
    void *block = NULL;
    enum run_end end;
    nb__race r;
    int winner = -1, fd;

    if (n > SMALL_LIST) {
        size_t each = sizeof(struct pollfd) + sizeof(int) + sizeof(nb__attempt);
        block = malloc(each * (size_t)n);
        if (block == NULL)
            return nb__fail_sys(err, "malloc", target_name(t), ENOMEM);
        attempts = block;
        w.pfds = (struct pollfd *)(attempts + n);
        w.which = (int *)(w.pfds + n);
    }
    nb__race_init(&r, addrs, attempts, n, delay_ms);
    /* Nothing else can happen meanwhile: connect(2) itself may wait. */
    r.may_block = n == 1 && d->forever && !(flags & NB_NONBLOCK);
    end = run(&r, &w, d, &winner);
    fd = finish(&r, end, winner, t, d, flags, err);
    free(block);
    return fd;
}

int nb__connect_race(const struct addrinfo *const *addrs, int n,
                     const char *hostport, int timeout_ms, int delay_ms,
                     int flags, nb_error *err)
{
    struct target t = { hostport, NULL, "" };
    nb__deadline deadline;

    nb__deadline_start(&deadline, timeout_ms);
    return race_addresses(addrs, n, &t, &deadline, delay_ms, flags, err);
}

/* Each distinct address once, families interleaved (RFC 8305 section 4),
 * raced. */
static int connect_list(const nb__addrlist *list, const nb__deadline *d,
                        int flags, nb_error *err)
{
    const struct addrinfo *small[2 * SMALL_LIST];
    const struct addrinfo **unique = small, **order;
    struct target t = { NULL, list, "" };
    int n = nb__addrlist_count(list);
    int fd;

    if (n > SMALL_LIST) {
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
        unique = malloc(2 * sizeof(*unique) * (size_t)n);
        if (unique == NULL)
            return nb__fail_sys(err, "malloc", target_name(&t), ENOMEM);
    }
    order = unique + n;
    n = nb__addrlist_unique(list, unique, n);
    if (n > 1)
        nb__interleave_families(unique, order, n);
    else
        order = unique;
    fd = race_addresses(order, n, &t, d, NB__ATTEMPT_DELAY_MS, flags, err);
    if (unique != small)
        free(unique);
    return fd;
}

int nb_tcp_connect(const char *host, const char *port, int timeout_ms,
                   int flags, nb_error *err)
{
    nb__addrlist list;
    nb__deadline deadline;
    int fd;

    if (nb__check_flags(flags, NB__CONNECT_FLAGS, "nb_tcp_connect", "connect",
                        err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    if (nb__resolve(host, port, SOCK_STREAM, NB__FOR_CONNECT, flags,
                    "connect", &deadline, &list, err) != 0)
        return -1;
    fd = connect_list(&list, &deadline, flags, err);
    nb__addrlist_free(&list);
    return fd;
}
