/*
 * test_split.c - nb_split_hostport: every accepted form and every rejected
 * one, and buffers that are too small.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "helpers.h"

static const struct {
    const char *input;
    const char *host;
    const char *port;
} good[] = {
    { "example.com:80", "example.com", "80" },
    { "[::1]:80", "::1", "80" },
    { ":80", "", "80" },
    { "127.0.0.1:0", "127.0.0.1", "0" },
    { "[fe80::1%eth0]:443", "fe80::1%eth0", "443" },
    { "localhost:daytime", "localhost", "daytime" },
    { "[::ffff:127.0.0.1]:9", "::ffff:127.0.0.1", "9" },
    { "h:65536", "h", "65536" },  /* splitting does not judge the port */
};

START_TEST(splits_good_input)
{
    char host[64], port[16];
    nb_error e;

    nb_error_clear(&e);
    ck_assert_int_eq(nb_split_hostport(good[_i].input, host, sizeof(host),
                                       port, sizeof(port), &e), 0);
    ck_assert_str_eq(host, good[_i].host);
    ck_assert_str_eq(port, good[_i].port);
    ck_assert_int_eq(e.code, NB_OK);
}
END_TEST

static const char *const bad[] = {
    "",             /* nothing */
    "example.com",  /* no port */
    "host:",        /* empty port */
    "[::1]",        /* no port */
    "[::1]:",       /* empty port */
    "::1:80",       /* IPv6 host without brackets */
    "[::1:80",      /* no closing bracket */
    "[]:80",        /* empty host in brackets */
    "[::1]80",      /* no ':' after ']' */
    "[::1]x:80",    /* junk after ']' */
    "a]b:80",       /* stray bracket */
    "a[b:80",       /* stray bracket */
    "host:8:0",     /* a second colon is an unbracketed IPv6 host */
    "[::1]:[80]",   /* brackets in the port */
    ":",            /* empty everything */
};

START_TEST(rejects_bad_input)
{
    char host[64] = "untouched", port[16] = "untouched";
    nb_error e;

    errno = 0;
    ck_assert_int_eq(nb_split_hostport(bad[_i], host, sizeof(host), port,
                                       sizeof(port), &e), -1);
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "split");
    ck_assert_str_eq(host, "untouched");
    ck_assert_str_eq(port, "untouched");
}
END_TEST

START_TEST(rejects_null_arguments)
{
    char host[8], port[8];
    nb_error e;

    ck_assert_int_eq(nb_split_hostport(NULL, host, 8, port, 8, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport("a:1", NULL, 8, port, 8, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport("a:1", host, 8, NULL, 8, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport("a:1", host, 8, port, 8, NULL), 0);
}
END_TEST

/* Exactly fitting parts pass; one byte more is rejected, never cut. */
START_TEST(buffer_sizes_are_respected)
{
    char host[4], port[3];
    nb_error e;

    ck_assert_int_eq(nb_split_hostport("abc:80", host, sizeof(host), port,
                                       sizeof(port), &e), 0);
    ck_assert_str_eq(host, "abc");
    ck_assert_str_eq(port, "80");
    ck_assert_int_eq(nb_split_hostport("abcd:80", host, sizeof(host), port,
                                       sizeof(port), &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport("abc:800", host, sizeof(host), port,
                                       sizeof(port), &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport("abc:80", host, 0, port, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_int_eq(nb_split_hostport(":1", host, 1, port, 2, &e), 0);
    ck_assert_str_eq(host, "");
}
END_TEST

/* The split output feeds nb_tcp_listen / nb_tcp_connect directly. */
START_TEST(split_output_connects)
{
    char host[64], port[16], text[NB_ADDRSTRLEN];
    nb_addr a;
    int lfd, cfd;

    lfd = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(nb_local_addr(lfd, &a, NULL), 0);
    nb_addr_format(&a, text, sizeof(text));
    ck_assert_int_eq(nb_split_hostport(text, host, sizeof(host), port,
                                       sizeof(port), NULL), 0);
    cfd = nb_tcp_connect(host, port, 1000, 0, NULL);
    ck_assert_int_ge(cfd, 0);
    close(cfd);
    close(lfd);
}
END_TEST

static Suite *split_suite(void)
{
    Suite *s = suite_create("split_hostport");
    TCase *tc = tcase_create("split");

    tcase_add_loop_test(tc, splits_good_input, 0, sizeof(good) / sizeof(good[0]));
    tcase_add_loop_test(tc, rejects_bad_input, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, rejects_null_arguments);
    tcase_add_test(tc, buffer_sizes_are_respected);
    tcase_add_test(tc, split_output_connects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(split_suite());
}
