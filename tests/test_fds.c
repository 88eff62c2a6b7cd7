/*
 * test_fds.c - descriptor hygiene of every call that creates one: a
 * success adds exactly one descriptor, close-on-exec (and non-blocking
 * exactly when asked); a failure, whatever its cause, leaves the set of
 * open descriptors as it was.  And a descriptor the library returned is
 * really gone in a program started with exec.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

/* ------------------------------------------------------------ fixture */

/* What the rows work against; made fresh for every row. */
struct env {
    char dir[96];               /* a private directory in base_dir */
    char live[128];             /* a listening Unix stream socket */
    char stale[128];            /* a socket file nobody listens on */
    char stale_dgram[128];      /* the same, of a datagram socket */
    char dgram[128];            /* a bound Unix datagram socket */
    char file[128];             /* a regular file */
    char fresh[128];            /* nothing there yet */
    char missing_dir[128];      /* in a directory that does not exist */
    char too_long[200];         /* does not fit sun_path */
    char abstract[64];          /* "@..." with a listener */
    char abstract_free[64];     /* "@..." nobody uses */
    int tcp_listener;           /* 127.0.0.1, for connects */
    char tcp_port[8];
    int tcp6_listener;          /* ::1, -1 without IPv6 */
    char tcp6_port[8];
    int acc_listener;           /* 127.0.0.1 with a connection pending */
    int acc_client;
    int empty_listener;         /* non-blocking, nothing pending */
    int refuser;                /* bound TCP socket, not listening */
    char refused_port[8];
    int udp;                    /* bound UDP socket */
    char udp_port[8];
    int unix_listener;          /* on live, with a connection pending */
    int unix_client;
    int abstract_listener;      /* on abstract */
    int dgram_fd;               /* on dgram */
    int pipe_fds[2];
    int unbound_tcp;            /* a TCP socket that never listened */
    int closed_fd;              /* a number that is not open */
    struct th_stall stall;      /* only for rows that need it */
    int have_stall;
    int full_unix;              /* a Unix listener with a full backlog */
    int full_fillers[TH_MAX_FILLERS];
    int nfull;
    char full_name[64];
};

static struct env env;
static int serial;

/* Each row works in a directory of its own under base_dir, which the
 * unchecked fixture makes once and removes with everything in it: in
 * fork mode a failed row's teardown never runs, so its files are swept
 * away there. */
static char base_dir[64];

static void make_base_dir(void)
{
    th_make_dir(base_dir, "nb-test-fds");
}

static void remove_base_dir(void)
{
    th_remove_tree(base_dir);
}

