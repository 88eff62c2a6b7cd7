/*
 * test_faults.c - every system call the library makes, failed one at a
 * time with each error the kernel (or libc) can really return there.
 *
 * The shim (faultshim.h: --wrap, linked into this program only) first
 * records the calls each public function makes in a clean run (phase 1,
 * the suite "trace", run in this process so that the traces survive; it
 * prints them).  Phase 2 fails each recorded call k, in turn, with each
 * errno that call can really return (the table below, filtered by what
 * the shim saw of the socket: family, type, blocking or not, connected),
 * and checks: the call fails with -1 (or succeeds, where the library must
 * absorb the error: EINTR, EAGAIN before a wait, a dead connection in
 * accept's queue, an address that fails while another one works, the
 * IPv6 wildcard falling back to IPv4); err->code, sys_errno, gai_error, op
 * and errno are the right ones; the message is one printable line that
 * starts with op and says why; nb_error_is_temporary() follows
 * nb_error(3);
 * transferred counts the bytes that really moved; no descriptor,
 * getaddrinfo result, malloc'd block or socket file is left behind; the
 * same holds when the calls only a failure path makes (getpeername and
 * getsockname for the message, close) fail as well; and then the same
 * call without a fault works (the library keeps no state).
 *
 * One test row per (function, call k) runs all its errnos and reports
 * every one that failed, each named by function, call (kind, index among
 * the calls of that kind, socket family) and errno, e.g.
 *   "[tcp_listen_v4: setsockopt(SO_REUSEADDR)#0 <- ENOMEM: op ...]"
 * (a row per errno would fork ~4 times as often, and forking is most of
 * the run time).
 *
 * Further tests inject faults in the middle of a transfer (ENOBUFS on the
 * 3rd send, ECONNRESET on the 2nd recv, ENOMEM from poll during a deadline
 * wait), EINTR on every blocking call and EAGAIN on every non-blocking one
 * of each function (eventfd and timerfd reads included), a failing
 * epoll_wait at every other connector step, several failures in one call
 * (every connect of a race refused, every address of a named host failing
 * to bind, a refusal the connector cannot keep for its first step), and a
 * wildcard listener on a kernel without IPv6 whose IPv4 bind fails.
 *
 * Threads.  With a deadline, a name is looked up on a helper thread
 * (getaddrinfo, and the write that wakes the caller, are made there: the
 * traces mark them "@helper"), and a lookup abandoned at the deadline (or
 * when poll fails, or when a connector is freed) frees its memory and its
 * answer on that thread when getaddrinfo returns.  fs_end() waits for the
 * library's threads before any leak is counted, and every window checks
 * that no thread is left and that no kind of call was made by two threads
 * (faultshim.h, "Threads": what keeps each nth the same call from run to
 * run).  The shim can hold getaddrinfo, so that a deadline passes while a
 * lookup runs, every time: the "abandoned" tests.
 *
 * Connectors are driven as an event loop would: poll(2) on
 * nb_connector_fd (the test's own, not recorded), nb_connector_step until
 * it returns non-zero, nb_connector_free; their errors are nb_tcp_connect's
 * for the same fault, or name the connector's own step (epoll_create1,
 * epoll_ctl, eventfd, timerfd_create, timerfd_settime, malloc,
 * pthread_create).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "helpers.h"
#include "faultshim.h"

#define CAP 1000                 /* bytes per send/recv in the I/O rows */
#define IO_LEN 3000              /* so that a transfer takes 3 calls */
#define DEADLINE 5000            /* ms; never reached, only makes waits */
#define FAKE_HOST "fault.test"   /* answered by the shim's getaddrinfo */
#define MANY 17                  /* more addresses than the library keeps
                                    on its stack */

/* ------------------------------------------------------------- names */

