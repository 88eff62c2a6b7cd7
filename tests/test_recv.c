/*
 * test_recv.c - nb_recv, "whatever has arrived": data already there comes
 * back at once (never more than len, never waiting for len), end of
 * stream is 0, the call waits for the first byte (on a non-blocking
 * socket too, with poll), the deadline is NB_ERR_TIMEOUT with the
 * deadline in the message, signals are retried, a reset peer is
 * NB_ERR_CLOSED, and bad arguments are NB_ERR_ARG at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------------------ fixtures */

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    ck_assert_int_ge(fl, 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* th_tcp_pair, the client end *c made non-blocking when nonblock is set. */
static void tcp_pair(int nonblock, int *c, int *s)
{
    th_tcp_pair(c, s);
    if (nonblock)
        set_nonblock(*c);
}

/* Closes fd with SO_LINGER {1, 0}: the peer gets a RST, not a FIN. */
static void reset_and_close(int fd)
{
    struct linger lg = { 1, 0 };

    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
                     0);
    close(fd);
}

/* "127.0.0.1:PORT", the peer of fd as the library names it in messages. */
static void peer_text(int fd, char *buf, size_t size)
{
    nb_addr a;

    ck_assert_int_eq(nb_peer_addr(fd, &a, NULL), 0);
    nb_addr_format(&a, buf, size);
}

/* The four ways to call: blocking or not, with or without a deadline. */
static const struct mode {
    int nonblock;
    int timeout_ms;
} modes[] = {
    { 0, 0 }, { 0, 2000 }, { 1, 0 }, { 1, 2000 },
};
#define NMODES ((int)(sizeof(modes) / sizeof(modes[0])))

/* A thread that sends `data` once the receiving thread sleeps in the
 * kernel waiting for it (th_wait_blocked), so that the test proves a
 * wait, not a lucky race.  It never calls ck_assert. */
struct sender {
    pid_t waiter;
    int fd;
    const char *data;
    int blocked;        /* th_wait_blocked's answer */
    int storm;          /* also wait for signals to hit the waiting call */
    int sent;
    sigset_t mask;      /* blocked in the thread (the storm's SIGALRM) */
};

static void *send_when_blocked(void *arg)
{
    struct sender *s = arg;

    pthread_sigmask(SIG_BLOCK, &s->mask, NULL);
    s->blocked = th_wait_blocked(s->waiter, 5000, NULL);
    if (s->blocked < 0)
        poll(NULL, 0, 200);  /* /proc cannot tell: a pause instead */
    if (s->storm) {
        /* some signals must interrupt the wait, or the test proves
         * nothing; bounded, in case the storm never comes */
        int64_t end = th_now_ms() + 5000;
        while (th_signals_seen() < 3 && th_now_ms() < end)
            poll(NULL, 0, 1);
        s->blocked = th_wait_blocked(s->waiter, 5000, NULL);
        if (s->blocked < 0)
            poll(NULL, 0, 50);
    }
    s->sent = send(s->fd, s->data, strlen(s->data), MSG_NOSIGNAL) ==
              (ssize_t)strlen(s->data);
    return NULL;
}

static void start_sender(struct sender *s, pthread_t *t, int fd,
                         const char *data, int storm)
{
    memset(s, 0, sizeof(*s));
    s->storm = storm;
    s->waiter = th_gettid();
    s->fd = fd;
    s->data = data;
    sigemptyset(&s->mask);
    sigaddset(&s->mask, SIGALRM);
    ck_assert_int_eq(pthread_create(t, NULL, send_when_blocked, s), 0);
}

static void join_sender(struct sender *s, pthread_t t)
{
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(s->blocked != 0, "the receiver never waited");
    ck_assert_msg(s->sent, "the sender could not send");
}

/* ------------------------------------------------------------- arrived */

/* 5 bytes have arrived and 100 are asked for: the 5 come back at once,
 * in every mode; nb_recv_all would wait for the other 95. */
START_TEST(returns_what_has_arrived_at_once)
{
    const struct mode *m = &modes[_i];
    char buf[100];
    nb_error e;
    int64_t start, elapsed;
    ssize_t n;
    int c, s, before = th_count_fds();

    tcp_pair(m->nonblock, &c, &s);
    ck_assert_int_eq(send(s, "hello", 5, MSG_NOSIGNAL), 5);
    ck_assert_int_eq(th_poll_for(c, POLLIN, 2000), 1);
    nb_error_clear(&e);
    start = th_now_ms();
    n = nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e);
    elapsed = th_now_ms() - start;
    ck_assert_msg(n == 5, "nb_recv returned %zd: %s", n, e.message);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(e.code, NB_OK);  /* success leaves err untouched */
    ck_assert_msg(elapsed < 500, "took %lld ms", (long long)elapsed);
    ck_assert_int_eq(th_is_nonblock(c), m->nonblock);
    close(c);
    close(s);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* Never more than len: 10 bytes read 4 at a time come back as 4, 4, 2,
 * in order. */
