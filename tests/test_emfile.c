/*
 * test_emfile.c - calls made at the descriptor limit (RLIMIT_NOFILE):
 * accept reports EMFILE as a temporary NB_ERR_SYSTEM without losing the
 * pending connection, socket creation fails cleanly with op "socket", and
 * the same calls work again as soon as one descriptor is free.
 *
 * The limit is lowered just above the descriptors already open and the
 * rest is filled with dup()s of /dev/null until dup itself says EMFILE, so
 * the test adapts to whatever the process inherited.  Under valgrind the
 * limit is emulated: the kernel still hands out a descriptor above it,
 * which valgrind closes before saying EMFILE (an accepted connection is
 * then lost by valgrind, not by the library); /proc/self/limits tells the
 * two cases apart.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

#define HEADROOM 8        /* descriptors allowed above the highest open one */
#define MAX_FILL 4096

static struct rlimit saved_limit;
static int fillers[MAX_FILL];
static int nfill;
static int devnull = -1;
static int fds_at_start;
static int kernel_limit;  /* 1: the kernel enforces the limit we set */
static char emfile_text[128];
/* Files are made under base_dir, which the unchecked fixture makes once
 * and removes with its contents (in fork mode a failed test's teardown
 * never runs). */
static char base_dir[64], stale_path[128];

static void make_base_dir(void)
{
    th_make_dir(base_dir, "nb-test-emfile");
}

static void remove_base_dir(void)
{
    th_remove_tree(base_dir);
}

static void unfill(void)
{
    while (nfill > 0)
        close(fillers[--nfill]);
}

static void setup(void)
{
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
    nfill = 0;
    devnull = -1;
    fds_at_start = th_count_fds();
    snprintf(emfile_text, sizeof(emfile_text), "%s", strerror(EMFILE));
}

/* Runs after every test, failed or not (also with CK_FORK=no). */
static void teardown(void)
{
    unfill();
    if (devnull >= 0)
        close(devnull);
    devnull = -1;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
}

/* The highest descriptor open below the current soft limit. */
static int highest_fd(void)
{
    struct rlimit now;
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int highest = -1, self;

    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
    self = dirfd(dir);
    while ((ent = readdir(dir)) != NULL) {
        int fd;
        if (ent->d_name[0] == '.')
            continue;
        fd = atoi(ent->d_name);
        if (fd != self && (rlim_t)fd < now.rlim_cur && fd > highest)
            highest = fd;
    }
    closedir(dir);
    return highest;
}

/* The soft "Max open files" the kernel itself enforces. */
static long kernel_soft_limit(void)
{
    char line[256];
    long soft = -1;
    FILE *f = fopen("/proc/self/limits", "r");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "Max open files", 14) == 0)
            soft = strtol(line + 14, NULL, 10);
    fclose(f);
    return soft;
}

/* Lowers the soft limit to just above the open descriptors and takes every
 * free one below it.  Afterwards no descriptor can be created. */
static void fill_to_limit(void)
{
    struct rlimit low = saved_limit;
    int fd;

    if (devnull < 0)
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(devnull, 0);
    low.rlim_cur = (rlim_t)highest_fd() + 1 + HEADROOM;
    ck_assert_msg(low.rlim_cur <= saved_limit.rlim_cur && low.rlim_cur < MAX_FILL,
                  "cannot lower the limit to %lu", (unsigned long)low.rlim_cur);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    kernel_limit = kernel_soft_limit() == (long)low.rlim_cur;
    for (;;) {
        errno = 0;
        fd = dup(devnull);
        if (fd < 0)
            break;
        ck_assert_int_lt(nfill, MAX_FILL);
        fillers[nfill++] = fd;
    }
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_int_ge(nfill, HEADROOM);
}

/* Frees one descriptor (the highest filler); returns its number, which is
 * then the only one that can be created. */
static int release_one(void)
{
    ck_assert_int_gt(nfill, 0);
    nfill--;
    close(fillers[nfill]);
    return fillers[nfill];
}

/* Takes the freed descriptor again. */
static void refill(int fd)
{
    ck_assert_int_eq(dup(devnull), fd);
    fillers[nfill++] = fd;
}