static const char *errno_name(int e)
{
    static const struct { int e; const char *name; } t[] = {
        { EINTR, "EINTR" },         { EAGAIN, "EAGAIN" },
        { EMFILE, "EMFILE" },       { ENFILE, "ENFILE" },
        { ENOBUFS, "ENOBUFS" },     { ENOMEM, "ENOMEM" },
        { EACCES, "EACCES" },       { EPERM, "EPERM" },
        { EAFNOSUPPORT, "EAFNOSUPPORT" }, { ENOPROTOOPT, "ENOPROTOOPT" },
        { EADDRINUSE, "EADDRINUSE" }, { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
        { ENOENT, "ENOENT" },       { EROFS, "EROFS" },
        { ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" },
        { ENETUNREACH, "ENETUNREACH" }, { EHOSTUNREACH, "EHOSTUNREACH" },
        { ECONNABORTED, "ECONNABORTED" }, { EPROTO, "EPROTO" },
        { ENOTCONN, "ENOTCONN" },   { EPIPE, "EPIPE" },
        { ECONNRESET, "ECONNRESET" }, { EMSGSIZE, "EMSGSIZE" },
        { ERANGE, "ERANGE" },       { EIO, "EIO" },
        { EINVAL, "EINVAL" },       { ENOSPC, "ENOSPC" },
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].e == e)
            return t[i].name;
    return "E?";
}

static const char *gai_name(int gai)
{
    switch (gai) {
    case EAI_AGAIN:  return "EAI_AGAIN";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_FAIL:   return "EAI_FAIL";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default:         return "EAI_?";
    }
}

/* ---------------------------------------------- the errors per call */

/* Conditions on the event for an errno to be possible there. */
enum {
    C_BLOCK = 1,       /* the call can sleep (EINTR) */
    C_NOWAIT = 2,      /* the call cannot wait (EAGAIN) */
    C_STREAM = 4,
    C_DGRAM = 8,
    C_CONNECTED = 16,
    C_INET = 32,
    C_UNIX = 64,
    C_V6 = 128,
    C_COUNTER = 256,   /* an eventfd or a timerfd */
};

struct errno_row {
    enum fs_call call;
    int err;
    int cond;
};

/* From the ERRORS sections of socket(2), bind(2), connect(2), accept(2),
 * send(2), recv(2), poll(2), getsockname(2), getpeername(2), unix(7),
 * ip(7), tcp(7) and udp(7), plus EACCES/EPERM that a security module or a
 * firewall adds to any socket call.  getsockopt(SO_ERROR), ioctl(FIONBIO)
 * and setsockopt of an int option cannot fail on a good socket in
 * practice: ENOMEM (or ENOPROTOOPT, an option the kernel lacks) stands in
 * for "fails anyway" there, to cover the cleanup. */
static const struct errno_row errno_table[] = {
    { FS_SOCKET, EMFILE, 0 },
    { FS_SOCKET, ENFILE, 0 },
    { FS_SOCKET, ENOBUFS, 0 },
    { FS_SOCKET, ENOMEM, 0 },
    { FS_SOCKET, EACCES, 0 },
    { FS_SOCKET, EAFNOSUPPORT, C_V6 },
    { FS_SETSOCKOPT, ENOPROTOOPT, 0 },
    { FS_SETSOCKOPT, ENOMEM, 0 },
    { FS_GETSOCKOPT, ENOMEM, 0 },
    { FS_BIND, EADDRINUSE, 0 },
    { FS_BIND, EACCES, 0 },
    { FS_BIND, ENOMEM, 0 },
    { FS_BIND, EADDRNOTAVAIL, C_INET },
    { FS_BIND, ENOENT, C_UNIX },
    { FS_BIND, EROFS, C_UNIX },
    { FS_LISTEN, EADDRINUSE, C_INET },
    { FS_LISTEN, EPERM, 0 },
    { FS_CONNECT, EINTR, C_BLOCK },
    { FS_CONNECT, EACCES, 0 },
    { FS_CONNECT, EPERM, 0 },
    { FS_CONNECT, ECONNREFUSED, C_INET | C_STREAM },
    { FS_CONNECT, ETIMEDOUT, C_INET | C_STREAM },
    { FS_CONNECT, ENETUNREACH, C_INET },
    { FS_CONNECT, EHOSTUNREACH, C_INET | C_STREAM },
    { FS_CONNECT, EADDRNOTAVAIL, C_INET },
    { FS_CONNECT, ENOBUFS, C_INET | C_STREAM },
    { FS_CONNECT, ECONNREFUSED, C_UNIX },
    { FS_CONNECT, ENOENT, C_UNIX },
    { FS_CONNECT, ENOMEM, C_UNIX },
    { FS_CONNECT, EAGAIN, C_UNIX | C_NOWAIT },
    { FS_ACCEPT4, EINTR, C_BLOCK },
    { FS_ACCEPT4, EAGAIN, C_NOWAIT },
    { FS_ACCEPT4, EMFILE, 0 },
    { FS_ACCEPT4, ENFILE, 0 },
    { FS_ACCEPT4, ENOBUFS, 0 },
    { FS_ACCEPT4, ENOMEM, 0 },
    { FS_ACCEPT4, EPERM, 0 },
    { FS_ACCEPT4, ECONNABORTED, 0 },
    { FS_ACCEPT4, EPROTO, 0 },
    { FS_ACCEPT4, EHOSTUNREACH, C_INET },
    { FS_GETSOCKNAME, ENOBUFS, 0 },
    { FS_GETPEERNAME, ENOBUFS, 0 },
    { FS_GETPEERNAME, ENOTCONN, 0 },
    { FS_IOCTL, ENOMEM, 0 },
    { FS_POLL, EINTR, C_BLOCK },
    { FS_POLL, ENOMEM, 0 },
    { FS_SEND, EINTR, C_BLOCK },
    { FS_SEND, EAGAIN, C_NOWAIT },
    { FS_SEND, ENOBUFS, 0 },
    { FS_SEND, ENOMEM, 0 },
    { FS_SEND, EPIPE, 0 },
    { FS_SEND, ECONNRESET, C_INET },
    { FS_SEND, ETIMEDOUT, C_INET },
    { FS_SEND, EHOSTUNREACH, C_INET },
    { FS_RECV, EINTR, C_BLOCK },
    { FS_RECV, EAGAIN, C_NOWAIT },
    { FS_RECV, ENOMEM, 0 },
    { FS_RECV, ECONNRESET, C_INET },
    { FS_RECV, ETIMEDOUT, C_INET },
    { FS_SENDTO, EINTR, C_BLOCK },
    { FS_SENDTO, EAGAIN, C_NOWAIT },
    { FS_SENDTO, ENOBUFS, 0 },
    { FS_SENDTO, ENOMEM, 0 },
    { FS_SENDTO, EPERM, 0 },
    { FS_SENDTO, EACCES, 0 },
    { FS_SENDTO, EMSGSIZE, 0 },
    { FS_SENDTO, ENETUNREACH, C_INET },
    { FS_SENDTO, ECONNREFUSED, C_CONNECTED },
    { FS_RECVFROM, EINTR, C_BLOCK },
    { FS_RECVFROM, EAGAIN, C_NOWAIT },
    { FS_RECVFROM, ENOMEM, 0 },
    { FS_RECVFROM, ECONNREFUSED, C_CONNECTED },
    { FS_LSTAT, EACCES, 0 },
    { FS_LSTAT, ENOMEM, 0 },
    { FS_UNLINK, EACCES, 0 },
    { FS_UNLINK, EROFS, 0 },
    { FS_MALLOC, ENOMEM, 0 },
    /* the descriptor is gone all the same (close(2)): nothing to report */
    { FS_CLOSE, EINTR, 0 },
    { FS_CLOSE, EIO, 0 },
    /* err is the EAI_* result; EAI_SYSTEM leaves errno EMFILE */
    { FS_GETADDRINFO, EAI_AGAIN, 0 },
    { FS_GETADDRINFO, EAI_MEMORY, 0 },
    { FS_GETADDRINFO, EAI_FAIL, 0 },
    { FS_GETADDRINFO, EAI_NONAME, 0 },
    { FS_GETADDRINFO, EAI_SYSTEM, 0 },
    /* err is the result (and errno): ENOENT, no entry found; ERANGE, the
     * services database could not be read into the buffer */
    { FS_GETSERVBYNAME_R, ENOENT, 0 },
    { FS_GETSERVBYNAME_R, ERANGE, 0 },
    /* The lookup's and the connector's own descriptors and thread: eventfd
     * (2), epoll_create1(2), timerfd_create(2) fail for want of descriptors
     * or kernel memory; epoll_ctl(2) for want of memory or of watches
     * (max_user_watches: ENOSPC); pthread_create(3) with EAGAIN (threads
     * or memory), by its result. */
    { FS_EVENTFD, EMFILE, 0 },
    { FS_EVENTFD, ENFILE, 0 },
    { FS_EVENTFD, ENOMEM, 0 },
    { FS_EPOLL_CREATE1, EMFILE, 0 },
    { FS_EPOLL_CREATE1, ENFILE, 0 },
    { FS_EPOLL_CREATE1, ENOMEM, 0 },
    { FS_EPOLL_CTL, ENOMEM, 0 },
    { FS_EPOLL_CTL, ENOSPC, 0 },
    { FS_TIMERFD_CREATE, EMFILE, 0 },
    { FS_TIMERFD_CREATE, ENFILE, 0 },
    { FS_TIMERFD_CREATE, ENOMEM, 0 },
    { FS_PTHREAD_CREATE, EAGAIN, 0 },
    /* timerfd_settime(2) with a valid absolute time cannot fail (EINVAL
     * is for a bad value, ECANCELED needs TFD_TIMER_CANCEL_ON_SET): ENOMEM
     * stands in for "fails anyway", as for setsockopt, to cover the
     * cleanup. */
    { FS_TIMERFD_SETTIME, ENOMEM, 0 },
    /* epoll_wait(2) with timeout 0 never sleeps, so EINTR cannot really
     * happen (the kernel returns before it looks at signals; the others,
     * EBADF, EFAULT, EINVAL, are bugs); the connector takes any failure of
     * it as "nothing ready yet", and the events, level-triggered, wait for
     * the next step.  EINTR stands in for that failure; it is never fatal. */
    { FS_EPOLL_WAIT, EINTR, 0 },
    /* read(2) of a non-blocking eventfd or timerfd counter: EAGAIN when it
     * is 0 (already drained: a spurious wakeup), which the library
     * absorbs; EINVAL (a buffer under 8 bytes) and ECANCELED (only with
     * TFD_TIMER_CANCEL_ON_SET) cannot happen. */
    { FS_READ, EAGAIN, C_NOWAIT | C_COUNTER },
    /* write(2) of 1 to an eventfd: EAGAIN only when the counter would
     * overflow, i.e. it is already readable (the shim makes the real write
     * first, so the reader sees just that); EINVAL only for a short buffer
     * or the value 2^64 - 1. */
    { FS_WRITE, EAGAIN, C_NOWAIT | C_COUNTER },
};

#define GAI_SYSTEM_ERRNO EMFILE

static int applies(const struct errno_row *row, const struct fs_event *ev)
{
    int inet = ev->domain == AF_INET || ev->domain == AF_INET6;

    if (row->call != ev->call)
        return 0;
    if ((row->cond & C_BLOCK) && !ev->can_block)
        return 0;
    if ((row->cond & C_NOWAIT) && !ev->can_eagain)
        return 0;
    if ((row->cond & C_STREAM) && ev->socktype != SOCK_STREAM)
        return 0;
    if ((row->cond & C_DGRAM) && ev->socktype != SOCK_DGRAM)
        return 0;
    if ((row->cond & C_CONNECTED) && !ev->connected)
        return 0;
    if ((row->cond & C_INET) && !inet)
        return 0;
    if ((row->cond & C_UNIX) && ev->domain != AF_UNIX)
        return 0;
    if ((row->cond & C_V6) && ev->domain != AF_INET6)
        return 0;
    if ((row->cond & C_COUNTER) && ev->fdkind != FS_FD_EVENTFD &&
        ev->fdkind != FS_FD_TIMERFD)
        return 0;
    return 1;
}

/* -------------------------------------------------------- expectations */

struct expect {
    int ok;                /* the call must succeed */
    int peer;              /* a successful connect reaches peers[peer] */
    enum nb_code code;
    const char *op;
    int sys_errno;
    int gai;
    int check_errno;       /* errno must be want_errno afterwards */
    int want_errno;
    size_t transferred;
    int attempts;          /* -1: not checked */
    const char *says;      /* the message holds this (else: the text of
                              sys_errno, or gai_strerror(gai)) */
};

static const char *op_of(const struct fs_event *ev)
{
    switch (ev->call) {
    case FS_ACCEPT4:      return "accept";
    case FS_GETADDRINFO:
    case FS_GETSERVBYNAME_R: return "resolve";
    /* the SO_ERROR read is how a connect's result is learnt; the
     * SO_PROTOCOL read is nb_tcp_keepalive's check of its descriptor (the
     * SO_TYPE read of the stream calls: their scenarios say) */
    case FS_GETSOCKOPT:
        return ev->level == SOL_SOCKET && ev->name == SO_PROTOCOL
                   ? "setsockopt"
                   : "connect";
    /* a socket file that cannot be probed or removed stays in the way */
    case FS_LSTAT:
    case FS_UNLINK:       return "bind";
    default:              return fs_call_name(ev->call);
    }
}

/* What the pages promise when this call fails with e: netbasics(7)
 * ("Errors", "Signals", "Descriptors": EINTR retried, close(2)'s errors
 * ignored), nb_error(3) (op, codes), and the ERRORS section of each call's
 * page (nb_tcp_listen(3) for the accept loop, nb_send_all(3) for
 * NB_ERR_CLOSED, nb_unix_listen(3) for a stale file that stays in the
 * way, nb_tcp_connect(3) for the SO_ERROR read and ENOMEM). */
static void default_expect(const struct fs_event *ev, int e, struct expect *x)
{
    memset(x, 0, sizeof(*x));
    x->attempts = -1;
    x->code = NB_ERR_SYSTEM;
    x->op = op_of(ev);
    x->sys_errno = e;
    x->check_errno = 1;
    x->want_errno = e;
    switch (ev->call) {
    case FS_GETADDRINFO:
        x->code = NB_ERR_RESOLVE;
        x->sys_errno = 0;
        x->gai = e;
        /* errno is "whatever getaddrinfo left": only EAI_SYSTEM says */
        x->check_errno = e == EAI_SYSTEM;
        x->want_errno = GAI_SYSTEM_ERRNO;
        return;
    case FS_GETSERVBYNAME_R:
        x->code = NB_ERR_RESOLVE;
        x->sys_errno = 0;
        if (e == ENOENT) {
            /* no entry: an unknown service, as getaddrinfo reports it */
            x->gai = EAI_SERVICE;
            x->check_errno = 0;
            x->says = "unknown service 'daytime' for ";
        } else {
            /* the database could not be read: not the name's fault */
            x->gai = EAI_SYSTEM;
            x->says = "looking up service 'daytime': ";
        }
        return;
    case FS_MALLOC:
        x->sys_errno = x->want_errno = ENOMEM;
        return;
    case FS_LSTAT:
    case FS_UNLINK:
        x->sys_errno = x->want_errno = EADDRINUSE;
        return;
    default:
        break;
    }
    if (e == EINTR || ev->call == FS_CLOSE)
        x->ok = 1;  /* retried inside, never seen; or nothing to undo */
    if (ev->call == FS_READ || ev->call == FS_WRITE ||
        ev->call == FS_EPOLL_WAIT)
        x->ok = 1;  /* nothing to drain; a counter already readable;
                       nothing ready yet (errno_table says more) */
    if (e == EAGAIN && (ev->call == FS_SEND || ev->call == FS_RECV ||
                        ev->call == FS_RECVFROM))
        x->ok = 1;  /* waited for with poll, then retried */
    if (ev->call == FS_ACCEPT4 &&
        (e == ECONNABORTED || e == EPROTO || e == EHOSTUNREACH))
        x->ok = 1;  /* a dead connection in the queue: take the next */
    if ((ev->call == FS_SEND || ev->call == FS_RECV) &&
        (e == EPIPE || e == ECONNRESET))
        x->code = NB_ERR_CLOSED;
}

static int spec_temporary(const struct expect *x)
{
    if (x->code == NB_ERR_RESOLVE)
        return x->gai == EAI_AGAIN;
    if (x->code == NB_ERR_TIMEOUT)
        return 1;
    if (x->code != NB_ERR_SYSTEM)
        return 0;
    switch (x->sys_errno) {
    case EAGAIN: case EINTR: case EMFILE: case ENFILE: case ENOBUFS:
    case ENOMEM: case ECONNABORTED:
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ fixture */

struct fx {
    int scen;
    int listener, listener2;        /* TCP listeners on peers[0], peers[1] */
    int client, server;             /* a connected TCP pair */
    int udp, udp2;                  /* UDP sockets */
    int extra[3];                   /* pending connections to listener */
    struct sockaddr_storage peers[2];
    socklen_t peerlen[2];
    nb_addr to;                     /* where the UDP scenarios send */
    char port[8];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int path_existed;               /* the socket file before the call */
    ino_t path_ino;
    size_t rx_offset;               /* stream position of the reader */
    unsigned char txlog[4 * IO_LEN];/* what the peer must have received */
    size_t txlen;
    size_t tx_drained;
};

static struct fx F;
static char sock_dir[64];
static int sock_seq;

static unsigned char pattern_at(size_t i)
{
    return (unsigned char)((i % IO_LEN) * 7 + 3);
}

static unsigned char pattern[IO_LEN];

/* A case's label, for the failure messages. */
static char label[200];

/* A row of the matrix runs several cases (one per errno): a failing case
 * is noted here and the row goes on with the next one, so that one run
 * reports every failing errno of a call (and forks once per row, not per
 * case: forking is what costs time). */
static jmp_buf collect_jmp;
static int collecting;
static char collected[4096];
static int ncollected;

static void case_failed(int line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void case_failed(int line, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (collecting) {
        size_t used = strlen(collected);
        snprintf(collected + used, sizeof(collected) - used,
                 "%s[%s: %s (test_faults.c:%d)]", used > 0 ? "; " : "",
                 label, buf, line);
        ncollected++;
        longjmp(collect_jmp, 1);
    }
    ck_abort_msg("%s: %s (test_faults.c:%d)", label, buf, line);
}

#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond))                              \
            case_failed(__LINE__, __VA_ARGS__);   \
    } while (0)

static void fx_init(void)
{
    memset(&F, 0, sizeof(F));
    F.listener = F.listener2 = F.client = F.server = -1;
    F.udp = F.udp2 = F.extra[0] = F.extra[1] = F.extra[2] = -1;
}

static void close_if(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void setup(void)
{
    fs_reset();
    fx_init();
    label[0] = '\0';
}

static void teardown(void)
{
    fs_reset();
    close_if(&F.listener);
    close_if(&F.listener2);
    close_if(&F.client);
    close_if(&F.server);
    close_if(&F.udp);
    close_if(&F.udp2);
    close_if(&F.extra[0]);
    close_if(&F.extra[1]);
    close_if(&F.extra[2]);
    if (F.path[0] != '\0')
        unlink(F.path);
}

/* --------------------------------------------------- fixture helpers */


/* A socket of type on ip, ephemeral port, its address in *ss; listening
 * when type is SOCK_STREAM. */
static int bound_on(const char *ip, int type, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    int fd;

    *len = th_sockaddr(ss, ip, 0);
    fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(bind(fd, (struct sockaddr *)ss, *len) == 0, "bind %s: %s",
                  ip, strerror(errno));
    if (type == SOCK_STREAM)
        ck_assert_int_eq(listen(fd, 64), 0);
    *len = sizeof(*ss);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)ss, len), 0);
    return fd;
}

static int port_of_ss(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void two_listeners(void)
{
    F.listener = bound_on("127.0.0.1", SOCK_STREAM, &F.peers[0],
                          &F.peerlen[0]);
    F.listener2 = bound_on("127.0.0.2", SOCK_STREAM, &F.peers[1],
                           &F.peerlen[1]);
    snprintf(F.port, sizeof(F.port), "%d", port_of_ss(&F.peers[0]));
}

static void wait_readable(int fd, int min_bytes)
{
    int64_t end = th_now_ms() + 5000;
    int avail = 0;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ck_assert_int_ge(poll(&pfd, 1, 100), 0);
        ck_assert_int_eq(ioctl(fd, FIONREAD, &avail), 0);
        if (avail >= min_bytes)
            return;
        ck_assert_msg(th_now_ms() < end, "only %d of %d bytes arrived", avail,
                      min_bytes);
    }
}

static void new_path(void)
{
    snprintf(F.path, sizeof(F.path), "%s/s%d", sock_dir, sock_seq++);
    unlink(F.path);
}

static int raw_unix(int type, const char *path, int listening)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    if (listening)
        ck_assert_int_eq(listen(fd, 64), 0);
    return fd;
}

static void note_path_state(void)
{
    struct stat st;

    F.path_existed = lstat(F.path, &st) == 0;
    F.path_ino = F.path_existed ? st.st_ino : 0;
}

/* ------------------------------------------------------- the scenarios */

struct scenario {
    const char *id;
    const char *what;
    void (*setup)(void);
    /* shim settings (caps, fake host) for every window of the scenario */
    void (*prepare)(void);
    long (*call)(nb_error *e);
    /* asserts a success and releases what it returned */
    void (*check_ok)(long r, const struct expect *x);
    /* after a failure: bookkeeping and what must be left */
    void (*after_fail)(const nb_error *e);
    /* before the next (fault-free) call */
    void (*refill)(void);
    /* scenario rules on top of default_expect */
    void (*adjust)(const struct fs_event *ev, int e, struct expect *x);
};

static void check_cloexec(long fd)
{
    CHECK(th_is_cloexec((int)fd) == 1, "fd %ld is not close-on-exec", fd);
}

/* ---- TCP listeners */

static void ok_listener(long r, int nonblock)
{
    int v = 0;
    socklen_t len = sizeof(v);

    CHECK(getsockopt((int)r, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v,
          "fd %ld is not listening", r);
    check_cloexec(r);
    CHECK(th_is_nonblock((int)r) == nonblock, "O_NONBLOCK is %d",
          th_is_nonblock((int)r));
    close((int)r);
}

static long call_listen_v4(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "0", 0, 0, e);
}

static void ok_listen_blocking(long r, const struct expect *x)
{
    (void)x;
    ok_listener(r, 0);
}

static long call_listen_wildcard(nb_error *e)
{
    return nb_tcp_listen(NULL, "0", 4, NB_NONBLOCK | NB_REUSEPORT | NB_NODELAY,
                         e);
}

static void ok_listen_nonblocking(long r, const struct expect *x)
{
    (void)x;
    ok_listener(r, 1);
}

