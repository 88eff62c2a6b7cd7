/*
 * faultshim.h - a fault injector for the system calls the library makes.
 *
 * tests/test_faults links the library's objects statically (the
 * convenience library) and is linked with `-Wl,--wrap=socket` and so on
 * (the functions listed in faultshim-calls.h, one --wrap each in
 * tests/local.mk; tests/faultshim-list.sh checks that the two agree and
 * that lib/ calls nothing unlisted): every reference to socket() in those
 * objects goes to __wrap_socket() in faultshim.c, which calls the real
 * socket() through __real_socket() unless told to fail.  Only the objects
 * of that one program are affected: glibc's own internal calls (inside
 * getaddrinfo, say), libcheck and valgrind never see the shim, there is no
 * LD_PRELOAD and no dlsym, and it works the same in Check's fork and
 * no-fork modes.
 *
 * Between fs_begin() and fs_end() (a "window", around one library call)
 * the shim records every wrapped call it sees, in order, with what it can
 * tell about the descriptor at entry, and fails the calls the plan names:
 * the nth call of one kind (counted from 0 within the window), every call
 * of that kind, or every other one (the first fails, its retry passes).  A
 * planned fault fails the call before the kernel sees it (a socket that
 * was never made, data that did not move), as the kernel itself does for
 * these errors; the one exception is EINTR on a blocking TCP connect(2),
 * where the kernel has already sent the SYN: the real connect runs and
 * then EINTR is returned, as when a signal arrives during the handshake.
 * The other exception is close(2), which frees the descriptor even when
 * it fails (EINTR, EIO): the real close runs, then the error is returned.
 * Outside a window every wrapped function just calls the real one.
 * free() and freeaddrinfo() are wrapped for leak accounting only: they
 * never fail and leave no event.  if_nametoindex, if_indextoname and
 * fcntl are recorded and can be failed like the others.  pthread_create
 * fails by its result (EAGAIN), as it does, not by errno.  A write(2) that
 * fails with EAGAIN on an eventfd stands for a counter already at its
 * maximum, which is readable: the real write runs, then EAGAIN is returned
 * (the reader sees what it would see).
 *
 * Threads.  The library looks names up on helper threads (lib/lookup.c):
 * while the caller polls and reads its eventfd, the helper calls
 * getaddrinfo, write, freeaddrinfo and free.  Every piece of the shim's
 * state (window, trace, counters, plans, leak accounting, fake host) is
 * under one mutex, held only for the bookkeeping, never across a real
 * call.  Each event records which thread made it (0: the one that opened
 * the window; 1, 2...: other threads in the order they first appear).
 * The per-kind index nth is deterministic, and a plan "the nth call of
 * this kind" means the same call in every run, as long as each kind of
 * call is made by one thread only within a window: the trace order between
 * threads varies from run to run, the order within one thread does not.
 * That holds for the library as it is (the helper makes getaddrinfo and
 * write; the caller everything else) and the shim checks it:
 * fs_shared_kind() names the first kind two threads made in the window.
 * pthread_create is wrapped so that the shim starts each new thread
 * through a trampoline that counts it: fs_end() waits (bounded) until
 * every thread started in the program has returned, so that an abandoned
 * lookup, which frees its memory and its getaddrinfo result on the helper
 * thread when getaddrinfo returns, has done so before the leak accounting
 * is read; fs_hold_lookups() keeps getaddrinfo from returning meanwhile,
 * so that a test can make the caller give up first, deterministically.
 * The mutex is taken across fork(2), so that a child of a process whose
 * helper was inside the shim does not inherit it locked.
 */
#ifndef NB_TEST_FAULTSHIM_H
#define NB_TEST_FAULTSHIM_H

#include <stddef.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>

#include "faultshim-calls.h"

/* FS_SOCKET, FS_SETSOCKOPT, ...: the list in faultshim-calls.h. */
enum fs_call {
#define FS_ENUM(NAME, name, ret, params) FS_##NAME,
    FS_CALLS(FS_ENUM)
#undef FS_ENUM
    FS_NCALLS
};

/* "socket", "setsockopt", ... */
const char *fs_call_name(enum fs_call call);

/* What a descriptor is (fs_event.fdkind). */
enum fs_fdkind {
    FS_FD_NONE,       /* the call has no descriptor */
    FS_FD_SOCKET,
    FS_FD_EVENTFD,
    FS_FD_TIMERFD,
    FS_FD_EPOLL,
    FS_FD_OTHER
};