static int unix_socket_at(const char *path, int type, int listening)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (path[0] == '@') {
        memcpy(sun.sun_path + 1, path + 1, strlen(path) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    } else {
        ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
        strcpy(sun.sun_path, path);
        len = (socklen_t)sizeof(sun);
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
    if (listening)
        ck_assert_int_eq(listen(fd, 8), 0);
    return fd;
}

static int unix_connect_raw(const char *path, int nonblock)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
                    (nonblock ? SOCK_NONBLOCK : 0), 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (path[0] == '@') {
        memcpy(sun.sun_path + 1, path + 1, strlen(path) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    } else {
        strcpy(sun.sun_path, path);
        len = (socklen_t)sizeof(sun);
    }
    if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_connect_raw(int family, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t len = th_loopback(&ss, family, atoi(port));
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
    return fd;
}

static void setup(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    memset(&env, 0, sizeof(env));
    snprintf(env.dir, sizeof(env.dir), "%s/row-XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(env.dir));
    snprintf(env.live, sizeof(env.live), "%s/live.sock", env.dir);
    snprintf(env.stale, sizeof(env.stale), "%s/stale.sock", env.dir);
    snprintf(env.stale_dgram, sizeof(env.stale_dgram), "%s/stale-dgram.sock",
             env.dir);
    snprintf(env.dgram, sizeof(env.dgram), "%s/dgram.sock", env.dir);
    snprintf(env.file, sizeof(env.file), "%s/file", env.dir);
    snprintf(env.fresh, sizeof(env.fresh), "%s/fresh.sock", env.dir);
    snprintf(env.missing_dir, sizeof(env.missing_dir), "%s/no/such.sock",
             env.dir);
    memset(env.too_long, 'x', sizeof(env.too_long) - 1);
    env.too_long[0] = '/';
    env.too_long[sizeof(env.too_long) - 1] = '\0';
    snprintf(env.abstract, sizeof(env.abstract), "@nb-test-fds-%ld-%d",
             (long)getpid(), serial);
    snprintf(env.abstract_free, sizeof(env.abstract_free),
             "@nb-test-fds-free-%ld-%d", (long)getpid(), serial);
    snprintf(env.full_name, sizeof(env.full_name), "@nb-test-fds-full-%ld-%d",
             (long)getpid(), serial);
    serial++;

    env.tcp_listener = th_raw_listener(AF_INET, 16, env.tcp_port);
    env.tcp6_listener = th_have_ipv6() ? th_raw_listener(AF_INET6, 16,
                                                         env.tcp6_port) : -1;
    {
        char port[8];
        env.acc_listener = th_raw_listener(AF_INET, 4, port);
        env.acc_client = tcp_connect_raw(AF_INET, port);
        env.empty_listener = th_raw_listener(AF_INET, 4, port);
        ck_assert_int_ne(fcntl(env.empty_listener, F_SETFL, O_NONBLOCK), -1);
    }

    /* a port that refuses: bound, never listening */
    env.refuser = th_refusing_port(AF_INET, env.refused_port);

    env.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(env.udp, 0);
    len = th_loopback(&ss, AF_INET, 0);
    ck_assert_int_eq(bind(env.udp, (struct sockaddr *)&ss, len), 0);
    th_port_of(env.udp, env.udp_port);

    env.unix_listener = unix_socket_at(env.live, SOCK_STREAM, 1);
    env.unix_client = unix_connect_raw(env.live, 0);
    ck_assert_int_ge(env.unix_client, 0);
    env.abstract_listener = unix_socket_at(env.abstract, SOCK_STREAM, 1);
    env.dgram_fd = unix_socket_at(env.dgram, SOCK_DGRAM, 0);
    close(unix_socket_at(env.stale, SOCK_STREAM, 1));
    close(unix_socket_at(env.stale_dgram, SOCK_DGRAM, 0));
    fd = open(env.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);

    ck_assert_int_eq(pipe2(env.pipe_fds, O_CLOEXEC), 0);
    env.unbound_tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(env.unbound_tcp, 0);
    env.closed_fd = dup(env.unbound_tcp);
    ck_assert_int_ge(env.closed_fd, 0);
    close(env.closed_fd);
    env.have_stall = 0;
    env.full_unix = -1;
}

static void close_if_open(int fd)
{
    if (fd >= 0)
        close(fd);
}

static void teardown(void)
{
    const char *files[] = { env.live, env.stale, env.stale_dgram, env.dgram,
                            env.file, env.fresh };
    size_t i;

    if (env.have_stall)
        th_stall_close(&env.stall);
    env.have_stall = 0;
    for (i = 0; i < (size_t)env.nfull; i++)
        close(env.full_fillers[i]);
    env.nfull = 0;
    close_if_open(env.full_unix);
    close_if_open(env.tcp_listener);
    close_if_open(env.tcp6_listener);
    close_if_open(env.acc_listener);
    close_if_open(env.acc_client);
    close_if_open(env.empty_listener);
    close_if_open(env.refuser);
    close_if_open(env.udp);
    close_if_open(env.unix_listener);
    close_if_open(env.unix_client);
    close_if_open(env.abstract_listener);
    close_if_open(env.dgram_fd);
    close_if_open(env.pipe_fds[0]);
    close_if_open(env.pipe_fds[1]);
    close_if_open(env.unbound_tcp);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(env.dir);
}

/* Extra fixtures, made only for the rows that need them. */
#define NEED_IPV6 0x1
#define NEED_STALL 0x2
#define NEED_FULL_UNIX 0x4

static void make_full_unix(void)
{
    env.full_unix = unix_socket_at(env.full_name, SOCK_STREAM, 0);
    ck_assert_int_eq(listen(env.full_unix, 1), 0);
    for (;;) {
        int fd = unix_connect_raw(env.full_name, 1);
        if (fd < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            break;
        }
        ck_assert_int_lt(env.nfull, TH_MAX_FILLERS);
        env.full_fillers[env.nfull++] = fd;
    }
}

/* ------------------------------------------------------------- the rows */

typedef int (*call_fn)(nb_error *e);

/* tcp listen */
static int listen_loopback(nb_error *e) { return nb_tcp_listen("127.0.0.1", "0", 0, 0, e); }
static int listen_wildcard(nb_error *e) { return nb_tcp_listen(NULL, "0", 0, 0, e); }
static int listen_star(nb_error *e) { return nb_tcp_listen("*", "0", 0, NB_IPV4_ONLY, e); }
static int listen_v6(nb_error *e) { return nb_tcp_listen("::1", "0", 0, NB_IPV6_ONLY, e); }
static int listen_all_flags(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "0", 4,
                         NB_NONBLOCK | NB_REUSEPORT | NB_IPV4_ONLY | NB_NODELAY, e);
}
static int listen_localhost(nb_error *e) { return nb_tcp_listen("localhost", "0", 0, 0, e); }
static int listen_bad_flags(nb_error *e) { return nb_tcp_listen("127.0.0.1", "0", 0, 0x100, e); }
static int listen_both_families(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "0", 0, NB_IPV4_ONLY | NB_IPV6_ONLY, e);
}
static int listen_port_too_big(nb_error *e) { return nb_tcp_listen("127.0.0.1", "65536", 0, 0, e); }
static int listen_port_empty(nb_error *e) { return nb_tcp_listen("127.0.0.1", "", 0, 0, e); }
static int listen_port_null(nb_error *e) { return nb_tcp_listen("127.0.0.1", NULL, 0, 0, e); }
static int listen_unknown_service(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "nb-no-such-service", 0, 0, e);
}
static int listen_unresolvable(nb_error *e) { return nb_tcp_listen(TH_UNRESOLVABLE, "0", 0, 0, e); }
static int listen_in_use(nb_error *e) { return nb_tcp_listen("127.0.0.1", env.tcp_port, 0, 0, e); }
static int listen_v4_address_v6_only(nb_error *e)
{
    return nb_tcp_listen("127.0.0.1", "0", 0, NB_IPV6_ONLY, e);
}