/* The dual-stack wildcard on a kernel without IPv6 (no AF_INET6 sockets,
 * or no :: to bind) is 0.0.0.0: not a failure. */
static void adjust_wildcard(const struct fs_event *ev, int e,
                            struct expect *x)
{
    if (ev->call == FS_SOCKET && ev->nth == 0 && ev->domain == AF_INET6 &&
        e == EAFNOSUPPORT)
        x->ok = 1;
    if (ev->call == FS_BIND && ev->nth == 0 && ev->domain == AF_INET6 &&
        e == EADDRNOTAVAIL)
        x->ok = 1;
}

static long call_listen_localhost(nb_error *e)
{
    return nb_tcp_listen("localhost", "0", 0, 0, e);
}

/* A named host with two addresses, 127.0.0.1 and 127.0.0.2 (port 0):
 * the first that binds (and listens) is used. */
static void setup_two_local(void)
{
    F.peerlen[0] = th_sockaddr(&F.peers[0], "127.0.0.1", 0);
    F.peerlen[1] = th_sockaddr(&F.peers[1], "127.0.0.2", 0);
}

static long call_listen_two(nb_error *e)
{
    return nb_tcp_listen(FAKE_HOST, "0", 0, 0, e);
}

/* the socket is bound to the address of peers[x->peer] */
static void check_bound_to(long r, const struct expect *x)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    const struct sockaddr_in *want =
        (const struct sockaddr_in *)&F.peers[x != NULL ? x->peer : 0];

    CHECK(getsockname((int)r, (struct sockaddr *)&sin, &len) == 0 &&
          sin.sin_family == AF_INET &&
          sin.sin_addr.s_addr == want->sin_addr.s_addr,
          "fd %ld is bound to another address than peer %d", r,
          x != NULL ? x->peer : 0);
}

static void ok_listen_two(long r, const struct expect *x)
{
    check_bound_to(r, x);
    ok_listener(r, 0);
}

/* any failure of the first address's socket, options, bind or listen
 * moves on to the second */
static void adjust_two_local(const struct fs_event *ev, int e,
                             struct expect *x)
{
    (void)e;
    if (!x->ok && ev->nth == 0 &&
        (ev->call == FS_SOCKET || ev->call == FS_SETSOCKOPT ||
         ev->call == FS_BIND || ev->call == FS_LISTEN)) {
        x->ok = 1;
        x->peer = 1;
    }
}

/* ---- accept */

static void setup_accept(void)
{
    int i;

    F.listener = bound_on("127.0.0.1", SOCK_STREAM, &F.peers[0],
                          &F.peerlen[0]);
    for (i = 0; i < 3; i++) {
        F.extra[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(F.extra[i], 0);
        ck_assert_int_eq(connect(F.extra[i], (struct sockaddr *)&F.peers[0],
                                 F.peerlen[0]), 0);
    }
    {
        struct pollfd pfd = { .fd = F.listener, .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    }
}

static void setup_accept_nonblocking(void)
{
    setup_accept();
    ck_assert_int_eq(fcntl(F.listener, F_SETFL, O_NONBLOCK), 0);
}

static long call_accept(nb_error *e)
{
    nb_addr peer;
    return nb_tcp_accept(F.listener, &peer, NB_NODELAY | NB_NONBLOCK, e);
}

static long call_accept_plain(nb_error *e)
{
    return nb_tcp_accept(F.listener, NULL, 0, e);
}

static void ok_accepted(long r, int nonblock, int nodelay)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    CHECK(getpeername((int)r, (struct sockaddr *)&ss, &len) == 0,
          "accepted fd %ld has no peer: %s", r, strerror(errno));
    check_cloexec(r);
    CHECK(th_is_nonblock((int)r) == nonblock, "O_NONBLOCK is %d",
          th_is_nonblock((int)r));
    CHECK(th_nodelay((int)r) == nodelay, "TCP_NODELAY is %d",
          th_nodelay((int)r));
    close((int)r);
}

static void ok_accept(long r, const struct expect *x)
{
    (void)x;
    ok_accepted(r, 1, 1);
}

static void ok_accept_plain(long r, const struct expect *x)
{
    (void)x;
    ok_accepted(r, 0, 0);
}

/* ---- TCP connect */

static int is_dgram(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);

    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    return type == SOCK_DGRAM;
}

static void ok_connected_to(long r, const struct expect *x, int nonblock,
                            int nodelay)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int want = x != NULL ? x->peer : 0;

    CHECK(getpeername((int)r, (struct sockaddr *)&ss, &len) == 0,
          "fd %ld is not connected: %s", r, strerror(errno));
    CHECK(len == F.peerlen[want] && memcmp(&ss, &F.peers[want], len) == 0,
          "fd %ld is connected to another address than peer %d", r, want);
    check_cloexec(r);
    CHECK(th_is_nonblock((int)r) == nonblock, "O_NONBLOCK is %d",
          th_is_nonblock((int)r));
    if (ss.ss_family != AF_UNIX && !is_dgram((int)r))
        CHECK(th_nodelay((int)r) == nodelay, "TCP_NODELAY is %d",
              th_nodelay((int)r));
    close((int)r);
}

static void setup_connect(void)
{
    two_listeners();
}

static long call_connect_numeric(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", F.port, 0, 0, e);
}

static void ok_connect_plain(long r, const struct expect *x)
{
    ok_connected_to(r, x, 0, 0);
}

static long call_connect_deadline(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", F.port, DEADLINE, NB_NODELAY, e);
}

static void ok_connect_nodelay(long r, const struct expect *x)
{
    ok_connected_to(r, x, 0, 1);
}

static long call_connect_localhost(nb_error *e)
{
    return nb_tcp_connect("localhost", F.port, 0, 0, e);
}

/* A race: the first attempt's failure before it connects moves the race
 * on to the second address, which then wins. */
static void adjust_race(const struct fs_event *ev, int e, struct expect *x)
{
    (void)e;
    if (x->ok || ev->nth != 0)
        return;
    if (ev->call == FS_SOCKET || ev->call == FS_CONNECT ||
        ev->call == FS_GETSOCKOPT) {
        x->ok = 1;
        x->peer = 1;
    }
    if (ev->call == FS_POLL)
        x->attempts = 1;
}

static long call_race(nb_error *e)
{
    struct addrinfo ai[2];
    const struct addrinfo *order[2];
    int i;

    memset(ai, 0, sizeof(ai));
    for (i = 0; i < 2; i++) {
        ai[i].ai_family = F.peers[i].ss_family;
        ai[i].ai_socktype = SOCK_STREAM;
        ai[i].ai_protocol = IPPROTO_TCP;
        ai[i].ai_addr = (struct sockaddr *)&F.peers[i];
        ai[i].ai_addrlen = F.peerlen[i];
        order[i] = &ai[i];
    }
    ai[0].ai_next = &ai[1];
    return nb__connect_race(order, 2, "race.test:1", DEADLINE, 250, 0, e);
}

static void prepare_fake_two(void)
{
    fs_fake_host(FAKE_HOST, F.peers, F.peerlen, 2);
}

static long call_connect_fake(nb_error *e)
{
    return nb_tcp_connect(FAKE_HOST, "1", 0, NB_NODELAY, e);
}

/* 17 distinct addresses (each is tried once: duplicates would be one
 * attempt): the two listeners, then 127.0.0.3..17 on the second one's
 * port, which no attempt reaches while one of the first two connects. */
static void prepare_fake_many(void)
{
    struct sockaddr_storage ss[MANY];
    socklen_t lens[MANY];
    int i;

    for (i = 0; i < MANY; i++) {
        ss[i] = F.peers[i < 1 ? 0 : 1];
        lens[i] = F.peerlen[i < 1 ? 0 : 1];
        if (i >= 2)
            ((struct sockaddr_in *)&ss[i])->sin_addr.s_addr =
                htonl(INADDR_LOOPBACK + (uint32_t)i);
    }
    fs_fake_host(FAKE_HOST, ss, lens, MANY);
}

/* A name looked up on a helper thread (a deadline), then raced: the
 * lookup's poll comes first (poll#0: nothing attempted yet), the race's
 * next; a failure of the first attempt moves on to the second address. */
static void adjust_named_race(const struct fs_event *ev, int e,
                              struct expect *x)
{
    if (ev->call == FS_POLL) {
        if (!x->ok)
            x->attempts = ev->nth == 0 ? 0 : 1;
        return;
    }
    adjust_race(ev, e, x);
    if (!x->ok && ev->thread == 0 &&
        (ev->call == FS_EVENTFD || ev->call == FS_PTHREAD_CREATE ||
         ev->call == FS_MALLOC))
        x->attempts = 0;
}

static long call_connect_many(nb_error *e)
{
    return nb_tcp_connect(FAKE_HOST, "1", DEADLINE, 0, e);
}

static long call_connect_name_deadline(nb_error *e)
{
    return nb_tcp_connect(FAKE_HOST, "1", DEADLINE, NB_NODELAY, e);
}

/* ---- UDP */

static long call_udp_bind_v4(nb_error *e)
{
    return nb_udp_bind("127.0.0.1", "0", NB_REUSEPORT, e);
}

static void ok_udp_bound(long r, int nonblock)
{
    nb_addr a;

    CHECK(nb_local_addr((int)r, &a, NULL) == 0 && nb_addr_port(&a) > 0,
          "fd %ld is not bound", r);
    check_cloexec(r);
    CHECK(th_is_nonblock((int)r) == nonblock, "O_NONBLOCK is %d",
          th_is_nonblock((int)r));
    close((int)r);
}

static void ok_udp_bind_blocking(long r, const struct expect *x)
{
    (void)x;
    ok_udp_bound(r, 0);
}

static long call_udp_bind_wildcard(nb_error *e)
{
    return nb_udp_bind(NULL, "0", NB_NONBLOCK, e);
}

static void ok_udp_bind_nonblocking(long r, const struct expect *x)
{
    (void)x;
    ok_udp_bound(r, 1);
}

static long call_udp_bind_two(nb_error *e)
{
    return nb_udp_bind(FAKE_HOST, "0", 0, e);
}

static void ok_udp_bind_two(long r, const struct expect *x)
{
    check_bound_to(r, x);
    ok_udp_bound(r, 0);
}

static void setup_udp_target(void)
{
    socklen_t len;

    F.udp2 = bound_on("127.0.0.1", SOCK_DGRAM, &F.peers[0], &len);
    F.peerlen[0] = len;
    F.peers[1] = F.peers[0];
    ((struct sockaddr_in *)&F.peers[1])->sin_addr.s_addr =
        htonl(INADDR_LOOPBACK + 1);
    F.peerlen[1] = len;
    snprintf(F.port, sizeof(F.port), "%d", port_of_ss(&F.peers[0]));
}

static long call_udp_connect(nb_error *e)
{
    return nb_udp_connect("127.0.0.1", F.port, 0, e);
}

static void ok_udp_connected(long r, const struct expect *x)
{
    ok_connected_to(r, x, 0, 0);
}

static void setup_udp_service(void)
{
    /* "daytime" is 13: nothing is sent, a UDP connect only names it */
    th_sockaddr(&F.peers[0], "127.0.0.1", 13);
    F.peerlen[0] = sizeof(struct sockaddr_in);
}

static long call_udp_connect_service(nb_error *e)
{
    return nb_udp_connect("localhost", "daytime", 0, e);
}

static long call_udp_connect_fake(nb_error *e)
{
    return nb_udp_connect(FAKE_HOST, "1", 0, e);
}

/* the first address that takes is used: a failure on the first moves on */
static void adjust_udp_fake(const struct fs_event *ev, int e,
                            struct expect *x)
{
    (void)e;
    if (!x->ok && ev->nth == 0 &&
        (ev->call == FS_SOCKET || ev->call == FS_CONNECT)) {
        x->ok = 1;
        x->peer = 1;
    }
}

static void setup_udp_pair(int connected)
{
    struct sockaddr_storage ss;
    socklen_t len;

    F.udp2 = bound_on("127.0.0.1", SOCK_DGRAM, &F.peers[0], &len);
    F.peerlen[0] = len;
    F.udp = bound_on("127.0.0.1", SOCK_DGRAM, &ss, &len);
    memcpy(&F.to.ss, &F.peers[0], F.peerlen[0]);
    F.to.len = F.peerlen[0];
    if (connected) {
        ck_assert_int_eq(connect(F.udp, (struct sockaddr *)&F.peers[0],
                                 F.peerlen[0]), 0);
        ck_assert_int_eq(connect(F.udp2, (struct sockaddr *)&ss, len), 0);
    }
}

static void setup_sendto(void)
{
    setup_udp_pair(0);
}

static void setup_sendto_connected(void)
{
    setup_udp_pair(1);
}

static long call_sendto(nb_error *e)
{
    return nb_udp_sendto(F.udp, "datagram", 8, &F.to, e);
}

static long call_sendto_connected(nb_error *e)
{
    return nb_udp_sendto(F.udp, "datagram", 8, NULL, e);
}

static void ok_sendto(long r, const struct expect *x)
{
    char buf[16];

    (void)x;
    CHECK(r == 8, "sent %ld bytes", r);
    wait_readable(F.udp2, 8);
    CHECK(recv(F.udp2, buf, sizeof(buf), MSG_DONTWAIT) == 8,
          "the datagram did not arrive");
}