START_TEST(never_returns_more_than_len)
{
    const struct mode *m = &modes[_i];
    char buf[16];
    size_t got = 0;
    int c, s;

    tcp_pair(m->nonblock, &c, &s);
    ck_assert_int_eq(send(s, "0123456789", 10, MSG_NOSIGNAL), 10);
    ck_assert_int_eq(th_poll_for(c, POLLIN, 2000), 1);
    while (got < 10) {
        ssize_t n = nb_recv(c, buf + got, 4, m->timeout_ms, NULL);
        ck_assert_int_ge(n, 1);
        ck_assert_int_le(n, 4);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, 10);
    ck_assert_mem_eq(buf, "0123456789", 10);
    close(c);
    close(s);
}
END_TEST

/* End of stream is 0, not an error; after the data that came before it. */
START_TEST(end_of_stream_returns_zero)
{
    const struct mode *m = &modes[_i];
    char buf[16];
    nb_error e;
    int c, s;

    tcp_pair(m->nonblock, &c, &s);
    ck_assert_int_eq(send(s, "bye", 3, MSG_NOSIGNAL), 3);
    close(s);
    nb_error_clear(&e);
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e), 3);
    ck_assert_mem_eq(buf, "bye", 3);
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e), 0);
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e), 0);
    ck_assert_int_eq(e.code, NB_OK);
    close(c);
}
END_TEST

/* --------------------------------------------------------------- waits */

/* Nothing has arrived: the call waits for the first bytes, whatever the
 * mode; a non-blocking socket with timeout 0 waits in poll(2) rather
 * than failing with EAGAIN. */
START_TEST(waits_for_the_first_bytes)
{
    const struct mode *m = &modes[_i];
    struct sender snd;
    pthread_t t;
    char buf[100];
    nb_error e;
    ssize_t n;
    int c, s;

    tcp_pair(m->nonblock, &c, &s);
    start_sender(&snd, &t, s, "late", 0);
    nb_error_clear(&e);
    n = nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e);
    join_sender(&snd, t);
    ck_assert_msg(n == 4, "nb_recv returned %zd: %s", n, e.message);
    ck_assert_mem_eq(buf, "late", 4);
    close(c);
    close(s);
}
END_TEST

/* Nothing comes: the deadline ends the call with NB_ERR_TIMEOUT, a
 * message that names the peer and the deadline, nothing transferred,
 * and the connection still usable. */
START_TEST(deadline_is_a_timeout_naming_it)
{
    const int nonblock = _i;
    char buf[16], peer[NB_ADDRSTRLEN], want[NB_ERRMSG_SIZE];
    nb_error e;
    int64_t start, elapsed;
    int c, s, before = th_count_fds();

    tcp_pair(nonblock, &c, &s);
    peer_text(c, peer, sizeof(peer));
    errno = 0;
    start = th_now_ms();
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), 200, &e), -1);
    elapsed = th_now_ms() - start;
    ck_assert_int_eq(errno, ETIMEDOUT);
    th_assert_error(&e, NB_ERR_TIMEOUT, "recv");
    ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
    ck_assert_uint_eq(e.transferred, 0);
    snprintf(want, sizeof(want), "recv %s: timed out after 200 ms", peer);
    ck_assert_str_eq(e.message, want);
    ck_assert_str_eq(e.addr, peer);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    ck_assert_msg(elapsed >= 195, "gave up after %lld ms", (long long)elapsed);
    ck_assert_msg(elapsed < 2000, "took %lld ms", (long long)elapsed);
    /* nothing was lost or broken */
    ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1);
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), 2000, &e), 1);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_int_eq(th_is_nonblock(c), nonblock);
    close(c);
    close(s);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------- signals */

/* A storm of signals (no SA_RESTART) while nb_recv waits: each EINTR is
 * retried, the data is returned, and a deadline is neither cut short nor
 * stretched. */
START_TEST(signals_are_retried)
{
    const int timeout = _i == 0 ? 0 : 5000;
    struct sigaction saved;
    struct sender snd;
    pthread_t t;
    char buf[16];
    nb_error e;
    ssize_t n;
    long signals;
    int c, s;

    ck_assert_int_eq(sigaction(SIGALRM, NULL, &saved), 0);
    th_tcp_pair(&c, &s);
    th_signal_storm_start(2000);
    /* the sender acts once this thread waits and signals have
     * interrupted that wait */
    start_sender(&snd, &t, s, "ping", 1);
    nb_error_clear(&e);
    n = nb_recv(c, buf, sizeof(buf), timeout, &e);
    signals = th_signal_storm_stop();
    join_sender(&snd, t);
    sigaction(SIGALRM, &saved, NULL);
    ck_assert_msg(n == 4, "nb_recv returned %zd: %s (errno %d)", n,
                  e.message, errno);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_msg(signals >= 3, "%ld signals", signals);
    close(c);
    close(s);
}
END_TEST

