/*
 * test_dgram.c - the stream calls (nb_send_all, nb_recv_all, nb_recv)
 * refuse a datagram socket with NB_ERR_ARG at once, naming the call to
 * use instead, rather than sending datagrams of arbitrary sizes or
 * waiting out a deadline for datagrams to fill a buffer.  The library
 * refuses SOCK_DGRAM only: connection-oriented sockets (TCP, Unix
 * SOCK_STREAM and SOCK_SEQPACKET) are accepted, as nb_send_all(3) says.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

enum kind { UDP_BOUND, UDP_CONNECTED, UNIX_DGRAM, NKINDS };
static const char *const kind_name[] = { "bound UDP", "connected UDP",
                                         "Unix SOCK_DGRAM" };

/* A datagram socket of the kind, with a datagram waiting in it (so that a
 * call that went ahead would have something to read); *peer is the other
 * end (or -1). */
static int datagram_socket(enum kind kind, int *peer)
{
    char port[8];
    int fd, sv[2];

    switch (kind) {
    case UDP_BOUND:
    case UDP_CONNECTED:
        *peer = nb_udp_bind("127.0.0.1", "0", 0, NULL);
        ck_assert_int_ge(*peer, 0);
        th_port_of(*peer, port);
        if (kind == UDP_CONNECTED) {
            fd = nb_udp_connect("127.0.0.1", port, 0, NULL);
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(nb_udp_sendto(fd, "x", 1, NULL, NULL), 1);
            /* the peer answers, so that fd has a datagram waiting */
            {
                nb_addr from;
                char b[4];
                ck_assert_int_eq(nb_udp_recvfrom(*peer, b, sizeof(b), &from,
                                                 2000, NULL), 1);
                ck_assert_int_eq(nb_udp_sendto(*peer, "y", 1, &from, NULL),
                                 1);
            }
        } else {
            fd = nb_udp_bind("127.0.0.1", "0", 0, NULL);
            ck_assert_int_ge(fd, 0);
            th_port_of(fd, port);
            {
                int tmp = nb_udp_connect("127.0.0.1", port, 0, NULL);
                ck_assert_int_ge(tmp, 0);
                ck_assert_int_eq(nb_udp_sendto(tmp, "y", 1, NULL, NULL), 1);
                close(tmp);
            }
        }
        break;
    case UNIX_DGRAM:
    default:
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv),
                         0);
        fd = sv[0];
        *peer = sv[1];
        ck_assert_int_eq(send(*peer, "y", 1, 0), 1);
        break;
    }
    ck_assert_int_eq(th_poll_for(fd, POLLIN, 2000), 1);
    return fd;
}

static void assert_refused(const nb_error *e, const char *op, int fd,
                           const char *use, int64_t start)
{
    char want[128];

    th_assert_error(e, NB_ERR_ARG, op);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(e->transferred, 0);
    snprintf(want, sizeof(want),
             "%s: descriptor %d is a datagram socket (use %s)", op, fd, use);
    ck_assert_str_eq(e->message, want);
    ck_assert_msg(th_now_ms() - start < 500, "the refusal waited %lld ms",
                  (long long)(th_now_ms() - start));
}

/* Each call, with and without a deadline, on each kind of datagram
 * socket: NB_ERR_ARG at once, nothing sent, the waiting datagram left. */
START_TEST(datagram_sockets_are_refused_at_once)
{
    const enum kind kind = (enum kind)(_i / 2);
    const int timeout = _i % 2 == 0 ? 2000 : 0;
    char buf[64];
    nb_error e;
    int64_t start;
    int fd, peer;

    fd = datagram_socket(kind, &peer);

    start = th_now_ms();
    errno = 0;
    ck_assert_msg(nb_recv_all(fd, buf, sizeof(buf), timeout, &e) == -1,
                  "nb_recv_all took a %s socket", kind_name[kind]);
    assert_refused(&e, "recv", fd, "nb_udp_recvfrom", start);

    start = th_now_ms();
    errno = 0;
    ck_assert_msg(nb_recv(fd, buf, sizeof(buf), timeout, &e) == -1,
                  "nb_recv took a %s socket", kind_name[kind]);
    assert_refused(&e, "recv", fd, "nb_udp_recvfrom", start);

    if (kind != UDP_BOUND) {  /* a bound socket has nowhere to send */
        start = th_now_ms();
        errno = 0;
        ck_assert_msg(nb_send_all(fd, "abc", 3, timeout, &e) == -1,
                      "nb_send_all took a %s socket", kind_name[kind]);
        assert_refused(&e, "send", fd, "nb_udp_sendto", start);
        /* and nothing was sent */
        ck_assert_int_eq(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
        ck_assert_int_eq(errno, EAGAIN);
    }
    /* the datagram that was waiting is still there, whole */
    ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 1);
    ck_assert_int_eq(buf[0], 'y');
    close(fd);
    close(peer);
}
END_TEST

/* Connection-oriented sockets other than TCP are accepted: Unix
 * SOCK_STREAM and SOCK_SEQPACKET (each send a record, each recv at most
 * one record). */
START_TEST(unix_stream_and_seqpacket_are_accepted)
{
    const int type = _i == 0 ? SOCK_STREAM : SOCK_SEQPACKET;
    char buf[16];
    nb_error e;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(nb_send_all(sv[0], "hello", 5, 1000, &e), 5);
    ck_assert_int_eq(nb_recv(sv[1], buf, sizeof(buf), 1000, &e), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(nb_send_all(sv[1], "world", 5, 0, &e), 5);
    ck_assert_int_eq(nb_recv_all(sv[0], buf, 5, 1000, &e), 5);
    ck_assert_mem_eq(buf, "world", 5);
    close(sv[0]);
    ck_assert_int_eq(nb_recv(sv[1], buf, sizeof(buf), 1000, &e), 0);
    close(sv[1]);
}
END_TEST

static Suite *dgram_suite(void)
{
    Suite *s = suite_create("dgram");
    TCase *tc = tcase_create("dgram");

    tcase_add_loop_test(tc, datagram_sockets_are_refused_at_once, 0,
                        2 * NKINDS);
    tcase_add_loop_test(tc, unix_stream_and_seqpacket_are_accepted, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(dgram_suite());
}