/* udp2 sends a datagram to udp (which then reads it) */
static void send_datagram(void)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    ck_assert_int_eq(getsockname(F.udp, (struct sockaddr *)&ss, &len), 0);
    ck_assert_int_eq(sendto(F.udp2, "datagram", 8, 0, (struct sockaddr *)&ss,
                            len), 8);
    wait_readable(F.udp, 8);
}

static void setup_recvfrom(void)
{
    setup_udp_pair(0);
    send_datagram();
}

static void setup_recvfrom_connected(void)
{
    setup_udp_pair(1);
    send_datagram();
}

static long call_recvfrom_deadline(nb_error *e)
{
    char buf[64];
    nb_addr from;
    return nb_udp_recvfrom(F.udp, buf, sizeof(buf), &from, DEADLINE, e);
}

static long call_recvfrom_blocking(nb_error *e)
{
    char buf[64];
    return nb_udp_recvfrom(F.udp, buf, sizeof(buf), NULL, 0, e);
}

static void ok_recvfrom(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == 8, "received %ld bytes", r);
}

/* ---- stream I/O */

static void setup_pair(void)
{
    th_tcp_pair(&F.client, &F.server);
}

static void prepare_caps(void)
{
    fs_cap(FS_SEND, CAP);
    fs_cap(FS_RECV, CAP);
}

static void adjust_io(const struct fs_event *ev, int e, struct expect *x)
{
    (void)e;
    if (ev->call == FS_SEND || ev->call == FS_RECV)
        x->transferred = (size_t)ev->nth * CAP;
}

/* The stream calls first ask the socket its type (getsockopt(SO_TYPE)): a
 * failure there is the call's own (nb_send_all(3), ERRORS). */
static void adjust_send(const struct fs_event *ev, int e, struct expect *x)
{
    adjust_io(ev, e, x);
    if (ev->call == FS_GETSOCKOPT)
        x->op = "send";
}

static void adjust_recv(const struct fs_event *ev, int e, struct expect *x)
{
    adjust_io(ev, e, x);
    if (ev->call == FS_GETSOCKOPT)
        x->op = "recv";
}

static long call_send_blocking(nb_error *e)
{
    return nb_send_all(F.client, pattern, IO_LEN, 0, e);
}

static long call_send_deadline(nb_error *e)
{
    return nb_send_all(F.client, pattern, IO_LEN, DEADLINE, e);
}

/* The peer has received exactly what the log says, in order. */
static void check_peer_received(void)
{
    unsigned char buf[4 * IO_LEN];
    size_t want = F.txlen - F.tx_drained, got = 0;
    int64_t end = th_now_ms() + 5000;

    while (got < want) {
        struct pollfd pfd = { .fd = F.server, .events = POLLIN };
        ssize_t n;
        CHECK(th_now_ms() < end, "the peer got %zu of %zu bytes", got, want);
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = recv(F.server, buf + got, want - got, MSG_DONTWAIT);
        CHECK(n > 0, "the peer's recv: %zd (%s)", n, strerror(errno));
        got += (size_t)n;
    }
    CHECK(recv(F.server, buf, 1, MSG_DONTWAIT) < 0,
          "the peer got more than the %zu bytes sent", want);
    CHECK(memcmp(buf, F.txlog + F.tx_drained, want) == 0,
          "the peer got other bytes than were sent");
    F.tx_drained = F.txlen;
}

static void ok_send(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == IO_LEN, "send_all returned %ld", r);
    memcpy(F.txlog + F.txlen, pattern, IO_LEN);
    F.txlen += IO_LEN;
    check_peer_received();
}

static void after_send_failure(const nb_error *e)
{
    memcpy(F.txlog + F.txlen, pattern, e->transferred);
    F.txlen += e->transferred;
}

static void setup_pair_with_data(void)
{
    setup_pair();
    ck_assert_int_eq(send(F.server, pattern, IO_LEN, MSG_NOSIGNAL), IO_LEN);
    wait_readable(F.client, IO_LEN);
}

static unsigned char rxbuf[IO_LEN];

static long call_recv_blocking(nb_error *e)
{
    memset(rxbuf, 0, sizeof(rxbuf));
    return nb_recv_all(F.client, rxbuf, IO_LEN, 0, e);
}

static long call_recv_deadline(nb_error *e)
{
    memset(rxbuf, 0, sizeof(rxbuf));
    return nb_recv_all(F.client, rxbuf, IO_LEN, DEADLINE, e);
}

static void check_received(size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        CHECK(rxbuf[i] == pattern_at(F.rx_offset + i),
              "byte %zu of the stream is wrong", F.rx_offset + i);
    F.rx_offset += n;
}

static void ok_recv(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == IO_LEN, "recv_all returned %ld", r);
    check_received(IO_LEN);
}

static void after_recv_failure(const nb_error *e)
{
    check_received(e->transferred);
}

/* nb_recv: whatever has arrived, at most one recv's worth (the cap) */
static long call_recv_some_blocking(nb_error *e)
{
    memset(rxbuf, 0, sizeof(rxbuf));
    return nb_recv(F.client, rxbuf, IO_LEN, 0, e);
}

static long call_recv_some_deadline(nb_error *e)
{
    memset(rxbuf, 0, sizeof(rxbuf));
    return nb_recv(F.client, rxbuf, IO_LEN, DEADLINE, e);
}

static void ok_recv_some(long r, const struct expect *x)
{
    (void)x;
    CHECK(r > 0 && r <= CAP, "nb_recv returned %ld", r);
    check_received((size_t)r);
}

static void refill_recv(void)
{
    int avail = 0;

    ck_assert_int_eq(send(F.server, pattern, IO_LEN, MSG_NOSIGNAL), IO_LEN);
    ck_assert_int_eq(ioctl(F.client, FIONREAD, &avail), 0);
    wait_readable(F.client, IO_LEN);
}

/* ---- Unix sockets */

static void setup_unix_fresh(void)
{
    new_path();
    note_path_state();
}

static void setup_unix_stale(void)
{
    new_path();
    close(raw_unix(SOCK_STREAM, F.path, 0));  /* a file nobody listens on */
    note_path_state();
}

static void refill_unix_stale(void)
{
    unlink(F.path);
    close(raw_unix(SOCK_STREAM, F.path, 0));
    note_path_state();
}

static long call_unix_listen(nb_error *e)
{
    return nb_unix_listen(F.path, 0, 0, e);
}

static void ok_unix_listen(long r, const struct expect *x)
{
    (void)x;
    ok_listener(r, 0);
    unlink(F.path);
}

/* A failed call leaves the path as it found it (or without the stale
 * file it removed): never a socket file of its own. */
static void after_unix_failure(const nb_error *e)
{
    struct stat st;

    (void)e;
    if (lstat(F.path, &st) != 0)
        return;
    CHECK(F.path_existed && st.st_ino == F.path_ino,
          "a failed call left a socket file of its own at %s", F.path);
}

/* the probe of a stale file: refused means stale, anything else is taken
 * as "in use" */
static void adjust_unix_stale(const struct fs_event *ev, int e,
                              struct expect *x)
{
    if (ev->call == FS_BIND && ev->nth == 0 && e == EADDRINUSE)
        x->ok = 1;  /* what the kernel said anyway */
    if (ev->call == FS_CONNECT && ev->nth == 0) {
        if (e == ECONNREFUSED) {
            x->ok = 1;
        } else {
            x->op = "bind";
            x->sys_errno = x->want_errno = EADDRINUSE;
        }
    }
}

static void setup_unix_server(void)
{
    new_path();
    F.listener = raw_unix(SOCK_STREAM, F.path, 1);
    memset(&F.peers[0], 0, sizeof(F.peers[0]));
    F.peerlen[0] = sizeof(F.peers[0]);
    ck_assert_int_eq(getsockname(F.listener, (struct sockaddr *)&F.peers[0],
                                 &F.peerlen[0]), 0);
}

static long call_unix_connect(nb_error *e)
{
    return nb_unix_connect(F.path, 0, 0, e);
}

static void ok_unix_connect_blocking(long r, const struct expect *x)
{
    ok_connected_to(r, x, 0, 0);
}

static long call_unix_connect_deadline(nb_error *e)
{
    return nb_unix_connect(F.path, DEADLINE, NB_NONBLOCK, e);
}

static void ok_unix_connect_nonblocking(long r, const struct expect *x)
{
    struct timeval tv;
    socklen_t len = sizeof(tv);

    CHECK(getsockopt((int)r, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 &&
          tv.tv_sec == 0 && tv.tv_usec == 0,
          "SO_SNDTIMEO is left set on the connected socket");
    ok_connected_to(r, x, 1, 0);
}

/* SO_SNDTIMEO is how the deadline of a Unix connect is kept: the library
 * reports its failure as the connect step's */
static void adjust_unix_deadline(const struct fs_event *ev, int e,
                                 struct expect *x)
{
    (void)e;
    if (ev->call == FS_SETSOCKOPT)
        x->op = "connect";
    if (ev->call == FS_CONNECT && e == EAGAIN)
        x->ok = 1;  /* SO_SNDTIMEO ran out early: tried again */
}

static long call_unix_bind(nb_error *e)
{
    return nb_unix_bind(F.path, NB_NONBLOCK, e);
}

static void ok_unix_bind(long r, const struct expect *x)
{
    (void)x;
    check_cloexec(r);
    CHECK(th_is_nonblock((int)r) == 1, "not O_NONBLOCK");
    close((int)r);
    unlink(F.path);
}

/* ---- addresses */

static void setup_bound_udp(void)
{
    socklen_t len;
    F.udp = bound_on("127.0.0.1", SOCK_DGRAM, &F.peers[0], &len);
}

static long call_local_addr(nb_error *e)
{
    nb_addr a;
    long r = nb_local_addr(F.udp, &a, e);
    return r == 0 ? nb_addr_port(&a) : r;
}

static void ok_addr(long r, const struct expect *x)
{
    (void)x;
    CHECK(r > 0, "no port: %ld", r);
}

static long call_peer_addr(nb_error *e)
{
    nb_addr a;
    long r = nb_peer_addr(F.client, &a, e);
    return r == 0 ? nb_addr_port(&a) : r;
}

/* ---- nb_resolve */

static nb_addr resolved[4];

static long call_resolve_service(nb_error *e)
{
    return nb_resolve("127.0.0.1", "daytime", SOCK_STREAM, resolved, 4, 0, 0,
                      e);
}

static void ok_resolve_service(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == 1 && resolved[0].ss.ss_family == AF_INET &&
          nb_addr_port(&resolved[0]) == 13, "%ld addresses, port %d", r,
          r > 0 ? nb_addr_port(&resolved[0]) : -1);
}

static long call_resolve_name(nb_error *e)
{
    return nb_resolve(FAKE_HOST, "1", SOCK_STREAM, resolved, 4, 0, 0, e);
}

static long call_resolve_name_deadline(nb_error *e)
{
    return nb_resolve(FAKE_HOST, "1", SOCK_STREAM, resolved, 4, DEADLINE, 0,
                      e);
}

/* the fake host's two addresses, in order */
static void ok_resolve_two(long r, const struct expect *x)
{
    int i;

    (void)x;
    CHECK(r == 2, "%ld addresses, want 2", r);
    for (i = 0; i < 2; i++)
        CHECK(resolved[i].len == F.peerlen[i] &&
              memcmp(&resolved[i].ss, &F.peers[i], F.peerlen[i]) == 0,
              "address %d is not the fake host's", i);
}

/* the lookup on a helper thread: its own steps fail before any address
 * (attempts 0) */
static void adjust_lookup(const struct fs_event *ev, int e, struct expect *x)
{
    (void)ev;
    (void)e;
    if (!x->ok)
        x->attempts = 0;
}

/* ---- nb_tcp_keepalive, nb_tcp_user_timeout */

static long call_keepalive(nb_error *e)
{
    return nb_tcp_keepalive(F.client, 60, 10, 5, e);
}

static void ok_keepalive(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == 0, "returned %ld", r);
    CHECK(th_sockopt_int(F.client, SOL_SOCKET, SO_KEEPALIVE) == 1 &&
          th_sockopt_int(F.client, IPPROTO_TCP, TCP_KEEPIDLE) == 60 &&
          th_sockopt_int(F.client, IPPROTO_TCP, TCP_KEEPINTVL) == 10 &&
          th_sockopt_int(F.client, IPPROTO_TCP, TCP_KEEPCNT) == 5,
          "keepalive is not set as asked");
}

static long call_user_timeout(nb_error *e)
{
    return nb_tcp_user_timeout(F.client, 5000, e);
}

static void ok_user_timeout(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == 0, "returned %ld", r);
    CHECK(th_sockopt_int(F.client, IPPROTO_TCP, TCP_USER_TIMEOUT) == 5000,
          "TCP_USER_TIMEOUT is not 5000");
}

/* op "setsockopt" for every step, and the message names the option
 * (nb_tcp_keepalive(3), ERRORS) */
static void adjust_tcpopt(const struct fs_event *ev, int e, struct expect *x)
{
    (void)e;
    x->op = "setsockopt";
    if (ev->call != FS_SETSOCKOPT)
        return;
    switch (ev->level == IPPROTO_TCP ? ev->name : -1) {
    case TCP_KEEPIDLE:     x->says = "TCP_KEEPIDLE: "; break;
    case TCP_KEEPINTVL:    x->says = "TCP_KEEPINTVL: "; break;
    case TCP_KEEPCNT:      x->says = "TCP_KEEPCNT: "; break;
    case TCP_USER_TIMEOUT: x->says = "TCP_USER_TIMEOUT: "; break;
    default:               x->says = "SO_KEEPALIVE: "; break;
    }
}

