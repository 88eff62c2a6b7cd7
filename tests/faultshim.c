/*
 * faultshim.c - the --wrap fault injector described in faultshim.h.
 *
 * Single-threaded by design (test_faults starts no threads).  Every
 * wrapper keeps errno as the real call left it, or sets the injected one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include <sys/time.h>
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
#define MAX_TRACKED 16

static struct {
    int open;                       /* inside a window */
    int counts[FS_NCALLS];          /* calls per kind in the window */
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
    struct addrinfo fake_ai[MAX_FAKE];
    struct sockaddr_storage fake_out[MAX_FAKE];
    /* leak accounting */
    long addrinfo_outstanding;
    void *tracked[MAX_TRACKED];     /* the window's live allocations */
} fs;

static const char *const names[FS_NCALLS] = {
#define FS_NAME(NAME, name, ret, params) [FS_##NAME] = #name,
    FS_CALLS(FS_NAME)
#undef FS_NAME
};

const char *fs_call_name(enum fs_call call)
{
    return (unsigned)call < FS_NCALLS ? names[call] : "?";
}

void fs_reset(void)
{
    memset(fs.counts, 0, sizeof(fs.counts));
    memset(fs.caps, 0, sizeof(fs.caps));
    fs.open = 0;
    fs.fired = 0;
    fs.ntrace = 0;
    fs.nplans = 0;
    fs.nfake = 0;
    fs.fake_host[0] = '\0';
}

void fs_begin(void)
{
    memset(fs.counts, 0, sizeof(fs.counts));
    fs.fired = 0;
    fs.ntrace = 0;
    fs.open = 1;
}

void fs_end(void)
{
    fs.open = 0;
}

void fs_fail_if(enum fs_call call, int nth, int err, int only_if_blocking,
                int only_if_eagain)
{
    struct plan *p;

    if (fs.nplans >= MAX_PLANS)
        abort();
    p = &fs.plans[fs.nplans++];
    p->call = call;
    p->nth = nth;
    p->err = err;
    p->sys_errno = call == FS_MALLOC ? ENOMEM : err;
    p->only_if_blocking = only_if_blocking;
    p->only_if_eagain = only_if_eagain;
}

void fs_fail(enum fs_call call, int nth, int err)
{
    fs_fail_if(call, nth, err, 0, 0);
}

void fs_fail_gai(int nth, int gai, int sys_errno)
{
    fs_fail_if(FS_GETADDRINFO, nth, gai, 0, 0);
    fs.plans[fs.nplans - 1].sys_errno = sys_errno;
}

void fs_cap(enum fs_call call, size_t max)
{
    fs.caps[call] = max;
}

void fs_fake_host(const char *host, const struct sockaddr_storage *addrs,
                  const socklen_t *lens, int n)
{
    if (n > MAX_FAKE || strlen(host) >= sizeof(fs.fake_host))
        abort();
    snprintf(fs.fake_host, sizeof(fs.fake_host), "%s", host);
    memcpy(fs.fake_ss, addrs, sizeof(*addrs) * (size_t)n);
    memcpy(fs.fake_len, lens, sizeof(*lens) * (size_t)n);
    fs.nfake = n;
}

int fs_trace_len(void)
{
    return fs.ntrace;
}

const struct fs_event *fs_trace(int i)
{
    return i >= 0 && i < fs.ntrace ? &fs.trace[i] : NULL;
}

int fs_fired(void)
{
    return fs.fired;
}

long fs_addrinfo_outstanding(void)
{
    return fs.addrinfo_outstanding;
}

