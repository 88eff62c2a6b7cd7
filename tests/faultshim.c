/*
 * faultshim.c - the --wrap fault injector described in faultshim.h.
 *
 * Thread-safe: the library's helper threads call wrapped functions while
 * the caller does (faultshim.h, "Threads").  One mutex guards all of the
 * state below; it is held for bookkeeping only, never across a real call,
 * and nothing done under it allocates.  Every wrapper keeps errno as the
 * real call left it, or sets the injected one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "faultshim.h"

/* ------------------------------------------------ the real functions */

/* __real_socket and the others, and the wrappers (no header declares them:
 * the linker maps the names), from the one list in faultshim-calls.h. */
#define FS_DECLARE(NAME, name, ret, params) \
    ret __real_##name params;               \
    ret __wrap_##name params;
FS_CALLS(FS_DECLARE)
#undef FS_DECLARE

/* ------------------------------------------------------------- state */

struct plan {
    enum fs_call call;
    int nth;
    int err;
    int sys_errno;
    int only_if_blocking;
    int only_if_eagain;
};

#define MAX_PLANS 8
#define MAX_FAKE 32
#define MAX_FAKE_LISTS 16
#define MAX_TRACKED 16
#define MAX_THREADS 8        /* distinct threads told apart in a window */
#define WAIT_LIMIT_MS 10000  /* for threads to finish, for a held lookup */

