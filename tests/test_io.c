/*
 * test_io.c - nb_send_all and nb_recv_all over loopback TCP: whole
 * transfers on blocking and non-blocking sockets, end of stream, deadlines
 * with the byte count that really moved, closed and reset peers (and never
 * a SIGPIPE).  (Bad arguments: test_args; signals: test_signals.)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define BIG ((size_t)16 << 20)    /* the large transfer: 16 MiB */
#define CHUNK ((size_t)1000003)   /* received in pieces of this size, so
                                     that the last one ends short */
#define STUCK ((size_t)8 << 20)   /* far more than small buffers hold */

/* BIG bytes of a pattern, made once for the whole test case (by an
 * unchecked fixture, before Check forks): touching 16 MiB of fresh memory
 * is slower here than sending it. */
static unsigned char *pattern;

/* ------------------------------------------------------------ fixtures */

/* A reproducible pattern in which no block repeats (xorshift64). */
static unsigned char *make_pattern(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n);
    uint64_t x = 0x9e3779b97f4a7c15u ^ seed;
    size_t i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; i += 8) {
        size_t k = n - i < 8 ? n - i : 8;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, k);
    }
    return p;
}

static void make_shared_pattern(void)
{
    pattern = make_pattern(BIG, 42);
}

static void free_shared_pattern(void)
{
    free(pattern);
    pattern = NULL;
}

/* Asserts that got[0..n) equals want[0..n), naming the first difference. */
static void assert_same_bytes(const unsigned char *got,
                              const unsigned char *want, size_t n)
{
    size_t i;

    if (memcmp(got, want, n) == 0)
        return;
    for (i = 0; i < n && got[i] == want[i]; i++)
        continue;
    ck_abort_msg("byte %zu of %zu differs: 0x%02x, want 0x%02x", i, n,
                 got[i], want[i]);
}

static void set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    ck_assert_int_ge(flags, 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/* Waits up to 2 s until fd reports one of `want` in revents. */
static void wait_for(int fd, short events, short want)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int64_t end = th_now_ms() + 2000;

    for (;;) {
        int left = (int)(end - th_now_ms());
        ck_assert_msg(left > 0, "fd %d never became ready (0x%x)", fd, want);
        pfd.revents = 0;
        if (poll(&pfd, 1, left) == 1 && (pfd.revents & want))
            return;
    }
}

/* Closes fd with SO_LINGER {1, 0}: the peer gets a RST, not a FIN. */
static void reset_and_close(int fd)
{
    struct linger lg = { 1, 0 };

    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
                     0);
    close(fd);
}

/* A loopback pair with small buffers, so that a peer that reads nothing
 * stops the sender after a few kilobytes.  SO_RCVBUF is set on the
 * listener so that the accepted socket advertises a small window from its
 * first segment. */
static void small_pair(int *client, int *server)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int small = 4096;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(listener, 0);
    ck_assert_int_eq(setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small,
                                sizeof(small)), 0);
    len = th_loopback(&ss, AF_INET, 0);
    ck_assert_int_eq(bind(listener, (struct sockaddr *)&ss, len), 0);
    ck_assert_int_eq(listen(listener, 1), 0);
    ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&ss, &len), 0);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(*client, 0);
    ck_assert_int_eq(setsockopt(*client, SOL_SOCKET, SO_SNDBUF, &small,
                                sizeof(small)), 0);
    ck_assert_int_eq(connect(*client, (struct sockaddr *)&ss, len), 0);
    *server = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(*server, 0);
    close(listener);
}

/* Asserts a failure of nb_send_all/nb_recv_all. */
#define assert_io_error(e, want_code, want_op, want_errno)                   \
    do {                                                                      \
        th_assert_error((e), (want_code), (want_op));                         \
        ck_assert_msg((e)->sys_errno == (want_errno),                         \
                      "sys_errno %d (%s), want %d (%s)", (e)->sys_errno,      \
                      strerror((e)->sys_errno), (want_errno),                 \
                      strerror(want_errno));                                  \
        if ((want_code) != NB_ERR_TIMEOUT)                                    \
            ck_assert_ptr_nonnull(strstr((e)->message, strerror(want_errno))); \
    } while (0)

