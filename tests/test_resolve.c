/*
 * test_resolve.c - nb_resolve: its arguments, numeric hosts, service
 * names, "localhost", failures, with and without a deadline.
 *
 * Only names every machine resolves without a network are used
 * (localhost, numeric addresses, a name too long for DNS); the behaviour
 * against a DNS server that stalls or answers late is tests/test_lookup.c.
 */
#include "config.h"

#include <arpa/inet.h>
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

#define MARK 0xa5

static nb_addr out[8];

static void mark_out(void)
{
    memset(out, MARK, sizeof(out));
}

static int out_untouched(void)
{
    const unsigned char *p = (const unsigned char *)out;
    size_t i;

    for (i = 0; i < sizeof(out); i++)
        if (p[i] != MARK)
            return 0;
    return 1;
}

static void assert_is(const nb_addr *a, const char *text)
{
    char buf[NB_ADDRSTRLEN];

    ck_assert_str_eq(nb_addr_format(a, buf, sizeof(buf)), text);
}

/* A call that must fail with NB_ERR_ARG, op "resolve", errno EINVAL, and
 * leave out alone; with and without a deadline, and with err NULL. */
static void expect_arg_error(const char *host, const char *port, int socktype,
                             nb_addr *dest, int max, int flags,
                             const char *want_message)
{
    int timeouts[] = { 0, 500 };
    size_t i;

    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        nb_error e;
        int rc;

        mark_out();
        errno = 0;
        rc = nb_resolve(host, port, socktype, dest, max, timeouts[i], flags,
                        &e);
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(errno, EINVAL);
        th_assert_error(&e, NB_ERR_ARG, "resolve");
        ck_assert_int_eq(e.sys_errno, 0);
        ck_assert_int_eq(e.gai_error, 0);
        ck_assert_int_eq(e.attempts, 0);
        if (want_message != NULL)
            ck_assert_str_eq(e.message, want_message);
        ck_assert(out_untouched());
        errno = 0;
        ck_assert_int_eq(nb_resolve(host, port, socktype, dest, max,
                                    timeouts[i], flags, NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
}

START_TEST(test_bad_host)
{
    char long_host[1026];

    expect_arg_error(NULL, "80", SOCK_STREAM, out, 8, 0, NULL);
    expect_arg_error("", "80", SOCK_STREAM, out, 8, 0, NULL);
    expect_arg_error("*", "80", SOCK_STREAM, out, 8, 0, NULL);
    memset(long_host, 'a', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    expect_arg_error(long_host, "80", SOCK_STREAM, out, 8, 0, NULL);
}
END_TEST

START_TEST(test_bad_port)
{
    expect_arg_error("localhost", NULL, SOCK_STREAM, out, 8, 0, NULL);
    expect_arg_error("localhost", "", SOCK_STREAM, out, 8, 0, NULL);
    expect_arg_error("localhost", "65536", SOCK_STREAM, out, 8, 0,
                     "resolve localhost:65536: invalid port \"65536\": not "
                     "0..65535 or a service name");
    expect_arg_error("127.0.0.1", "-1", SOCK_STREAM, out, 8, 0, NULL);
    expect_arg_error("127.0.0.1", "8 0", SOCK_STREAM, out, 8, 0, NULL);
}
END_TEST

START_TEST(test_bad_socktype)
{
    expect_arg_error("127.0.0.1", "80", 0, out, 8, 0, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_RAW, out, 8, 0, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_SEQPACKET, out, 8, 0, NULL);
    expect_arg_error("127.0.0.1", "80", -1, out, 8, 0, NULL);
    /* SOCK_CLOEXEC and the like are not socket types */
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM | SOCK_CLOEXEC, out, 8, 0,
                     NULL);
}
END_TEST

START_TEST(test_bad_out_or_max)
{
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, NULL, 8, 0, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 0, 0, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, -1, 0, NULL);
    /* out NULL with max 0 is still wrong */
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, NULL, 0, 0, NULL);
}
END_TEST

START_TEST(test_bad_flags)
{
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8, NB_NONBLOCK, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8, NB_NODELAY, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8, NB_REUSEPORT,
                     NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8,
                     NB_IPV4_ONLY | NB_IPV6_ONLY, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8, 0x100, NULL);
    expect_arg_error("127.0.0.1", "80", SOCK_STREAM, out, 8, -1, NULL);
}
END_TEST

/* Resolves with and without a deadline and checks that both give
 * exactly one address, printed as want. */
