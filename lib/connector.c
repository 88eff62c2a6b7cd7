/*
 * connector.c - nb_connector: nb_tcp_connect for programs that run their
 * own event loop.  The event-loop driver of the race (race.c): where
 * connect.c waits with poll, the connector waits through one epoll
 * descriptor, which the caller watches for readability.  It holds
 *   - the attempt sockets in flight (EPOLLOUT),
 *   - a timerfd armed for the sooner of the deadline and the next attempt
 *     (created only when a timer is due),
 *   - the eventfd the lookup's helper thread writes (only for a name, and
 *     only until it is resolved; also written when a helper comes free
 *     while the connector waits for one).
 * So the caller needs no timer, and the connector never busy-polls.  A
 * connector that fails while it starts (an unknown service, every attempt
 * failed at once) keeps no epoll instance: its descriptor is an eventfd,
 * readable for good (defer_failure).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "internal.h"

/* epoll_event.data.u32 of what is not an attempt (attempts are 0..n-1). */
#define TAG_TIMER UINT32_MAX
#define TAG_WAKE (UINT32_MAX - 1)
/* Events taken per step; more stay pending (level-triggered) for the next. */
#define EVENTS_PER_STEP 16
/* Address lists up to this size live inside the connector. */
#define SMALL_LIST 2

enum state { LOOKING_UP, RACING, FINISHED };

struct nb_connector {
    int epfd;                 /* nb_connector_fd */
    int timerfd;              /* -1 until a timer is due */
    int wakefd;               /* eventfd, -1 when not needed */
    enum state state;
    int flags;
    int waiting_for_helper;   /* `waiter` is queued in lookup.c */
    int64_t timer_ns;         /* what timerfd is armed for; 0 disarmed */
    nb__deadline deadline;
    nb__lookup *lookup;       /* in flight, or NULL */
    nb__waiter waiter;
    nb__query query;
    nb__addrlist list;
    nb__race race;
    const struct addrinfo **order;
    nb__attempt *attempts;
    const struct addrinfo *small_order[SMALL_LIST];
    nb__attempt small_attempts[SMALL_LIST];
    nb_error *failure;        /* found before the caller could be told */
    char strings[];           /* host and port, copied */
};

/* ------------------------------------------------------------ errors */

static const char *target_name(const nb_connector *c, char *buf, size_t size)
{
    nb__addrlist_name(&c->list, buf, size);
    return buf;
}

/* Keeps *e for the next step and makes the descriptor readable for good,
 * so that an error found while starting (an unknown service, every attempt
 * failed in socket(2) or connect(2) itself) is reported by
 * nb_connector_step, as the interface says.  Nothing else will happen to
 * this connector, so its descriptor need not be an epoll instance any
 * more: an eventfd whose counter is set takes its place (the caller has
 * not seen the epoll descriptor yet).  That needs no descriptor beyond the
 * one the connector holds, so even EMFILE from an attempt's socket(2) is
 * reported by the step.  0, or -1 with errno and *op (the connector's own
 * resources). */
static int defer_failure(nb_connector *c, const nb_error *e, const char **op)
{
    *op = "malloc";
    c->failure = malloc(sizeof(*c->failure));
    if (c->failure == NULL) {
        errno = ENOMEM;
        return -1;
    }
    *c->failure = *e;
    nb__close_quietly(c->epfd);
    *op = "eventfd";
    c->epfd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    return c->epfd >= 0 ? 0 : -1;
}

static int finish_failed(nb_connector *c, const nb_error *e, nb_error *err)
{
    c->state = FINISHED;
    if (err != NULL)
        *err = *e;
    if (e->sys_errno != 0)
        errno = e->sys_errno;
    return -1;
}

/* -------------------------------------------------------------- timer */