long fs_malloc_outstanding(void)
{
    long n = 0;
    int i;

    for (i = 0; i < MAX_TRACKED; i++)
        n += fs.tracked[i] != NULL;
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
        }
    } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
        return "IPV6_V6ONLY";
    } else if (level == IPPROTO_TCP && name == TCP_NODELAY) {
        return "TCP_NODELAY";
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

char *fs_event_name(const struct fs_event *ev, char *buf, size_t size)
{
    const char *dom = domain_name(ev->domain);
    char opt[48] = "", where[16] = "";

    if (ev->call == FS_SETSOCKOPT || ev->call == FS_GETSOCKOPT)
        snprintf(opt, sizeof(opt), "(%s)", option_name(ev->level, ev->name));
    if (dom != NULL && ev->call != FS_SETSOCKOPT && ev->call != FS_GETSOCKOPT)
        snprintf(where, sizeof(where), "[%s%s]", dom,
                 ev->socktype == SOCK_DGRAM ? "/dgram" : "");
    snprintf(buf, size, "%s%s%s#%d", fs_call_name(ev->call), opt, where,
             ev->nth);
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

/* What a descriptor is, for the event; keeps errno. */
static void describe(struct fs_event *ev, int fd, int dontwait, int timeo)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int saved = errno;
    int fl = __real_fcntl(fd, F_GETFL);
    int nonblocking = (fl >= 0 && (fl & O_NONBLOCK)) || dontwait;

    ev->domain = sockopt_int(fd, SO_DOMAIN);
    ev->socktype = sockopt_int(fd, SO_TYPE);
    ev->connected = __real_getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
    ev->can_block = !nonblocking;
    ev->can_eagain = nonblocking || (timeo != 0 && has_timeout(fd, timeo));
    errno = saved;
}

/* Starts an event (in a window; NULL outside one). */
static struct fs_event *enter(enum fs_call call)
{
    struct fs_event *ev;

    if (!fs.open)
        return NULL;
    if (fs.ntrace >= FS_MAX_EVENTS)
        abort();  /* a runaway loop in the library */
    ev = &fs.trace[fs.ntrace++];
    memset(ev, 0, sizeof(*ev));
    ev->call = call;
    ev->nth = fs.counts[call]++;
    return ev;
}

/* The planned fault for this event, or NULL. */
static const struct plan *planned(const struct fs_event *ev)
{
    int i;

    if (ev == NULL)
        return NULL;
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
            /* fail this one unless the previous call of the kind failed */
            int j;
            for (j = fs.ntrace - 2; j >= 0; j--)
                if (fs.trace[j].call == ev->call)
                    return fs.trace[j].injected ? NULL : p;
            return p;
        }
    }
    return NULL;
}

/* Marks the event failed with err and returns -1 with errno err. */
static int inject(struct fs_event *ev, int err)
{
    ev->injected = 1;
    ev->result = -1;
    ev->err = err;
    fs.fired++;
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
    return fs.open && fs.caps[call] != 0 && len > fs.caps[call] ? fs.caps[call]
                                                                : len;
}

/* ------------------------------------------------------- the wrappers */

int __wrap_socket(int domain, int type, int protocol)
{
    struct fs_event *ev = enter(FS_SOCKET);
    const struct plan *p;

    if (ev != NULL) {
        ev->domain = domain;
        ev->socktype = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_socket(domain, type, protocol));
}

int __wrap_setsockopt(int fd, int level, int name, const void *value,
                      socklen_t len)
{
    struct fs_event *ev = enter(FS_SETSOCKOPT);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->level = level;
        ev->name = name;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_setsockopt(fd, level, name, value, len));
}

int __wrap_getsockopt(int fd, int level, int name, void *value,
                      socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETSOCKOPT);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
        ev->level = level;
        ev->name = name;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_getsockopt(fd, level, name, value, len));
}

int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fs_event *ev = enter(FS_BIND);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_bind(fd, addr, len));
}

int __wrap_listen(int fd, int backlog)
{
    struct fs_event *ev = enter(FS_LISTEN);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_listen(fd, backlog));
}