/* ---- nb_connector */

/* Steps c until it finishes, waiting on nb_connector_fd with poll(2) as an
 * event loop would (the test's own poll, not recorded), then frees it;
 * errno is step's.  The descriptor, or -1 with *e. */
static long drive(nb_connector *c, nb_error *e)
{
    const int64_t end = th_now_ms() + 20000;
    int fd = -1, r, saved;

    if (c == NULL)
        return -1;
    for (;;) {
        struct pollfd pfd = { .fd = nb_connector_fd(c), .events = POLLIN };
        int left = (int)(end - th_now_ms());
        if (left <= 0) {
            nb_connector_free(c);
            CHECK(0, "the connector did not finish within 20 s");
        }
        if (fs_real_poll(&pfd, 1, left) < 0 && errno != EINTR)
            CHECK(0, "poll on nb_connector_fd: %s", strerror(errno));
        r = nb_connector_step(c, &fd, e);
        if (r != 0)
            break;
        CHECK(fd == -1, "step returned 0 with *fd %d", fd);
    }
    saved = errno;
    nb_connector_free(c);
    errno = saved;
    if (r == 1)
        CHECK(fd >= 0, "step returned 1 with *fd %d", fd);
    else
        CHECK(fd == -1, "step failed with *fd %d", fd);
    return r == 1 ? fd : -1;
}

static long call_connector_numeric(nb_error *e)
{
    return drive(nb_connector_start("127.0.0.1", F.port, 0, 0, e), e);
}

static long call_connector_numeric_deadline(nb_error *e)
{
    return drive(nb_connector_start("127.0.0.1", F.port, DEADLINE,
                                    NB_NODELAY, e), e);
}

static long call_connector_name(nb_error *e)
{
    return drive(nb_connector_start(FAKE_HOST, "1", 0, NB_NONBLOCK, e), e);
}

static long call_connector_name_deadline(nb_error *e)
{
    return drive(nb_connector_start(FAKE_HOST, "1", DEADLINE, NB_NODELAY, e),
                 e);
}

static void ok_connect_nonblocking(long r, const struct expect *x)
{
    ok_connected_to(r, x, 1, 0);
}

/* Freed in the middle: while the lookup runs on its thread (held by the
 * shim until the connector is freed), or while the attempt is in flight.
 * What fails after nb_connector_start returned is nobody's to hear of. */
static long call_connector_free_looking_up(nb_error *e)
{
    nb_connector *c = nb_connector_start(FAKE_HOST, "1", DEADLINE, 0, e);

    nb_connector_free(c);
    fs_hold_lookups(0);
    return c != NULL ? 0 : -1;
}

static void prepare_held_lookup(void)
{
    prepare_fake_two();
    fs_hold_lookups(1);
}

static long call_connector_free_racing(nb_error *e)
{
    nb_connector *c = nb_connector_start("127.0.0.1", F.port, DEADLINE, 0, e);

    nb_connector_free(c);
    return c != NULL ? 0 : -1;
}

static void ok_zero(long r, const struct expect *x)
{
    (void)x;
    CHECK(r == 0, "returned %ld", r);
}

/* nb_connector_start fails only for its arguments and what the connector
 * itself needs; what nb_tcp_connect would report (an attempt's socket or
 * connect, the lookup's getaddrinfo on its thread) is kept for
 * nb_connector_step (netbasics.h): freed first, nobody hears of it. */
static void adjust_freed(const struct fs_event *ev, int e, struct expect *x)
{
    (void)e;
    if (ev->thread != 0 || ev->call == FS_SOCKET || ev->call == FS_CONNECT)
        x->ok = 1;
}

/* ---- the table */

static const struct scenario scenarios[] = {
    { "tcp_listen_v4", "nb_tcp_listen(\"127.0.0.1\", \"0\", 0, 0)",
      NULL, NULL, call_listen_v4, ok_listen_blocking, NULL, NULL, NULL },
    { "tcp_listen_wildcard",
      "nb_tcp_listen(NULL, \"0\", 4, NONBLOCK|REUSEPORT|NODELAY)",
      NULL, NULL, call_listen_wildcard, ok_listen_nonblocking, NULL, NULL,
      adjust_wildcard },
    { "tcp_listen_localhost", "nb_tcp_listen(\"localhost\", \"0\", 0, 0)",
      NULL, NULL, call_listen_localhost, ok_listen_blocking, NULL, NULL,
      NULL },
    { "tcp_listen_two_addresses",
      "nb_tcp_listen(name -> [127.0.0.1:0, 127.0.0.2:0], \"0\", 0, 0)",
      setup_two_local, prepare_fake_two, call_listen_two, ok_listen_two,
      NULL, NULL, adjust_two_local },
    { "tcp_accept", "nb_tcp_accept(blocking listener, &peer, NODELAY|NONBLOCK)",
      setup_accept, NULL, call_accept, ok_accept, NULL, NULL, NULL },
    { "tcp_accept_nonblocking",
      "nb_tcp_accept(non-blocking listener, NULL, 0)",
      setup_accept_nonblocking, NULL, call_accept_plain, ok_accept_plain,
      NULL, NULL, NULL },
    { "tcp_connect_numeric", "nb_tcp_connect(\"127.0.0.1\", port, 0, 0)",
      setup_connect, NULL, call_connect_numeric, ok_connect_plain, NULL,
      NULL, NULL },
    { "tcp_connect_deadline",
      "nb_tcp_connect(\"127.0.0.1\", port, 5000, NODELAY)",
      setup_connect, NULL, call_connect_deadline, ok_connect_nodelay, NULL,
      NULL, NULL },
    { "tcp_connect_localhost", "nb_tcp_connect(\"localhost\", port, 0, 0)",
      setup_connect, NULL, call_connect_localhost, ok_connect_plain, NULL,
      NULL, NULL },
    { "connect_race",
      "nb__connect_race([127.0.0.1:p1, 127.0.0.2:p2], 5000 ms, 250 ms)",
      setup_connect, NULL, call_race, ok_connect_plain, NULL, NULL,
      adjust_race },
    { "tcp_connect_two_addresses",
      "nb_tcp_connect(name -> [127.0.0.1:p1, 127.0.0.2:p2], 0, NODELAY)",
      setup_connect, prepare_fake_two, call_connect_fake, ok_connect_nodelay,
      NULL, NULL, adjust_race },
    { "tcp_connect_name_deadline",
      "nb_tcp_connect(name -> [127.0.0.1:p1, 127.0.0.2:p2], 5000, NODELAY)",
      setup_connect, prepare_fake_two, call_connect_name_deadline,
      ok_connect_nodelay, NULL, NULL, adjust_named_race },
    { "tcp_connect_17_addresses",
      "nb_tcp_connect(name -> 17 distinct addresses, 5000, 0)",
      setup_connect, prepare_fake_many, call_connect_many, ok_connect_plain,
      NULL, NULL, adjust_named_race },
    { "udp_bind_v4", "nb_udp_bind(\"127.0.0.1\", \"0\", REUSEPORT)",
      NULL, NULL, call_udp_bind_v4, ok_udp_bind_blocking, NULL, NULL, NULL },
    { "udp_bind_wildcard", "nb_udp_bind(NULL, \"0\", NONBLOCK)",
      NULL, NULL, call_udp_bind_wildcard, ok_udp_bind_nonblocking, NULL,
      NULL, adjust_wildcard },
    { "udp_bind_two_addresses",
      "nb_udp_bind(name -> [127.0.0.1:0, 127.0.0.2:0], \"0\", 0)",
      setup_two_local, prepare_fake_two, call_udp_bind_two, ok_udp_bind_two,
      NULL, NULL, adjust_two_local },
    { "udp_connect_numeric", "nb_udp_connect(\"127.0.0.1\", port, 0)",
      setup_udp_target, NULL, call_udp_connect, ok_udp_connected, NULL,
      NULL, NULL },
    { "udp_connect_service", "nb_udp_connect(\"localhost\", \"daytime\", 0)",
      setup_udp_service, NULL, call_udp_connect_service, ok_udp_connected,
      NULL, NULL, NULL },
    { "udp_connect_two_addresses",
      "nb_udp_connect(name -> [127.0.0.1:p, 127.0.0.2:p], 0)",
      setup_udp_target, prepare_fake_two, call_udp_connect_fake,
      ok_udp_connected, NULL, NULL, adjust_udp_fake },
    { "udp_sendto", "nb_udp_sendto(fd, 8 bytes, &to)",
      setup_sendto, NULL, call_sendto, ok_sendto, NULL, NULL, NULL },
    { "udp_sendto_connected", "nb_udp_sendto(connected fd, 8 bytes, NULL)",
      setup_sendto_connected, NULL, call_sendto_connected, ok_sendto, NULL,
      NULL, NULL },
    { "udp_recvfrom_deadline",
      "nb_udp_recvfrom(fd, 64, &from, 5000) with a datagram waiting",
      setup_recvfrom, NULL, call_recvfrom_deadline, ok_recvfrom, NULL,
      send_datagram, NULL },
    { "udp_recvfrom_blocking",
      "nb_udp_recvfrom(connected fd, 64, NULL, 0) with a datagram waiting",
      setup_recvfrom_connected, NULL, call_recvfrom_blocking, ok_recvfrom,
      NULL, send_datagram, NULL },
    { "send_all_blocking", "nb_send_all(fd, 3000, 0) in 1000-byte sends",
      setup_pair, prepare_caps, call_send_blocking, ok_send,
      after_send_failure, NULL, adjust_send },
    { "send_all_deadline", "nb_send_all(fd, 3000, 5000) in 1000-byte sends",
      setup_pair, prepare_caps, call_send_deadline, ok_send,
      after_send_failure, NULL, adjust_send },
    { "recv_all_blocking", "nb_recv_all(fd, 3000, 0) in 1000-byte recvs",
      setup_pair_with_data, prepare_caps, call_recv_blocking, ok_recv,
      after_recv_failure, refill_recv, adjust_recv },
    { "recv_all_deadline", "nb_recv_all(fd, 3000, 5000) in 1000-byte recvs",
      setup_pair_with_data, prepare_caps, call_recv_deadline, ok_recv,
      after_recv_failure, refill_recv, adjust_recv },
    { "recv_blocking", "nb_recv(fd, 3000, 0) with 3000 bytes waiting",
      setup_pair_with_data, prepare_caps, call_recv_some_blocking,
      ok_recv_some, after_recv_failure, refill_recv, adjust_recv },
    { "recv_deadline", "nb_recv(fd, 3000, 5000) with 3000 bytes waiting",
      setup_pair_with_data, prepare_caps, call_recv_some_deadline,
      ok_recv_some, after_recv_failure, refill_recv, adjust_recv },
    { "unix_listen", "nb_unix_listen(path, 0, 0)",
      setup_unix_fresh, NULL, call_unix_listen, ok_unix_listen,
      after_unix_failure, NULL, NULL },
    { "unix_listen_stale", "nb_unix_listen(path of a stale socket file, 0, 0)",
      setup_unix_stale, NULL, call_unix_listen, ok_unix_listen,
      after_unix_failure, refill_unix_stale, adjust_unix_stale },
    { "unix_connect", "nb_unix_connect(path, 0, 0)",
      setup_unix_server, NULL, call_unix_connect, ok_unix_connect_blocking,
      NULL, NULL, NULL },
    { "unix_connect_deadline", "nb_unix_connect(path, 5000, NONBLOCK)",
      setup_unix_server, NULL, call_unix_connect_deadline,
      ok_unix_connect_nonblocking, NULL, NULL, adjust_unix_deadline },
    { "unix_bind", "nb_unix_bind(path, NONBLOCK)",
      setup_unix_fresh, NULL, call_unix_bind, ok_unix_bind,
      after_unix_failure, NULL, NULL },
    { "local_addr", "nb_local_addr(udp fd)",
      setup_bound_udp, NULL, call_local_addr, ok_addr, NULL, NULL, NULL },
    { "peer_addr", "nb_peer_addr(tcp fd)",
      setup_pair, NULL, call_peer_addr, ok_addr, NULL, NULL, NULL },
    { "resolve_service",
      "nb_resolve(\"127.0.0.1\", \"daytime\", SOCK_STREAM, 4, 0, 0)",
      NULL, NULL, call_resolve_service, ok_resolve_service, NULL, NULL,
      NULL },
    { "resolve_name",
      "nb_resolve(name -> [127.0.0.1:0, 127.0.0.2:0], SOCK_STREAM, 4, 0, 0)",
      setup_two_local, prepare_fake_two, call_resolve_name, ok_resolve_two,
      NULL, NULL, NULL },
    { "resolve_name_deadline",
      "nb_resolve(name -> [127.0.0.1:0, 127.0.0.2:0], SOCK_STREAM, 4, 5000, "
      "0)",
      setup_two_local, prepare_fake_two, call_resolve_name_deadline,
      ok_resolve_two, NULL, NULL, adjust_lookup },
    { "tcp_keepalive", "nb_tcp_keepalive(connected fd, 60, 10, 5)",
      setup_pair, NULL, call_keepalive, ok_keepalive, NULL, NULL,
      adjust_tcpopt },
    { "tcp_user_timeout", "nb_tcp_user_timeout(connected fd, 5000)",
      setup_pair, NULL, call_user_timeout, ok_user_timeout, NULL, NULL,
      adjust_tcpopt },
    { "connector_numeric",
      "nb_connector_start(\"127.0.0.1\", port, 0, 0), stepped, freed",
      setup_connect, NULL, call_connector_numeric, ok_connect_plain, NULL,
      NULL, NULL },
    { "connector_numeric_deadline",
      "nb_connector_start(\"127.0.0.1\", port, 5000, NODELAY), stepped, "
      "freed",
      setup_connect, NULL, call_connector_numeric_deadline,
      ok_connect_nodelay, NULL, NULL, NULL },
    { "connector_name",
      "nb_connector_start(name -> [127.0.0.1:p1, 127.0.0.2:p2], 0, "
      "NONBLOCK), stepped, freed",
      setup_connect, prepare_fake_two, call_connector_name,
      ok_connect_nonblocking, NULL, NULL, adjust_race },
    { "connector_name_deadline",
      "nb_connector_start(name -> [127.0.0.1:p1, 127.0.0.2:p2], 5000, "
      "NODELAY), stepped, freed",
      setup_connect, prepare_fake_two, call_connector_name_deadline,
      ok_connect_nodelay, NULL, NULL, adjust_race },
    { "connector_free_looking_up",
      "nb_connector_start(name, \"1\", 5000, 0), freed while its lookup "
      "runs",
      setup_connect, prepare_held_lookup, call_connector_free_looking_up,
      ok_zero, NULL, NULL, adjust_freed },
    { "connector_free_racing",
      "nb_connector_start(\"127.0.0.1\", port, 5000, 0), freed while its "
      "attempt is in flight",
      setup_connect, NULL, call_connector_free_racing, ok_zero, NULL, NULL,
      adjust_freed },
};

