/*
 * test_error.c - the error object: clearing, names, messages, and which
 * failures are temporary.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "helpers.h"

START_TEST(clear_resets_every_field)
{
    nb_error e;

    memset(&e, 0x5a, sizeof(e));
    nb_error_clear(&e);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_str_eq(e.op, "");
    ck_assert_str_eq(e.addr, "");
    ck_assert_str_eq(e.message, "");
    ck_assert_int_eq(e.attempts, 0);
    ck_assert_uint_eq(e.transferred, 0);
    nb_error_clear(NULL);  /* must not crash */
}
END_TEST

START_TEST(message_is_empty_for_ok_and_null)
{
    nb_error e;

    nb_error_clear(&e);
    ck_assert_str_eq(nb_error_message(&e), "");
    ck_assert_str_eq(nb_error_message(NULL), "");
    /* a message left over in a cleared object is not reported */
    strcpy(e.message, "stale");
    ck_assert_str_eq(nb_error_message(&e), "");
}
END_TEST

START_TEST(code_names)
{
    ck_assert_str_eq(nb_code_name(NB_OK), "NB_OK");
    ck_assert_str_eq(nb_code_name(NB_ERR_ARG), "NB_ERR_ARG");
    ck_assert_str_eq(nb_code_name(NB_ERR_RESOLVE), "NB_ERR_RESOLVE");
    ck_assert_str_eq(nb_code_name(NB_ERR_SYSTEM), "NB_ERR_SYSTEM");
    ck_assert_str_eq(nb_code_name(NB_ERR_TIMEOUT), "NB_ERR_TIMEOUT");
    ck_assert_str_eq(nb_code_name(NB_ERR_CLOSED), "NB_ERR_CLOSED");
    ck_assert_str_eq(nb_code_name((enum nb_code)99), "NB_ERR_UNKNOWN");
    ck_assert_str_eq(nb_code_name((enum nb_code)-1), "NB_ERR_UNKNOWN");
}
END_TEST

static const struct {
    enum nb_code code;
    int sys_errno;
    int gai_error;
    int temporary;
} temporary_table[] = {
    { NB_ERR_TIMEOUT, ETIMEDOUT, 0, 1 },
    { NB_ERR_SYSTEM, EAGAIN, 0, 1 },
    { NB_ERR_SYSTEM, EWOULDBLOCK, 0, 1 },
    { NB_ERR_SYSTEM, EINTR, 0, 1 },
    { NB_ERR_SYSTEM, EMFILE, 0, 1 },
    { NB_ERR_SYSTEM, ENFILE, 0, 1 },
    { NB_ERR_SYSTEM, ENOBUFS, 0, 1 },
    { NB_ERR_SYSTEM, ENOMEM, 0, 1 },
    { NB_ERR_SYSTEM, ECONNABORTED, 0, 1 },
    { NB_ERR_RESOLVE, 0, EAI_AGAIN, 1 },
    { NB_ERR_SYSTEM, ECONNREFUSED, 0, 0 },
    { NB_ERR_SYSTEM, EADDRINUSE, 0, 0 },
    { NB_ERR_SYSTEM, EBADF, 0, 0 },
    { NB_ERR_RESOLVE, 0, EAI_NONAME, 0 },
    { NB_ERR_RESOLVE, 0, EAI_SERVICE, 0 },
    { NB_ERR_ARG, 0, 0, 0 },
    { NB_ERR_CLOSED, EPIPE, 0, 0 },
    { NB_ERR_CLOSED, ECONNRESET, 0, 0 },
    { NB_OK, 0, 0, 0 },
    /* an errno on a code that does not carry one means nothing */
    { NB_ERR_ARG, EAGAIN, 0, 0 },
};

START_TEST(temporary_table_row)
{
    nb_error e;

    nb_error_clear(&e);
    e.code = temporary_table[_i].code;
    e.sys_errno = temporary_table[_i].sys_errno;
    e.gai_error = temporary_table[_i].gai_error;
    ck_assert_int_eq(nb_error_is_temporary(&e), temporary_table[_i].temporary);
}
END_TEST