int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fs_event *ev = enter(FS_CONNECT);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, SO_SNDTIMEO);
        /* TCP and UDP connects never say EAGAIN (a non-blocking TCP
         * connect says EINPROGRESS); a UDP connect never sleeps */
        if (ev->domain != AF_UNIX)
            ev->can_eagain = 0;
        if (ev->socktype == SOCK_DGRAM)
            ev->can_block = 0;
    }
    if ((p = planned(ev)) != NULL) {
        if (p->err == EINTR && ev->domain != AF_UNIX) {
            /* the SYN is out when the signal interrupts the wait */
            int saved = errno;
            if (__real_connect(fd, addr, len) != 0 && errno != EINPROGRESS)
                return (int)leave(ev, -1);
            errno = saved;
        }
        return inject(ev, p->err);
    }
    return (int)leave(ev, __real_connect(fd, addr, len));
}

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct fs_event *ev = enter(FS_ACCEPT4);
    const struct plan *p;

    if (ev != NULL)
        describe(ev, fd, 0, SO_RCVTIMEO);
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_accept4(fd, addr, len, flags));
}

int __wrap_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETSOCKNAME);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_getsockname(fd, addr, len));
}

int __wrap_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct fs_event *ev = enter(FS_GETPEERNAME);
    const struct plan *p;

    if (ev != NULL) {
        describe(ev, fd, 0, 0);
        ev->can_block = 0;
        ev->can_eagain = 0;
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_getpeername(fd, addr, len));
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
    struct fs_event *ev = enter(FS_IOCTL);
    const struct plan *p;
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
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_ioctl(fd, request, arg));
}

int __wrap_fcntl(int fd, int cmd, ...)
{
    struct fs_event *ev = enter(FS_FCNTL);
    const struct plan *p;
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
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_fcntl(fd, cmd, arg));
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    struct fs_event *ev = enter(FS_POLL);
    const struct plan *p;

    if (ev != NULL) {
        ev->can_block = timeout != 0;
        if (n > 0) {
            int saved = errno;
            ev->domain = sockopt_int(fds[0].fd, SO_DOMAIN);
            ev->socktype = sockopt_int(fds[0].fd, SO_TYPE);
            errno = saved;
        }
    }
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_poll(fds, n, timeout));
}

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    struct fs_event *ev = enter(FS_SEND);
    const struct plan *p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_SNDTIMEO);
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return leave(ev, __real_send(fd, buf, capped(FS_SEND, len), flags));
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
    struct fs_event *ev = enter(FS_RECV);
    const struct plan *p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_RCVTIMEO);
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return leave(ev, __real_recv(fd, buf, capped(FS_RECV, len), flags));
}

ssize_t __wrap_sendto(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *to, socklen_t tolen)
{
    struct fs_event *ev = enter(FS_SENDTO);
    const struct plan *p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_SNDTIMEO);
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return leave(ev, __real_sendto(fd, buf, capped(FS_SENDTO, len), flags,
                                   to, tolen));
}

ssize_t __wrap_recvfrom(int fd, void *buf, size_t len, int flags,
                        struct sockaddr *from, socklen_t *fromlen)
{
    struct fs_event *ev = enter(FS_RECVFROM);
    const struct plan *p;

    if (ev != NULL)
        describe(ev, fd, (flags & MSG_DONTWAIT) != 0, SO_RCVTIMEO);
    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return leave(ev, __real_recvfrom(fd, buf, len, flags, from, fromlen));
}

/* The fake host's answer, in static storage (so fake lists are told from
 * glibc's by address). */
static int fake_getaddrinfo(const struct addrinfo *hints,
                            struct addrinfo **res)
{
    struct addrinfo *prev = NULL;
    int i, n = 0;