/* tcp accept */
static int accept_blocking(nb_error *e)
{
    nb_addr peer;
    return nb_tcp_accept(env.acc_listener, &peer, 0, e);
}
static int accept_nonblock_nodelay(nb_error *e)
{
    return nb_tcp_accept(env.acc_listener, NULL, NB_NONBLOCK | NB_NODELAY, e);
}
static int accept_unix(nb_error *e) { return nb_tcp_accept(env.unix_listener, NULL, 0, e); }
static int accept_minus_one(nb_error *e) { return nb_tcp_accept(-1, NULL, 0, e); }
static int accept_closed_fd(nb_error *e) { return nb_tcp_accept(env.closed_fd, NULL, 0, e); }
static int accept_pipe(nb_error *e) { return nb_tcp_accept(env.pipe_fds[0], NULL, 0, e); }
static int accept_not_listening(nb_error *e) { return nb_tcp_accept(env.unbound_tcp, NULL, 0, e); }
static int accept_udp(nb_error *e) { return nb_tcp_accept(env.udp, NULL, 0, e); }
static int accept_nothing_pending(nb_error *e) { return nb_tcp_accept(env.empty_listener, NULL, 0, e); }
static int accept_bad_flags(nb_error *e) { return nb_tcp_accept(env.acc_listener, NULL, NB_REUSEPORT, e); }
/* NB_NODELAY does not apply to a Unix connection: it is accepted as is */
static int accept_unix_nodelay(nb_error *e)
{
    return nb_tcp_accept(env.unix_listener, NULL, NB_NODELAY, e);
}

/* tcp connect */
static int connect_untimed(nb_error *e) { return nb_tcp_connect("127.0.0.1", env.tcp_port, 0, 0, e); }
static int connect_timed(nb_error *e) { return nb_tcp_connect("127.0.0.1", env.tcp_port, 2000, 0, e); }
static int connect_nonblock(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.tcp_port, 0, NB_NONBLOCK | NB_NODELAY, e);
}
static int connect_localhost(nb_error *e) { return nb_tcp_connect("localhost", env.tcp_port, 2000, 0, e); }
static int connect_v6(nb_error *e) { return nb_tcp_connect("::1", env.tcp6_port, 2000, NB_IPV6_ONLY, e); }
static int connect_refused(nb_error *e) { return nb_tcp_connect("127.0.0.1", env.refused_port, 0, 0, e); }
static int connect_refused_timed(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.refused_port, 2000, 0, e);
}
static int connect_refused_nonblock(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.refused_port, 0, NB_NONBLOCK, e);
}
static int connect_refused_localhost(nb_error *e)
{
    return nb_tcp_connect("localhost", env.refused_port, 2000, 0, e);
}
static int connect_stalled(nb_error *e) { return nb_tcp_connect("127.0.0.1", env.stall.port, 100, 0, e); }
static int connect_stalled_nonblock(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.stall.port, 100, NB_NONBLOCK | NB_NODELAY, e);
}
static int connect_unresolvable(nb_error *e) { return nb_tcp_connect(TH_UNRESOLVABLE, "80", 0, 0, e); }
static int connect_bad_port(nb_error *e) { return nb_tcp_connect("127.0.0.1", "80 ", 0, 0, e); }
static int connect_port_negative(nb_error *e) { return nb_tcp_connect("127.0.0.1", "-1", 0, 0, e); }
static int connect_null_host(nb_error *e) { return nb_tcp_connect(NULL, "80", 0, 0, e); }
static int connect_empty_host(nb_error *e) { return nb_tcp_connect("", "80", 0, 0, e); }
static int connect_bad_flags(nb_error *e) { return nb_tcp_connect("127.0.0.1", env.tcp_port, 0, NB_REUSEPORT, e); }
static int connect_both_families(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.tcp_port, 0, NB_IPV4_ONLY | NB_IPV6_ONLY, e);
}
static int connect_v4_address_v6_only(nb_error *e)
{
    return nb_tcp_connect("127.0.0.1", env.tcp_port, 0, NB_IPV6_ONLY, e);
}