START_TEST(temporary_null_is_zero)
{
    ck_assert_int_eq(nb_error_is_temporary(NULL), 0);
}
END_TEST

/* A real failure fills every field and sets errno; success leaves the
 * object alone. */
START_TEST(failure_fills_success_leaves_untouched)
{
    nb_error e;
    int fd;

    nb_error_clear(&e);
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", "70000", 0, 0, &e), -1);
    ck_assert_int_eq(errno, EINVAL);
    th_assert_error(&e, NB_ERR_ARG, "connect");
    ck_assert_int_eq(e.sys_errno, 0);
    ck_assert_int_eq(e.gai_error, 0);
    ck_assert_ptr_nonnull(strstr(e.message, "70000"));
    ck_assert_str_eq(nb_error_message(&e), e.message);

    fd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(e.code, NB_ERR_ARG);  /* untouched by the success */
    ck_assert_ptr_nonnull(strstr(e.message, "70000"));
    close(fd);
}
END_TEST

/* The message never interprets user input as a format, and never carries
 * control characters into a log line. */
START_TEST(message_is_not_a_format_string)
{
    nb_error e;

    ck_assert_int_eq(nb_tcp_connect("%s%n%s%n" TH_UNRESOLVABLE, "80", 0, 0, &e),
                     -1);
    ck_assert_int_eq(e.code, NB_ERR_RESOLVE);
    ck_assert_ptr_nonnull(strstr(e.message, "%s%n%s%n" TH_LONG_LABEL));

    ck_assert_int_eq(nb_tcp_listen("bad\nhost\033[31m", "1", 0, 0, &e), -1);
    ck_assert_ptr_null(strchr(e.message, '\n'));
    ck_assert_ptr_null(strchr(e.message, '\033'));
}
END_TEST

/* A host name far longer than the message buffer is truncated safely. */
START_TEST(long_input_truncates_message)
{
    char host[1000];
    nb_error e;

    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    ck_assert_int_eq(nb_tcp_connect(host, "80", 0, 0, &e), -1);
    ck_assert_uint_lt(strlen(e.message), NB_ERRMSG_SIZE);
    ck_assert_uint_lt(strlen(e.addr), NB_ADDRSTRLEN);
}
END_TEST

/* A message whose parts add up to more than NB_ERRMSG_SIZE is cut at that
 * size and NUL-terminated: here a 300-byte port, rejected, fills the
 * address (cut at NB_ADDRSTRLEN) and the detail. */
START_TEST(message_is_cut_at_its_size)
{
    char port[301];
    nb_error e;

    memset(port, 'x', sizeof(port) - 1);
    port[sizeof(port) - 1] = '\0';
    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", port, 0, 0, &e), -1);
    ck_assert_int_eq(e.code, NB_ERR_ARG);
    ck_assert_uint_eq(strlen(e.addr), NB_ADDRSTRLEN - 1);
    ck_assert_uint_eq(strlen(e.message), NB_ERRMSG_SIZE - 1);
    ck_assert_msg(strncmp(e.message, "connect 127.0.0.1:xxx", 21) == 0,
                  "message: %s", e.message);
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("error");

    tcase_add_test(tc, clear_resets_every_field);
    tcase_add_test(tc, message_is_empty_for_ok_and_null);
    tcase_add_test(tc, code_names);
    tcase_add_loop_test(tc, temporary_table_row, 0,
                        sizeof(temporary_table) / sizeof(temporary_table[0]));
    tcase_add_test(tc, temporary_null_is_zero);
    tcase_add_test(tc, failure_fills_success_leaves_untouched);
    tcase_add_test(tc, message_is_not_a_format_string);
    tcase_add_test(tc, long_input_truncates_message);
    tcase_add_test(tc, message_is_cut_at_its_size);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(error_suite());
}