/* A fake getaddrinfo answer: one block, the list and its addresses. */
struct fake_list {
    struct addrinfo ai[MAX_FAKE];
    struct sockaddr_storage ss[MAX_FAKE];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static struct {
    int open;                       /* inside a window */
    int counts[FS_NCALLS];          /* calls per kind in the window */
    int kind_thread[FS_NCALLS];     /* the thread that made the kind, -1 */
    int shared_kind;                /* first kind two threads made, -1 */
    pthread_t threads[MAX_THREADS]; /* [0] opened the window */
    int nthreads;
    int fired;
    struct fs_event trace[FS_MAX_EVENTS];
    int ntrace;
    struct plan plans[MAX_PLANS];
    int nplans;
    size_t caps[FS_NCALLS];
    /* the fake host */
    char fake_host[256];
    struct sockaddr_storage fake_ss[MAX_FAKE];
    socklen_t fake_len[MAX_FAKE];
    int nfake;
    struct fake_list *fake_lists[MAX_FAKE_LISTS];  /* handed out */
    int hold_lookups;
    int running;                    /* threads started, not returned */
    /* leak accounting */
    long addrinfo_outstanding;
    void *tracked[MAX_TRACKED];     /* the window's live allocations */
} fs;

static void lock_state(void)
{
    pthread_mutex_lock(&lock);
}

static void unlock_state(void)
{
    pthread_mutex_unlock(&lock);
}

/* fork(2) with the lock held by nobody: a child does not inherit it taken
 * by a thread it does not have; nor does it have its parent's threads. */
static void before_fork(void)
{
    lock_state();
}

static void after_fork_in_parent(void)
{
    unlock_state();
}

static void after_fork_in_child(void)
{
    fs.running = 0;
    unlock_state();
}

/* Before main, so that the handlers are registered before lib/lookup.c's
 * (registered at its first lookup): prepare handlers run in the reverse
 * order, so fork takes lookup.c's lock first and the shim's second, the
 * order in which a helper thread holding lookup.c's lock reaches the shim
 * (its write). */
__attribute__((constructor)) static void watch_forks(void)
{
    if (pthread_atfork(before_fork, after_fork_in_parent,
                       after_fork_in_child) != 0)
        abort();
}

/* Waits on `changed` until *cond_value is 0 or `deadline` (CLOCK_REALTIME,
 * as the condition variable's) passes.  Under lock. */
static void wait_for_zero(const int *cond_value, const struct timespec *end)
{
    while (*cond_value != 0)
        if (pthread_cond_timedwait(&changed, &lock, end) == ETIMEDOUT)
            break;
}

static struct timespec limit_from_now(void)
{
    struct timespec end;

    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += WAIT_LIMIT_MS / 1000;
    return end;
}

static void wait_for_threads(void)
{
    struct timespec end = limit_from_now();

    lock_state();
    wait_for_zero(&fs.running, &end);
    unlock_state();
}

static const char *const names[FS_NCALLS] = {
#define FS_NAME(NAME, name, ret, params) [FS_##NAME] = #name,
    FS_CALLS(FS_NAME)
#undef FS_NAME
};

const char *fs_call_name(enum fs_call call)
{
    return (unsigned)call < FS_NCALLS ? names[call] : "?";
}

/* Under lock. */
static void clear_window(void)
{
    int i;

    memset(fs.counts, 0, sizeof(fs.counts));
    for (i = 0; i < FS_NCALLS; i++)
        fs.kind_thread[i] = -1;
    fs.shared_kind = -1;
    fs.nthreads = 0;
    fs.fired = 0;
    fs.ntrace = 0;
}

void fs_reset(void)
{
    int i;

    lock_state();
    fs.hold_lookups = 0;
    pthread_cond_broadcast(&changed);
    unlock_state();
    wait_for_threads();
    lock_state();
    clear_window();
    for (i = 0; i < FS_NCALLS; i++)
        fs.caps[i] = 0;
    fs.open = 0;
    fs.nplans = 0;
    fs.nfake = 0;
    fs.fake_host[0] = '\0';
    unlock_state();
}

void fs_begin(void)
{
    lock_state();
    clear_window();
    fs.threads[0] = pthread_self();
    fs.nthreads = 1;
    fs.open = 1;
    unlock_state();
}

void fs_end(void)
{
    wait_for_threads();
    lock_state();
    fs.open = 0;
    unlock_state();
}

void fs_fail_if(enum fs_call call, int nth, int err, int only_if_blocking,
                int only_if_eagain)
{
    struct plan *p;

    lock_state();
    if (fs.nplans >= MAX_PLANS)
        abort();
    p = &fs.plans[fs.nplans++];
    p->call = call;
    p->nth = nth;
    p->err = err;
    p->sys_errno = call == FS_MALLOC ? ENOMEM : err;
    p->only_if_blocking = only_if_blocking;
    p->only_if_eagain = only_if_eagain;
    unlock_state();
}

void fs_fail(enum fs_call call, int nth, int err)
{
    fs_fail_if(call, nth, err, 0, 0);
}

void fs_fail_gai(int nth, int gai, int sys_errno)
{
    fs_fail_if(FS_GETADDRINFO, nth, gai, 0, 0);
    lock_state();
    fs.plans[fs.nplans - 1].sys_errno = sys_errno;
    unlock_state();
}

void fs_cap(enum fs_call call, size_t max)
{
    lock_state();
    fs.caps[call] = max;
    unlock_state();
}

void fs_fake_host(const char *host, const struct sockaddr_storage *addrs,
                  const socklen_t *lens, int n)
{
    if (n > MAX_FAKE || strlen(host) >= sizeof(fs.fake_host))
        abort();
    lock_state();
    snprintf(fs.fake_host, sizeof(fs.fake_host), "%s", host);
    memcpy(fs.fake_ss, addrs, sizeof(*addrs) * (size_t)n);
    memcpy(fs.fake_len, lens, sizeof(*lens) * (size_t)n);
    fs.nfake = n;
    unlock_state();
}

void fs_hold_lookups(int on)
{
    lock_state();
    fs.hold_lookups = on;
    pthread_cond_broadcast(&changed);
    unlock_state();
}

int fs_threads_running(void)
{
    int n;

    lock_state();
    n = fs.running;
    unlock_state();
    return n;
}

int fs_shared_kind(void)
{
    int k;

    lock_state();
    k = fs.shared_kind;
    unlock_state();
    return k;
}

int fs_real_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return __real_poll(fds, n, timeout);
}