/* udp bind */
static int udp_bind_loopback(nb_error *e) { return nb_udp_bind("127.0.0.1", "0", 0, e); }
static int udp_bind_wildcard_reuseport(nb_error *e) { return nb_udp_bind(NULL, "0", NB_REUSEPORT, e); }
static int udp_bind_nonblock(nb_error *e) { return nb_udp_bind("127.0.0.1", "0", NB_NONBLOCK, e); }
static int udp_bind_in_use(nb_error *e) { return nb_udp_bind("127.0.0.1", env.udp_port, 0, e); }
static int udp_bind_bad_flags(nb_error *e) { return nb_udp_bind("127.0.0.1", "0", NB_NODELAY, e); }
static int udp_bind_unresolvable(nb_error *e) { return nb_udp_bind(TH_UNRESOLVABLE, "0", 0, e); }
static int udp_bind_bad_port(nb_error *e) { return nb_udp_bind("127.0.0.1", "99999", 0, e); }

/* udp connect */
static int udp_connect_loopback(nb_error *e) { return nb_udp_connect("127.0.0.1", env.udp_port, 0, e); }
static int udp_connect_nonblock(nb_error *e) { return nb_udp_connect("localhost", env.udp_port, NB_NONBLOCK, e); }
static int udp_connect_null_host(nb_error *e) { return nb_udp_connect(NULL, "53", 0, e); }
static int udp_connect_bad_port(nb_error *e) { return nb_udp_connect("127.0.0.1", "", 0, e); }
static int udp_connect_bad_flags(nb_error *e) { return nb_udp_connect("127.0.0.1", "53", NB_REUSEPORT, e); }
static int udp_connect_unresolvable(nb_error *e) { return nb_udp_connect(TH_UNRESOLVABLE, "53", 0, e); }

/* unix listen */
static int unix_listen_fresh(nb_error *e) { return nb_unix_listen(env.fresh, 0, 0, e); }
static int unix_listen_abstract(nb_error *e) { return nb_unix_listen(env.abstract_free, 0, NB_NONBLOCK, e); }
static int unix_listen_over_stale(nb_error *e) { return nb_unix_listen(env.stale, 0, 0, e); }
static int unix_listen_live(nb_error *e) { return nb_unix_listen(env.live, 0, 0, e); }
static int unix_listen_file(nb_error *e) { return nb_unix_listen(env.file, 0, 0, e); }
static int unix_listen_missing_dir(nb_error *e) { return nb_unix_listen(env.missing_dir, 0, 0, e); }
static int unix_listen_too_long(nb_error *e) { return nb_unix_listen(env.too_long, 0, 0, e); }
static int unix_listen_null(nb_error *e) { return nb_unix_listen(NULL, 0, 0, e); }
static int unix_listen_empty(nb_error *e) { return nb_unix_listen("", 0, 0, e); }
static int unix_listen_bad_flags(nb_error *e) { return nb_unix_listen(env.fresh, 0, NB_NODELAY, e); }
static int unix_listen_abstract_in_use(nb_error *e) { return nb_unix_listen(env.abstract, 0, 0, e); }