/* One wrapped call seen in a window. */
struct fs_event {
    enum fs_call call;
    int nth;          /* its index among the window's calls of that kind */
    int thread;       /* 0: the thread that opened the window; 1, 2...:
                         other threads (the library's helpers) */
    int fdkind;       /* enum fs_fdkind of the descriptor it is about (for
                         epoll_ctl, the one added or removed) */
    int domain;       /* the socket's family (AF_INET, AF_INET6, AF_UNIX);
                         for socket() the family asked for; 0 if none */
    int socktype;     /* SOCK_STREAM, SOCK_DGRAM; 0 if none */
    int can_block;    /* the call may sleep, so a signal can interrupt it
                         (EINTR): a blocking socket without MSG_DONTWAIT,
                         poll with a timeout */
    int can_eagain;   /* the call may say EAGAIN: non-blocking socket,
                         MSG_DONTWAIT, or a SO_SNDTIMEO/SO_RCVTIMEO wait */
    int connected;    /* the socket has a peer (getpeername works) */
    int level, name;  /* setsockopt/getsockopt: the option; ioctl, fcntl:
                         the request; epoll_ctl: the operation */
    long result;      /* what the call returned */
    int err;          /* errno when it failed (or the gai code) */
    int injected;     /* 1 when the shim made it fail */
};

#define FS_MAX_EVENTS 128

/* Every call of the kind / every other call (0, 2, 4...: each one's
 * retry passes), as the nth argument of fs_fail. */
#define FS_EVERY (-1)
#define FS_ALTERNATE (-2)

/* Back to pass-through: no window, no plan, no caps, no fake host, lookups
 * not held; waits (bounded, as fs_end) for the threads still running. */
void fs_reset(void);
/* Opens a window: clears the trace and the per-kind counters. */
void fs_begin(void);
/* Waits until every thread started through pthread_create has returned
 * (at most 10 s: see fs_threads_running), then closes the window; the
 * trace stays readable. */
void fs_end(void);

/* Plans a fault for the next window(s): call number nth (or FS_EVERY,
 * FS_ALTERNATE) of this kind fails with errno err.  For FS_GETADDRINFO err
 * is the EAI_* result and sys_errno the errno it leaves (for EAI_SYSTEM);
 * for FS_GETSERVBYNAME_R err is the function's result (it reports no
 * entry) and sys_errno what it leaves in errno; FS_MALLOC returns NULL
 * with errno ENOMEM.  With only_if_blocking, calls that cannot sleep
 * (can_block 0) are passed through and not counted as faults; likewise
 * only_if_eagain for can_eagain.  Up to 8 entries; they stay until
 * fs_reset. */
void fs_fail(enum fs_call call, int nth, int err);
void fs_fail_gai(int nth, int gai, int sys_errno);
void fs_fail_if(enum fs_call call, int nth, int err, int only_if_blocking,
                int only_if_eagain);

/* send/recv (and sendto/recvfrom) move at most max bytes per call, so that
 * a transfer takes several calls; 0 lifts the cap. */
void fs_cap(enum fs_call call, size_t max);

/* getaddrinfo(host) then answers with these addresses (copied; each its
 * own port, whatever the service argument says), filtered by the hints'
 * family, without asking any name service.  n 0 removes it. */
void fs_fake_host(const char *host, const struct sockaddr_storage *addrs,
                  const socklen_t *lens, int n);

/* While on, getaddrinfo (real or fake) waits on entry until it is turned
 * off (or 10 s pass): a lookup that is still running, for as long as the
 * test likes. */
void fs_hold_lookups(int on);

/* Threads started through the wrapped pthread_create that have not
 * returned yet (0 after fs_end unless one hung). */
int fs_threads_running(void);
/* The first kind of call that two threads made in the last window, or -1
 * (then every nth in the trace means the same call in every run). */
int fs_shared_kind(void);

/* poll(2) itself, for a test's own waiting inside a window (the library's
 * calls are the ones to record). */
int fs_real_poll(struct pollfd *fds, nfds_t n, int timeout);

/* The window's trace. */
int fs_trace_len(void);
const struct fs_event *fs_trace(int i);
/* How many planned faults fired in the last window. */
int fs_fired(void);
/* "bind#0", "setsockopt(SO_REUSEADDR)#1", "connect[unix]#0",
 * "read[eventfd]#0", "getaddrinfo#0@helper" into buf. */
char *fs_event_name(const struct fs_event *ev, char *buf, size_t size);

/* Leak accounting (always on): getaddrinfo results not yet given to
 * freeaddrinfo, and memory that the window's malloc calls returned and
 * that is not freed yet. */
long fs_addrinfo_outstanding(void);
long fs_malloc_outstanding(void);

#endif
