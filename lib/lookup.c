/*
 * lookup.c - getaddrinfo(3) on helper threads, so that a caller with a
 * deadline can stop waiting for it.
 *
 * getaddrinfo cannot be interrupted or bounded: glibc waits timeout x
 * attempts of resolv.conf for a dead server.  So each bounded lookup runs
 * on a detached thread of its own, and the caller waits for it on a
 * descriptor (an eventfd the thread writes) until its deadline.  A caller
 * that stops waiting abandons the lookup, which finishes in the background:
 * the request is shared by the thread and the caller with a reference
 * count, and whichever lets go last frees it (and the answer).  Never
 * pthread_cancel: cancelled inside an NSS module, a lookup leaks and can
 * leave the module's locks held.  Never getaddrinfo_a: a thread pool inside
 * glibc, missing on musl, and gai_cancel cannot stop a running lookup.
 *
 * The only state shared in the process is the helper accounting below:
 * how many helpers run (at most NB__MAX_HELPERS, so that a hung resolver
 * cannot make a busy program start threads without end) and who waits for
 * one.  One mutex guards it and every request's shared fields, so the
 * thread's answer is published to the caller by the mutex (no other
 * memory ordering is relied on).  A forked child starts with no helpers:
 * its parent's threads do not exist there.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

struct nb__lookup {
    /* shared, under `lock` */
    int refs;              /* the thread's and the caller's: 2, 1, 0 */
    int done;              /* getaddrinfo has returned */
    int wake_fd;           /* written when done; -1 once abandoned */
    nb__answer answer;     /* valid once done */
    /* the question, immutable once the thread runs */
    struct addrinfo hints;
    char service[sizeof(((nb__query *)0)->service)];
    char host[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int helpers;              /* lookups running on helper threads */
static nb__waiter *queue_head;   /* callers waiting for a helper */
static unsigned generation;      /* + 1 in every forked child */
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------ fork */

/* The lock is taken across fork(2), so that the child's copy of the
 * accounting is consistent; the child then forgets its parent's helpers
 * and waiters (their threads and callers are not in the child). */
static void before_fork(void)
{
    pthread_mutex_lock(&lock);
}

static void after_fork_in_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void after_fork_in_child(void)
{
    helpers = 0;
    queue_head = NULL;
    generation++;
    pthread_mutex_unlock(&lock);
}

static void watch_forks(void)
{
    /* It can only fail for want of memory; the lookups still work, and
     * only a forked child would then count its parent's helpers. */
    (void)pthread_atfork(before_fork, after_fork_in_parent,
                         after_fork_in_child);
}

/* ------------------------------------------------- the helper queue */

/* An eventfd's counter += 1: makes it readable.  It cannot fail short of
 * overflowing the counter, which no caller lets happen (each reads it). */
static void wake(int fd)
{
    uint64_t one = 1;

    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* nothing to do: the fd is already readable */
    }
}

/* Under lock: every queued caller is told that a helper may be free, and
 * leaves the queue (it queues again if it loses the race for it). */
static void wake_waiters(void)
{
    nb__waiter *w = queue_head;

    while (w != NULL) {
        nb__waiter *next = w->next;
        w->queued = 0;
        w->prev = w->next = NULL;
        wake(w->wake_fd);
        w = next;
    }
    queue_head = NULL;
}

static void enqueue(nb__waiter *w, int wake_fd)
{
    if (w->queued && w->generation == generation)
        return;
    w->wake_fd = wake_fd;
    w->generation = generation;
    w->queued = 1;
    w->prev = NULL;
    w->next = queue_head;
    if (queue_head != NULL)
        queue_head->prev = w;
    queue_head = w;
}

void nb__waiter_leave(nb__waiter *w)
{
    pthread_mutex_lock(&lock);
    /* a waiter queued before a fork is in no list of this process */
    if (w->queued && w->generation == generation) {
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            queue_head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
    }
    w->queued = 0;
    w->prev = w->next = NULL;
    pthread_mutex_unlock(&lock);
}

/* Takes a helper if one is free; else queues w.  1 or 0. */
static int take_helper(nb__waiter *w, int wake_fd)
{
    int taken;

    pthread_mutex_lock(&lock);
    taken = helpers < NB__MAX_HELPERS;
    if (taken)
        helpers++;
    else
        enqueue(w, wake_fd);
    pthread_mutex_unlock(&lock);
    return taken;
}

static void give_back_helper(void)
{
    pthread_mutex_lock(&lock);
    helpers--;
    wake_waiters();
    pthread_mutex_unlock(&lock);
}

/* --------------------------------------------------------- requests */

static void release(nb__lookup *l)
{
    if (l->answer.res != NULL)
        freeaddrinfo(l->answer.res);
    free(l);
}

/* Under lock: drops one reference; 1 when it was the last. */
static int unref(nb__lookup *l)
{
    return --l->refs == 0;
}