static void expect_one(const char *host, const char *port, int socktype,
                       int flags, const char *want)
{
    int timeouts[] = { 0, -1, 1000 };
    size_t i;

    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        nb_error e;
        int rc;

        mark_out();
        nb_error_clear(&e);
        e.code = NB_ERR_SYSTEM;  /* untouched on success */
        rc = nb_resolve(host, port, socktype, out, 8, timeouts[i], flags, &e);
        ck_assert_msg(rc == 1, "%s %s: %d: %s", host, port, rc, e.message);
        ck_assert_int_eq(e.code, NB_ERR_SYSTEM);
        assert_is(&out[0], want);
        /* nothing past the one address is written */
        ck_assert_int_eq(((unsigned char *)&out[1])[0], MARK);
    }
}

START_TEST(test_numeric_hosts)
{
    expect_one("127.0.0.1", "80", SOCK_STREAM, 0, "127.0.0.1:80");
    expect_one("192.0.2.7", "65535", SOCK_DGRAM, 0, "192.0.2.7:65535");
    expect_one("127.0.0.1", "0", SOCK_STREAM, NB_IPV4_ONLY, "127.0.0.1:0");
    expect_one("::1", "443", SOCK_STREAM, 0, "[::1]:443");
    expect_one("[::1]", "443", SOCK_STREAM, NB_IPV6_ONLY, "[::1]:443");
    expect_one("2001:db8::1", "53", SOCK_DGRAM, 0, "[2001:db8::1]:53");
    /* the address family and length are those of the address */
    ck_assert_uint_eq(out[0].len, sizeof(struct sockaddr_in6));
    ck_assert_int_eq(out[0].ss.ss_family, AF_INET6);
    expect_one("127.0.0.1", "80", SOCK_STREAM, 0, "127.0.0.1:80");
    ck_assert_uint_eq(out[0].len, sizeof(struct sockaddr_in));
    ck_assert_int_eq(out[0].ss.ss_family, AF_INET);
}
END_TEST

START_TEST(test_numeric_scope)
{
    char lo[IF_NAMESIZE], want[64], host[64];

    /* the loopback interface's index is a scope every machine has */
    snprintf(host, sizeof(host), "fe80::1%%1");
    ck_assert_ptr_nonnull(if_indextoname(1, lo));
    snprintf(want, sizeof(want), "[fe80::1%%%s]:80", lo);
    expect_one(host, "80", SOCK_STREAM, 0, want);
    snprintf(host, sizeof(host), "[fe80::1%%%s]", lo);
    expect_one(host, "80", SOCK_STREAM, 0, want);
}
END_TEST

START_TEST(test_service_names)
{
    expect_one("127.0.0.1", "http", SOCK_STREAM, 0, "127.0.0.1:80");
    expect_one("::1", "domain", SOCK_DGRAM, 0, "[::1]:53");
}
END_TEST