#define N_SCENARIOS ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

/* ----------------------------------------------------- running a case */

static void check_message(const nb_error *e, const struct expect *x)
{
    const char *m = e->message;
    size_t i, n = strnlen(m, sizeof(e->message));

    CHECK(n > 0 && n < sizeof(e->message), "message empty or unterminated");
    for (i = 0; i < n; i++)
        CHECK((unsigned char)m[i] >= 0x20 && m[i] != 0x7f,
              "message has a control character at %zu: \"%s\"", i, m);
    if (x->op != NULL)
        CHECK(strncmp(m, x->op, strlen(x->op)) == 0,
              "message \"%s\" does not start with \"%s\"", m, x->op);
    if (x->says != NULL)
        CHECK(strstr(m, x->says) != NULL, "message \"%s\" does not say "
              "\"%s\"", m, x->says);
    if (x->code == NB_ERR_RESOLVE) {
        if (x->says == NULL)
            CHECK(strstr(m, gai_strerror(x->gai)) != NULL,
                  "message \"%s\" does not say \"%s\"", m,
                  gai_strerror(x->gai));
        if (x->gai == EAI_SYSTEM)
            CHECK(strstr(m, strerror(x->want_errno)) != NULL,
                  "message \"%s\" does not say why", m);
    } else {
        CHECK(strstr(m, strerror(x->sys_errno)) != NULL,
              "message \"%s\" does not say \"%s\"", m, strerror(x->sys_errno));
    }
}

static void check_failure(long r, int saved_errno, const nb_error *e,
                          const struct expect *x)
{
    CHECK(r == -1, "returned %ld, want -1", r);
    CHECK(e->code == x->code, "code %s, want %s: %s", nb_code_name(e->code),
          nb_code_name(x->code), e->message);
    CHECK(e->op != NULL && strcmp(e->op, x->op) == 0,
          "op \"%s\", want \"%s\": %s", e->op, x->op, e->message);
    CHECK(e->sys_errno == x->sys_errno, "sys_errno %s (%d), want %s: %s",
          errno_name(e->sys_errno), e->sys_errno, errno_name(x->sys_errno),
          e->message);
    CHECK(e->gai_error == x->gai, "gai_error %d, want %d: %s", e->gai_error,
          x->gai, e->message);
    if (x->check_errno)
        CHECK(saved_errno == x->want_errno, "errno %s (%d), want %s",
              errno_name(saved_errno), saved_errno, errno_name(x->want_errno));
    CHECK(e->transferred == x->transferred, "transferred %zu, want %zu",
          e->transferred, x->transferred);
    if (x->attempts >= 0)
        CHECK(e->attempts == x->attempts, "attempts %d, want %d", e->attempts,
              x->attempts);
    CHECK(nb_error_is_temporary(e) == spec_temporary(x),
          "nb_error_is_temporary is %d: %s", nb_error_is_temporary(e),
          e->message);
    check_message(e, x);
}

struct fault {
    enum fs_call call;
    int nth;
    int err;
};

/* Calls that only a failure path makes (to name a descriptor in the
 * message, to close what was made) and that the clean run of scenario s
 * does not make: a second round fails them all as well, and the error
 * must not change (errno and sys_errno are never clobbered by cleanup). */
static const struct { enum fs_call call; int err; } cleanup_faults[] = {
    { FS_GETPEERNAME, ENOBUFS },
    { FS_GETSOCKNAME, ENOBUFS },
    { FS_CLOSE, EIO },
};

static int in_clean_trace(int s, enum fs_call call);

/* 1 when the planned fault (call, nth) fired in the last window. */
static int fault_fired(const struct fault *f)
{
    int i;

    for (i = 0; i < fs_trace_len(); i++) {
        const struct fs_event *ev = fs_trace(i);
        if (ev->call == f->call && ev->nth == f->nth && ev->injected)
            return 1;
    }
    return 0;
}

/* After a window (fs_end has waited for the library's threads): none is
 * left running, and the window's nth indexes are deterministic (no kind of
 * call made by two threads: faultshim.h, "Threads"). */
static void check_threads(void)
{
    int shared = fs_shared_kind();

    CHECK(fs_threads_running() == 0, "%d helper threads still running 10 s "
          "after the call returned", fs_threads_running());
    CHECK(shared < 0, "two threads made %s calls in one window: its nth "
          "indexes are not deterministic", fs_call_name((enum fs_call)shared));
}

/* Runs scenario s with the faults and checks the outcome against x; when
 * it must fail, runs it again with the cleanup faults too; then runs it
 * once more without any fault. */
static void run_case(int s, const struct fault *faults, int nfaults,
                     const struct expect *x)
{
    const struct scenario *sc = &scenarios[s];
    const size_t label_len = strlen(label);
    nb_error e;
    long r;
    int i, saved, fds, fired, round;
    long gai0 = 0, mem0;

    F.scen = s;
    if (sc->setup != NULL)
        sc->setup();
    for (round = 0; round < (x->ok ? 1 : 2); round++) {
        if (round == 1) {
            snprintf(label + label_len, sizeof(label) - label_len,
                     " (and getpeername, getsockname, close failing)");
            if (sc->refill != NULL)
                sc->refill();
        }
        fds = th_count_fds();
        gai0 = fs_addrinfo_outstanding();
        mem0 = fs_malloc_outstanding();

        fs_reset();
        if (sc->prepare != NULL)
            sc->prepare();
        for (i = 0; i < nfaults; i++) {
            if (faults[i].call == FS_GETADDRINFO)
                fs_fail_gai(faults[i].nth, faults[i].err, GAI_SYSTEM_ERRNO);
            else
                fs_fail(faults[i].call, faults[i].nth, faults[i].err);
        }
        if (round == 1)
            for (i = 0; i < (int)(sizeof(cleanup_faults) /
                                  sizeof(cleanup_faults[0])); i++)
                if (!in_clean_trace(s, cleanup_faults[i].call))
                    fs_fail(cleanup_faults[i].call, FS_EVERY,
                            cleanup_faults[i].err);
        th_poison(&e);
        errno = 0;
        fs_begin();
        r = sc->call(&e);
        saved = errno;
        fs_end();
        fired = fs_fired();
        check_threads();

        for (i = 0; i < nfaults; i++)
            CHECK(fault_fired(&faults[i]), "%s#%d was not called (the calls "
                  "differ from the clean run's)",
                  fs_call_name(faults[i].call), faults[i].nth);
        if (round == 0)
            CHECK(fired == nfaults, "%d faults fired, want %d", fired,
                  nfaults);
        if (x->ok) {
            CHECK(r >= 0, "failed, want success: %s", e.message);
            CHECK(th_is_poisoned(&e),
                  "err was changed by a call that succeeded");
            sc->check_ok(r, x);
        } else {
            check_failure(r, saved, &e, x);
            if (sc->after_fail != NULL)
                sc->after_fail(&e);
        }
        CHECK(th_count_fds() == fds, "%d descriptors leaked",
              th_count_fds() - fds);
        CHECK(fs_addrinfo_outstanding() == gai0,
              "%ld getaddrinfo results not freed",
              fs_addrinfo_outstanding() - gai0);
        CHECK(fs_malloc_outstanding() == mem0, "%ld allocations not freed",
              fs_malloc_outstanding() - mem0);
    }
    label[label_len] = '\0';

    /* the very next call, without a fault, works */
    fs_reset();
    if (sc->prepare != NULL)
        sc->prepare();
    if (sc->refill != NULL)
        sc->refill();
    fds = th_count_fds();
    th_poison(&e);
    fs_begin();
    r = sc->call(&e);
    fs_end();
    check_threads();
    CHECK(r >= 0, "the next call failed: %s", e.message);
    {
        struct expect plain = *x;
        plain.peer = 0;
        sc->check_ok(r, &plain);
    }
    CHECK(th_count_fds() == fds, "the next call leaked %d descriptors",
          th_count_fds() - fds);
    CHECK(fs_addrinfo_outstanding() == gai0, "the next call leaked addrinfo");
    CHECK(fs_malloc_outstanding() == mem0, "the next call leaked memory");
    fs_reset();
}

/* ------------------------------------------------ phase 1: the traces */

struct trace {
    int len;                           /* -1: the clean run failed */
    struct fs_event ev[FS_MAX_EVENTS];
};

static struct trace traces[N_SCENARIOS];

static int in_clean_trace(int s, enum fs_call call)
{
    int i;

    for (i = 0; i < traces[s].len; i++)
        if (traces[s].ev[i].call == call)
            return 1;
    return 0;
}

START_TEST(clean_call_succeeds_and_its_calls_are_recorded)
{
    const struct scenario *sc = &scenarios[_i];
    struct expect plain;
    nb_error e;
    char line[2048] = "", name[64];
    long r;
    int i, fds;

    traces[_i].len = -1;
    snprintf(label, sizeof(label), "%s (clean run)", sc->id);
    memset(&plain, 0, sizeof(plain));
    F.scen = _i;
    if (sc->setup != NULL)
        sc->setup();
    fds = th_count_fds();
    if (sc->prepare != NULL)
        sc->prepare();
    th_poison(&e);
    fs_begin();
    r = sc->call(&e);
    fs_end();
    check_threads();
    CHECK(r >= 0, "%s failed: %s", sc->what, e.message);
    sc->check_ok(r, &plain);
    CHECK(th_count_fds() == fds, "%d descriptors leaked", th_count_fds() - fds);
    CHECK(fs_trace_len() > 0, "no system call seen");
    traces[_i].len = fs_trace_len();
    for (i = 0; i < traces[_i].len; i++) {
        traces[_i].ev[i] = *fs_trace(i);
        CHECK(!traces[_i].ev[i].injected, "a fault fired in a clean run");
        strncat(line, " ", sizeof(line) - strlen(line) - 1);
        strncat(line, fs_event_name(&traces[_i].ev[i], name, sizeof(name)),
                sizeof(line) - strlen(line) - 1);
    }
    printf("%-26s %s:%s\n", sc->id, sc->what, line);
}
END_TEST

/* ------------------------------------------- phase 2: the fault matrix */

#define MAX_ERRS 16

/* A row: one call of one scenario's trace and the errnos it can fail
 * with. */
struct fcase {
    int scen;
    struct fs_event ev;
    int errs[MAX_ERRS];
    int nerrs;
};

static struct fcase *cases;
static int ncases, nfaults_total;

/* Every call of every recorded trace that can fail, with its errnos.
 * first[s] is the first row of scenario s, first[N] = ncases. */
static void make_cases(int first[N_SCENARIOS + 1])
{
    int s, k;
    size_t j;

    for (s = 0; s < N_SCENARIOS; s++) {
        first[s] = ncases;
        for (k = 0; k < traces[s].len; k++) {
            struct fcase c;
            memset(&c, 0, sizeof(c));
            c.scen = s;
            c.ev = traces[s].ev[k];
            for (j = 0; j < sizeof(errno_table) / sizeof(errno_table[0]); j++)
                if (applies(&errno_table[j], &c.ev)) {
                    if (c.nerrs >= MAX_ERRS)
                        abort();
                    c.errs[c.nerrs++] = errno_table[j].err;
                }
            if (c.nerrs == 0)
                continue;
            cases = realloc(cases, sizeof(*cases) * (size_t)(ncases + 1));
            if (cases == NULL)
                abort();
            cases[ncases++] = c;
            nfaults_total += c.nerrs;
        }
    }
    first[N_SCENARIOS] = ncases;
}