/* unix connect */
static int unix_connect_live(nb_error *e) { return nb_unix_connect(env.live, 0, 0, e); }
static int unix_connect_timed_nonblock(nb_error *e) { return nb_unix_connect(env.live, 2000, NB_NONBLOCK, e); }
static int unix_connect_abstract(nb_error *e) { return nb_unix_connect(env.abstract, 0, 0, e); }
static int unix_connect_missing(nb_error *e) { return nb_unix_connect(env.fresh, 0, 0, e); }
static int unix_connect_stale(nb_error *e) { return nb_unix_connect(env.stale, 0, 0, e); }
static int unix_connect_abstract_free(nb_error *e) { return nb_unix_connect(env.abstract_free, 0, 0, e); }
static int unix_connect_dgram(nb_error *e) { return nb_unix_connect(env.dgram, 0, 0, e); }
static int unix_connect_too_long(nb_error *e) { return nb_unix_connect(env.too_long, 0, 0, e); }
static int unix_connect_bad_flags(nb_error *e) { return nb_unix_connect(env.live, 0, NB_IPV4_ONLY, e); }
static int unix_connect_full(nb_error *e) { return nb_unix_connect(env.full_name, 100, 0, e); }

/* unix bind */
static int unix_bind_fresh(nb_error *e) { return nb_unix_bind(env.fresh, 0, e); }
static int unix_bind_abstract(nb_error *e) { return nb_unix_bind(env.abstract_free, NB_NONBLOCK, e); }
static int unix_bind_over_stale(nb_error *e) { return nb_unix_bind(env.stale_dgram, 0, e); }
static int unix_bind_in_use(nb_error *e) { return nb_unix_bind(env.dgram, 0, e); }
static int unix_bind_file(nb_error *e) { return nb_unix_bind(env.file, 0, e); }
static int unix_bind_missing_dir(nb_error *e) { return nb_unix_bind(env.missing_dir, 0, e); }
static int unix_bind_too_long(nb_error *e) { return nb_unix_bind(env.too_long, 0, e); }
static int unix_bind_bad_flags(nb_error *e) { return nb_unix_bind(env.fresh, NB_REUSEPORT, e); }

#define ANY_ERRNO (-1)   /* errno after NB_ERR_RESOLVE is getaddrinfo's */