int fs_trace_len(void)
{
    int n;

    lock_state();
    n = fs.ntrace;
    unlock_state();
    return n;
}

const struct fs_event *fs_trace(int i)
{
    const struct fs_event *ev;

    lock_state();
    ev = i >= 0 && i < fs.ntrace ? &fs.trace[i] : NULL;
    unlock_state();
    return ev;
}

int fs_fired(void)
{
    int n;

    lock_state();
    n = fs.fired;
    unlock_state();
    return n;
}

long fs_addrinfo_outstanding(void)
{
    long n;

    lock_state();
    n = fs.addrinfo_outstanding;
    unlock_state();
    return n;
}

long fs_malloc_outstanding(void)
{
    long n = 0;
    int i;

    lock_state();
    for (i = 0; i < MAX_TRACKED; i++)
        n += fs.tracked[i] != NULL;
    unlock_state();
    return n;
}

static const char *option_name(int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: return "SO_REUSEADDR";
        case SO_REUSEPORT: return "SO_REUSEPORT";
        case SO_ERROR:     return "SO_ERROR";
        case SO_SNDTIMEO:  return "SO_SNDTIMEO";
        case SO_RCVTIMEO:  return "SO_RCVTIMEO";
        case SO_TYPE:      return "SO_TYPE";
        case SO_PROTOCOL:  return "SO_PROTOCOL";
        case SO_KEEPALIVE: return "SO_KEEPALIVE";
        }
    } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
        return "IPV6_V6ONLY";
    } else if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY:      return "TCP_NODELAY";
        case TCP_KEEPIDLE:     return "TCP_KEEPIDLE";
        case TCP_KEEPINTVL:    return "TCP_KEEPINTVL";
        case TCP_KEEPCNT:      return "TCP_KEEPCNT";
        case TCP_USER_TIMEOUT: return "TCP_USER_TIMEOUT";
        }
    }
    return "?";
}

static const char *domain_name(int domain)
{
    switch (domain) {
    case AF_INET:  return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX:  return "unix";
    default:       return NULL;
    }
}

static const char *fdkind_name(int kind)
{
    switch (kind) {
    case FS_FD_EVENTFD: return "eventfd";
    case FS_FD_TIMERFD: return "timerfd";
    case FS_FD_EPOLL:   return "epoll";
    default:            return NULL;
    }
}

char *fs_event_name(const struct fs_event *ev, char *buf, size_t size)
{
    const char *dom = domain_name(ev->domain), *kind = fdkind_name(ev->fdkind);
    char opt[48] = "", where[16] = "", who[24] = "";

    if (ev->call == FS_SETSOCKOPT || ev->call == FS_GETSOCKOPT)
        snprintf(opt, sizeof(opt), "(%s)", option_name(ev->level, ev->name));
    else if (kind != NULL)
        snprintf(where, sizeof(where), "[%s]", kind);
    else if (dom != NULL)
        snprintf(where, sizeof(where), "[%s%s]", dom,
                 ev->socktype == SOCK_DGRAM ? "/dgram" : "");
    if (ev->thread == 1)
        snprintf(who, sizeof(who), "@helper");
    else if (ev->thread > 1)
        snprintf(who, sizeof(who), "@helper%d", ev->thread);
    snprintf(buf, size, "%s%s%s#%d%s", fs_call_name(ev->call), opt, where,
             ev->nth, who);
    return buf;
}

/* ------------------------------------------------------ the machinery */

static int sockopt_int(int fd, int name)
{
    int v = 0;
    socklen_t len = sizeof(v);

    return __real_getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : 0;
}

static int has_timeout(int fd, int name)
{
    struct timeval tv = { 0, 0 };
    socklen_t len = sizeof(tv);

    if (__real_getsockopt(fd, SOL_SOCKET, name, &tv, &len) != 0)
        return 0;
    return tv.tv_sec != 0 || tv.tv_usec != 0;
}

