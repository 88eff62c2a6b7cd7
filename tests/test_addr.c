/*
 * test_addr.c - nb_addr_format, nb_addr_port, nb_local_addr, nb_peer_addr.
 * (Their bad arguments: test_args.)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "helpers.h"

static nb_addr make_in(const char *ip, int port)
{
    nb_addr a;
    struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

    memset(&a, 0, sizeof(a));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    a.len = sizeof(*sin);
    return a;
}

static nb_addr make_in6(const char *ip, int port, unsigned scope)
{
    nb_addr a;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

    memset(&a, 0, sizeof(a));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sin6->sin6_scope_id = scope;
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    a.len = sizeof(*sin6);
    return a;
}

static nb_addr make_un(const char *path, size_t n)
{
    nb_addr a;
    struct sockaddr_un *sun = (struct sockaddr_un *)&a.ss;

    memset(&a, 0, sizeof(a));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, n);
    a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    return a;
}

START_TEST(formats_ipv4)
{
    char buf[NB_ADDRSTRLEN];
    nb_addr a = make_in("127.0.0.1", 9999);

    ck_assert_ptr_eq(nb_addr_format(&a, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, "127.0.0.1:9999");
    ck_assert_int_eq(nb_addr_port(&a), 9999);
    a = make_in("255.255.255.255", 65535);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)),
                     "255.255.255.255:65535");
    ck_assert_int_eq(nb_addr_port(&a), 65535);
}
END_TEST

START_TEST(formats_ipv6)
{
    char buf[NB_ADDRSTRLEN];
    nb_addr a = make_in6("::1", 9999, 0);

    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "[::1]:9999");
    ck_assert_int_eq(nb_addr_port(&a), 9999);
    a = make_in6("2001:db8::1", 80, 0);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "[2001:db8::1]:80");
}
END_TEST

START_TEST(formats_ipv4_mapped_as_ipv4)
{
    char buf[NB_ADDRSTRLEN];
    nb_addr a = make_in6("::ffff:127.0.0.1", 9999, 0);

    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "127.0.0.1:9999");
    ck_assert_int_eq(nb_addr_port(&a), 9999);
}
END_TEST

START_TEST(formats_scope_by_name_or_number)
{
    char buf[NB_ADDRSTRLEN], want[NB_ADDRSTRLEN], name[IF_NAMESIZE];
    unsigned lo = if_nametoindex("lo");
    nb_addr a;

    ck_assert_uint_ne(lo, 0);
    ck_assert_ptr_nonnull(if_indextoname(lo, name));
    a = make_in6("fe80::1", 80, lo);
    snprintf(want, sizeof(want), "[fe80::1%%%s]:80", name);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), want);
    a = make_in6("fe80::1", 80, 999999);  /* no such interface */
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "[fe80::1%999999]:80");
}
END_TEST

/* The longest IPv6 text with the longest scope still fits NB_ADDRSTRLEN. */
START_TEST(longest_ipv6_fits)
{
    char buf[NB_ADDRSTRLEN];
    nb_addr a = make_in6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535,
                         4294967295u);

    nb_addr_format(&a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe%4294967295]:65535");
}
END_TEST

START_TEST(formats_unix)
{
    char buf[NB_ADDRSTRLEN], path[108];
    nb_addr a = make_un("/run/x.sock", sizeof("/run/x.sock"));

    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "/run/x.sock");
    ck_assert_int_eq(nb_addr_port(&a), -1);
    a = make_un("\0abstract", 9);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "@abstract");
    a = make_un("", 0);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "(unnamed)");
    /* a full 108-byte path without a terminator */
    memset(path, 'p', sizeof(path));
    path[0] = '/';
    a = make_un(path, sizeof(path));
    nb_addr_format(&a, buf, sizeof(buf));
    ck_assert_uint_eq(strlen(buf), sizeof(path));
}
END_TEST

START_TEST(formats_empty_other_and_invalid)
{
    char buf[NB_ADDRSTRLEN];
    nb_addr a;

    memset(&a, 0, sizeof(a));
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "");
    ck_assert_int_eq(nb_addr_port(&a), -1);
    ck_assert_str_eq(nb_addr_format(NULL, buf, sizeof(buf)), "");
    ck_assert_int_eq(nb_addr_port(NULL), -1);

    a.ss.ss_family = AF_PACKET;
    a.len = 20;
    snprintf(a.ss.__ss_padding, 4, "xx");
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "(family 17)");

    a = make_in("127.0.0.1", 1);
    a.len = 4;  /* too short for a sockaddr_in */
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "(invalid address)");
    ck_assert_int_eq(nb_addr_port(&a), -1);
    a.len = sizeof(a.ss) + 1;  /* longer than the storage */
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "(invalid address)");
    ck_assert_int_eq(nb_addr_port(&a), -1);
}
END_TEST

/* Unix socket names are arbitrary bytes: control bytes print as '?', a
 * NUL inside an abstract name as '@' (as ss(8) prints them).  An IPv6
 * address shorter than a sockaddr_in6 is invalid, like a short IPv4 one. */
START_TEST(formats_unprintable_unix_bytes_and_short_ipv6)
{
    static const char path[] = "/tmp/a\nb\x7f" "c\x1b";
    char buf[NB_ADDRSTRLEN];
    nb_addr a = make_un(path, sizeof(path));

    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "/tmp/a?b?c?");
    a = make_un("\0ab\x01" "c\0d", 7);
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "@ab?c@d");

    a = make_in6("::1", 1, 0);
    a.len = sizeof(struct sockaddr_in);  /* too short for a sockaddr_in6 */
    ck_assert_str_eq(nb_addr_format(&a, buf, sizeof(buf)), "(invalid address)");
    ck_assert_int_eq(nb_addr_port(&a), -1);
}
END_TEST

