/*
 * test_scope.c - numeric IPv6 hosts with a zone ("::1%lo", "::1%1",
 * "[::1%lo]"): the library parses them itself, without getaddrinfo, and
 * hands an unknown zone to getaddrinfo, whose error (EAI_NONAME, no DNS
 * query: the address part is numeric) is then reported as a resolve error.
 *
 * ::1 needs no zone, so the kernel accepts any: the tests can stay on
 * loopback and still go through the zone parsing.  The loopback interface
 * is looked up by name ("lo"); without IPv6 or without "lo" the tests pass
 * without checking anything, and say so on stderr.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* The loopback interface's index, or 0 when the test cannot run here (it
 * then says SKIP for the test named). */
static unsigned loopback_index(const char *test)
{
    unsigned ifindex;

    if (!th_have_ipv6()) {
        th_skip_at(test, 0, "no IPv6 loopback");
        return 0;
    }
    ifindex = if_nametoindex("lo");
    if (ifindex == 0)
        th_skip_at(test, 0, "no interface \"lo\"");
    return ifindex;
}

/* fd is an IPv6 socket bound to ::1 (any port when port < 0). */
static void assert_bound_to_v6_loopback(int fd, int port)
{
    nb_addr a;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    ck_assert_int_eq(a.ss.ss_family, AF_INET6);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    if (port >= 0)
        ck_assert_int_eq(nb_addr_port(&a), port);
}

/* Listens on listen_host, connects to connect_host at the port it got,
 * and checks both ends are the IPv6 loopback. */
static void round_trip(const char *listen_host, const char *connect_host)
{
    int fds0 = th_count_fds();
    char port[8];
    nb_addr peer;
    nb_error e;
    int lfd, cfd, sfd;

    lfd = nb_tcp_listen(listen_host, "0", 0, 0, &e);
    ck_assert_msg(lfd >= 0, "listen %s: %s", listen_host, e.message);
    assert_bound_to_v6_loopback(lfd, -1);
    th_port_of(lfd, port);

    cfd = nb_tcp_connect(connect_host, port, 2000, 0, &e);
    ck_assert_msg(cfd >= 0, "connect %s: %s", connect_host, e.message);
    ck_assert_int_eq(th_is_cloexec(cfd), 1);
    ck_assert_int_eq(th_is_nonblock(cfd), 0);
    ck_assert_int_eq(nb_peer_addr(cfd, &peer, NULL), 0);
    ck_assert_int_eq(peer.ss.ss_family, AF_INET6);
    ck_assert_int_eq(nb_addr_port(&peer), atoi(port));

    sfd = nb_tcp_accept(lfd, NULL, 0, &e);
    ck_assert_msg(sfd >= 0, "accept: %s", e.message);
    close(sfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}

START_TEST(zone_by_interface_name)
{
    if (loopback_index(__func__) == 0)
        return;
    round_trip("::1%lo", "::1%lo");
}
END_TEST

START_TEST(zone_by_interface_number)
{
    unsigned ifindex = loopback_index(__func__);
    char host[32];

    if (ifindex == 0)
        return;
    snprintf(host, sizeof(host), "::1%%%u", ifindex);
    round_trip(host, host);
}
END_TEST

START_TEST(bracketed_host_with_zone)
{
    if (loopback_index(__func__) == 0)
        return;
    round_trip("[::1%lo]", "[::1%lo]");
}
END_TEST

START_TEST(udp_bind_and_connect_with_zone)
{
    int fds0 = th_count_fds();
    char port[8];
    nb_error e;
    int bfd, cfd;

    if (loopback_index(__func__) == 0)
        return;
    bfd = nb_udp_bind("::1%lo", "0", 0, &e);
    ck_assert_msg(bfd >= 0, "udp bind: %s", e.message);
    assert_bound_to_v6_loopback(bfd, -1);
    th_port_of(bfd, port);
    cfd = nb_udp_connect("::1%lo", port, 0, &e);
    ck_assert_msg(cfd >= 0, "udp connect: %s", e.message);
    ck_assert_int_eq(nb_udp_sendto(cfd, "z", 1, NULL, &e), 1);
    {
        char buf[4];
        ck_assert_int_eq(nb_udp_recvfrom(bfd, buf, sizeof(buf), NULL, 2000,
                                         &e), 1);
        ck_assert_int_eq(buf[0], 'z');
    }
    close(cfd);
    close(bfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* Zones that name no interface.  The library does not know them, so
 * getaddrinfo decides: the address is numeric, so no name service is
 * asked, and the answer is EAI_NONAME. */
static const char *const unknown_zones[] = {
    "::1%nb-no-such0",  /* no such interface */
    "::1%",             /* empty zone */
    "::1%1x",           /* neither a number nor a name we have */
    "[::1%nb-no-such0]",
};
#define N_UNKNOWN_ZONES \
    (int)(sizeof(unknown_zones) / sizeof(unknown_zones[0]))

START_TEST(unknown_zone_is_a_resolve_error)
{
    const char *host = unknown_zones[_i];
    int fds0 = th_count_fds();
    char want[64];
    const char *bare;
    size_t n;
    nb_error e;

    if (loopback_index(__func__) == 0)
        return;
    /* the message names the host as given, brackets added for a ':' */
    bare = host[0] == '[' ? host + 1 : host;
    n = strcspn(bare, "]");
    snprintf(want, sizeof(want), "[%.*s]:9", (int)n, bare);

    memset(&e, 0, sizeof(e));
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(host, "9", 500, 0, &e), -1);
    th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    ck_assert_int_eq(e.gai_error, EAI_NONAME);
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_str_eq(e.addr, want);
    ck_assert_msg(strstr(e.message, want) != NULL, "message: %s", e.message);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(nb_tcp_listen(host, "9", 0, 0, &e), -1);
    th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    ck_assert_int_eq(e.gai_error, EAI_NONAME);

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(nb_udp_bind(host, "9", 0, &e), -1);
    th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("scope");

    tcase_add_test(tc, zone_by_interface_name);
    tcase_add_test(tc, zone_by_interface_number);
    tcase_add_test(tc, bracketed_host_with_zone);
    tcase_add_test(tc, udp_bind_and_connect_with_zone);
    tcase_add_loop_test(tc, unknown_zone_is_a_resolve_error, 0,
                        N_UNKNOWN_ZONES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(scope_suite());
}