/* What fd is, from /proc/self/fd; keeps errno. */
static int fdkind_of(int fd)
{
    char path[64], target[64];
    int saved = errno;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    errno = saved;
    if (n <= 0)
        return FS_FD_OTHER;
    target[n] = '\0';
    if (strncmp(target, "socket:", 7) == 0)
        return FS_FD_SOCKET;
    if (strcmp(target, "anon_inode:[eventfd]") == 0)
        return FS_FD_EVENTFD;
    if (strcmp(target, "anon_inode:[timerfd]") == 0)
        return FS_FD_TIMERFD;
    if (strcmp(target, "anon_inode:[eventpoll]") == 0)
        return FS_FD_EPOLL;
    return FS_FD_OTHER;
}

/* What a descriptor is, for the event; keeps errno. */
static void describe(struct fs_event *ev, int fd, int dontwait, int timeo)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int saved = errno;
    int fl = __real_fcntl(fd, F_GETFL);
    int nonblocking = (fl >= 0 && (fl & O_NONBLOCK)) || dontwait;

    ev->fdkind = fdkind_of(fd);
    if (ev->fdkind == FS_FD_SOCKET) {
        ev->domain = sockopt_int(fd, SO_DOMAIN);
        ev->socktype = sockopt_int(fd, SO_TYPE);
        ev->connected =
            __real_getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
    }
    ev->can_block = !nonblocking;
    ev->can_eagain = nonblocking || (timeo != 0 && has_timeout(fd, timeo));
    errno = saved;
}

/* Under lock: the calling thread's number in the window (0 opened it). */
static int thread_number(void)
{
    pthread_t self = pthread_self();
    int i;

    for (i = 0; i < fs.nthreads; i++)
        if (pthread_equal(fs.threads[i], self))
            return i;
    if (fs.nthreads >= MAX_THREADS)
        abort();
    fs.threads[fs.nthreads] = self;
    return fs.nthreads++;
}

/* Starts an event (in a window; NULL outside one). */
static struct fs_event *enter(enum fs_call call)
{
    struct fs_event *ev = NULL;

    lock_state();
    if (fs.open) {
        if (fs.ntrace >= FS_MAX_EVENTS)
            abort();  /* a runaway loop in the library */
        ev = &fs.trace[fs.ntrace++];
        memset(ev, 0, sizeof(*ev));
        ev->call = call;
        ev->nth = fs.counts[call]++;
        ev->thread = thread_number();
        if (fs.kind_thread[call] < 0)
            fs.kind_thread[call] = ev->thread;
        else if (fs.kind_thread[call] != ev->thread && fs.shared_kind < 0)
            fs.shared_kind = (int)call;
    }
    unlock_state();
    return ev;
}

/* Under lock: the planned fault for this event, or NULL. */
static const struct plan *find_plan(const struct fs_event *ev)
{
    int i;

    for (i = 0; i < fs.nplans; i++) {
        const struct plan *p = &fs.plans[i];
        if (p->call != ev->call)
            continue;
        if (p->only_if_blocking && !ev->can_block)
            continue;
        if (p->only_if_eagain && !ev->can_eagain)
            continue;
        if (p->nth == ev->nth || p->nth == FS_EVERY)
            return p;
        if (p->nth == FS_ALTERNATE) {
            /* fail this one unless the previous call of the kind failed
             * (that kind is made by one thread: fs_shared_kind) */
            int j;
            for (j = (int)(ev - fs.trace) - 1; j >= 0; j--)
                if (fs.trace[j].call == ev->call)
                    return fs.trace[j].injected ? NULL : p;
            return p;
        }
    }
    return NULL;
}

/* 1 when the event is to fail, with the plan copied into *out; the event
 * is then marked injected and counted. */
static int planned(struct fs_event *ev, struct plan *out)
{
    const struct plan *p;

    if (ev == NULL)
        return 0;
    lock_state();
    p = find_plan(ev);
    if (p != NULL) {
        *out = *p;
        ev->injected = 1;
        fs.fired++;
    }
    unlock_state();
    return p != NULL;
}