/* Every buffer size from 0 up gets a NUL-terminated prefix and nothing is
 * written past it. */
START_TEST(small_buffers_truncate)
{
    const char *full = "[2001:db8::1]:65535";
    nb_addr a = make_in6("2001:db8::1", 65535, 0);
    char buf[64];
    size_t size;

    for (size = 0; size <= strlen(full) + 1; size++) {
        memset(buf, '#', sizeof(buf));
        ck_assert_ptr_eq(nb_addr_format(&a, buf, size), buf);
        if (size == 0) {
            ck_assert_int_eq(buf[0], '#');
            continue;
        }
        ck_assert_uint_eq(strlen(buf), size - 1);
        ck_assert_int_eq(strncmp(buf, full, size - 1), 0);
        ck_assert_int_eq(buf[size], '#');
    }
    ck_assert_ptr_null(nb_addr_format(&a, NULL, 0));
}
END_TEST

/* The same for Unix names that fill sun_path: a 108-byte path without a
 * terminator and an abstract name of 107 bytes ("@" and 107): every size
 * gets the longest prefix that fits, NUL-terminated, nothing past it. */
START_TEST(small_buffers_truncate_unix_names)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char full[sizeof(path) + 1], buf[sizeof(path) + 16];
    size_t size, i;
    nb_addr a;

    for (i = 0; i < sizeof(path); i++)
        path[i] = (char)('a' + i % 26);
    if (_i == 0) {
        path[0] = '/';
        memcpy(full, path, sizeof(path));
    } else {
        path[0] = '\0';
        full[0] = '@';
        memcpy(full + 1, path + 1, sizeof(path) - 1);
    }
    full[sizeof(path)] = '\0';
    ck_assert_uint_eq(strlen(full), 108);
    a = make_un(path, sizeof(path));
    for (size = 0; size <= sizeof(buf); size++) {
        size_t want = size == 0 ? 0 : size - 1 < 108 ? size - 1 : 108;
        memset(buf, '#', sizeof(buf));
        ck_assert_ptr_eq(nb_addr_format(&a, buf, size), buf);
        if (size == 0) {
            ck_assert_int_eq(buf[0], '#');
            continue;
        }
        ck_assert_msg(strlen(buf) == want, "size %zu: %zu bytes, want %zu",
                      size, strlen(buf), want);
        ck_assert_msg(strncmp(buf, full, want) == 0, "size %zu: \"%s\"",
                      size, buf);
        if (size < sizeof(buf))
            ck_assert_msg(buf[size] == '#', "size %zu: written past it", size);
        for (i = want + 1; i < sizeof(buf); i++)
            ck_assert_msg(buf[i] == '#', "size %zu: byte %zu written", size, i);
    }
    /* NB_ADDRSTRLEN suffices */
    ck_assert_str_eq(nb_addr_format(&a, buf, NB_ADDRSTRLEN), full);
}
END_TEST

START_TEST(local_and_peer_of_a_connection)
{
    char port[8], buf[NB_ADDRSTRLEN];
    int lfd = th_raw_listener(AF_INET, 4, port);
    nb_addr local, peer, accepted_peer;
    int cfd, sfd;

    cfd = nb_tcp_connect("127.0.0.1", port, 1000, 0, NULL);
    ck_assert_int_ge(cfd, 0);
    sfd = nb_tcp_accept(lfd, &accepted_peer, 0, NULL);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(nb_local_addr(cfd, &local, NULL), 0);
    ck_assert_int_eq(nb_peer_addr(cfd, &peer, NULL), 0);
    ck_assert_str_eq(nb_addr_format(&peer, buf, sizeof(buf)),
                     strcat(strcpy((char[32]){0}, "127.0.0.1:"), port));
    ck_assert_int_eq(nb_addr_port(&local), nb_addr_port(&accepted_peer));
    close(cfd);
    close(sfd);
    close(lfd);
}
END_TEST

/* nb_peer_addr of a socket that is not connected fails as getpeername(2)
 * does. */
START_TEST(peer_of_an_unconnected_socket_is_enotconn)
{
    nb_addr a;
    nb_error e;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert_int_eq(nb_peer_addr(fd, &a, &e), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "getpeername");
    ck_assert_int_eq(e.sys_errno, ENOTCONN);
    ck_assert_int_eq(errno, ENOTCONN);
    close(fd);
}
END_TEST

static Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("addr");

    tcase_add_test(tc, formats_ipv4);
    tcase_add_test(tc, formats_ipv6);
    tcase_add_test(tc, formats_ipv4_mapped_as_ipv4);
    tcase_add_test(tc, formats_scope_by_name_or_number);
    tcase_add_test(tc, longest_ipv6_fits);
    tcase_add_test(tc, formats_unix);
    tcase_add_test(tc, formats_empty_other_and_invalid);
    tcase_add_test(tc, formats_unprintable_unix_bytes_and_short_ipv6);
    tcase_add_test(tc, small_buffers_truncate);
    tcase_add_loop_test(tc, small_buffers_truncate_unix_names, 0, 2);
    tcase_add_test(tc, local_and_peer_of_a_connection);
    tcase_add_test(tc, peer_of_an_unconnected_socket_is_enotconn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(addr_suite());
}