static void assert_emfile(const nb_error *e, const char *op)
{
    th_assert_error(e, NB_ERR_SYSTEM, op);
    ck_assert_int_eq(e->sys_errno, EMFILE);
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_int_eq(nb_error_is_temporary(e), 1);
    ck_assert_msg(strstr(e->message, emfile_text) != NULL,
                  "message \"%s\" does not say \"%s\"", e->message, emfile_text);
}

static int local_port_of(int fd)
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return nb_addr_port(&a);
}

/* ------------------------------------------------------------- accept */

#define ACCEPT_TRIES 2   /* failing accepts made at the limit */

START_TEST(accept_at_fd_limit_is_temporary_emfile_and_keeps_connection)
{
    int clients[ACCEPT_TRIES + 1], client_ports[ACCEPT_TRIES + 1];
    char port[8], want[8], buf[8], where[32];
    nb_error e;
    nb_addr peer;
    int64_t t0, took;
    int listener, fd, freed, expect, i;

    listener = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(listener, 0);
    th_port_of(listener, port);
    /* clients connect (and send) before the limit is reached */
    for (i = 0; i <= ACCEPT_TRIES; i++) {
        clients[i] = nb_tcp_connect("127.0.0.1", port, 2000, 0, NULL);
        ck_assert_int_ge(clients[i], 0);
        client_ports[i] = local_port_of(clients[i]);
        snprintf(buf, sizeof(buf), "c%d", i);
        ck_assert_int_eq(nb_send_all(clients[i], buf, 2, 2000, NULL), 2);
    }

    fill_to_limit();
    nb_error_clear(&e);
    errno = 0;
    t0 = th_now_ms();
    ck_assert_int_eq(nb_tcp_accept(listener, &peer, 0, &e), -1);
    took = th_now_ms() - t0;
    assert_emfile(&e, "accept");
    /* reported at once, not waited on or looped on */
    ck_assert_msg(took < 1000, "accept spent %lld ms on EMFILE",
                  (long long)took);
    /* the message names the listener by its own address */
    {
        nb_addr local;
        ck_assert_int_eq(nb_local_addr(listener, &local, NULL), 0);
        nb_addr_format(&local, where, sizeof(where));
    }
    ck_assert_str_eq(e.addr, where);
    nb_error_clear(&e);
    errno = 0;
    ck_assert_int_eq(nb_tcp_accept(listener, NULL, NB_NONBLOCK | NB_NODELAY, &e),
                     -1);
    assert_emfile(&e, "accept");

    /* one free descriptor: the connection that waited is accepted into it */
    freed = release_one();
    nb_error_clear(&e);
    fd = nb_tcp_accept(listener, &peer, 0, &e);
    ck_assert_msg(fd == freed, "accept gave %d (want %d): %s", fd, freed,
                  e.message);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    unfill();

    /* The kernel leaves a connection queued when accept fails with EMFILE.
     * Under an emulated limit each failing accept cost one connection. */
    expect = kernel_limit ? 0 : ACCEPT_TRIES;
    ck_assert_int_eq(nb_addr_port(&peer), client_ports[expect]);
    snprintf(want, sizeof(want), "c%d", expect);
    ck_assert_int_eq(nb_recv_all(fd, buf, 2, 2000, &e), 2);
    ck_assert_int_eq(memcmp(buf, want, 2), 0);
    close(fd);

    if (kernel_limit) {
        /* and nothing else was lost: the others are still pending */
        for (i = 1; i <= ACCEPT_TRIES; i++) {
            fd = nb_tcp_accept(listener, &peer, 0, &e);
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(nb_addr_port(&peer), client_ports[i]);
            close(fd);
        }
    }
    for (i = 0; i <= ACCEPT_TRIES; i++)
        close(clients[i]);
    close(listener);
    close(devnull);
    devnull = -1;
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}
END_TEST

/* -------------------------------------------------- socket creation */

struct env {
    int tcp_listener;
    char tcp_port[8];
    int unix_listener;
    char unix_name[64];
    char other_name[64];
};

typedef int (*create_fn)(const struct env *env, nb_error *e);