/* The event failed with err: returns -1 with errno err. */
static int inject(struct fs_event *ev, int err)
{
    ev->result = -1;
    ev->err = err;
    errno = err;
    return -1;
}

/* Records what the real call did. */
static long leave(struct fs_event *ev, long result)
{
    if (ev != NULL) {
        ev->result = result;
        ev->err = result < 0 ? errno : 0;
    }
    return result;
}

static size_t capped(enum fs_call call, size_t len)
{
    size_t cap;

    lock_state();
    cap = fs.open ? fs.caps[call] : 0;
    unlock_state();
    return cap != 0 && len > cap ? cap : len;
}

/* ------------------------------------------------------- the wrappers */

int __wrap_socket(int domain, int type, int protocol)
{
    struct fs_event *ev = enter(FS_SOCKET);
    struct plan p;

    if (ev != NULL) {
        ev->domain = domain;
        ev->socktype = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_socket(domain, type, protocol));
}

int __wrap_setsockopt(int fd, int level, int name, const void *value,
                      socklen_t len)
{
    struct fs_event *ev = enter(FS_SETSOCKOPT);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->level = level;
        ev->name = name;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_setsockopt(fd, level, name, value, len));
}

int __wrap_getsockopt(int fd, int level, int name, void *value,
                      socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETSOCKOPT);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->level = level;
        ev->name = name;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_getsockopt(fd, level, name, value, len));
}

int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fs_event *ev = enter(FS_BIND);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_bind(fd, addr, len));
}

int __wrap_listen(int fd, int backlog)
{
    struct fs_event *ev = enter(FS_LISTEN);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_listen(fd, backlog));
}

int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fs_event *ev = enter(FS_CONNECT);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, SO_SNDTIMEO);
        /* TCP and UDP connects never say EAGAIN (a non-blocking TCP
         * connect says EINPROGRESS); a UDP connect never sleeps */
        if (ev->domain != AF_UNIX)
            ev->can_eagain = 0;
        if (ev->socktype == SOCK_DGRAM)
            ev->can_block = 0;
    }
    if (planned(ev, &p)) {
        if (p.err == EINTR && ev->domain != AF_UNIX) {
            /* the SYN is out when the signal interrupts the wait */
            int saved = errno;
            if (__real_connect(fd, addr, len) != 0 && errno != EINPROGRESS)
                return (int)leave(ev, -1);
            errno = saved;
        }
        return inject(ev, p.err);
    }
    return (int)leave(ev, __real_connect(fd, addr, len));
}

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct fs_event *ev = enter(FS_ACCEPT4);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, 0, SO_RCVTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_accept4(fd, addr, len, flags));
}

int __wrap_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETSOCKNAME);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_getsockname(fd, addr, len));
}

int __wrap_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETPEERNAME);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_getpeername(fd, addr, len));
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
    struct fs_event *ev = enter(FS_IOCTL);
    struct plan p;
    va_list ap;
    void *arg;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->name = (int)request;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_ioctl(fd, request, arg));
}

int __wrap_fcntl(int fd, int cmd, ...)
{
    struct fs_event *ev = enter(FS_FCNTL);
    struct plan p;
    va_list ap;
    void *arg;

    /* every command's argument fits a pointer's place (glibc reads it so) */
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (ev != NULL) {
        ev->can_block = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
        ev->name = cmd;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_fcntl(fd, cmd, arg));
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    struct fs_event *ev = enter(FS_POLL);
    struct plan p;

    if (ev != NULL) {
        ev->can_block = timeout != 0;
        if (n > 0) {
            int saved = errno;
            ev->fdkind = fdkind_of(fds[0].fd);
            if (ev->fdkind == FS_FD_SOCKET) {
                ev->domain = sockopt_int(fds[0].fd, SO_DOMAIN);
                ev->socktype = sockopt_int(fds[0].fd, SO_TYPE);
            }
            errno = saved;
        }
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_poll(fds, n, timeout));
}

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    struct fs_event *ev = enter(FS_SEND);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_SNDTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return leave(ev, __real_send(fd, buf, capped(FS_SEND, len), flags));
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
    struct fs_event *ev = enter(FS_RECV);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_RCVTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return leave(ev, __real_recv(fd, buf, capped(FS_RECV, len), flags));
}