static void one_fault(const struct fcase *c, int err)
{
    const struct scenario *sc = &scenarios[c->scen];
    struct fault f = { c->ev.call, c->ev.nth, err };
    struct expect x;
    char name[64];

    snprintf(label, sizeof(label), "%s: %s <- %s", sc->id,
             fs_event_name(&c->ev, name, sizeof(name)),
             c->ev.call == FS_GETADDRINFO ? gai_name(err) : errno_name(err));
    default_expect(&c->ev, err, &x);
    if (sc->adjust != NULL)
        sc->adjust(&c->ev, err, &x);
    run_case(c->scen, &f, 1, &x);
}

/* Runs each (function, argument) in its own fixture, collecting failures;
 * fails the test with all of them. */
static void run_collecting(void (*fn)(const void *, int), const void *arg,
                           int n)
{
    volatile int i;

    collecting = 1;
    collected[0] = '\0';
    ncollected = 0;
    for (i = 0; i < n; i++) {
        if (setjmp(collect_jmp) == 0)
            fn(arg, i);
        teardown();
        setup();
    }
    collecting = 0;
    if (ncollected > 0)
        ck_abort_msg("%d of %d cases failed: %s", ncollected, n, collected);
}

static void fault_row(const void *arg, int i)
{
    const struct fcase *c = arg;
    one_fault(c, c->errs[i]);
}

START_TEST(injected_fault_gives_a_clean_error_and_the_next_call_works)
{
    run_collecting(fault_row, &cases[_i], cases[_i].nerrs);
}
END_TEST

/* ------------------------- every blocking call interrupted, every wait */

/* Failures the library must retry, each on every call it can hit: EINTR
 * on every call that can sleep, EAGAIN on every non-blocking I/O (each
 * second call fails, so every retry passes).  The call must succeed as if
 * nothing happened. */
static const enum fs_call blocking_calls[] = {
    FS_CONNECT, FS_ACCEPT4, FS_POLL, FS_SEND, FS_RECV, FS_SENDTO, FS_RECVFROM,
};
static const enum fs_call nonblocking_io[] = { FS_SEND, FS_RECV, FS_RECVFROM,
                                               FS_READ };
static const enum fs_call nothing_ready[] = { FS_EPOLL_WAIT };
static const struct retried {
    const char *what;
    const enum fs_call *calls;
    size_t ncalls;
    int err, only_if_blocking, only_if_nonblocking;
} retried[] = {
    { "EINTR on every blocking call", blocking_calls,
      sizeof(blocking_calls) / sizeof(blocking_calls[0]), EINTR, 1, 0 },
    { "EAGAIN on every non-blocking I/O", nonblocking_io,
      sizeof(nonblocking_io) / sizeof(nonblocking_io[0]), EAGAIN, 0, 1 },
    { "every other epoll_wait failing (a step with nothing ready)",
      nothing_ready, 1, EINTR, 0, 0 },
};

static void retried_everywhere(int s, const struct retried *rt)
{
    const struct scenario *sc = &scenarios[s];
    struct expect x;
    nb_error e;
    long r, gai0, mem0;
    size_t j;
    int fds;

    snprintf(label, sizeof(label), "%s: %s", sc->id, rt->what);
    memset(&x, 0, sizeof(x));
    F.scen = s;
    if (sc->setup != NULL)
        sc->setup();
    fds = th_count_fds();
    if (sc->prepare != NULL)
        sc->prepare();
    for (j = 0; j < rt->ncalls; j++)
        fs_fail_if(rt->calls[j], FS_ALTERNATE, rt->err, rt->only_if_blocking,
                   rt->only_if_nonblocking);
    th_poison(&e);
    gai0 = fs_addrinfo_outstanding();
    mem0 = fs_malloc_outstanding();
    fs_begin();
    r = sc->call(&e);
    fs_end();
    check_threads();
    CHECK(r >= 0, "failed after %d injected failures: %s", fs_fired(),
          e.message);
    sc->check_ok(r, &x);
    CHECK(th_count_fds() == fds, "%d descriptors leaked", th_count_fds() - fds);
    CHECK(fs_addrinfo_outstanding() == gai0, "addrinfo leaked");
    CHECK(fs_malloc_outstanding() == mem0, "memory leaked");
}

static void retry_row(const void *arg, int i)
{
    const int *s = arg;

    retried_everywhere(*s, &retried[i]);
}

START_TEST(interrupted_and_spurious_wakeups_are_retried)
{
    const int s = _i;
    run_collecting(retry_row, &s, (int)(sizeof(retried) / sizeof(retried[0])));
}
END_TEST

/* ---------------------------------------------- faults in mid-transfer */

/* ENOBUFS / ENOMEM on the 3rd send of a 10000-byte nb_send_all sent in
 * 1000-byte pieces: -1 with transferred 2000, exactly what the peer
 * receives; the rest then goes with the next call, in order. */
START_TEST(send_all_fails_midway_with_the_bytes_that_went)
{
    static const int errs[] = { ENOBUFS, ENOMEM };
    const int err = errs[_i % 2], timeout = _i < 2 ? 0 : DEADLINE;
    static unsigned char big[10000];
    unsigned char got[10000];
    nb_error e;
    size_t i, have = 0;
    int fds;

    snprintf(label, sizeof(label), "send_all midway <- %s, timeout %d",
             errno_name(err), timeout);
    for (i = 0; i < sizeof(big); i++)
        big[i] = pattern_at(i);
    setup_pair();
    fds = th_count_fds();
    fs_cap(FS_SEND, CAP);
    fs_fail(FS_SEND, 2, err);
    errno = 0;
    fs_begin();
    CHECK(nb_send_all(F.client, big, sizeof(big), timeout, &e) == -1,
          "did not fail");
    fs_end();
    CHECK(errno == err, "errno %s", errno_name(errno));
    CHECK(e.code == NB_ERR_SYSTEM && e.sys_errno == err &&
          strcmp(e.op, "send") == 0, "%s %s: %s", nb_code_name(e.code),
          e.op, e.message);
    CHECK(e.transferred == 2 * CAP, "transferred %zu", e.transferred);
    CHECK(nb_error_is_temporary(&e) == 1, "not temporary");
    CHECK(th_count_fds() == fds, "descriptor leaked");
    fs_reset();
    CHECK(nb_send_all(F.client, big + e.transferred,
                      sizeof(big) - e.transferred, timeout, &e) ==
          (ssize_t)(sizeof(big) - 2 * CAP), "the rest: %s", e.message);
    while (have < sizeof(got)) {
        ssize_t n;
        wait_readable(F.server, 1);
        n = recv(F.server, got + have, sizeof(got) - have, 0);
        CHECK(n > 0, "peer recv: %s", strerror(errno));
        have += (size_t)n;
    }
    CHECK(memcmp(got, big, sizeof(big)) == 0, "the stream is not intact");
}
END_TEST

/* ECONNRESET on the 2nd recv of nb_recv_all (the 1st moved 40 bytes):
 * NB_ERR_CLOSED, transferred 40, the 40 bytes in the buffer; nothing was
 * consumed by the failed call, so the next call gets bytes 40..99. */
START_TEST(recv_all_reset_on_second_recv_reports_bytes_before)
{
    const int timeout = _i == 0 ? 0 : DEADLINE;
    unsigned char buf[100];
    nb_error e;
    int fds;
    size_t i;

    snprintf(label, sizeof(label), "recv_all reset on recv#1, timeout %d",
             timeout);
    setup_pair();
    ck_assert_int_eq(send(F.server, pattern, 100, MSG_NOSIGNAL), 100);
    wait_readable(F.client, 100);
    fds = th_count_fds();
    fs_cap(FS_RECV, 40);
    fs_fail(FS_RECV, 1, ECONNRESET);
    errno = 0;
    memset(buf, 0, sizeof(buf));
    fs_begin();
    CHECK(nb_recv_all(F.client, buf, sizeof(buf), timeout, &e) == -1,
          "did not fail");
    fs_end();
    CHECK(errno == ECONNRESET, "errno %s", errno_name(errno));
    CHECK(e.code == NB_ERR_CLOSED && e.sys_errno == ECONNRESET &&
          strcmp(e.op, "recv") == 0, "%s %s: %s", nb_code_name(e.code), e.op,
          e.message);
    CHECK(e.transferred == 40, "transferred %zu", e.transferred);
    CHECK(memcmp(buf, pattern, 40) == 0, "the first 40 bytes are wrong");
    CHECK(nb_error_is_temporary(&e) == 0, "a reset is not temporary");
    CHECK(th_count_fds() == fds, "descriptor leaked");
    fs_reset();
    CHECK(nb_recv_all(F.client, buf, 60, timeout, &e) == 60, "next: %s",
          e.message);
    for (i = 0; i < 60; i++)
        CHECK(buf[i] == pattern[40 + i], "byte %zu", 40 + i);
}
END_TEST

/* poll(2) fails with ENOMEM while a call waits for its deadline: the call
 * fails with NB_ERR_SYSTEM/ENOMEM naming poll (as nb_tcp_connect does),
 * with the bytes that moved before, and the next call works. */
enum { WAIT_RECV_ALL, WAIT_SEND_ALL, WAIT_RECVFROM, WAIT_CONNECT, N_WAITS };

START_TEST(poll_enomem_during_a_deadline_wait)
{
    static const char *const what[] = { "nb_recv_all", "nb_send_all",
                                        "nb_udp_recvfrom", "nb_tcp_connect" };
    unsigned char buf[64];
    nb_error e;
    long r = 0;
    size_t want_transferred = 0;
    int fds;

    snprintf(label, sizeof(label), "%s: poll <- ENOMEM in a deadline wait",
             what[_i]);
    switch (_i) {
    case WAIT_RECV_ALL:
    case WAIT_SEND_ALL:
        setup_pair();
        ck_assert_int_eq(send(F.server, pattern, 10, MSG_NOSIGNAL), 10);
        wait_readable(F.client, 10);
        break;
    case WAIT_RECVFROM:
        setup_udp_pair(0);
        break;
    case WAIT_CONNECT:
        setup_connect();
        break;
    }
    fds = th_count_fds();
    fs_fail(FS_POLL, 0, ENOMEM);
    errno = 0;
    fs_begin();
    switch (_i) {
    case WAIT_RECV_ALL:  /* 10 bytes there, 20 wanted: then a wait */
        r = nb_recv_all(F.client, buf, 20, DEADLINE, &e);
        want_transferred = 10;
        break;
    case WAIT_SEND_ALL:  /* the 2nd send finds the buffer full */
        fs_cap(FS_SEND, 10);
        fs_fail(FS_SEND, 1, EAGAIN);
        r = nb_send_all(F.client, pattern, 30, DEADLINE, &e);
        want_transferred = 10;
        break;
    case WAIT_RECVFROM:
        r = nb_udp_recvfrom(F.udp, buf, sizeof(buf), NULL, DEADLINE, &e);
        break;
    case WAIT_CONNECT:
        r = nb_tcp_connect("127.0.0.1", F.port, DEADLINE, 0, &e);
        break;
    }
    fs_end();
    CHECK(fs_fired() >= 1, "poll was not called");
    CHECK(r == -1, "returned %ld", r);
    CHECK(errno == ENOMEM, "errno %s", errno_name(errno));
    CHECK(e.code == NB_ERR_SYSTEM && e.sys_errno == ENOMEM, "%s: %s",
          nb_code_name(e.code), e.message);
    CHECK(e.transferred == want_transferred, "transferred %zu, want %zu",
          e.transferred, want_transferred);
    CHECK(nb_error_is_temporary(&e) == 1, "not temporary");
    CHECK(th_count_fds() == fds, "descriptor leaked");
    CHECK(strcmp(e.op, "poll") == 0 && strncmp(e.message, "poll", 4) == 0,
          "op \"%s\", want \"poll\" (the step that failed): %s", e.op,
          e.message);
}
END_TEST

/* The race: every connect refused (injected) gives the first attempt's
 * error, the number of attempts and the "(2 addresses tried)" note; when
 * the first attempt fails differently its error wins. */
START_TEST(race_reports_the_first_attempts_error)
{
    const int first = _i == 0 ? ECONNREFUSED : ENETUNREACH;
    nb_error e;
    int fds;

    snprintf(label, sizeof(label), "race: connect#0 <- %s, connect#1 <- "
             "ECONNREFUSED", errno_name(first));
    setup_connect();
    fds = th_count_fds();
    fs_fail(FS_CONNECT, 0, first);
    fs_fail(FS_CONNECT, 1, ECONNREFUSED);
    errno = 0;
    fs_begin();
    CHECK(call_race(&e) == -1, "did not fail");
    fs_end();
    CHECK(fs_fired() == 2, "%d faults fired", fs_fired());
    CHECK(errno == first, "errno %s", errno_name(errno));
    CHECK(e.code == NB_ERR_SYSTEM && e.sys_errno == first &&
          strcmp(e.op, "connect") == 0, "%s: %s", nb_code_name(e.code),
          e.message);
    CHECK(e.attempts == 2, "attempts %d", e.attempts);
    CHECK(strstr(e.message, "race.test:1") != NULL &&
          strstr(e.message, "(2 addresses tried)") != NULL, "message: %s",
          e.message);
    CHECK(th_count_fds() == fds, "descriptor leaked");
}
END_TEST

/* A named host whose every address fails to bind: the first failure is
 * reported, with the count. */