static const struct row {
    const char *name;
    call_fn call;
    enum nb_code code;   /* NB_OK: a new descriptor is expected */
    const char *op;      /* failures: the step named */
    int sys_errno;       /* failures: err->sys_errno */
    int want_errno;      /* failures: errno after the call */
    int nonblock;        /* successes: O_NONBLOCK expected */
    int needs;
} rows[] = {
    /* nb_tcp_listen */
    { "tcp_listen loopback", listen_loopback, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_listen wildcard", listen_wildcard, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_listen * IPv4", listen_star, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_listen ::1", listen_v6, NB_OK, NULL, 0, 0, 0, NEED_IPV6 },
    { "tcp_listen all flags", listen_all_flags, NB_OK, NULL, 0, 0, 1, 0 },
    { "tcp_listen localhost", listen_localhost, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_listen bad flags", listen_bad_flags, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "tcp_listen both families", listen_both_families, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "tcp_listen port 65536", listen_port_too_big, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "tcp_listen empty port", listen_port_empty, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "tcp_listen NULL port", listen_port_null, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "tcp_listen unknown service", listen_unknown_service, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    { "tcp_listen unresolvable", listen_unresolvable, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    { "tcp_listen in use", listen_in_use, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "tcp_listen IPv4 address, IPv6 only", listen_v4_address_v6_only, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    /* nb_tcp_accept */
    { "tcp_accept blocking", accept_blocking, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_accept nonblock nodelay", accept_nonblock_nodelay, NB_OK, NULL, 0, 0, 1, 0 },
    { "tcp_accept unix listener", accept_unix, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_accept -1", accept_minus_one, NB_ERR_ARG, "accept", 0, EINVAL, 0, 0 },
    { "tcp_accept closed fd", accept_closed_fd, NB_ERR_ARG, "accept", 0, EBADF, 0, 0 },
    { "tcp_accept pipe", accept_pipe, NB_ERR_ARG, "accept", 0, ENOTSOCK, 0, 0 },
    { "tcp_accept not listening", accept_not_listening, NB_ERR_ARG, "accept", 0, EINVAL, 0, 0 },
    { "tcp_accept udp socket", accept_udp, NB_ERR_ARG, "accept", 0, EINVAL, 0, 0 },
    { "tcp_accept nothing pending", accept_nothing_pending, NB_ERR_SYSTEM, "accept", EAGAIN, EAGAIN, 0, 0 },
    { "tcp_accept bad flags", accept_bad_flags, NB_ERR_ARG, "accept", 0, EINVAL, 0, 0 },
    { "tcp_accept unix with NODELAY", accept_unix_nodelay, NB_OK, NULL, 0, 0, 0, 0 },
    /* nb_tcp_connect */
    { "tcp_connect untimed", connect_untimed, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_connect timed", connect_timed, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_connect nonblock", connect_nonblock, NB_OK, NULL, 0, 0, 1, 0 },
    { "tcp_connect localhost", connect_localhost, NB_OK, NULL, 0, 0, 0, 0 },
    { "tcp_connect ::1", connect_v6, NB_OK, NULL, 0, 0, 0, NEED_IPV6 },
    { "tcp_connect refused", connect_refused, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "tcp_connect refused timed", connect_refused_timed, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "tcp_connect refused nonblock", connect_refused_nonblock, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "tcp_connect refused localhost", connect_refused_localhost, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "tcp_connect timeout", connect_stalled, NB_ERR_TIMEOUT, "connect", ETIMEDOUT, ETIMEDOUT, 0, NEED_STALL },
    { "tcp_connect timeout nonblock", connect_stalled_nonblock, NB_ERR_TIMEOUT, "connect", ETIMEDOUT, ETIMEDOUT, 0, NEED_STALL },
    { "tcp_connect unresolvable", connect_unresolvable, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    { "tcp_connect port \"80 \"", connect_bad_port, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect port -1", connect_port_negative, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect NULL host", connect_null_host, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect empty host", connect_empty_host, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect bad flags", connect_bad_flags, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect both families", connect_both_families, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "tcp_connect IPv4 address, IPv6 only", connect_v4_address_v6_only, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    /* nb_udp_bind */
    { "udp_bind loopback", udp_bind_loopback, NB_OK, NULL, 0, 0, 0, 0 },
    { "udp_bind wildcard reuseport", udp_bind_wildcard_reuseport, NB_OK, NULL, 0, 0, 0, 0 },
    { "udp_bind nonblock", udp_bind_nonblock, NB_OK, NULL, 0, 0, 1, 0 },
    { "udp_bind in use", udp_bind_in_use, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "udp_bind bad flags", udp_bind_bad_flags, NB_ERR_ARG, "bind", 0, EINVAL, 0, 0 },
    { "udp_bind unresolvable", udp_bind_unresolvable, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    { "udp_bind port 99999", udp_bind_bad_port, NB_ERR_ARG, "bind", 0, EINVAL, 0, 0 },
    /* nb_udp_connect */
    { "udp_connect loopback", udp_connect_loopback, NB_OK, NULL, 0, 0, 0, 0 },
    { "udp_connect localhost nonblock", udp_connect_nonblock, NB_OK, NULL, 0, 0, 1, 0 },
    { "udp_connect NULL host", udp_connect_null_host, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "udp_connect empty port", udp_connect_bad_port, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "udp_connect bad flags", udp_connect_bad_flags, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "udp_connect unresolvable", udp_connect_unresolvable, NB_ERR_RESOLVE, "resolve", 0, ANY_ERRNO, 0, 0 },
    /* nb_unix_listen */
    { "unix_listen path", unix_listen_fresh, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_listen abstract", unix_listen_abstract, NB_OK, NULL, 0, 0, 1, 0 },
    { "unix_listen over a stale socket", unix_listen_over_stale, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_listen live socket", unix_listen_live, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "unix_listen regular file", unix_listen_file, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "unix_listen missing directory", unix_listen_missing_dir, NB_ERR_SYSTEM, "bind", ENOENT, ENOENT, 0, 0 },
    { "unix_listen path too long", unix_listen_too_long, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "unix_listen NULL", unix_listen_null, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "unix_listen empty", unix_listen_empty, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "unix_listen bad flags", unix_listen_bad_flags, NB_ERR_ARG, "listen", 0, EINVAL, 0, 0 },
    { "unix_listen abstract in use", unix_listen_abstract_in_use, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    /* nb_unix_connect */
    { "unix_connect path", unix_connect_live, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_connect timed nonblock", unix_connect_timed_nonblock, NB_OK, NULL, 0, 0, 1, 0 },
    { "unix_connect abstract", unix_connect_abstract, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_connect missing", unix_connect_missing, NB_ERR_SYSTEM, "connect", ENOENT, ENOENT, 0, 0 },
    { "unix_connect stale", unix_connect_stale, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "unix_connect abstract unused", unix_connect_abstract_free, NB_ERR_SYSTEM, "connect", ECONNREFUSED, ECONNREFUSED, 0, 0 },
    { "unix_connect datagram socket", unix_connect_dgram, NB_ERR_SYSTEM, "connect", EPROTOTYPE, EPROTOTYPE, 0, 0 },
    { "unix_connect path too long", unix_connect_too_long, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "unix_connect bad flags", unix_connect_bad_flags, NB_ERR_ARG, "connect", 0, EINVAL, 0, 0 },
    { "unix_connect full backlog timeout", unix_connect_full, NB_ERR_TIMEOUT, "connect", ETIMEDOUT, ETIMEDOUT, 0, NEED_FULL_UNIX },
    /* nb_unix_bind */
    { "unix_bind path", unix_bind_fresh, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_bind abstract", unix_bind_abstract, NB_OK, NULL, 0, 0, 1, 0 },
    { "unix_bind over a stale socket", unix_bind_over_stale, NB_OK, NULL, 0, 0, 0, 0 },
    { "unix_bind in use", unix_bind_in_use, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "unix_bind regular file", unix_bind_file, NB_ERR_SYSTEM, "bind", EADDRINUSE, EADDRINUSE, 0, 0 },
    { "unix_bind missing directory", unix_bind_missing_dir, NB_ERR_SYSTEM, "bind", ENOENT, ENOENT, 0, 0 },
    { "unix_bind path too long", unix_bind_too_long, NB_ERR_ARG, "bind", 0, EINVAL, 0, 0 },
    { "unix_bind bad flags", unix_bind_bad_flags, NB_ERR_ARG, "bind", 0, EINVAL, 0, 0 },
};

/* Every row: exactly one new close-on-exec descriptor on success, none on
 * failure, and the failure is exactly the expected one. */
START_TEST(descriptor_accounting_row)
{
    const struct row *r = &rows[_i];
    nb_error e;
    int before, after, fd, got_errno;

    if ((r->needs & NEED_IPV6) && env.tcp6_listener < 0) {
        th_skip("%s: no IPv6 here", r->name);
        return;
    }
    if (r->needs & NEED_STALL) {
        th_stall_open(&env.stall, AF_INET);
        env.have_stall = 1;
    }
    if (r->needs & NEED_FULL_UNIX)
        make_full_unix();

    nb_error_clear(&e);
    before = th_count_fds();
    errno = 0;
    fd = r->call(&e);
    got_errno = errno;
    after = th_count_fds();

    if (r->code == NB_OK) {
        ck_assert_msg(fd >= 0, "%s failed: %s", r->name, e.message);
        ck_assert_msg(e.code == NB_OK, "%s: error object touched", r->name);
        ck_assert_msg(after == before + 1, "%s: %d descriptors, want %d",
                      r->name, after, before + 1);
        ck_assert_msg(th_is_cloexec(fd) == 1, "%s: not close-on-exec", r->name);
        ck_assert_msg(th_is_nonblock(fd) == r->nonblock,
                      "%s: O_NONBLOCK is %d, want %d", r->name,
                      th_is_nonblock(fd), r->nonblock);
        close(fd);
    } else {
        ck_assert_msg(fd == -1, "%s returned %d", r->name, fd);
        ck_assert_msg(after == before, "%s: %d descriptors after, %d before",
                      r->name, after, before);
        ck_assert_msg(e.code == r->code, "%s: code %s, want %s (%s)", r->name,
                      nb_code_name(e.code), nb_code_name(r->code), e.message);
        ck_assert_msg(strcmp(e.op, r->op) == 0, "%s: op \"%s\", want \"%s\"",
                      r->name, e.op, r->op);
        ck_assert_msg(strncmp(e.message, r->op, strlen(r->op)) == 0,
                      "%s: message \"%s\"", r->name, e.message);
        ck_assert_msg(e.sys_errno == r->sys_errno, "%s: sys_errno %d, want %d",
                      r->name, e.sys_errno, r->sys_errno);
        if (r->want_errno != ANY_ERRNO)
            ck_assert_msg(got_errno == r->want_errno, "%s: errno %d, want %d",
                          r->name, got_errno, r->want_errno);
        ck_assert_int_eq(e.attempts <= 1, 1);
    }
}
END_TEST

/* A listen that fails because a live socket has the path leaves that
 * socket alone (its file stays, and it still accepts). */
START_TEST(failed_unix_listen_keeps_the_live_socket)
{
    struct stat st;
    nb_error e;
    int before = th_count_fds(), fd;

    ck_assert_int_eq(nb_unix_listen(env.live, 0, 0, &e), -1);
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);
    ck_assert_int_eq(lstat(env.live, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    fd = nb_unix_connect(env.live, 1000, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    close(fd);
    /* a failure before bind leaves no file where there was none */
    ck_assert_int_eq(nb_unix_listen(env.missing_dir, 0, 0, &e), -1);
    ck_assert_int_eq(nb_unix_bind(env.fresh, 0x100, &e), -1);
    ck_assert_int_eq(lstat(env.fresh, &st), -1);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ----------------------------------------------------------- exec */

/* The inode of a socket, as /proc/PID/fd shows it: "socket:[N]". */
static unsigned long inode_of(int fd)
{
    struct stat st;

    ck_assert_int_eq(fstat(fd, &st), 0);
    return (unsigned long)st.st_ino;
}

/* Runs `ls -l /proc/self/fd` in a program started with exec and returns
 * what it printed (the caller frees it). */
static char *descriptors_after_exec(void)
{
    size_t size = 0, cap = 4096;
    char *out = malloc(cap);
    int p[2], status;
    pid_t pid;

    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* dup2 clears close-on-exec on the copy: stdout survives exec */
        if (dup2(p[1], 1) < 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", "exec ls -l /proc/self/fd", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        ssize_t n;
        if (size + 1024 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        n = read(p[0], out + size, cap - size - 1);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        size += (size_t)n;
    }
    out[size] = '\0';
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "ls exited with status %d: %s", status, out);
    return out;
}

static int listed(const char *listing, unsigned long inode)
{
    char needle[40];

    snprintf(needle, sizeof(needle), "socket:[%lu]", inode);
    return strstr(listing, needle) != NULL;
}

START_TEST(library_descriptors_are_not_inherited_across_exec)
{
    char port[8], uport[8], path[160], *listing;
    int fds[10], n = 0, control, i, before = th_count_fds();
    unsigned long inodes[10];

    /* a descriptor without close-on-exec: exec keeps it, and the listing
     * must show it, or the test could not see the others either */
    control = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(control, 0);

    fds[n] = nb_tcp_listen("127.0.0.1", "0", 0, 0, NULL);
    ck_assert_int_ge(fds[n], 0);
    th_port_of(fds[n++], port);
    fds[n++] = nb_tcp_connect("127.0.0.1", port, 0, 0, NULL);
    fds[n++] = nb_tcp_connect("127.0.0.1", port, 2000, NB_NONBLOCK, NULL);
    fds[n] = nb_tcp_accept(fds[0], NULL, 0, NULL);
    n++;
    fds[n] = nb_udp_bind("127.0.0.1", "0", 0, NULL);
    ck_assert_int_ge(fds[n], 0);
    th_port_of(fds[n++], uport);
    fds[n++] = nb_udp_connect("127.0.0.1", uport, 0, NULL);
    snprintf(path, sizeof(path), "%s/exec.sock", env.dir);
    fds[n++] = nb_unix_listen(path, 0, 0, NULL);
    fds[n++] = nb_unix_connect(path, 0, 0, NULL);
    fds[n] = nb_tcp_accept(fds[n - 2], NULL, 0, NULL);
    n++;
    snprintf(path, sizeof(path), "@nb-test-fds-exec-%ld", (long)getpid());
    fds[n++] = nb_unix_bind(path, 0, NULL);
    for (i = 0; i < n; i++) {
        ck_assert_msg(fds[i] >= 0, "descriptor %d was not made", i);
        inodes[i] = inode_of(fds[i]);
    }

    listing = descriptors_after_exec();
    ck_assert_msg(listed(listing, inode_of(control)),
                  "the inherited control socket is not listed:\n%s", listing);
    for (i = 0; i < n; i++)
        ck_assert_msg(!listed(listing, inodes[i]),
                      "descriptor %d (fd %d) was inherited:\n%s", i, fds[i],
                      listing);
    free(listing);

    close(control);
    for (i = 0; i < n; i++)
        close(fds[i]);
    snprintf(path, sizeof(path), "%s/exec.sock", env.dir);
    unlink(path);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

static Suite *fds_suite(void)
{
    Suite *s = suite_create("fds");
    TCase *tc = tcase_create("fds");

    tcase_add_unchecked_fixture(tc, make_base_dir, remove_base_dir);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, descriptor_accounting_row, 0,
                        sizeof(rows) / sizeof(rows[0]));
    tcase_add_test(tc, failed_unix_listen_keeps_the_live_socket);
    tcase_add_test(tc, library_descriptors_are_not_inherited_across_exec);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(fds_suite());
}