/* ---------------------------------------------------- whole transfers */

struct sender {
    int fd;
    const unsigned char *buf;
    size_t len;
    int timeout;
    ssize_t result;
    int saved_errno;
    nb_error e;
};

/* nb_send_all, then end of stream. */
static void *send_all_then_shutdown(void *arg)
{
    struct sender *s = arg;

    s->result = nb_send_all(s->fd, s->buf, s->len, s->timeout, &s->e);
    s->saved_errno = errno;
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

static const struct {
    int nonblock;
    int timeout;
} transfer_table[] = {
    { 0, 0 },
    { 0, 10000 },
    { 1, 0 },
    { 1, 10000 },
};

/* 16 MiB, far more than the socket buffers hold, go through whole and in
 * order in one nb_send_all, with the receiver reading concurrently: on
 * blocking sockets and on non-blocking ones (which must poll on EAGAIN,
 * never give up), with and without a deadline.  The receiver's
 * nb_recv_all calls each return the whole CHUNK asked for, except the last,
 * which ends short at end of stream; after it, 0. */
START_TEST(large_transfer_arrives_intact)
{
    const int nonblock = transfer_table[_i].nonblock;
    const int timeout = transfer_table[_i].timeout;
    int before = th_count_fds();
    unsigned char *buf = malloc(CHUNK);
    struct sender snd;
    pthread_t thread;
    size_t got = 0;
    nb_error e;
    ssize_t n;
    int c, s;

    ck_assert_ptr_nonnull(buf);
    th_tcp_pair(&c, &s);
    if (nonblock) {
        set_nonblock(c);
        set_nonblock(s);
    }
    memset(&snd, 0, sizeof(snd));
    snd.fd = c;
    snd.buf = pattern;
    snd.len = BIG;
    snd.timeout = timeout;
    ck_assert_int_eq(pthread_create(&thread, NULL, send_all_then_shutdown,
                                    &snd), 0);
    do {
        size_t want = BIG - got < CHUNK ? BIG - got : CHUNK;
        n = nb_recv_all(s, buf, CHUNK, timeout, &e);
        if (n != (ssize_t)want)
            break;
        if (memcmp(buf, pattern + got, want) != 0)
            break;
        got += want;
    } while (got < BIG);
    if (got < BIG) {
        /* the receiver gave up: a reset unblocks the sender */
        reset_and_close(s);
        s = -1;
    }
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    /* the receiver first: when it gave up, the sender's failure is only
     * the consequence */
    ck_assert_msg(n >= 0, "recv_all after %zu bytes: %s", got, e.message);
    if (got < BIG) {
        size_t want = BIG - got < CHUNK ? BIG - got : CHUNK;
        ck_assert_msg(n == (ssize_t)want,
                      "recv_all returned %zd after %zu bytes, want %zu", n,
                      got, want);
        assert_same_bytes(buf, pattern + got, want);  /* names the byte */
    }
    ck_assert_msg(snd.result == (ssize_t)BIG, "send_all returned %zd: %s",
                  snd.result, snd.result < 0 ? snd.e.message : "");
    ck_assert_int_eq(nb_recv_all(s, buf, CHUNK, timeout, &e), 0);
    ck_assert_int_eq(th_is_nonblock(c), nonblock);
    ck_assert_int_eq(th_is_nonblock(s), nonblock);
    close(c);
    close(s);
    free(buf);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------ end of stream */

/* A thread that sends the rest of a message once the main thread waits
 * for it, then ends the stream. */
struct late_writer {
    pid_t waiter;
    int fd;
    const char *data;
    size_t len;
    atomic_int stop;
    int saw_wait;
    ssize_t sent;
};

static void *write_when_blocked(void *arg)
{
    struct late_writer *lw = arg;
    struct timespec pause = { 0, 100 * 1000000 };

    lw->saw_wait = th_wait_blocked(lw->waiter, 3000, &lw->stop);
    if (lw->saw_wait < 0)
        nanosleep(&pause, NULL);  /* no /proc: only a pause can tell */
    lw->sent = send(lw->fd, lw->data, lw->len, MSG_NOSIGNAL);
    shutdown(lw->fd, SHUT_WR);
    return NULL;
}

static const struct {
    int nonblock;
    int timeout;
} eos_table[] = {
    { 0, 0 },
    { 0, 2000 },
    { 1, 0 },
    { 1, 2000 },
};

/* 3 bytes are there at once, 7 more come once recv_all waits, then the
 * peer shuts down its side: recv_all(100) keeps reading after the short
 * read and returns 10 only at end of stream; the next call returns 0. */
START_TEST(recv_all_returns_short_only_at_end_of_stream)
{
    const int timeout = eos_table[_i].timeout;
    struct late_writer lw;
    pthread_t thread;
    char buf[100];
    nb_error e;
    ssize_t n;
    int c, s, before = th_count_fds();

    th_tcp_pair(&c, &s);
    if (eos_table[_i].nonblock)
        set_nonblock(c);
    ck_assert_int_eq(send(s, "abc", 3, MSG_NOSIGNAL), 3);
    wait_for(c, POLLIN, POLLIN);
    memset(&lw, 0, sizeof(lw));
    lw.waiter = th_gettid();
    lw.fd = s;
    lw.data = "defghij";
    lw.len = 7;
    atomic_init(&lw.stop, 0);
    ck_assert_int_eq(pthread_create(&thread, NULL, write_when_blocked, &lw), 0);
    memset(buf, 0, sizeof(buf));
    n = nb_recv_all(c, buf, sizeof(buf), timeout, &e);
    atomic_store(&lw.stop, 1);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(lw.sent, 7);
    ck_assert_msg(n == 10, "recv_all returned %zd: %s", n,
                  n < 0 ? e.message : "");
    ck_assert_mem_eq(buf, "abcdefghij", 10);
    ck_assert_int_ne(lw.saw_wait, 0);
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), timeout, &e), 0);
    close(c);
    close(s);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* The peer sends 10 bytes and shuts down: 10, then 0, then 0. */