static int watch(nb_connector *c, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.u32 = tag;
    return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* When the next step has work without any socket event: the deadline or
 * the next attempt, whichever is sooner; INT64_MAX for never. */
static int64_t next_due(const nb_connector *c)
{
    int64_t due = c->deadline.forever ? INT64_MAX : c->deadline.end_ns;

    if (c->state == RACING) {
        int64_t next = nb__race_next_start(&c->race);
        if (next < due)
            due = next;
    }
    return due;
}

/* Arms the timerfd for next_due, creating it the first time one is due.
 * 0, or -1 with errno and *op. */
static int update_timer(nb_connector *c, const char **op)
{
    int64_t due = next_due(c);
    struct itimerspec its;

    if (due == c->timer_ns || (due == INT64_MAX && c->timer_ns == 0))
        return 0;
    if (c->timerfd < 0) {
        *op = "timerfd_create";
        c->timerfd = timerfd_create(CLOCK_MONOTONIC,
                                    TFD_CLOEXEC | TFD_NONBLOCK);
        if (c->timerfd < 0)
            return -1;
        *op = "epoll_ctl";
        if (watch(c, c->timerfd, EPOLLIN, TAG_TIMER) != 0)
            return -1;  /* the connector is finished: it stays unwatched */
    }
    memset(&its, 0, sizeof(its));
    if (due != INT64_MAX) {
        /* 0 would disarm it: a time already past fires at once */
        int64_t at = due > 0 ? due : 1;
        its.it_value.tv_sec = (time_t)(at / 1000000000);
        its.it_value.tv_nsec = (long)(at % 1000000000);
    }
    *op = "timerfd_settime";
    if (timerfd_settime(c->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -1;
    c->timer_ns = due == INT64_MAX ? 0 : due;
    return 0;
}

/* ------------------------------------------------------------- racing */

/* Orders the resolved list (each distinct address once, families
 * interleaved) and starts the race.  0, or -1 with errno and *op. */
static int begin_race(nb_connector *c, const char **op)
{
    const struct addrinfo **unique;
    int n = nb__addrlist_count(&c->list);

    c->order = c->small_order;
    c->attempts = c->small_attempts;
    unique = c->small_order;
    if (n > SMALL_LIST) {
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
        size_t each = 2 * sizeof(*c->order) + sizeof(nb__attempt);
        void *block = malloc(each * (size_t)n);
        if (block == NULL) {
            *op = "malloc";
            errno = ENOMEM;
            return -1;
        }
        c->attempts = block;
        unique = (const struct addrinfo **)(c->attempts + n);
        c->order = unique + n;
    }
    n = nb__addrlist_unique(&c->list, unique, n);
    if (n == 1) {
        c->order = unique;
    } else if (unique != c->small_order) {
        nb__interleave_families(unique, c->order, n);
    } else {
        const struct addrinfo *copy[SMALL_LIST];
        memcpy(copy, unique, sizeof(copy));
        nb__interleave_families(copy, c->order, n);
    }
    nb__race_init(&c->race, c->order, c->attempts, n, NB__ATTEMPT_DELAY_MS);
    c->state = RACING;
    return 0;
}

/* Starts what is due and watches the new sockets, a winner's too: when
 * connect(2) finished at once inside nb_connector_start, its socket being
 * writable is what makes the descriptor readable for the step that hands
 * it out.  The winner's index, or -1; *op set when watching failed
 * (errno). */
static int start_due(nb_connector *c, const char **op)
{
    int first_new, i;
    int winner = nb__race_start_due(&c->race, &first_new);

    for (i = first_new; i < c->race.started; i++) {
        if (c->race.attempts[i].fd >= 0 &&
            watch(c, c->race.attempts[i].fd, EPOLLOUT, (uint32_t)i) != 0) {
            *op = "epoll_ctl";
            return -1;
        }
    }
    return winner;
}

/* ------------------------------------------------------------ looking up */

/* Starts the lookup on a helper thread, or queues for one.  0, or -1 with
 * errno and *op. */
static int start_lookup(nb_connector *c, const char **op)
{
    int error = 0;

    c->lookup = nb__lookup_start(&c->query, c->wakefd, &c->waiter, &error, op);
    c->waiting_for_helper = c->lookup == NULL && error == 0;
    if (c->lookup == NULL && error != 0) {
        errno = error;
        return -1;
    }
    return 0;
}

/* The lookup finished (or a helper came free): 1 when the list is ready,
 * 0 still waiting, -1 with *err (the resolver's answer), -2 with errno and
 * *op (a helper could not be started). */
static int advance_lookup(nb_connector *c, const char **op, nb_error *err)
{
    nb__answer answer;

    if (c->lookup == NULL)
        return start_lookup(c, op) == 0 ? 0 : -2;
    if (!nb__lookup_collect(c->lookup, &answer))
        return 0;
    c->lookup = NULL;
    /* The helper will not write again: the eventfd is done with. */
    nb__close_quietly(c->wakefd);
    c->wakefd = -1;
    return nb__resolve_finish(&c->list, &answer, err) == 0 ? 1 : -1;
}

/* --------------------------------------------------------------- start */

static nb_connector *new_connector(const char *host, const char *port,
                                   int timeout_ms, int flags)
{
    size_t hostlen = strlen(host) + 1, portlen = strlen(port) + 1;
    nb_connector *c = malloc(sizeof(*c) + hostlen + portlen);

    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->epfd = c->timerfd = c->wakefd = -1;
    c->flags = flags;
    c->state = LOOKING_UP;
    memcpy(c->strings, host, hostlen);
    memcpy(c->strings + hostlen, port, portlen);
    nb__deadline_start(&c->deadline, timeout_ms);
    return c;
}

/* Starts the race on the resolved list.  0; or -1 with *e filled when it
 * was lost at once (every attempt failed in socket(2) or connect(2)
 * itself); or -2 with errno and *op when the connector's own resources
 * failed. */
static int race_now(nb_connector *c, const char **op, nb_error *e)
{
    *op = NULL;
    if (begin_race(c, op) != 0)
        return -2;
    /* An attempt that connected at once is watched like the others: its
     * socket is writable, so the next step finds it. */
    (void)start_due(c, op);
    if (*op != NULL)
        return -2;
    if (nb__race_lost(&c->race)) {
        char name[NB_ADDRSTRLEN];
        nb__race_fail(&c->race, 0, target_name(c, name, sizeof(name)),
                      c->deadline.timeout_ms, e);
        return -1;
    }
    return update_timer(c, op) == 0 ? 0 : -2;
}

/* Resolves in the calling thread what needs no name service: a numeric
 * host for which getaddrinfo still has a word to say (a family the flags
 * exclude, an interface name as scope).  0 or -1 with *e. */
static int resolve_inline(nb_connector *c, nb_error *e)
{
    nb__answer answer;

    answer.res = NULL;
    answer.rc = getaddrinfo(c->query.host, c->query.service, &c->query.hints,
                            &answer.res);
    answer.saved_errno = errno;
    return nb__resolve_finish(&c->list, &answer, e);
}

/* Prepares the lookup (a name) or starts the race (a number).  0; or -1
 * with *e filled (an argument error ends nb_connector_start, any other is
 * for nb_connector_step); or -2 with errno and *op (the connector's own
 * resources). */
static int begin(nb_connector *c, const char **op, nb_error *e)
{
    const char *host = c->strings, *port = c->strings + strlen(host) + 1;
    int inline_only = 0;
    int rc = nb__resolve_prepare(host, port, SOCK_STREAM, NB__FOR_CONNECT,
                                 c->flags, "connect", &c->list, &c->query,
                                 &inline_only, e);

    if (rc == 1 && inline_only)
        rc = resolve_inline(c, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return race_now(c, op, e);
    *op = "eventfd";
    c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wakefd < 0)
        return -2;
    *op = "epoll_ctl";
    if (watch(c, c->wakefd, EPOLLIN, TAG_WAKE) != 0 ||
        start_lookup(c, op) != 0 || update_timer(c, op) != 0)
        return -2;
    return 0;
}

nb_connector *nb_connector_start(const char *host, const char *port,
                                 int timeout_ms, int flags, nb_error *err)
{
    nb_connector *c;
    nb_error e;
    const char *op = "malloc";
    int rc;

    if (nb__check_flags(flags, NB__CONNECT_FLAGS, "nb_connector_start",
                        "connect", err) != 0 ||
        nb__check_peer_host(host, "connect", err) != 0)
        return NULL;
    if (port == NULL) {
        nb__fail_arg(err, "connect", "", "port is NULL");
        return NULL;
    }
    c = new_connector(host, port, timeout_ms, flags);
    if (c == NULL) {
        nb__fail_sys(err, op, "", ENOMEM);
        return NULL;
    }
    op = "epoll_create1";
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    rc = c->epfd < 0 ? -2 : begin(c, &op, &e);
    if (rc == -1 && e.code != NB_ERR_ARG)
        rc = defer_failure(c, &e, &op) == 0 ? 0 : -2;
    if (rc == 0)
        return c;
    if (rc == -2) {
        char name[NB_ADDRSTRLEN];
        int saved = errno;
        nb__hostport(name, sizeof(name), host, port);
        nb__fail_sys(&e, op, name, saved);
    }
    nb_connector_free(c);
    if (err != NULL)
        *err = e;
    errno = e.code == NB_ERR_ARG ? EINVAL : e.sys_errno != 0 ? e.sys_errno
                                                             : errno;
    return NULL;
}

int nb_connector_fd(const nb_connector *c)
{
    return c != NULL ? c->epfd : -1;
}

/* ---------------------------------------------------------------- step */

/* Reads a timerfd's or eventfd's counter, so that it is not readable any
 * more until it fires again. */
static void drain(int fd)
{
    uint64_t count;

    if (fd >= 0 && read(fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: it was not readable after all */
    }
}

/* Takes the events that are ready: attempts settled, counters drained.
 * The winning attempt's index, or -1; *lookup_woken when the eventfd was
 * readable. */
static int take_events(nb_connector *c, int *lookup_woken)
{
    struct epoll_event ev[EVENTS_PER_STEP];
    int n = epoll_wait(c->epfd, ev, EVENTS_PER_STEP, 0);
    int i, winner = -1;

    *lookup_woken = 0;
    for (i = 0; i < n; i++) {
        uint32_t tag = ev[i].data.u32;
        if (tag == TAG_TIMER) {
            drain(c->timerfd);
            c->timer_ns = 0;  /* fired: it is armed again below */
        } else if (tag == TAG_WAKE) {
            drain(c->wakefd);
            *lookup_woken = 1;
        } else if (c->state == RACING && winner < 0 &&
                   nb__race_settle(&c->race, (int)tag) == 1) {
            winner = (int)tag;
        }
    }
    return winner;
}

static int step_failed(nb_connector *c, const char *op, int e, nb_error *err)
{
    char name[NB_ADDRSTRLEN];

    if (c->state == RACING)
        nb__race_close(&c->race);
    nb__fail_sys(err, op, target_name(c, name, sizeof(name)), e);
    if (c->state == RACING)
        nb__note_attempts(err, c->race.started);
    c->state = FINISHED;
    return -1;
}

static int timed_out(nb_connector *c, nb_error *err)
{
    char name[NB_ADDRSTRLEN];

    target_name(c, name, sizeof(name));
    if (c->state == RACING) {
        nb__race_fail(&c->race, 1, name, c->deadline.timeout_ms, err);
    } else {
        nb__fail_timeout(err, "resolve", name, c->deadline.timeout_ms,
                         "while resolving");
    }
    c->state = FINISHED;
    return -1;
}

static int won(nb_connector *c, int winner, int *fd, nb_error *err)
{
    char name[NB_ADDRSTRLEN];
    const char *op, *what;

    c->state = FINISHED;
    *fd = nb__race_take(&c->race, winner, c->flags, &op, &what);
    if (*fd >= 0)
        return 1;
    nb__fail_sys_what(err, op, target_name(c, name, sizeof(name)), errno,
                      what);
    nb__note_attempts(err, c->race.started);
    return -1;
}

/* While looking up: 0 to go on, -1 when the step failed (*err). */
static int step_lookup(nb_connector *c, int woken, nb_error *err)
{
    const char *op = "";
    int rc;

    if (!woken)
        return 0;
    rc = advance_lookup(c, &op, err);
    if (rc == -2)
        return step_failed(c, op, errno, err);
    if (rc < 0) {
        c->state = FINISHED;
        return -1;
    }
    if (rc == 1 && begin_race(c, &op) != 0)
        return step_failed(c, op, errno, err);
    return 0;
}

int nb_connector_step(nb_connector *c, int *fd, nb_error *err)
{
    const char *op = NULL;
    int woken, winner;

    if (fd != NULL)
        *fd = -1;
    if (c == NULL || fd == NULL)
        return nb__fail_arg(err, "connect", "", "%s is NULL",
                            c == NULL ? "connector" : "fd");
    if (c->state == FINISHED)
        return nb__fail_arg(err, "connect", "",
                            "the connector has already finished");
    if (c->failure != NULL)
        return finish_failed(c, c->failure, err);
    winner = take_events(c, &woken);
    if (winner >= 0)
        return won(c, winner, fd, err);
    if (c->state == LOOKING_UP && step_lookup(c, woken, err) != 0)
        return -1;
    if (nb__deadline_passed(&c->deadline))
        return timed_out(c, err);
    if (c->state == RACING) {
        winner = start_due(c, &op);
        if (op != NULL)
            return step_failed(c, op, errno, err);
        if (winner >= 0)
            return won(c, winner, fd, err);
        if (nb__race_lost(&c->race)) {
            char name[NB_ADDRSTRLEN];
            c->state = FINISHED;
            return nb__race_fail(&c->race, 0,
                                 target_name(c, name, sizeof(name)),
                                 c->deadline.timeout_ms, err);
        }
    }
    if (update_timer(c, &op) != 0)
        return step_failed(c, op, errno, err);
    return 0;
}

/* ---------------------------------------------------------------- free */

void nb_connector_free(nb_connector *c)
{
    if (c == NULL)
        return;
    if (c->lookup != NULL)
        nb__lookup_abandon(c->lookup);
    if (c->waiting_for_helper)
        nb__waiter_leave(&c->waiter);
    if (c->state == RACING)
        nb__race_close(&c->race);
    nb__close_quietly(c->wakefd);
    nb__close_quietly(c->timerfd);
    nb__close_quietly(c->epfd);
    nb__addrlist_free(&c->list);
    if (c->attempts != c->small_attempts)
        free(c->attempts);
    free(c->failure);
    free(c);
}