ssize_t __wrap_sendto(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *to, socklen_t tolen)
{
    struct fs_event *ev = enter(FS_SENDTO);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_SNDTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return leave(ev, __real_sendto(fd, buf, capped(FS_SENDTO, len), flags,
                                   to, tolen));
}

ssize_t __wrap_recvfrom(int fd, void *buf, size_t len, int flags,
                        struct sockaddr *from, socklen_t *fromlen)
{
    struct fs_event *ev = enter(FS_RECVFROM);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_RCVTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return leave(ev, __real_recvfrom(fd, buf, len, flags, from, fromlen));
}

/* The fake host's answer, in a block of its own (so that lookups on
 * several threads do not share one), registered so that freeaddrinfo
 * tells it from glibc's by address.  EAI_MEMORY when it cannot be made. */
static int fake_getaddrinfo(const struct addrinfo *hints,
                            struct addrinfo **res)
{
    struct fake_list *list = __real_malloc(sizeof(*list));
    struct addrinfo *prev = NULL;
    int i, n = 0, slot;

    *res = NULL;
    if (list == NULL)
        return EAI_MEMORY;
    memset(list, 0, sizeof(*list));
    lock_state();
    for (i = 0; i < fs.nfake; i++) {
        struct addrinfo *ai = &list->ai[n];
        if (hints != NULL && hints->ai_family != AF_UNSPEC &&
            hints->ai_family != fs.fake_ss[i].ss_family)
            continue;
        list->ss[n] = fs.fake_ss[i];
        ai->ai_family = fs.fake_ss[i].ss_family;
        ai->ai_socktype = hints != NULL ? hints->ai_socktype : SOCK_STREAM;
        ai->ai_protocol = hints != NULL ? hints->ai_protocol : 0;
        ai->ai_addr = (struct sockaddr *)&list->ss[n];
        ai->ai_addrlen = fs.fake_len[i];
        if (prev != NULL)
            prev->ai_next = ai;
        prev = ai;
        n++;
    }
    for (slot = 0; n > 0 && slot < MAX_FAKE_LISTS; slot++)
        if (fs.fake_lists[slot] == NULL) {
            fs.fake_lists[slot] = list;
            break;
        }
    unlock_state();
    if (n > 0 && slot == MAX_FAKE_LISTS)
        abort();  /* fake lists that nobody frees */
    if (n == 0) {
        __real_free(list);
        return EAI_NONAME;
    }
    *res = &list->ai[0];
    return 0;
}

/* Under lock: the fake list whose head is ai, taken out of the registry;
 * NULL for glibc's. */
static struct fake_list *take_fake_list(const struct addrinfo *ai)
{
    int slot;

    for (slot = 0; slot < MAX_FAKE_LISTS; slot++)
        if (fs.fake_lists[slot] != NULL && &fs.fake_lists[slot]->ai[0] == ai) {
            struct fake_list *list = fs.fake_lists[slot];
            fs.fake_lists[slot] = NULL;
            return list;
        }
    return NULL;
}

/* Waits while lookups are held (fs_hold_lookups), at most WAIT_LIMIT_MS. */
static void held(void)
{
    struct timespec end = limit_from_now();

    lock_state();
    wait_for_zero(&fs.hold_lookups, &end);
    unlock_state();
}

/* getaddrinfo and getservbyname_r report by their result: the event
 * failed with code, errno is sys_errno. */
static int inject_result(struct fs_event *ev, int code, int sys_errno)
{
    ev->result = code;
    ev->err = code;
    errno = sys_errno;
    return code;
}