START_TEST(recv_all_after_shutdown_returns_what_is_left)
{
    const int timeout = eos_table[_i].timeout;
    char buf[100];
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    if (eos_table[_i].nonblock)
        set_nonblock(c);
    ck_assert_int_eq(send(s, "0123456789", 10, MSG_NOSIGNAL), 10);
    ck_assert_int_eq(shutdown(s, SHUT_WR), 0);
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), timeout, &e), 10);
    ck_assert_mem_eq(buf, "0123456789", 10);
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), timeout, &e), 0);
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), timeout, &e), 0);
    close(c);
    close(s);
}
END_TEST

/* Nothing to move is done at once, also with a NULL buffer, and leaves the
 * error object alone. */
START_TEST(zero_length_returns_zero_at_once)
{
    static const int timeouts[] = { 0, 1000 };
    char buf[4];
    nb_error e;
    size_t i;
    int c, s;

    th_tcp_pair(&c, &s);
    for (i = 0; i < 2; i++) {
        int64_t start = th_now_ms();
        nb_error_clear(&e);
        e.code = NB_ERR_RESOLVE;  /* a marker success must not touch */
        ck_assert_int_eq(nb_send_all(c, NULL, 0, timeouts[i], &e), 0);
        ck_assert_int_eq(nb_send_all(c, buf, 0, timeouts[i], &e), 0);
        ck_assert_int_eq(nb_recv_all(c, NULL, 0, timeouts[i], &e), 0);
        ck_assert_int_eq(nb_recv_all(c, buf, 0, timeouts[i], &e), 0);
        ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
        ck_assert_int_lt(th_now_ms() - start, 500);
    }
    /* nothing was sent either */
    ck_assert_int_eq(recv(s, buf, sizeof(buf), MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    close(c);
    close(s);
}
END_TEST

/* ---------------------------------------------------------- deadlines */

/* The peer sends 5 bytes and then nothing: the deadline ends the call with
 * the 5 bytes stored and counted, and the connection stays usable. */
START_TEST(recv_all_times_out_with_partial_data)
{
    const int nonblock = _i;
    char buf[100];
    nb_error e;
    int64_t start, elapsed;
    ssize_t n;
    int c, s, before = th_count_fds();

    th_tcp_pair(&c, &s);
    if (nonblock)
        set_nonblock(c);
    ck_assert_int_eq(send(s, "12345", 5, MSG_NOSIGNAL), 5);
    wait_for(c, POLLIN, POLLIN);
    memset(buf, 0, sizeof(buf));
    errno = 0;
    start = th_now_ms();
    n = nb_recv_all(c, buf, sizeof(buf), 200, &e);
    elapsed = th_now_ms() - start;
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    assert_io_error(&e, NB_ERR_TIMEOUT, "recv", ETIMEDOUT);
    ck_assert_uint_eq(e.transferred, 5);
    /* the deadline and the bytes that had moved (nb_recv_all(3)) */
    ck_assert_msg(strstr(e.message, ": timed out after 200 ms (5 of ") != NULL &&
                  strstr(e.message, " bytes received)") != NULL,
                  "message \"%s\"", e.message);
    ck_assert_mem_eq(buf, "12345", 5);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_msg(elapsed >= 195, "timed out after %lld ms",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 2000, "took %lld ms", (long long)elapsed);
    ck_assert_int_eq(th_is_nonblock(c), nonblock);
    /* nothing was lost: the next byte is the next one sent */
    ck_assert_int_eq(send(s, "6", 1, MSG_NOSIGNAL), 1);
    ck_assert_int_eq(nb_recv_all(c, buf, 1, 2000, &e), 1);
    ck_assert_int_eq(buf[0], '6');
    close(c);
    close(s);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* The peer reads nothing: send_all fills the (small) buffers and the
 * deadline ends it.  transferred is exactly what went: once the sender
 * ends the stream, the peer reads that many bytes, in order, and then
 * end of stream. */
START_TEST(send_all_times_out_with_transferred_exact)
{
    const int nonblock = _i;
    unsigned char *buf;
    nb_error e, e2;
    int64_t start, elapsed;
    ssize_t n;
    int c, s, before = th_count_fds();

    small_pair(&c, &s);
    if (nonblock)
        set_nonblock(c);
    errno = 0;
    start = th_now_ms();
    n = nb_send_all(c, pattern, STUCK, 200, &e);
    elapsed = th_now_ms() - start;
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    assert_io_error(&e, NB_ERR_TIMEOUT, "send", ETIMEDOUT);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    {
        char want[96];
        snprintf(want, sizeof(want), ": timed out after 200 ms (%zu of %d bytes sent)",
                 e.transferred, (int)STUCK);
        ck_assert_msg(strstr(e.message, want) != NULL, "message \"%s\", want \"%s\"",
                      e.message, want);
    }
    ck_assert_uint_gt(e.transferred, 0);
    ck_assert_uint_lt(e.transferred, STUCK);
    ck_assert_msg(elapsed >= 195, "timed out after %lld ms",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 2000, "took %lld ms", (long long)elapsed);
    ck_assert_int_eq(th_is_nonblock(c), nonblock);

    ck_assert_int_eq(shutdown(c, SHUT_WR), 0);
    buf = malloc(e.transferred + 4096);
    ck_assert_ptr_nonnull(buf);
    n = nb_recv_all(s, buf, e.transferred + 4096, 5000, &e2);
    ck_assert_msg(n >= 0, "draining: %s", e2.message);
    ck_assert_msg((size_t)n == e.transferred,
                  "the peer read %zd bytes, transferred says %zu", n,
                  e.transferred);
    assert_same_bytes(buf, pattern, (size_t)n);
    close(c);
    close(s);
    free(buf);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------ closed and reset peers */

/* What a child process saw; op pointers stay valid in the parent, which
 * has the library at the same addresses. */
struct report {
    ssize_t result[3];
    int saved_errno[3];
    nb_error e[3];
};

typedef void (*child_body)(int fd, struct report *rep);

/* Runs body(fd) in a child whose SIGPIPE is at SIG_DFL and unblocked, so a
 * SIGPIPE would kill it.  Returns the wait status; *rep gets the report
 * (zeroed when the child died before writing it). */
static int run_in_child(child_body body, int fd, struct report *rep)
{
    size_t got = 0;
    int p[2], status;
    pid_t pid;

    memset(rep, 0, sizeof(*rep));
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct report mine;
        const char *q = (const char *)&mine;
        size_t off = 0;
        sigset_t set;

        close(p[0]);
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        memset(&mine, 0, sizeof(mine));
        body(fd, &mine);
        while (off < sizeof(mine)) {
            ssize_t w = write(p[1], q + off, sizeof(mine) - off);
            if (w <= 0)
                th_child_exit(3);
            off += (size_t)w;
        }
        th_child_exit(0);
    }
    close(p[1]);
    for (;;) {
        ssize_t r = read(p[0], (char *)rep + got, sizeof(*rep) - got);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || errno != EINTR)
            break;
    }
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    if (got != sizeof(*rep))
        memset(rep, 0, sizeof(*rep));
    return status;
}

static void assert_child_ran_to_the_end(int status)
{
    ck_assert_msg(!WIFSIGNALED(status), "the child was killed by signal %d%s",
                  WTERMSIG(status),
                  WTERMSIG(status) == SIGPIPE ? " (SIGPIPE)" : "");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child failed (status 0x%x)", (unsigned)status);
}

static void plain_send_twice(int fd, struct report *rep)
{
    int i;

    for (i = 0; i < 2; i++) {
        rep->result[i] = send(fd, "x", 1, 0);
        rep->saved_errno[i] = errno;
    }
}

/* The harness can fail: a plain send(2) to a reset peer does kill the
 * child with SIGPIPE. */
START_TEST(child_harness_detects_sigpipe)
{
    struct report rep;
    int c, s, status;

    th_tcp_pair(&c, &s);
    reset_and_close(s);
    wait_for(c, POLLIN, POLLERR | POLLHUP);
    status = run_in_child(plain_send_twice, c, &rep);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
                  "send(2) without MSG_NOSIGNAL did not raise SIGPIPE "
                  "(status 0x%x)", (unsigned)status);
    close(c);
}
END_TEST

static unsigned char chunk[65536];

static void send_all_thrice(int fd, struct report *rep)
{
    static const int timeouts[3] = { 0, 0, 1000 };
    int i;

    for (i = 0; i < 3; i++) {
        rep->result[i] = nb_send_all(fd, chunk, sizeof(chunk), timeouts[i],
                                     &rep->e[i]);
        rep->saved_errno[i] = errno;
    }
}

/* The peer reset the connection (SO_LINGER {1,0}, close): every send_all
 * fails with NB_ERR_CLOSED, nothing counted as sent, and no SIGPIPE even
 * when the kernel answers EPIPE (the case in which it would raise one),
 * with and without a deadline. */
START_TEST(send_all_to_reset_peer_is_closed_without_sigpipe)
{
    struct report rep;
    int c, s, i, status, before = th_count_fds();

    th_tcp_pair(&c, &s);
    reset_and_close(s);
    wait_for(c, POLLIN, POLLERR | POLLHUP);
    status = run_in_child(send_all_thrice, c, &rep);
    assert_child_ran_to_the_end(status);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(rep.result[i], -1);
        th_assert_error(&rep.e[i], NB_ERR_CLOSED, "send");
        ck_assert_msg(rep.e[i].sys_errno == EPIPE ||
                      rep.e[i].sys_errno == ECONNRESET,
                      "call %d: sys_errno %d", i, rep.e[i].sys_errno);
        ck_assert_int_eq(rep.saved_errno[i], rep.e[i].sys_errno);
        ck_assert_ptr_nonnull(strstr(rep.e[i].message,
                                     strerror(rep.e[i].sys_errno)));
        ck_assert_uint_eq(rep.e[i].transferred, 0);
        ck_assert_int_eq(nb_error_is_temporary(&rep.e[i]), 0);
    }
    /* the reset is reported once; after it the kernel says EPIPE, and
     * raises SIGPIPE unless told not to: this call is the real test */
    ck_assert_int_eq(rep.e[1].sys_errno, EPIPE);
    ck_assert_int_eq(rep.e[2].sys_errno, EPIPE);
    close(c);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static void send_all_big_then_small(int fd, struct report *rep)
{
    rep->result[0] = nb_send_all(fd, pattern, STUCK, 0, &rep->e[0]);
    rep->saved_errno[0] = errno;
    rep->result[1] = nb_send_all(fd, pattern, 100, 1000, &rep->e[1]);
    rep->saved_errno[1] = errno;
}

/* The peer closed normally: sending goes on until the peer's RST comes
 * back, then NB_ERR_CLOSED/EPIPE with the bytes sent so far in
 * transferred; no SIGPIPE. */
START_TEST(send_all_to_closed_peer_fails_with_epipe)
{
    struct report rep;
    int c, s, i, status, before = th_count_fds();

    th_tcp_pair(&c, &s);
    close(s);
    wait_for(c, POLLIN, POLLIN);  /* the FIN is in: c is in CLOSE_WAIT */
    status = run_in_child(send_all_big_then_small, c, &rep);
    assert_child_ran_to_the_end(status);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(rep.result[i], -1);
        ck_assert_int_eq(rep.saved_errno[i], EPIPE);
        assert_io_error(&rep.e[i], NB_ERR_CLOSED, "send", EPIPE);
        ck_assert_int_eq(nb_error_is_temporary(&rep.e[i]), 0);
    }
    /* the first bytes went before the peer's RST could answer them */
    ck_assert_uint_gt(rep.e[0].transferred, 0);
    ck_assert_uint_lt(rep.e[0].transferred, STUCK);
    ck_assert_uint_eq(rep.e[1].transferred, 0);
    close(c);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* Receiving on a reset connection: NB_ERR_CLOSED/ECONNRESET. */
START_TEST(recv_all_on_reset_connection_is_closed)
{
    const int timeout = _i == 0 ? 0 : 1000;
    char buf[100];
    nb_error e;
    int c, s, before = th_count_fds();

    th_tcp_pair(&c, &s);
    reset_and_close(s);
    wait_for(c, POLLIN, POLLERR | POLLHUP);
    errno = 0;
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), timeout, &e), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    assert_io_error(&e, NB_ERR_CLOSED, "recv", ECONNRESET);
    ck_assert_uint_eq(e.transferred, 0);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);
    close(c);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("io");

    tcase_add_unchecked_fixture(tc, make_shared_pattern, free_shared_pattern);

    tcase_add_loop_test(tc, large_transfer_arrives_intact, 0,
                        sizeof(transfer_table) / sizeof(transfer_table[0]));
    tcase_add_loop_test(tc, recv_all_returns_short_only_at_end_of_stream, 0,
                        sizeof(eos_table) / sizeof(eos_table[0]));
    tcase_add_loop_test(tc, recv_all_after_shutdown_returns_what_is_left, 0,
                        sizeof(eos_table) / sizeof(eos_table[0]));
    tcase_add_test(tc, zero_length_returns_zero_at_once);
    tcase_add_loop_test(tc, recv_all_times_out_with_partial_data, 0, 2);
    tcase_add_loop_test(tc, send_all_times_out_with_transferred_exact, 0, 2);
    tcase_add_test(tc, child_harness_detects_sigpipe);
    tcase_add_test(tc, send_all_to_reset_peer_is_closed_without_sigpipe);
    tcase_add_test(tc, send_all_to_closed_peer_fails_with_epipe);
    tcase_add_loop_test(tc, recv_all_on_reset_connection_is_closed, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(io_suite());
}
