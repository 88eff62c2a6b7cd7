/*
 * helpers.h - what the Check tests share: descriptor accounting, socket
 * state probes, loopback fixtures, a signal storm, skips counted and
 * reported, poisoned error objects and a private /etc (tests/README says
 * which test owns what).
 */
#ifndef NB_TEST_HELPERS_H
#define NB_TEST_HELPERS_H

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netbasics.h"

/* A name that resolves nowhere without any DNS traffic: its first label is
 * longer than the 63 bytes a DNS query can carry, so the resolver gives up
 * before sending anything (tests stay on loopback). */
#define TH_LONG_LABEL \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define TH_UNRESOLVABLE TH_LONG_LABEL ".invalid"

/* Helpers that use ck_assert run inside tests only; th_have_ipv6,
 * th_skip_at, th_private_etc and th_run_suite work in main() too, and so
 * do th_count_entries, th_now_ms and th_fill_queue, which never assert
 * (threads, forked children and test_connector_uv, which has no Check
 * runner, use them). */

/* Entries of the directory path, "." and ".." left out; -1 when it cannot
 * be read. */
int th_count_entries(const char *path);
/* Open descriptors of this process, from /proc/self/fd. */
int th_count_fds(void);
/* Threads of this process, from /proc/self/task. */
int th_count_threads(void);
/* The threads of this process that are not the library's helpers: itself
 * and any a sanitizer's runtime starts (ASan's and TSan's appear at a
 * process's first pthread_create).  Measured once per process (a forked
 * test child measures its own): call it before the first lookup. */
int th_base_threads(void);

/* glibc with a 64-bit time_t on a 32-bit system (_TIME_BITS=64, the i386
 * build) renames the calls that carry a time (setsockopt, getsockopt,
 * ioctl, fcntl, lstat, timerfd_settime...) to __*64 versions, which a
 * -Wl,--wrap of the plain name does not intercept: the fault-injection
 * tests cannot run there. */
#if defined(__GLIBC__) && defined(__USE_TIME_BITS64) && defined(__TIMESIZE) && \
    __TIMESIZE == 32
#define TH_WRAP_MISSES_TIME64 1
#else
#define TH_WRAP_MISSES_TIME64 0
#endif
#define TH_WRAP_MISSES_TIME64_WHY \
    "64-bit time_t on a 32-bit system: glibc renames setsockopt, ioctl and " \
    "the other calls that carry a time to __*64 versions, which -Wl,--wrap " \
    "of the plain names cannot intercept; the 64-bit builds run this test"
/* 1 when the flag is set on fd; -1 when fd is not open. */
int th_is_cloexec(int fd);
int th_is_nonblock(int fd);
/* TCP_NODELAY of a TCP socket (0 or 1). */
int th_nodelay(int fd);
/* IPV6_V6ONLY of an IPv6 socket (0 or 1). */
int th_v6only(int fd);
/* 1 when ::1 can be bound here. */
int th_have_ipv6(void);

/* The local port of fd as a decimal string in buf[8]; returns buf. */
char *th_port_of(int fd, char buf[8]);
/* Milliseconds on the monotonic clock. */
int64_t th_now_ms(void);

/* ------------------------------------------------------------ addresses */

/* *ss = ip:port, ip being a numeric IPv4 or IPv6 address; returns the
 * length of the address. */
socklen_t th_sockaddr(struct sockaddr_storage *ss, const char *ip, int port);
/* The loopback address of family (127.0.0.1 or ::1) and port. */
socklen_t th_loopback(struct sockaddr_storage *ss, int family, int port);
/* The same as an nb_addr. */
nb_addr th_loopback_addr(int family, int port);
/* The local port of fd (getsockname) as a number. */
int th_local_port(int fd);
/* An int socket option of fd (asserts that getsockopt works). */
int th_sockopt_int(int fd, int level, int name);

/* A listener on loopback (127.0.0.1 or ::1) made with raw system calls
 * (so that tests of nb_tcp_connect do not depend on nb_tcp_listen). */
int th_raw_listener(int family, int backlog, char port[8]);
/* A TCP listener on ip:port (numeric; port "0" for an ephemeral one), made
 * with raw system calls; -1 with errno when bind(2) fails (EADDRINUSE: the
 * caller may try another port), so that tests can put listeners of two
 * addresses on one port number.  Other failures are assertions. */