static int tcp_listen_numeric(const struct env *env, nb_error *e)
{
    (void)env;
    return nb_tcp_listen("127.0.0.1", "0", 0, 0, e);
}

static int tcp_listen_wildcard(const struct env *env, nb_error *e)
{
    (void)env;
    return nb_tcp_listen(NULL, "0", 0, 0, e);
}

static int tcp_connect_untimed(const struct env *env, nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env->tcp_port, 0, 0, e);
}

static int tcp_connect_timed(const struct env *env, nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env->tcp_port, 2000, NB_NODELAY, e);
}

static int udp_bind_numeric(const struct env *env, nb_error *e)
{
    (void)env;
    return nb_udp_bind("127.0.0.1", "0", 0, e);
}

static int udp_connect_numeric(const struct env *env, nb_error *e)
{
    return nb_udp_connect("127.0.0.1", env->tcp_port, 0, e);
}

static int unix_listen_abstract(const struct env *env, nb_error *e)
{
    return nb_unix_listen(env->other_name, 0, 0, e);
}

static int unix_bind_abstract(const struct env *env, nb_error *e)
{
    return nb_unix_bind(env->other_name, 0, e);
}

static int unix_connect_abstract(const struct env *env, nb_error *e)
{
    return nb_unix_connect(env->unix_name, 1000, 0, e);
}

static const struct {
    const char *name;
    create_fn call;
} create_table[] = {
    { "nb_tcp_listen 127.0.0.1", tcp_listen_numeric },
    { "nb_tcp_listen wildcard", tcp_listen_wildcard },
    { "nb_tcp_connect", tcp_connect_untimed },
    { "nb_tcp_connect with timeout", tcp_connect_timed },
    { "nb_udp_bind", udp_bind_numeric },
    { "nb_udp_connect", udp_connect_numeric },
    { "nb_unix_listen", unix_listen_abstract },
    { "nb_unix_bind", unix_bind_abstract },
    { "nb_unix_connect", unix_connect_abstract },
};

START_TEST(socket_creation_at_fd_limit_fails_with_emfile_then_works)
{
    struct env env;
    nb_error e;
    int fd, freed, i;

    env.tcp_listener = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(env.tcp_listener, 0);
    th_port_of(env.tcp_listener, env.tcp_port);
    snprintf(env.unix_name, sizeof(env.unix_name), "@nb-test-emfile-%ld-%d",
             (long)getpid(), _i);
    snprintf(env.other_name, sizeof(env.other_name),
             "@nb-test-emfile-other-%ld-%d", (long)getpid(), _i);
    env.unix_listener = nb_unix_listen(env.unix_name, 0, 0, NULL);
    ck_assert_int_ge(env.unix_listener, 0);

    fill_to_limit();
    for (i = 0; i < 2; i++) {  /* twice: a failure leaves nothing behind */
        nb_error_clear(&e);
        errno = 0;
        fd = create_table[_i].call(&env, &e);
        ck_assert_msg(fd == -1, "%s succeeded at the limit",
                      create_table[_i].name);
        assert_emfile(&e, "socket");
    }
    /* exactly one descriptor free: the call takes exactly that one */
    freed = release_one();
    nb_error_clear(&e);
    fd = create_table[_i].call(&env, &e);
    ck_assert_msg(fd == freed, "%s gave %d (want %d): %s",
                  create_table[_i].name, fd, freed, e.message);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    close(fd);
    refill(freed);
    /* and at the limit again, it fails again */
    nb_error_clear(&e);
    ck_assert_int_eq(create_table[_i].call(&env, &e), -1);
    assert_emfile(&e, "socket");
    unfill();

    close(env.tcp_listener);
    close(env.unix_listener);
    close(devnull);
    devnull = -1;
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}
END_TEST