START_TEST(bind_list_reports_the_first_failure)
{
    const int udp = _i;
    nb_error e;
    int fds, fd;

    snprintf(label, sizeof(label), "%s(name -> 2 addresses): bind#0 <- "
             "EADDRINUSE, bind#1 <- EACCES",
             udp ? "nb_udp_bind" : "nb_tcp_listen");
    setup_two_local();
    prepare_fake_two();
    fds = th_count_fds();
    fs_fail(FS_BIND, 0, EADDRINUSE);
    fs_fail(FS_BIND, 1, EACCES);
    errno = 0;
    fs_begin();
    fd = udp ? nb_udp_bind(FAKE_HOST, "0", 0, &e)
             : nb_tcp_listen(FAKE_HOST, "0", 0, 0, &e);
    fs_end();
    CHECK(fd == -1, "did not fail");
    CHECK(fs_fired() == 2, "%d faults fired", fs_fired());
    CHECK(errno == EADDRINUSE, "errno %s", errno_name(errno));
    CHECK(e.code == NB_ERR_SYSTEM && e.sys_errno == EADDRINUSE &&
          strcmp(e.op, "bind") == 0, "%s: %s", nb_code_name(e.code),
          e.message);
    CHECK(e.attempts == 2, "attempts %d", e.attempts);
    CHECK(strstr(e.message, "127.0.0.1:0") != NULL &&
          strstr(e.message, "(2 addresses tried)") != NULL, "message: %s",
          e.message);
    CHECK(th_count_fds() == fds, "descriptor leaked");
    CHECK(fs_addrinfo_outstanding() == 0, "addrinfo not freed");
}
END_TEST

/* ------------------------------------- a lookup that outlives its call */

/* The deadline passes while getaddrinfo still runs on its helper thread
 * (the shim holds it): the call returns at its deadline, not when the
 * lookup ends, with NB_ERR_TIMEOUT, op "resolve", ETIMEDOUT, attempts 0
 * and "timed out after N ms while resolving" (netbasics.h: timeout_ms;
 * nb_tcp_connect(3), ERRORS); the abandoned lookup frees its request and
 * its answer on its own thread once getaddrinfo returns, leaving no
 * descriptor, memory or addrinfo behind; and the next call works. */
enum { HELD_CONNECT, HELD_RESOLVE, HELD_CONNECTOR, N_HELD };
#define SHORT_DEADLINE 100

static long held_call(int which, int timeout, nb_error *e)
{
    nb_addr out[4];

    switch (which) {
    case HELD_CONNECT:
        return nb_tcp_connect(FAKE_HOST, "1", timeout, 0, e);
    case HELD_RESOLVE:
        return nb_resolve(FAKE_HOST, "1", SOCK_STREAM, out, 4, timeout, 0, e);
    default:
        return drive(nb_connector_start(FAKE_HOST, "1", timeout, 0, e), e);
    }
}

START_TEST(a_lookup_past_the_deadline_is_abandoned_and_frees_itself)
{
    static const char *const what[] = { "nb_tcp_connect", "nb_resolve",
                                        "nb_connector" };
    char want[128];
    nb_error e;
    long r, gai0, mem0;
    int64_t t0, took;
    int fds, saved;

    snprintf(label, sizeof(label), "%s(name, %d ms) with getaddrinfo held",
             what[_i], SHORT_DEADLINE);
    setup_connect();
    prepare_fake_two();
    fds = th_count_fds();
    gai0 = fs_addrinfo_outstanding();
    mem0 = fs_malloc_outstanding();
    fs_hold_lookups(1);
    errno = 0;
    t0 = th_now_ms();
    fs_begin();
    r = held_call(_i, SHORT_DEADLINE, &e);
    saved = errno;
    took = th_now_ms() - t0;
    fs_hold_lookups(0);
    fs_end();
    check_threads();
    CHECK(r == -1, "returned %ld", r);
    CHECK(took >= SHORT_DEADLINE && took < SHORT_DEADLINE + 5000,
          "returned after %lld ms", (long long)took);
    snprintf(want, sizeof(want), "resolve %s:1: timed out after %d ms "
             "while resolving", FAKE_HOST, SHORT_DEADLINE);
    CHECK(e.code == NB_ERR_TIMEOUT && strcmp(e.op, "resolve") == 0 &&
          e.sys_errno == ETIMEDOUT && e.gai_error == 0 && e.attempts == 0 &&
          strcmp(e.message, want) == 0,
          "%s op \"%s\" sys_errno %d attempts %d: \"%s\", want \"%s\"",
          nb_code_name(e.code), e.op, e.sys_errno, e.attempts, e.message,
          want);
    CHECK(saved == ETIMEDOUT, "errno %s", errno_name(saved));
    CHECK(nb_error_is_temporary(&e) == 1, "a timeout is temporary");
    CHECK(fs_trace_len() > 0 && fs_fired() == 0, "no fault was planned");
    CHECK(th_count_fds() == fds, "%d descriptors leaked", th_count_fds() - fds);
    CHECK(fs_addrinfo_outstanding() == gai0,
          "the abandoned lookup's answer was not freed");
    CHECK(fs_malloc_outstanding() == mem0,
          "the abandoned lookup's request was not freed");
    th_poison(&e);
    fs_begin();
    r = held_call(_i, DEADLINE, &e);
    fs_end();
    check_threads();
    CHECK(r >= 0, "the next call failed: %s", e.message);
    if (_i != HELD_RESOLVE)
        close((int)r);
    CHECK(th_count_fds() == fds, "the next call leaked a descriptor");
}
END_TEST

/* ------------------------------ a failure the connector cannot defer */

/* A connect refused at once is found by nb_connector_start and kept for
 * the first step: the connector's epoll descriptor is replaced by a
 * readable eventfd (netbasics.h: everything nb_tcp_connect would report is
 * reported by nb_connector_step).  When that cannot be done (no memory to
 * keep the error, no eventfd), nb_connector_start fails with what the
 * connector itself lacked, as nb_connector(3) says of its own resources
 * (op "malloc" or "eventfd"), with everything it made released. */
static const struct fault undeferred[] = {
    { FS_MALLOC, 1, ENOMEM },
    { FS_EVENTFD, 0, EMFILE },
};

START_TEST(a_failure_the_connector_cannot_keep_is_reported_by_start)
{
    const struct fault *f = &undeferred[_i];
    nb_connector *c;
    nb_error e;
    long mem0;
    int fds, saved;

    snprintf(label, sizeof(label), "nb_connector_start(\"127.0.0.1\"): "
             "connect#0 <- ECONNREFUSED, %s#%d <- %s", fs_call_name(f->call),
             f->nth, errno_name(f->err));
    setup_connect();
    fds = th_count_fds();
    mem0 = fs_malloc_outstanding();
    fs_fail(FS_CONNECT, 0, ECONNREFUSED);
    fs_fail(f->call, f->nth, f->err);
    errno = 0;
    fs_begin();
    c = nb_connector_start("127.0.0.1", F.port, 0, 0, &e);
    saved = errno;
    fs_end();
    check_threads();
    CHECK(fs_fired() == 2, "%d faults fired", fs_fired());
    CHECK(c == NULL, "the connector started");
    CHECK(e.code == NB_ERR_SYSTEM &&
          strcmp(e.op, fs_call_name(f->call)) == 0 &&
          e.sys_errno == f->err && saved == f->err,
          "%s op \"%s\", sys_errno %s, errno %s: %s", nb_code_name(e.code),
          e.op, errno_name(e.sys_errno), errno_name(saved), e.message);
    CHECK(th_count_fds() == fds, "%d descriptors leaked", th_count_fds() - fds);
    CHECK(fs_malloc_outstanding() == mem0, "memory leaked");
}
END_TEST

/* --------------------------------------------- the wildcard without IPv6 */

/* On a kernel without IPv6 the wildcard is 0.0.0.0 (netbasics(7), "Hosts
 * and ports"): when that bind then fails, its error is the one to report,
 * not the IPv6 socket's absence, which is not a failure but the fallback's
 * reason (nb_tcp_listen(3), ERRORS). */
enum { NO_V6_SOCKET, NO_V6_ADDRESS, N_NO_V6 };

START_TEST(wildcard_without_ipv6_reports_the_ipv4_failure)
{
    const int udp = _i / N_NO_V6, how = _i % N_NO_V6;
    nb_error e;
    int fds, fd;

    snprintf(label, sizeof(label), "%s(NULL, \"0\") without IPv6 (%s), "
             "0.0.0.0 <- EADDRINUSE", udp ? "nb_udp_bind" : "nb_tcp_listen",
             how == NO_V6_SOCKET ? "socket[inet6] <- EAFNOSUPPORT"
                                 : "bind[inet6] <- EADDRNOTAVAIL");
    fds = th_count_fds();
    if (how == NO_V6_SOCKET) {
        fs_fail(FS_SOCKET, 0, EAFNOSUPPORT);
        fs_fail(FS_BIND, 0, EADDRINUSE);   /* the IPv4 bind */
    } else {
        fs_fail(FS_BIND, 0, EADDRNOTAVAIL);
        fs_fail(FS_BIND, 1, EADDRINUSE);
    }
    errno = 0;
    fs_begin();
    fd = udp ? nb_udp_bind(NULL, "0", 0, &e) : nb_tcp_listen(NULL, "0", 0, 0, &e);
    fs_end();
    CHECK(fd == -1, "did not fail");
    CHECK(fs_fired() == 2, "%d faults fired", fs_fired());
    CHECK(th_count_fds() == fds, "descriptor leaked");
    CHECK(e.code == NB_ERR_SYSTEM && e.sys_errno == EADDRINUSE &&
          strcmp(e.op, "bind") == 0 && errno == EADDRINUSE,
          "got %s, sys_errno %s, errno %s: \"%s\"; want bind/EADDRINUSE "
          "about 0.0.0.0", e.op, errno_name(e.sys_errno), errno_name(errno),
          e.message);
    CHECK(strstr(e.message, "0.0.0.0") != NULL, "message: %s", e.message);
}
END_TEST

/* ------------------------------------------------------------- main */

static int make_sock_dir(void)
{
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/nbfault.XXXXXX");
    return mkdtemp(sock_dir) != NULL ? 0 : -1;
}

static void remove_sock_dir(void)
{
    rmdir(sock_dir);
}

static Suite *trace_suite(void)
{
    Suite *suite = suite_create("trace");
    TCase *tc = tcase_create("clean");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, clean_call_succeeds_and_its_calls_are_recorded,
                        0, N_SCENARIOS);
    suite_add_tcase(suite, tc);
    return suite;
}

static Suite *fault_suite(const int first[N_SCENARIOS + 1])
{
    Suite *suite = suite_create("faults");
    TCase *tc;
    int s;

    for (s = 0; s < N_SCENARIOS; s++) {
        if (first[s] == first[s + 1])
            continue;
        tc = tcase_create(scenarios[s].id);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(
            tc, injected_fault_gives_a_clean_error_and_the_next_call_works,
            first[s], first[s + 1]);
        suite_add_tcase(suite, tc);
    }
    tc = tcase_create("retries");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, interrupted_and_spurious_wakeups_are_retried, 0,
                        N_SCENARIOS);
    suite_add_tcase(suite, tc);

    tc = tcase_create("midway");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, send_all_fails_midway_with_the_bytes_that_went, 0,
                        4);
    tcase_add_loop_test(tc, recv_all_reset_on_second_recv_reports_bytes_before,
                        0, 2);
    tcase_add_loop_test(tc, poll_enomem_during_a_deadline_wait, 0, N_WAITS);
    tcase_add_loop_test(tc, race_reports_the_first_attempts_error, 0, 2);
    tcase_add_loop_test(tc, bind_list_reports_the_first_failure, 0, 2);
    suite_add_tcase(suite, tc);

    tc = tcase_create("undeferred");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc,
                        a_failure_the_connector_cannot_keep_is_reported_by_start,
                        0, (int)(sizeof(undeferred) / sizeof(undeferred[0])));
    suite_add_tcase(suite, tc);

    tc = tcase_create("abandoned");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc,
                        a_lookup_past_the_deadline_is_abandoned_and_frees_itself,
                        0, N_HELD);
    suite_add_tcase(suite, tc);

    tc = tcase_create("fallback");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, wildcard_without_ipv6_reports_the_ipv4_failure, 0,
                        2 * N_NO_V6);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    int first[N_SCENARIOS + 1];
    SRunner *runner;
    size_t i;
    int failed, rc, s;

    if (TH_WRAP_MISSES_TIME64) {
        printf("skip: test_faults: %s\n", TH_WRAP_MISSES_TIME64_WHY);
        return 77;
    }
    for (i = 0; i < IO_LEN; i++)
        pattern[i] = pattern_at(i);
    if (make_sock_dir() != 0) {
        perror("mkdtemp");
        return 1;
    }
    /* phase 1 in this process, whatever CK_FORK says: the traces must
     * outlive the tests that record them */
    runner = srunner_create(trace_suite());
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    fs_reset();
    fx_init();

    make_cases(first);
    for (s = 0; s < N_SCENARIOS; s++) {
        int n = 0, k;
        for (k = first[s]; k < first[s + 1]; k++)
            n += cases[k].nerrs;
        printf("%-26s %d calls, %d injected faults\n", scenarios[s].id,
               first[s + 1] - first[s], n);
    }
    printf("%d injected faults in %d rows\n", nfaults_total, ncases);
    fflush(stdout);
    rc = th_run_suite(fault_suite(first));
    free(cases);
    remove_sock_dir();
    return failed != 0 ? 1 : rc;
}