int th_listener_at(const char *ip, const char *port, int backlog);
/* A loopback port of family on which connects are refused: a TCP socket
 * bound to it that never listens (while it stays open nobody else can
 * take the port).  Returns that socket; the port in port[8]. */
int th_refusing_port(int family, char port[8]);
/* The same on ip:port; -1 with errno when bind(2) fails. */
int th_refusing_port_at(const char *ip, const char *port);

/* A Unix socket address: a file name, or "@name" in the abstract namespace
 * (the '@' stands for the leading NUL, no terminator); returns its length. */
struct sockaddr_un;
socklen_t th_unix_sockaddr(struct sockaddr_un *sun, const char *path);
/* A Unix stream listener on path (as th_unix_sockaddr), raw system calls. */
int th_unix_listener(const char *path, int backlog);

/* A fresh directory "/tmp/PREFIX-XXXXXX" in dir[64], and one removed with
 * everything in it (0, or -1 when something could not be removed). */
void th_make_dir(char dir[64], const char *prefix);
int th_remove_tree(const char *dir);

/* A loopback listener whose accept queue is full, so that the kernel drops
 * further SYNs: connects to it neither succeed nor fail until the client
 * gives up.  The queue-filling clients are kept in *stall. */
#define TH_MAX_FILLERS 16
struct th_stall {
    int listener;
    int fillers[TH_MAX_FILLERS];
    int nfillers;
    char port[8];
};
void th_stall_open(struct th_stall *stall, int family);
/* The same with a listener of the caller's (backlog 1, from
 * th_listener_at, say), which the stall then owns. */
void th_stall_fill(struct th_stall *stall, int listener);
void th_stall_close(struct th_stall *stall);
/* Filling the queue without ck_assert (threads, test_connector_uv): for a
 * listener of the caller's at sa (backlog 1), non-blocking connects to it
 * until one's handshake does not finish within 200 ms, at most max, kept
 * in fillers[] (*n of them, closed by the caller).  0 once a SYN was
 * dropped; -1 (errno set, or max reached) when not. */
int th_fill_queue(const struct sockaddr *sa, socklen_t len, int *fillers,
                  int *n, int max);

/* A connected TCP pair over loopback: *client and *server. */
void th_tcp_pair(int *client, int *server);

/* poll(2) for events on fd for up to ms, across EINTR: 1 ready, 0 not. */
int th_poll_for(int fd, short events, int ms);

/* Sends what from one socket and checks the other receives exactly it,
 * with raw system calls (either side may be non-blocking). */
void th_pass_bytes(int from, int to, const char *what);

/* fd was connected to listener, and not to another: accepts it, checks
 * that both ends name each other and that bytes flow both ways, and
 * closes the accepted side. */
void th_check_connected_to(int fd, int listener);

/* Signals arrive every interval_us microseconds (SIGALRM, from a timer, a
 * handler without SA_RESTART) until th_signal_storm_stop(); returns how
 * many arrived. */
void th_signal_storm_start(long interval_us);
long th_signal_storm_stop(void);
/* Signals of the current storm so far. */
long th_signals_seen(void);

/* Runs a suite in Check's fork mode (CK_FORK decides) and returns the
 * process exit status: 1 when a test failed, 77 (automake's SKIP) when
 * every test that ran was skipped (th_skip), else 0.  It prints how many
 * tests and parts of tests were skipped. */
int th_run_suite(Suite *suite);

/* ---------------------------------------------------------------- skips
 * Check has no SKIP: a test that cannot run here returns early, and Check
 * counts it as passed.  So that this never goes unnoticed, a test that
 * returns without checking what it is about calls th_skip first, and a
 * test that leaves out a part of it (the ::1 half, say) calls
 * th_skip_part: each prints one line "skip: PROGRAM: TEST: WHY" on
 * stderr and is counted (across Check's forked children) for the summary
 * th_run_suite prints. */