START_TEST(deadline_holds_through_signals)
{
    struct sigaction saved;
    char buf[16];
    nb_error e;
    int64_t start, elapsed;
    long signals;
    int c, s;

    ck_assert_int_eq(sigaction(SIGALRM, NULL, &saved), 0);
    th_tcp_pair(&c, &s);
    th_signal_storm_start(3000);
    start = th_now_ms();
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), 300, &e), -1);
    elapsed = th_now_ms() - start;
    signals = th_signal_storm_stop();
    sigaction(SIGALRM, &saved, NULL);
    th_assert_error(&e, NB_ERR_TIMEOUT, "recv");
    ck_assert_msg(signals >= 2, "%ld signals", signals);
    ck_assert_msg(elapsed >= 295, "gave up after %lld ms", (long long)elapsed);
    ck_assert_msg(elapsed < 2800, "took %lld ms", (long long)elapsed);
    close(c);
    close(s);
}
END_TEST

/* ---------------------------------------------------------- failures */

/* A peer that resets the connection: NB_ERR_CLOSED/ECONNRESET. */
START_TEST(reset_peer_is_closed)
{
    const struct mode *m = &modes[_i];
    char buf[16];
    nb_error e;
    int c, s;

    tcp_pair(m->nonblock, &c, &s);
    reset_and_close(s);
    ck_assert_int_eq(th_poll_for(c, POLLIN, 2000), 1);
    errno = 0;
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), m->timeout_ms, &e), -1);
    ck_assert_int_eq(errno, ECONNRESET);
    th_assert_error(&e, NB_ERR_CLOSED, "recv");
    ck_assert_int_eq(e.sys_errno, ECONNRESET);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);
    close(c);
}
END_TEST

/* len 0 (nothing could ever be received: 0 would look like the end of
 * the stream), a NULL buffer, -1, a closed descriptor and a pipe are
 * NB_ERR_ARG at once, with the data left in the socket. */
START_TEST(bad_arguments_are_argument_errors)
{
    char buf[16];
    nb_error e;
    int c, s, closed, p[2], i;
    int64_t start;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(send(s, "kept", 4, MSG_NOSIGNAL), 4);
    ck_assert_int_eq(th_poll_for(c, POLLIN, 2000), 1);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    closed = dup(c);  /* after the pipe, which would take its number */
    ck_assert_int_ge(closed, 0);
    close(closed);

    for (i = 0; i < 2; i++) {
        const int timeout = i == 0 ? 0 : 1000;

        start = th_now_ms();
        errno = 0;
        ck_assert_int_eq(nb_recv(c, buf, 0, timeout, &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "length 0"));

        ck_assert_int_eq(nb_recv(c, NULL, 4, timeout, &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_str_eq(e.message, "recv: buffer is NULL");

        ck_assert_int_eq(nb_recv(-1, buf, sizeof(buf), timeout, &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_str_eq(e.message, "recv: invalid descriptor -1");

        ck_assert_int_eq(nb_recv(closed, buf, sizeof(buf), timeout, &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_int_eq(errno, EBADF);

        ck_assert_int_eq(nb_recv(p[0], buf, sizeof(buf), timeout, &e), -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_int_eq(errno, ENOTSOCK);

        ck_assert_int_eq(nb_recv(c, buf, (size_t)SSIZE_MAX + 1, timeout, &e),
                         -1);
        th_assert_error(&e, NB_ERR_ARG, "recv");
        ck_assert_msg(th_now_ms() - start < 500, "an argument error waited");
    }
    /* the data is still there for a call with good arguments */
    ck_assert_int_eq(nb_recv(c, buf, sizeof(buf), 1000, &e), 4);
    ck_assert_mem_eq(buf, "kept", 4);
    close(c);
    close(s);
    close(p[0]);
    close(p[1]);
}
END_TEST

static Suite *recv_suite(void)
{
    Suite *s = suite_create("recv");
    TCase *tc = tcase_create("recv");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, returns_what_has_arrived_at_once, 0, NMODES);
    tcase_add_loop_test(tc, never_returns_more_than_len, 0, NMODES);
    tcase_add_loop_test(tc, end_of_stream_returns_zero, 0, NMODES);
    tcase_add_loop_test(tc, waits_for_the_first_bytes, 0, NMODES);
    tcase_add_loop_test(tc, deadline_is_a_timeout_naming_it, 0, 2);
    tcase_add_loop_test(tc, signals_are_retried, 0, 2);
    tcase_add_test(tc, deadline_holds_through_signals);
    tcase_add_loop_test(tc, reset_peer_is_closed, 0, NMODES);
    tcase_add_test(tc, bad_arguments_are_argument_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(recv_suite());
}