int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    struct fs_event *ev;
    struct plan p;
    int rc, fake, saved;

    held();
    ev = enter(FS_GETADDRINFO);
    if (planned(ev, &p))
        return inject_result(ev, p.err, p.sys_errno);
    lock_state();
    fake = fs.nfake > 0 && node != NULL && strcmp(node, fs.fake_host) == 0;
    unlock_state();
    if (fake)
        rc = fake_getaddrinfo(hints, res);
    else
        rc = __real_getaddrinfo(node, service, hints, res);
    saved = errno;
    if (rc == 0) {
        lock_state();
        fs.addrinfo_outstanding++;
        unlock_state();
    }
    if (ev != NULL) {
        ev->result = rc;
        ev->err = rc;
    }
    errno = saved;
    return rc;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
    struct fake_list *fake;

    if (ai == NULL)
        return;
    lock_state();
    fs.addrinfo_outstanding--;
    fake = take_fake_list(ai);
    unlock_state();
    if (fake != NULL)
        __real_free(fake);
    else
        __real_freeaddrinfo(ai);
}

int __wrap_getservbyname_r(const char *name, const char *proto,
                           struct servent *ent, char *buf, size_t size,
                           struct servent **result)
{
    struct fs_event *ev = enter(FS_GETSERVBYNAME_R);
    struct plan p;
    int rc;

    if (planned(ev, &p)) {
        *result = NULL;
        return inject_result(ev, p.err, p.sys_errno);
    }
    rc = __real_getservbyname_r(name, proto, ent, buf, size, result);
    if (ev != NULL) {
        ev->result = rc;
        ev->err = rc;
    }
    return rc;
}

unsigned __wrap_if_nametoindex(const char *name)
{
    struct fs_event *ev = enter(FS_IF_NAMETOINDEX);
    struct plan p;
    unsigned index;

    if (planned(ev, &p)) {
        inject(ev, p.err);
        return 0;
    }
    index = __real_if_nametoindex(name);
    if (ev != NULL) {
        ev->result = index;
        ev->err = index == 0 ? errno : 0;
    }
    return index;
}

char *__wrap_if_indextoname(unsigned index, char *name)
{
    struct fs_event *ev = enter(FS_IF_INDEXTONAME);
    struct plan p;
    char *r;

    if (planned(ev, &p)) {
        inject(ev, p.err);
        return NULL;
    }
    r = __real_if_indextoname(index, name);
    if (ev != NULL) {
        ev->result = r != NULL;
        ev->err = r == NULL ? errno : 0;
    }
    return r;
}

int __wrap_lstat(const char *path, struct stat *st)
{
    struct fs_event *ev = enter(FS_LSTAT);
    struct plan p;

    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_lstat(path, st));
}

int __wrap_unlink(const char *path)
{
    struct fs_event *ev = enter(FS_UNLINK);
    struct plan p;

    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_unlink(path));
}

void *__wrap_malloc(size_t size)
{
    struct fs_event *ev = enter(FS_MALLOC);
    struct plan p;
    void *mem;
    int i;

    if (planned(ev, &p)) {
        inject(ev, ENOMEM);
        return NULL;
    }
    mem = __real_malloc(size);
    if (ev != NULL) {
        ev->result = mem != NULL;
        lock_state();
        for (i = 0; mem != NULL && i < MAX_TRACKED; i++)
            if (fs.tracked[i] == NULL) {
                fs.tracked[i] = mem;
                break;
            }
        unlock_state();
    }
    return mem;
}

void __wrap_free(void *mem)
{
    int i;

    if (mem == NULL)
        return;
    lock_state();
    for (i = 0; i < MAX_TRACKED; i++)
        if (fs.tracked[i] == mem)
            fs.tracked[i] = NULL;
    unlock_state();
    __real_free(mem);
}

/* close(2) frees the descriptor whatever it says: a fault comes after. */
int __wrap_close(int fd)
{
    struct fs_event *ev = enter(FS_CLOSE);
    struct plan p;
    int fail, rc;

    if (ev != NULL)
        ev->fdkind = fdkind_of(fd);
    fail = planned(ev, &p);
    rc = __real_close(fd);
    if (fail)
        return inject(ev, p.err);
    return (int)leave(ev, rc);
}

