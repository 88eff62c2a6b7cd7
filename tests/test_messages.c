/*
 * test_messages.c - the messages people read, checked word for word:
 *  - a flags argument with unknown bits (a timeout or a backlog in the
 *    flags' place) names the call and the flags it takes, by name;
 *  - a timeout says the deadline and, for nb_send_all and nb_recv_all,
 *    the bytes that had moved;
 *  - "*" names no peer: the calls that connect or resolve a peer refuse
 *    it (NB_ERR_ARG, like NULL and ""), listen and bind still take it;
 *  - nb_split_hostport quotes its input and says what is wrong with it
 *    (too many colons: an IPv6 host needs brackets);
 *  - an unknown service is "unknown service 'NAME' for tcp", not the
 *    resolver's "Servname not supported for ai_socktype".
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* ---------------------------------------------------------------- flags */

#define CONNECT_FLAGS "NB_NONBLOCK|NB_IPV4_ONLY|NB_IPV6_ONLY|NB_NODELAY"
#define ALL_FLAGS \
    "NB_NONBLOCK|NB_REUSEPORT|NB_IPV4_ONLY|NB_IPV6_ONLY|NB_NODELAY"

static int bad_tcp_connect(nb_error *e)
{
    /* timeout_ms and flags swapped: 5000 ms in the flags' place */
    return nb_tcp_connect("127.0.0.1", "9", 0, 5000, e);
}
static int bad_tcp_listen(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "0", 0, 128, e);
}
static int bad_tcp_accept(nb_error *e)
{
    return nb_tcp_accept(0, NULL, NB_REUSEPORT, e);
}
static int bad_udp_bind(nb_error *e)
{
    return nb_udp_bind("127.0.0.1", "0", NB_NODELAY, e);
}
static int bad_udp_connect(nb_error *e)
{
    return nb_udp_connect("127.0.0.1", "9", 1000, e);
}
static int bad_unix_listen(nb_error *e)
{
    return nb_unix_listen("@nb-test-messages", 0, 0x40, e);
}
static int bad_unix_connect(nb_error *e)
{
    return nb_unix_connect("@nb-test-messages", 0, 2000, e);
}
static int bad_unix_bind(nb_error *e)
{
    return nb_unix_bind("@nb-test-messages", NB_IPV4_ONLY, e);
}

static const struct flags_case {
    int (*call)(nb_error *);
    const char *message;
} flags_cases[] = {
    { bad_tcp_connect, "connect: invalid flags 0x1388 for nb_tcp_connect "
                       "(allowed: " CONNECT_FLAGS ")" },
    { bad_tcp_listen, "listen: invalid flags 0x80 for nb_tcp_listen "
                      "(allowed: " ALL_FLAGS ")" },
    { bad_tcp_accept, "accept: invalid flags 0x2 for nb_tcp_accept "
                      "(allowed: NB_NONBLOCK|NB_NODELAY)" },
    { bad_udp_bind, "bind: invalid flags 0x10 for nb_udp_bind (allowed: "
                    "NB_NONBLOCK|NB_REUSEPORT|NB_IPV4_ONLY|NB_IPV6_ONLY)" },
    { bad_udp_connect, "connect: invalid flags 0x3e8 for nb_udp_connect "
                       "(allowed: NB_NONBLOCK|NB_IPV4_ONLY|NB_IPV6_ONLY)" },
    { bad_unix_listen, "listen: invalid flags 0x40 for nb_unix_listen "
                       "(allowed: NB_NONBLOCK)" },
    { bad_unix_connect, "connect: invalid flags 0x7d0 for nb_unix_connect "
                        "(allowed: NB_NONBLOCK)" },
    { bad_unix_bind, "bind: invalid flags 0x4 for nb_unix_bind "
                     "(allowed: NB_NONBLOCK)" },
};