/* The address the failed step was about is named in the error. */
START_TEST(socket_failure_at_fd_limit_names_the_address)
{
    nb_error e;
    char port[8], want[NB_ERRMSG_SIZE];
    int listener;

    listener = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(listener, 0);
    th_port_of(listener, port);
    fill_to_limit();

    ck_assert_int_eq(nb_tcp_listen("127.0.0.1", "0", 0, 0, &e), -1);
    ck_assert_str_eq(e.addr, "127.0.0.1:0");
    snprintf(want, sizeof(want), "socket 127.0.0.1:0: %s", emfile_text);
    ck_assert_str_eq(e.message, want);

    ck_assert_int_eq(nb_tcp_connect("127.0.0.1", port, 0, 0, &e), -1);
    snprintf(want, sizeof(want), "127.0.0.1:%s", port);
    ck_assert_str_eq(e.addr, want);
    ck_assert_int_le(e.attempts, 1);

    ck_assert_int_eq(nb_udp_bind("127.0.0.1", "0", 0, &e), -1);
    ck_assert_str_eq(e.addr, "127.0.0.1:0");

    unfill();
    close(listener);
    close(devnull);
    devnull = -1;
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}
END_TEST

/* Replacing a stale socket file takes a second descriptor (a probe that
 * finds nobody listening).  With only one descriptor free the call may
 * succeed or fail with a temporary EMFILE, but it must not call the stale
 * file "in use": EADDRINUSE is documented for live sockets and other files
 * only, and it is permanent (an accept loop would give up).
 * Row 0: nb_unix_listen over a stream socket file; row 1: nb_unix_bind
 * over a datagram one. */
START_TEST(stale_unix_file_with_one_free_fd_is_not_eaddrinuse)
{
    int type = _i == 0 ? SOCK_STREAM : SOCK_DGRAM;
    struct sockaddr_un sun;
    struct stat st;
    nb_error e;
    int fd, freed;

    snprintf(stale_path, sizeof(stale_path), "%s/stale-%d.sock", base_dir, _i);
    /* a socket file whose socket is gone */
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, stale_path);
    fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);

    fill_to_limit();
    freed = release_one();
    nb_error_clear(&e);
    errno = 0;
    fd = type == SOCK_STREAM ? nb_unix_listen(stale_path, 0, 0, &e)
                             : nb_unix_bind(stale_path, 0, &e);
    if (fd >= 0) {
        ck_assert_int_eq(fd, freed);
        ck_assert_int_eq(th_is_cloexec(fd), 1);
        close(fd);
    } else {
        int saved = errno;
        /* nothing left open: the freed descriptor is still the free one */
        ck_assert_int_eq(dup(devnull), freed);
        close(freed);
        ck_assert_msg(e.sys_errno == EMFILE,
                      "stale socket file, one descriptor free: \"%s\" "
                      "(want success or EMFILE)", e.message);
        ck_assert_int_eq(saved, EMFILE);
        ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    }
    unfill();
    close(devnull);
    devnull = -1;
    ck_assert_int_eq(lstat(stale_path, &st), 0);  /* replaced or kept */
    ck_assert_int_eq(unlink(stale_path), 0);
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}
END_TEST

/* The test's own machinery: the limit really is back afterwards. */
START_TEST(limit_is_restored_after_filling)
{
    struct rlimit now;

    fill_to_limit();
    unfill();
    teardown();
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
    ck_assert_uint_eq(now.rlim_cur, saved_limit.rlim_cur);
    ck_assert_uint_eq(now.rlim_max, saved_limit.rlim_max);
    ck_assert_int_eq(th_count_fds(), fds_at_start);
}
END_TEST

static Suite *emfile_suite(void)
{
    Suite *s = suite_create("emfile");
    TCase *tc = tcase_create("emfile");

    tcase_add_unchecked_fixture(tc, make_base_dir, remove_base_dir);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 15);
    tcase_add_test(tc, accept_at_fd_limit_is_temporary_emfile_and_keeps_connection);
    tcase_add_loop_test(tc, socket_creation_at_fd_limit_fails_with_emfile_then_works,
                        0, sizeof(create_table) / sizeof(create_table[0]));
    tcase_add_test(tc, socket_failure_at_fd_limit_names_the_address);
    tcase_add_loop_test(tc, stale_unix_file_with_one_free_fd_is_not_eaddrinuse,
                        0, 2);
    tcase_add_test(tc, limit_is_restored_after_filling);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(emfile_suite());
}