/* ------------------------------------- event loops, counters, threads */

int __wrap_eventfd(unsigned int initval, int flags)
{
    struct fs_event *ev = enter(FS_EVENTFD);
    struct plan p;

    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_eventfd(initval, flags));
}

int __wrap_epoll_create1(int flags)
{
    struct fs_event *ev = enter(FS_EPOLL_CREATE1);
    struct plan p;

    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_epoll_create1(flags));
}

int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    struct fs_event *ev = enter(FS_EPOLL_CTL);
    struct plan p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);  /* the descriptor added or removed */
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->name = op;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_epoll_ctl(epfd, op, fd, event));
}

int __wrap_epoll_wait(int epfd, struct epoll_event *events, int max,
                      int timeout)
{
    struct fs_event *ev = enter(FS_EPOLL_WAIT);
    struct plan p;

    if (ev != NULL) {
        ev->fdkind = FS_FD_EPOLL;
        ev->can_block = timeout != 0;
    }
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_epoll_wait(epfd, events, max, timeout));
}

int __wrap_timerfd_create(int clockid, int flags)
{
    struct fs_event *ev = enter(FS_TIMERFD_CREATE);
    struct plan p;

    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_timerfd_create(clockid, flags));
}

int __wrap_timerfd_settime(int fd, int flags, const struct itimerspec *value,
                           struct itimerspec *old)
{
    struct fs_event *ev = enter(FS_TIMERFD_SETTIME);
    struct plan p;

    if (ev != NULL)
        ev->fdkind = fdkind_of(fd);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return (int)leave(ev, __real_timerfd_settime(fd, flags, value, old));
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
    struct fs_event *ev = enter(FS_READ);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, 0, SO_RCVTIMEO);
    if (planned(ev, &p))
        return inject(ev, p.err);
    return leave(ev, __real_read(fd, buf, len));
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
    struct fs_event *ev = enter(FS_WRITE);
    struct plan p;

    if (ev != NULL)
        describe(ev, fd, 0, SO_SNDTIMEO);
    if (planned(ev, &p)) {
        if (p.err == EAGAIN && ev->fdkind == FS_FD_EVENTFD) {
            /* a counter too full to add to is readable: so is this one */
            int saved = errno;
            if (__real_write(fd, buf, len) < 0)
                return leave(ev, -1);
            errno = saved;
        }
        return inject(ev, p.err);
    }
    return leave(ev, __real_write(fd, buf, len));
}

/* Every thread is started through here, so that fs_end can wait for the
 * ones still running (an abandoned lookup frees its memory on its own
 * thread when getaddrinfo returns). */
struct start {
    void *(*fn)(void *);
    void *arg;
};

static void *trampoline(void *arg)
{
    struct start s = *(struct start *)arg;
    void *result;

    __real_free(arg);
    result = s.fn(s.arg);
    lock_state();
    fs.running--;
    pthread_cond_broadcast(&changed);
    unlock_state();
    return result;
}

/* pthread_create says why by its result, and leaves errno alone. */
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    struct fs_event *ev = enter(FS_PTHREAD_CREATE);
    struct start *s;
    struct plan p;
    int rc, saved = errno;

    if (planned(ev, &p)) {
        inject_result(ev, p.err, saved);
        return p.err;
    }
    s = __real_malloc(sizeof(*s));
    if (s == NULL)
        return EAGAIN;  /* glibc's answer when it cannot allocate */
    s->fn = fn;
    s->arg = arg;
    lock_state();
    fs.running++;
    unlock_state();
    rc = __real_pthread_create(thread, attr, trampoline, s);
    if (rc != 0) {
        lock_state();
        fs.running--;
        pthread_cond_broadcast(&changed);
        unlock_state();
        __real_free(s);
    }
    if (ev != NULL) {
        ev->result = rc;
        ev->err = rc;
    }
    errno = saved;
    return rc;
}