static void *run_lookup(void *arg)
{
    nb__lookup *l = arg;
    struct addrinfo *res = NULL;
    int rc, e, last;

    rc = getaddrinfo(l->host, l->service, &l->hints, &res);
    e = errno;
    pthread_mutex_lock(&lock);
    l->answer.rc = rc;
    l->answer.saved_errno = e;
    l->answer.res = rc == 0 ? res : NULL;
    l->done = 1;
    wake(l->wake_fd);
    helpers--;
    wake_waiters();
    last = unref(l);
    pthread_mutex_unlock(&lock);
    if (last)
        release(l);  /* abandoned: nobody will collect the answer */
    return NULL;
}

/* A detached thread with every signal blocked, so that a signal meant for
 * the process is never delivered to it (the caller's mask is restored at
 * once; a signal arriving meanwhile waits, it is not lost).  0 or an
 * error number. */
static int start_thread(nb__lookup *l)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    int rc;

    rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0) {
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&thread, &attr, run_lookup, l);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_attr_destroy(&attr);
    return rc;
}

static nb__lookup *new_lookup(const nb__query *q, int wake_fd)
{
    size_t hostlen = strlen(q->host) + 1;
    nb__lookup *l = malloc(sizeof(*l) + hostlen);

    if (l == NULL)
        return NULL;
    memset(l, 0, sizeof(*l));
    l->refs = 2;
    l->wake_fd = wake_fd;
    l->hints.ai_flags = q->hints.ai_flags;
    l->hints.ai_family = q->hints.ai_family;
    l->hints.ai_socktype = q->hints.ai_socktype;
    l->hints.ai_protocol = q->hints.ai_protocol;
    memcpy(l->service, q->service, sizeof(l->service));
    memcpy(l->host, q->host, hostlen);
    return l;
}

nb__lookup *nb__lookup_start(const nb__query *q, int wake_fd, nb__waiter *w,
                             int *error, const char **op)
{
    nb__lookup *l;
    int rc;

    pthread_once(&fork_watch, watch_forks);
    *error = 0;
    if (!take_helper(w, wake_fd))
        return NULL;
    l = new_lookup(q, wake_fd);
    if (l == NULL) {
        rc = ENOMEM;
        *op = "malloc";
    } else {
        rc = start_thread(l);
        *op = "pthread_create";
    }
    if (rc != 0) {
        give_back_helper();
        free(l);
        *error = rc;
        return NULL;
    }
    return l;
}

int nb__lookup_collect(nb__lookup *l, nb__answer *answer)
{
    int done, last = 0;

    pthread_mutex_lock(&lock);
    done = l->done;
    if (done) {
        *answer = l->answer;
        l->answer.res = NULL;  /* now the caller's */
        last = unref(l);
    }
    pthread_mutex_unlock(&lock);
    if (last)
        release(l);
    return done;
}

void nb__lookup_abandon(nb__lookup *l)
{
    int last;

    pthread_mutex_lock(&lock);
    l->wake_fd = -1;  /* the caller closes it next */
    last = unref(l);
    pthread_mutex_unlock(&lock);
    if (last)
        release(l);
}

/* ------------------------------------------------- blocking callers */

/* Resets the eventfd's counter, so that the next poll waits again. */
static void drain(int fd)
{
    uint64_t count;

    if (read(fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: nothing was written; the next wait tells */
    }
}

/* Waits on efd until the deadline: 1 readable, 0 deadline, -1 failed
 * (errno, *op "poll"). */
static int wait_wake(int efd, const nb__deadline *d, const char **op)
{
    int ready = nb__wait_fd(efd, POLLIN, d);

    if (ready > 0)
        drain(efd);
    if (ready < 0)
        *op = "poll";
    return ready;
}

/* Starts the lookup, waiting within d for a free helper if need be.
 * The lookup, or NULL with *status: 1 deadline, -1 failure (errno). */
static nb__lookup *start_within(const nb__query *q, int efd,
                                const nb__deadline *d, int *status,
                                const char **op)
{
    nb__waiter w;

    memset(&w, 0, sizeof(w));
    for (;;) {
        int error, ready;
        nb__lookup *l = nb__lookup_start(q, efd, &w, &error, op);
        if (l != NULL)
            return l;
        if (error != 0) {
            errno = error;
            *status = -1;
            return NULL;
        }
        ready = wait_wake(efd, d, op);
        /* woken as the deadline passes: a helper started now would only
         * hold a slot for a lookup nobody waits for */
        if (ready > 0 && nb__deadline_passed(d))
            ready = 0;
        if (ready <= 0) {
            nb__waiter_leave(&w);
            *status = ready == 0 ? 1 : -1;
            return NULL;
        }
    }
}

int nb__lookup_wait(const nb__query *q, const nb__deadline *d,
                    nb__answer *answer, const char **op)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int status = 0;
    nb__lookup *l;

    if (efd < 0) {
        *op = "eventfd";
        return -1;
    }
    l = start_within(q, efd, d, &status, op);
    while (l != NULL) {
        int ready = wait_wake(efd, d, op);
        if (ready <= 0) {
            int e = errno;
            nb__lookup_abandon(l);
            errno = e;
            status = ready == 0 ? 1 : -1;
            break;
        }
        if (nb__lookup_collect(l, answer))
            break;
    }
    nb__close_quietly(efd);
    return status;
}