#define th_skip(...) th_skip_at(__func__, 0, __VA_ARGS__)
#define th_skip_part(...) th_skip_at(__func__, 1, __VA_ARGS__)
void th_skip_at(const char *test, int part, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Skips the calling test (and returns from it) when ::1 cannot be bound. */
#define TH_REQUIRE_IPV6()                                                    \
    do {                                                                     \
        if (!th_have_ipv6()) {                                               \
            th_skip("no IPv6 here: ::1 cannot be bound");                    \
            return;                                                          \
        }                                                                    \
    } while (0)

/* -------------------------------------------------------- error objects
 * th_poison fills every byte of *e with garbage (0x5a) and points op at
 * th_poison_op, so that a field a failing call forgets to fill shows, and
 * a successful call that writes anything at all is caught: th_is_poisoned
 * is 1 while *e is byte for byte as th_poison left it (it never asserts:
 * forked children without Check can use it). */
extern const char th_poison_op[];
void th_poison(nb_error *e);
int th_is_poisoned(const nb_error *e);
#define th_assert_untouched(e)                                               \
    ck_assert_msg(th_is_poisoned(e), "a successful call wrote to *err: "    \
                  "code %d", (int)(e)->code)

/* Asserts that an error object is a failure of the expected code whose
 * message starts with op. */
#define th_assert_error(e, want_code, want_op)                                \
    do {                                                                      \
        ck_assert_msg((e)->code == (want_code), "code %s, want %s: %s",       \
                      nb_code_name((e)->code), nb_code_name(want_code),       \
                      (e)->message);                                          \
        ck_assert_str_eq((e)->op, (want_op));                                 \
        ck_assert_msg(strncmp((e)->message, (want_op), strlen(want_op)) == 0, \
                      "message \"%s\" does not start with \"%s\"",            \
                      (e)->message, (want_op));                               \
    } while (0)

/* ---------------------------------------------- added for test_udp/test_io
 * Waiting for another thread to block, without guessing with sleep(). */

#include <stdatomic.h>

/* The calling thread's kernel id (for th_wait_blocked). */
pid_t th_gettid(void);
/* Waits until thread tid of this process sleeps in a system call that
 * waits for a socket (poll, ppoll, select, pselect6, epoll_wait,
 * epoll_pwait, recvfrom, recvmsg; on 32-bit systems also their *_time64
 * forms and i386's socketcall), reading /proc/self/task/TID/syscall
 * every millisecond.  Returns 1 when it does, 0 when timeout_ms passed or
 * *stop became nonzero first (stop may be NULL), -1 when /proc cannot tell:
 * the caller then falls back to a pause.  Safe to call from any thread; it
 * never uses ck_assert. */
int th_wait_blocked(pid_t tid, int timeout_ms, atomic_int *stop);

/* ------------------------------------------ added for tests/coverage.sh
 * _exit(status) for a child forked by a test.  In a coverage build
 * (configure --enable-code-coverage) it is exit(status) instead, with the
 * stdio buffers inherited from the parent dropped: _exit skips the
 * destructors that write the gcov counters, and what the library did in
 * the child would not be counted. */
void th_child_exit(int status) __attribute__((noreturn));

/* ----------------------------------------------------------- private /etc
 * th_private_etc gives this process (and every process it forks or starts
 * afterwards: Check's children, programs run by a test) its own
 * /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf, with the contents
 * given; a NULL argument leaves that file as it is.  Nothing outside the
 * process changes: it unshares the mount namespace (CLONE_NEWNS; as a user
 * other than root, in a new user namespace as well, where the kernel
 * allows that), makes every mount private, and bind-mounts temporary
 * files over the originals; the files are unlinked at once and the mounts
 * vanish with the last process that uses them.
 *
 * Call it at the start of main(), before any thread is started (unshare
 * refuses a process that shares its file system data with threads) and
 * before the first name lookup (glibc reads nsswitch.conf once).  Returns
 * 0, or -1 when it cannot be done here (not permitted, no such file to
 * cover); th_private_etc_error() then says why, and the tests that need it
 * should th_skip with that reason.
 *
 * Uses: names with several addresses in /etc/hosts ("hosts: files" in
 * nsswitch.conf keeps DNS out), a resolver pointed at a fake DNS server on
 * 127.0.0.53 ("nameserver 127.0.0.53" in resolv.conf). */
int th_private_etc(const char *hosts, const char *resolv_conf,
                   const char *nsswitch);
const char *th_private_etc_error(void);

#endif