START_TEST(invalid_flags_name_the_call_and_its_flags)
{
    const struct flags_case *fc = &flags_cases[_i];
    nb_error e;
    int before = th_count_fds();

    errno = 0;
    ck_assert_int_eq(fc->call(&e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, fc->message);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------- timeouts */

/* A connection that never completes: the deadline, nothing else. */
START_TEST(connect_timeout_says_the_deadline)
{
    struct th_stall stall;
    char want[NB_ERRMSG_SIZE];
    nb_error e;

    th_stall_open(&stall, AF_INET);
    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", stall.port, 300, 0, &e), -1);
    snprintf(want, sizeof(want), "connect 127.0.0.1:%s: timed out after 300 ms",
             stall.port);
    ck_assert_str_eq(e.message, want);
    ck_assert_int_eq(e.code, NB_ERR_TIMEOUT);
    th_stall_close(&stall);
}
END_TEST

/* "timed out after 200 ms (5 of 256 bytes received)": the peer sent 5
 * bytes of the 256 asked for. */
START_TEST(recv_all_timeout_says_the_deadline_and_the_bytes)
{
    char buf[256], peer[NB_ADDRSTRLEN], want[NB_ERRMSG_SIZE];
    nb_addr a;
    nb_error e;
    int c, s;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(nb_peer_addr(c, &a, NULL), 0);
    nb_addr_format(&a, peer, sizeof(peer));
    ck_assert_int_eq(send(s, "12345", 5, MSG_NOSIGNAL), 5);
    ck_assert_int_eq(th_poll_for(c, POLLIN, 2000), 1);
    ck_assert_int_eq(nb_recv_all(c, buf, sizeof(buf), 200, &e), -1);
    snprintf(want, sizeof(want),
             "recv %s: timed out after 200 ms (5 of 256 bytes received)", peer);
    ck_assert_str_eq(e.message, want);
    ck_assert_uint_eq(e.transferred, 5);
    close(c);
    close(s);
}
END_TEST

/* The peer reads nothing: "(N of 8388608 bytes sent)", N what went. */
START_TEST(send_all_timeout_says_the_deadline_and_the_bytes)
{
    static char big[8 << 20];
    char peer[NB_ADDRSTRLEN], want[NB_ERRMSG_SIZE];
    nb_addr a;
    nb_error e;
    int c, s, small = 4096;

    th_tcp_pair(&c, &s);
    ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small,
                                sizeof(small)), 0);
    ck_assert_int_eq(nb_peer_addr(c, &a, NULL), 0);
    nb_addr_format(&a, peer, sizeof(peer));
    ck_assert_int_eq(nb_send_all(c, big, sizeof(big), 200, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_TIMEOUT);
    ck_assert_uint_gt(e.transferred, 0);
    ck_assert_uint_lt(e.transferred, sizeof(big));
    snprintf(want, sizeof(want),
             "send %s: timed out after 200 ms (%zu of %zu bytes sent)", peer,
             e.transferred, sizeof(big));
    ck_assert_str_eq(e.message, want);
    close(c);
    close(s);
}
END_TEST

START_TEST(recvfrom_timeout_says_the_deadline)
{
    char buf[16], port[8], want[NB_ERRMSG_SIZE];
    nb_error e;
    int fd, server;

    server = nb_udp_bind("127.0.0.1", "0", 0, NULL);
    ck_assert_int_ge(server, 0);
    th_port_of(server, port);
    fd = nb_udp_connect("127.0.0.1", port, 0, NULL);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(nb_udp_recvfrom(fd, buf, sizeof(buf), NULL, 150, &e), -1);
    snprintf(want, sizeof(want), "recvfrom 127.0.0.1:%s: timed out after 150 ms",
             port);
    ck_assert_str_eq(e.message, want);
    close(fd);
    close(server);
}
END_TEST

/* ------------------------------------------------------------ wildcards */

#define WILDCARD_MESSAGE(op)                                               \
    op ": host \"*\" means every local address: it names no peer "         \
       "(a wildcard is for listen and bind)"

/* "*" is not a peer: every call that needs one refuses it at once, before
 * any lookup or socket, as it refuses NULL and "". */
START_TEST(star_names_no_peer)
{
    nb_addr addrs[4];
    nb_connector *conn;
    nb_error e;
    int before = th_count_fds();

    errno = 0;
    ck_assert_int_eq(nb_tcp_connect("*", "80", 1000, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, WILDCARD_MESSAGE("connect"));

    ck_assert_int_eq(nb_tcp_connect("*", "80", 0, NB_IPV4_ONLY, &e), -1);
    ck_assert_str_eq(e.message, WILDCARD_MESSAGE("connect"));

    errno = 0;
    ck_assert_int_eq(nb_udp_connect("*", "80", 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, WILDCARD_MESSAGE("connect"));

    errno = 0;
    ck_assert_int_eq(nb_resolve("*", "80", SOCK_STREAM, addrs, 4, 0, 0, &e),
                     -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, WILDCARD_MESSAGE("resolve"));

    errno = 0;
    conn = nb_connector_start("*", "80", 1000, 0, &e);
    ck_assert_ptr_null(conn);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, WILDCARD_MESSAGE("connect"));

    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* NULL and "" are refused by the same calls. */
START_TEST(null_and_empty_name_no_peer_either)
{
    const char *host = _i == 0 ? NULL : "";
    nb_addr addrs[4];
    nb_error e;

    ck_assert_int_eq(nb_tcp_connect(host, "80", 0, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_udp_connect(host, "80", 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_resolve(host, "80", SOCK_DGRAM, addrs, 4, 0, 0, &e),
                     -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_ptr_null(nb_connector_start(host, "80", 0, 0, &e));
    ck_assert_int_eq(e.code, NB_ERR_ARG);
}
END_TEST

/* A listener and a bound UDP socket still take "*": every interface. */
START_TEST(star_still_means_every_interface_for_listen_and_bind)
{
    nb_addr a;
    char text[NB_ADDRSTRLEN];
    nb_error e;
    int fd;

    fd = nb_tcp_listen("*", "0", 0, NB_IPV4_ONLY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(nb_local_addr(fd, &a, &e), 0);
    nb_addr_format(&a, text, sizeof(text));
    ck_assert_msg(strncmp(text, "0.0.0.0:", 8) == 0, "bound %s", text);
    close(fd);

    fd = nb_udp_bind("*", "0", NB_IPV4_ONLY, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(nb_local_addr(fd, &a, &e), 0);
    nb_addr_format(&a, text, sizeof(text));
    ck_assert_msg(strncmp(text, "0.0.0.0:", 8) == 0, "bound %s", text);
    close(fd);

    fd = nb_tcp_listen("*", "0", 0, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    close(fd);
}
END_TEST

/* ---------------------------------------------------------------- split */

static const struct split_case {
    const char *input;
    const char *message;
} split_cases[] = {
    { "localhost::", "split \"localhost::\": too many ':' (an IPv6 host "
                     "needs brackets: [::1]:80)" },
    { "host:80:90", "split \"host:80:90\": too many ':' (an IPv6 host needs "
                    "brackets: [::1]:80)" },
    { "::1:80", "split \"::1:80\": too many ':' (an IPv6 host needs "
                "brackets: [::1]:80)" },
    { "localhost:", "split \"localhost:\": empty port" },
    { "[::1]:", "split \"[::1]:\": empty port" },
    { "localhost", "split \"localhost\": missing ':port'" },
    { "[::1", "split \"[::1\": missing ']'" },
};

START_TEST(split_quotes_its_input_and_says_why)
{
    const struct split_case *sc = &split_cases[_i];
    char host[64] = "untouched", port[16] = "untouched";
    nb_error e;

    errno = 0;
    ck_assert_int_eq(nb_split_hostport(sc->input, host, sizeof(host), port,
                                       sizeof(port), &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(e.message, sc->message);
    ck_assert_str_eq(host, "untouched");
    ck_assert_str_eq(port, "untouched");
}
END_TEST

/* ------------------------------------------------------ unknown service */

/* A misspelt service, for each call that resolves one: the library's
 * words, and still NB_ERR_RESOLVE/EAI_SERVICE for programs. */
START_TEST(unknown_service_is_named)
{
    nb_error e;

    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", "dytime", 1000, 0, &e), -1);
    ck_assert_str_eq(e.message,
                     "resolve 127.0.0.1:dytime: unknown service 'dytime' for tcp");
    ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
    ck_assert_int_eq(e.gai_error, EAI_SERVICE);
    ck_assert_str_eq(e.op, "resolve");

    ck_assert_int_eq(nb_udp_connect("127.0.0.1", "dytime", 0, &e), -1);
    ck_assert_str_eq(e.message,
                     "resolve 127.0.0.1:dytime: unknown service 'dytime' for udp");
    ck_assert_int_eq(e.gai_error, EAI_SERVICE);

    ck_assert_int_eq(nb_tcp_listen(NULL, "dytime", 0, 0, &e), -1);
    ck_assert_str_eq(e.message,
                     "resolve *:dytime: unknown service 'dytime' for tcp");
    ck_assert_int_eq(e.gai_error, EAI_SERVICE);

    ck_assert_ptr_null(strstr(e.message, "ai_socktype"));
}
END_TEST

static Suite *messages_suite(void)
{
    Suite *s = suite_create("messages");
    TCase *tc = tcase_create("messages");

    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, invalid_flags_name_the_call_and_its_flags, 0,
                        (int)(sizeof(flags_cases) / sizeof(flags_cases[0])));
    tcase_add_test(tc, connect_timeout_says_the_deadline);
    tcase_add_test(tc, recv_all_timeout_says_the_deadline_and_the_bytes);
    tcase_add_test(tc, send_all_timeout_says_the_deadline_and_the_bytes);
    tcase_add_test(tc, recvfrom_timeout_says_the_deadline);
    tcase_add_test(tc, star_names_no_peer);
    tcase_add_loop_test(tc, null_and_empty_name_no_peer_either, 0, 2);
    tcase_add_test(tc, star_still_means_every_interface_for_listen_and_bind);
    tcase_add_loop_test(tc, split_quotes_its_input_and_says_why, 0,
                        (int)(sizeof(split_cases) / sizeof(split_cases[0])));
    tcase_add_test(tc, unknown_service_is_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(messages_suite());
}