    *res = NULL;
    for (i = 0; i < fs.nfake; i++) {
        struct addrinfo *ai = &fs.fake_ai[n];
        if (hints != NULL && hints->ai_family != AF_UNSPEC &&
            hints->ai_family != fs.fake_ss[i].ss_family)
            continue;
        memset(ai, 0, sizeof(*ai));
        fs.fake_out[n] = fs.fake_ss[i];
        ai->ai_family = fs.fake_ss[i].ss_family;
        ai->ai_socktype = hints != NULL ? hints->ai_socktype : SOCK_STREAM;
        ai->ai_protocol = hints != NULL ? hints->ai_protocol : 0;
        ai->ai_addr = (struct sockaddr *)&fs.fake_out[n];
        ai->ai_addrlen = fs.fake_len[i];
        if (prev != NULL)
            prev->ai_next = ai;
        else
            *res = ai;
        prev = ai;
        n++;
    }
    return n > 0 ? 0 : EAI_NONAME;
}

static int is_fake_list(const struct addrinfo *ai)
{
    return ai == &fs.fake_ai[0];
}

int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    struct fs_event *ev = enter(FS_GETADDRINFO);
    const struct plan *p;
    int rc;

    if ((p = planned(ev)) != NULL) {
        ev->injected = 1;
        ev->result = p->err;
        ev->err = p->err;
        fs.fired++;
        errno = p->sys_errno;
        return p->err;
    }
    if (fs.nfake > 0 && node != NULL && strcmp(node, fs.fake_host) == 0)
        rc = fake_getaddrinfo(hints, res);
    else
        rc = __real_getaddrinfo(node, service, hints, res);
    if (rc == 0)
        fs.addrinfo_outstanding++;
    if (ev != NULL) {
        ev->result = rc;
        ev->err = rc;
    }
    return rc;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
    if (ai == NULL)
        return;
    fs.addrinfo_outstanding--;
    if (!is_fake_list(ai))
        __real_freeaddrinfo(ai);
}

int __wrap_getservbyname_r(const char *name, const char *proto,
                           struct servent *ent, char *buf, size_t size,
                           struct servent **result)
{
    struct fs_event *ev = enter(FS_GETSERVBYNAME_R);
    const struct plan *p;
    int rc;

    if ((p = planned(ev)) != NULL) {
        ev->injected = 1;
        ev->result = p->err;
        ev->err = p->err;
        fs.fired++;
        *result = NULL;
        errno = p->sys_errno;
        return p->err;
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
    const struct plan *p;
    unsigned index;

    if ((p = planned(ev)) != NULL) {
        inject(ev, p->err);
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
    const struct plan *p;
    char *r;

    if ((p = planned(ev)) != NULL) {
        inject(ev, p->err);
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
    const struct plan *p;

    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_lstat(path, st));
}

int __wrap_unlink(const char *path)
{
    struct fs_event *ev = enter(FS_UNLINK);
    const struct plan *p;

    if ((p = planned(ev)) != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, __real_unlink(path));
}

void *__wrap_malloc(size_t size)
{
    struct fs_event *ev = enter(FS_MALLOC);
    const struct plan *p;
    void *mem;
    int i;

    if ((p = planned(ev)) != NULL) {
        inject(ev, ENOMEM);
        return NULL;
    }
    mem = __real_malloc(size);
    if (ev != NULL) {
        ev->result = mem != NULL;
        for (i = 0; mem != NULL && i < MAX_TRACKED; i++)
            if (fs.tracked[i] == NULL) {
                fs.tracked[i] = mem;
                break;
            }
    }
    return mem;
}

void __wrap_free(void *mem)
{
    int i;

    for (i = 0; mem != NULL && i < MAX_TRACKED; i++)
        if (fs.tracked[i] == mem)
            fs.tracked[i] = NULL;
    __real_free(mem);
}

/* close(2) frees the descriptor whatever it says: a fault comes after. */
int __wrap_close(int fd)
{
    struct fs_event *ev = enter(FS_CLOSE);
    const struct plan *p = planned(ev);
    int rc = __real_close(fd);

    if (p != NULL)
        return inject(ev, p->err);
    return (int)leave(ev, rc);
}