START_TEST(test_unknown_service)
{
    int timeouts[] = { 0, 1000 };
    size_t i;

    for (i = 0; i < 2; i++) {
        nb_error e;
        mark_out();
        ck_assert_int_eq(nb_resolve("127.0.0.1", "no-such-service", SOCK_STREAM,
                                    out, 8, timeouts[i], 0, &e), -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_int_eq(e.gai_error, EAI_SERVICE);
        ck_assert_str_eq(e.addr, "127.0.0.1:no-such-service");
        ck_assert(out_untouched());
    }
}
END_TEST

/* A numeric host of the family the flags exclude is asked of getaddrinfo,
 * which refuses it, without a thread even with a deadline. */
START_TEST(test_numeric_wrong_family)
{
    int timeouts[] = { 0, 1000 };
    size_t i;

    for (i = 0; i < 2; i++) {
        nb_error e;
        mark_out();
        ck_assert_int_eq(nb_resolve("127.0.0.1", "80", SOCK_STREAM, out, 8,
                                    timeouts[i], NB_IPV6_ONLY, &e), -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_str_eq(e.addr, "127.0.0.1:80");
        ck_assert_int_ne(e.gai_error, 0);
        ck_assert(out_untouched());
        ck_assert_int_eq(nb_resolve("::1", "80", SOCK_STREAM, out, 8,
                                    timeouts[i], NB_IPV4_ONLY, &e), -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_str_eq(e.addr, "[::1]:80");
    }
}
END_TEST

static int is_loopback(const nb_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        return a->len == sizeof(*sin) &&
               (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        return a->len == sizeof(*sin6) &&
               IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    }
    return 0;
}

/* localhost, bounded (on a helper thread) and unbounded (inline): the same
 * loopback addresses, distinct, with the port. */
START_TEST(test_localhost)
{
    nb_addr inline_out[8];
    nb_error e;
    int n, m, i, j;

    n = nb_resolve("localhost", "9", SOCK_STREAM, inline_out, 8, 0, 0, &e);
    ck_assert_msg(n >= 1 && n <= 8, "%d: %s", n, e.message);
    for (i = 0; i < n; i++) {
        ck_assert(is_loopback(&inline_out[i]));
        ck_assert_int_eq(nb_addr_port(&inline_out[i]), 9);
        for (j = 0; j < i; j++)
            ck_assert(inline_out[i].len != inline_out[j].len ||
                      memcmp(&inline_out[i].ss, &inline_out[j].ss,
                             inline_out[i].len) != 0);
    }
    mark_out();
    m = nb_resolve("localhost", "9", SOCK_STREAM, out, 8, 2000, 0, &e);
    ck_assert_msg(m == n, "bounded %d, unbounded %d: %s", m, n, e.message);
    for (i = 0; i < n; i++) {
        ck_assert_uint_eq(out[i].len, inline_out[i].len);
        ck_assert_int_eq(memcmp(&out[i].ss, &inline_out[i].ss, out[i].len), 0);
    }
    /* max 1: the first */
    mark_out();
    ck_assert_int_eq(nb_resolve("localhost", "9", SOCK_STREAM, out, 1, 2000,
                                0, &e), 1);
    ck_assert_int_eq(memcmp(&out[0].ss, &inline_out[0].ss, out[0].len), 0);
    ck_assert_int_eq(((unsigned char *)&out[1])[0], MARK);
    /* IPv4 only */
    n = nb_resolve("localhost", "9", SOCK_DGRAM, out, 8, 2000, NB_IPV4_ONLY,
                   &e);
    ck_assert_msg(n >= 1, "%s", e.message);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(out[i].ss.ss_family, AF_INET);
}
END_TEST

/* A name that fails without any network traffic. */
START_TEST(test_unresolvable)
{
    int timeouts[] = { 0, 2000 };
    size_t i;

    for (i = 0; i < 2; i++) {
        nb_error e;
        mark_out();
        errno = 0;
        ck_assert_int_eq(nb_resolve(TH_UNRESOLVABLE, "80", SOCK_STREAM, out, 8,
                                    timeouts[i], 0, &e), -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_str_eq(e.addr, TH_UNRESOLVABLE ":80");
        ck_assert_int_ne(e.gai_error, 0);
        ck_assert_int_eq(e.attempts, 0);
        ck_assert(out_untouched());
    }
}
END_TEST

/* Nothing is left open, bounded or not; the helper of a finished lookup
 * ends. */
START_TEST(test_no_leaks)
{
    int fds = th_count_fds();
    nb_error e;
    int i;

    for (i = 0; i < 20; i++) {
        int timeout = i % 2 ? 1000 : 0;
        ck_assert_int_ge(nb_resolve("localhost", "80", SOCK_STREAM, out, 8,
                                    timeout, 0, &e), 1);
        ck_assert_int_eq(nb_resolve(TH_UNRESOLVABLE, "80", SOCK_STREAM, out, 8,
                                    timeout, 0, &e), -1);
        ck_assert_int_eq(nb_resolve("127.0.0.1", "x", SOCK_STREAM, out, 8,
                                    timeout, 0, &e), -1);
    }
    ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

static Suite *resolve_suite(void)
{
    Suite *s = suite_create("resolve");
    TCase *tc;

    tc = tcase_create("arguments");
    tcase_add_test(tc, test_bad_host);
    tcase_add_test(tc, test_bad_port);
    tcase_add_test(tc, test_bad_socktype);
    tcase_add_test(tc, test_bad_out_or_max);
    tcase_add_test(tc, test_bad_flags);
    suite_add_tcase(s, tc);

    tc = tcase_create("results");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_numeric_hosts);
    tcase_add_test(tc, test_numeric_scope);
    tcase_add_test(tc, test_service_names);
    tcase_add_test(tc, test_unknown_service);
    tcase_add_test(tc, test_numeric_wrong_family);
    tcase_add_test(tc, test_localhost);
    tcase_add_test(tc, test_unresolvable);
    tcase_add_test(tc, test_no_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(resolve_suite());
}
