/*
 * test_unix.c - nb_unix_listen, nb_unix_connect, nb_unix_bind: stream and
 * datagram Unix sockets, the abstract namespace, sun_path limits (the
 * longest path that fits; one byte more is refused, never truncated),
 * stale socket files, and connect deadlines on a full backlog.  (Other bad
 * arguments: test_args; signals: test_signals.)
 *
 * Every test works in a fresh directory made with mkdtemp under /tmp,
 * removed with everything in it at the end (see the fixture).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define PATHBUF 512
#define SUN_PATH_SIZE (sizeof(((struct sockaddr_un *)0)->sun_path))
#define MAX_FILLERS 64

/* ---------------------------------------------------------------- fixture */

/* basedir is made and removed by the runner process (unchecked fixture),
 * so that it goes away even when a failing test, in fork mode, never runs
 * its teardown; each test works in a fresh tmpdir inside it. */
static char basedir[64];
static char tmpdir[80];

static void make_basedir(void)
{
    th_make_dir(basedir, "nb-test-unix");
}

static void remove_basedir(void)
{
    ck_assert_int_eq(th_remove_tree(basedir), 0);
    basedir[0] = '\0';
}

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    ck_assert_int_eq(th_remove_tree(tmpdir), 0);
    tmpdir[0] = '\0';
}

/* tmpdir/name in buf; returns buf. */
static char *in_dir(char buf[PATHBUF], const char *name)
{
    int n = snprintf(buf, PATHBUF, "%s/%s", tmpdir, name);

    ck_assert(n > 0 && n < PATHBUF);
    return buf;
}

/* tmpdir/ppp...p of exactly total bytes, the last one `last`. */
static char *long_path(char buf[PATHBUF], size_t total, char last)
{
    size_t n = (size_t)snprintf(buf, PATHBUF, "%s/", tmpdir);

    ck_assert_uint_lt(n, total);
    ck_assert_uint_lt(total, PATHBUF);
    while (n < total)
        buf[n++] = 'p';
    buf[total - 1] = last;
    buf[total] = '\0';
    return buf;
}

/* "@nbtest-PID-N-tag", unique per call, padded with 'x' to total bytes
 * (including the '@') when total > 0. */
static char *abstract_name(char buf[PATHBUF], const char *tag, size_t total)
{
    static unsigned counter;
    size_t n = (size_t)snprintf(buf, PATHBUF, "@nbtest-%ld-%u-%s",
                                (long)getpid(), counter++, tag);

    if (total > 0) {
        ck_assert_uint_le(n, total);
        ck_assert_uint_lt(total, PATHBUF);
        while (n < total)
            buf[n++] = 'x';
        buf[n] = '\0';
    }
    return buf;
}

static int dir_entries(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *ent;
    int n = 0;

    ck_assert_ptr_nonnull(dir);
    while ((ent = readdir(dir)) != NULL)
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

/* 1 when path exists (without following a symlink), and its stat in *st. */
static int exists(const char *path, struct stat *st)
{
    struct stat dummy;

    return lstat(path, st != NULL ? st : &dummy) == 0;
}

static int is_socket_file(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ---------------------------------------------------------------- helpers */

static char *format_local(int fd, char buf[NB_ADDRSTRLEN])
{
    nb_addr a;

    ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
    return nb_addr_format(&a, buf, NB_ADDRSTRLEN);
}

static char *format_peer(int fd, char buf[NB_ADDRSTRLEN])
{
    nb_addr a;

    ck_assert_int_eq(nb_peer_addr(fd, &a, NULL), 0);
    return nb_addr_format(&a, buf, NB_ADDRSTRLEN);
}

/* A few bytes each way over a connected stream pair. */
static void exchange(int a, int b)
{
    char buf[8];
    nb_error e;

    ck_assert_int_eq(nb_send_all(a, "ping", 4, 1000, &e), 4);
    ck_assert_int_eq(nb_recv_all(b, buf, 4, 1000, &e), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    ck_assert_int_eq(nb_send_all(b, "pong!", 5, 1000, &e), 5);
    ck_assert_int_eq(nb_recv_all(a, buf, 5, 1000, &e), 5);
    ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
}

/* Connects to path (made by raw calls), accepts with nb_tcp_accept, and
 * exchanges data: proves that the listener on path is the live one. */
static void assert_listener_works(int lfd, const char *path)
{
    int cfd = nb_unix_connect(path, 1000, 0, NULL);
    int sfd;

    ck_assert_int_ge(cfd, 0);
    sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);
    close(cfd);
    close(sfd);
}

/* Accepts whatever is already queued on the listener; each must be a
 * connection its client has closed without sending anything.  Returns how
 * many there were. */
static int drain_phantoms(int lfd)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int n = 0;

    while (poll(&pfd, 1, 0) == 1) {
        char c;
        int sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
        ck_assert_int_ge(sfd, 0);
        ck_assert_int_eq(read(sfd, &c, 1), 0);
        close(sfd);
        n++;
    }
    return n;
}

/* Fills the accept queue of the listener on path with non-blocking
 * connects until the kernel answers EAGAIN; returns how many are queued. */
static int fill_backlog(const char *path, int fillers[MAX_FILLERS])
{
    struct sockaddr_un sun;
    socklen_t len = th_unix_sockaddr(&sun, path);
    int n = 0;

    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
            ck_assert_int_eq(errno, EAGAIN);
            close(fd);
            break;
        }
        ck_assert_int_lt(n, MAX_FILLERS);
        fillers[n++] = fd;
    }
    ck_assert_int_ge(n, 1);
    return n;
}

static void close_all(int *fds, int n)
{
    int i;

    for (i = 0; i < n; i++)
        close(fds[i]);
}

/* A socket file nothing listens on, as a process that died leaves it. */
static void make_stale_socket(const char *path, int socktype)
{
    struct sockaddr_un sun;
    socklen_t len = th_unix_sockaddr(&sun, path);
    int fd = socket(AF_UNIX, socktype | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
    if (socktype == SOCK_STREAM)
        ck_assert_int_eq(listen(fd, 1), 0);
    close(fd);
    ck_assert(is_socket_file(path));
}

static int send_timeout_is_zero(int fd)
{
    struct timeval tv;
    socklen_t len = sizeof(tv);

    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len), 0);
    return tv.tv_sec == 0 && tv.tv_usec == 0;
}

static void assert_sys_error(const nb_error *e, int want_errno,
                             const char *op, const char *path)
{
    char want[NB_ERRMSG_SIZE];

    th_assert_error(e, NB_ERR_SYSTEM, op);
    ck_assert_int_eq(e->sys_errno, want_errno);
    ck_assert_int_eq(errno, want_errno);
    ck_assert_str_eq(e->addr, path);
    snprintf(want, sizeof(want), "%s %s: %s", op, path, strerror(want_errno));
    ck_assert_str_eq(e->message, want);
}

/* ----------------------------------------------------------- interposing */

/* The test program's own listen(2): the library's call resolves to it
 * (an executable's definition comes first in symbol lookup), so a test can
 * make the listen step fail after bind has created the socket file. */
static int listen_fail_errno;
static int listen_calls;

int listen(int fd, int backlog)
{
    listen_calls++;
    if (listen_fail_errno != 0) {
        errno = listen_fail_errno;
        return -1;
    }
    return (int)syscall(SYS_listen, fd, backlog);
}

/* ----------------------------------------------------------------- stream */

START_TEST(listen_connect_accept_exchange_data)
{
    char path[PATHBUF], buf[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int lfd, cfd, sfd;
    nb_addr peer;
    nb_error e;

    in_dir(path, "s.sock");
    th_poison(&e);
    lfd = nb_unix_listen(path, 4, 0, &e);
    ck_assert_int_ge(lfd, 0);
    th_assert_untouched(&e);
    ck_assert(is_socket_file(path));
    ck_assert_str_eq(format_local(lfd, buf), path);

    cfd = nb_unix_connect(path, 0, 0, &e);
    ck_assert_int_ge(cfd, 0);
    th_assert_untouched(&e);
    ck_assert_str_eq(format_peer(cfd, buf), path);

    sfd = nb_tcp_accept(lfd, &peer, 0, &e);
    ck_assert_int_ge(sfd, 0);
    th_assert_untouched(&e);
    ck_assert_str_eq(nb_addr_format(&peer, buf, sizeof(buf)), "(unnamed)");
    ck_assert_str_eq(format_local(sfd, buf), path);

    exchange(cfd, sfd);
    /* end of stream reaches the other side */
    close(cfd);
    ck_assert_int_eq(nb_recv_all(sfd, buf, 4, 1000, &e), 0);

    /* blocking unless asked otherwise */
    ck_assert_int_eq(th_is_nonblock(lfd), 0);
    ck_assert_int_eq(th_is_nonblock(sfd), 0);
    close(sfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(timed_connect_exchanges_data)
{
    char path[PATHBUF];
    int fds0 = th_count_fds();
    int lfd, cfd, sfd;

    lfd = nb_unix_listen(in_dir(path, "t.sock"), 4, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    cfd = nb_unix_connect(path, 1000, 0, NULL);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(th_is_nonblock(cfd), 0);
    sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);
    close(cfd);
    close(sfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(nonblock_listener_and_connection)
{
    char path[PATHBUF], buf[8];
    struct pollfd pfd;
    int fds0 = th_count_fds();
    int lfd, cfd, tfd, bfd, sfd;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "nb.sock"), 4, NB_NONBLOCK, &e);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(th_is_nonblock(lfd), 1);

    /* nothing pending: EAGAIN at once, not a hang */
    ck_assert_int_eq(nb_tcp_accept(lfd, NULL, 0, &e), -1);
    th_assert_error(&e, NB_ERR_SYSTEM, "accept");
    ck_assert_int_eq(e.sys_errno, EAGAIN);

    cfd = nb_unix_connect(path, 0, NB_NONBLOCK, &e);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(th_is_nonblock(cfd), 1);
    tfd = nb_unix_connect(path, 500, NB_NONBLOCK, &e);
    ck_assert_int_ge(tfd, 0);
    ck_assert_int_eq(th_is_nonblock(tfd), 1);
    /* a non-blocking listener does not make blocking connections */
    bfd = nb_unix_connect(path, 0, 0, &e);
    ck_assert_int_ge(bfd, 0);
    ck_assert_int_eq(th_is_nonblock(bfd), 0);

    pfd.fd = lfd;
    pfd.events = POLLIN;
    ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
    sfd = nb_tcp_accept(lfd, NULL, NB_NONBLOCK, &e);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(th_is_nonblock(sfd), 1);

    /* the connected socket really does not block */
    ck_assert_int_eq(read(cfd, buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EAGAIN);
    exchange(cfd, sfd);  /* nb_send_all/nb_recv_all wait on it with poll */

    close(sfd);
    close(bfd);
    close(tfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(every_descriptor_is_cloexec)
{
    char path[PATHBUF], dpath[PATHBUF], name[PATHBUF];
    int fds0 = th_count_fds();
    int fd[8], i, n = 0;

    fd[n++] = nb_unix_listen(in_dir(path, "c.sock"), 4, 0, NULL);
    fd[n++] = nb_unix_listen(abstract_name(name, "cloexec", 0), 4,
                             NB_NONBLOCK, NULL);
    fd[n++] = nb_unix_connect(path, 0, 0, NULL);
    fd[n++] = nb_unix_connect(path, 1000, NB_NONBLOCK, NULL);
    fd[n++] = nb_tcp_accept(fd[0], NULL, 0, NULL);
    fd[n++] = nb_tcp_accept(fd[0], NULL, NB_NONBLOCK, NULL);
    fd[n++] = nb_unix_bind(in_dir(dpath, "d.sock"), 0, NULL);
    fd[n++] = nb_unix_bind(abstract_name(name, "cloexec-dgram", 0),
                           NB_NONBLOCK, NULL);
    for (i = 0; i < n; i++) {
        ck_assert_msg(fd[i] >= 0, "descriptor %d not made", i);
        ck_assert_msg(th_is_cloexec(fd[i]) == 1, "descriptor %d not cloexec", i);
    }
    close_all(fd, n);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* Assumption: backlog <= 0 means SOMAXCONN for Unix listeners as it does
 * for TCP ones (the same listen call), not a queue of one. */
START_TEST(listen_backlog_zero_is_not_a_queue_of_one)
{
    char path[PATHBUF];
    struct sockaddr_un sun;
    socklen_t len;
    int fds0 = th_count_fds();
    int lfd, fillers[8], i;

    lfd = nb_unix_listen(in_dir(path, "b0.sock"), 0, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    len = th_unix_sockaddr(&sun, path);
    for (i = 0; i < 8; i++) {
        fillers[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fillers[i], 0);
        ck_assert_msg(connect(fillers[i], (struct sockaddr *)&sun, len) == 0,
                      "connect %d: %s", i, strerror(errno));
    }
    close_all(fillers, 8);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* --------------------------------------------------------------- abstract */

static int proc_net_unix_lists(const char *name)
{
    FILE *f = fopen("/proc/net/unix", "re");
    char line[512];
    size_t n = strlen(name);
    int found = 0;

    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        if (len > n && line[len - 1] == '\n' &&
            memcmp(line + len - 1 - n, name, n) == 0 &&
            line[len - 2 - n] == ' ')
            found = 1;
    }
    fclose(f);
    return found;
}

START_TEST(abstract_namespace_creates_no_file)
{
    char name[PATHBUF], buf[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int cwd, lfd, cfd, sfd;
    nb_error e;

    /* work from inside the empty directory: a file by any spelling of the
     * name would show up there */
    cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(cwd, 0);
    ck_assert_int_eq(chdir(tmpdir), 0);

    abstract_name(name, "abs", 0);
    lfd = nb_unix_listen(name, 4, 0, &e);
    ck_assert_int_ge(lfd, 0);
    ck_assert_str_eq(format_local(lfd, buf), name);
    ck_assert(proc_net_unix_lists(name));
    ck_assert_int_eq(dir_entries(), 0);
    ck_assert(!exists(name, NULL));
    ck_assert(!exists(name + 1, NULL));

    cfd = nb_unix_connect(name, 1000, 0, &e);
    ck_assert_int_ge(cfd, 0);
    ck_assert_str_eq(format_peer(cfd, buf), name);
    sfd = nb_tcp_accept(lfd, NULL, 0, &e);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);
    close(cfd);
    close(sfd);

    /* the name without '@' is a (missing) relative file, not the socket */
    ck_assert_int_eq(nb_unix_connect(name + 1, 0, 0, &e), -1);
    assert_sys_error(&e, ENOENT, "connect", name + 1);

    ck_assert_int_eq(dir_entries(), 0);
    ck_assert_int_eq(fchdir(cwd), 0);
    close(cwd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(abstract_name_in_use_and_released)
{
    char name[PATHBUF], dname[PATHBUF];
    int fds0 = th_count_fds();
    int lfd, dfd, fds1;
    nb_error e;

    abstract_name(name, "inuse", 0);
    abstract_name(dname, "inuse-dgram", 0);
    lfd = nb_unix_listen(name, 4, 0, &e);
    ck_assert_int_ge(lfd, 0);
    fds1 = th_count_fds();
    ck_assert_int_eq(nb_unix_listen(name, 4, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", name);
    ck_assert_int_eq(th_count_fds(), fds1);
    /* nothing probes an abstract name: no connection was queued */
    ck_assert_int_eq(drain_phantoms(lfd), 0);
    assert_listener_works(lfd, name);
    /* (Linux keeps abstract names per socket type: a datagram socket may
     * share the name of a stream listener, so that is not tested.) */
    dfd = nb_unix_bind(dname, 0, &e);
    ck_assert_int_ge(dfd, 0);
    ck_assert_int_eq(nb_unix_bind(dname, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", dname);
    close(dfd);

    /* an abstract name vanishes with its socket: nothing stale remains */
    close(lfd);
    ck_assert_int_eq(nb_unix_connect(name, 0, 0, &e), -1);
    assert_sys_error(&e, ECONNREFUSED, "connect", name);
    lfd = nb_unix_listen(name, 4, 0, &e);
    ck_assert_int_ge(lfd, 0);
    assert_listener_works(lfd, name);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* ------------------------------------------------------- sun_path limits */

START_TEST(longest_path_fits)
{
    char path[PATHBUF], dpath[PATHBUF], buf[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int lfd, cfd, tfd, sfd, dfd;

    long_path(path, SUN_PATH_SIZE - 1, 's');  /* 107 bytes + NUL */
    ck_assert_uint_eq(strlen(path), 107);
    lfd = nb_unix_listen(path, 4, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    ck_assert(is_socket_file(path));
    ck_assert_str_eq(format_local(lfd, buf), path);
    cfd = nb_unix_connect(path, 0, 0, NULL);
    ck_assert_int_ge(cfd, 0);
    ck_assert_str_eq(format_peer(cfd, buf), path);
    tfd = nb_unix_connect(path, 1000, 0, NULL);
    ck_assert_int_ge(tfd, 0);
    sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);

    long_path(dpath, SUN_PATH_SIZE - 1, 'd');
    dfd = nb_unix_bind(dpath, 0, NULL);
    ck_assert_int_ge(dfd, 0);
    ck_assert(is_socket_file(dpath));
    ck_assert_str_eq(format_local(dfd, buf), dpath);

    close(dfd);
    close(sfd);
    close(tfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

static void assert_too_long(const char *path, const nb_error *e,
                            const char *op)
{
    char len[32];

    th_assert_error(e, NB_ERR_ARG, op);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(e->sys_errno, 0);
    snprintf(len, sizeof(len), "%zu", strlen(path) - (path[0] == '@'));
    ck_assert_msg(strstr(e->message, len) != NULL,
                  "message \"%s\" does not give the length %s", e->message, len);
}

START_TEST(path_one_byte_too_long_is_rejected_not_truncated)
{
    char path[PATHBUF], prefix[PATHBUF];
    int fds0 = th_count_fds();
    int lfd, fds1;
    nb_error e;

    long_path(path, SUN_PATH_SIZE, 'z');  /* 108 bytes: no room for NUL */
    ck_assert_uint_eq(strlen(path), 108);
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_too_long(path, &e, "listen");
    ck_assert_int_eq(nb_unix_bind(path, 0, &e), -1);
    assert_too_long(path, &e, "bind");
    ck_assert_int_eq(dir_entries(), 0);  /* no truncated file either */
    ck_assert_int_eq(th_count_fds(), fds0);

    /* a listener on the 107-byte prefix must not be reached by it */
    snprintf(prefix, sizeof(prefix), "%.*s", (int)SUN_PATH_SIZE - 1, path);
    lfd = nb_unix_listen(prefix, 4, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    fds1 = th_count_fds();
    ck_assert_int_eq(nb_unix_connect(path, 0, 0, &e), -1);
    assert_too_long(path, &e, "connect");
    ck_assert_int_eq(nb_unix_connect(path, 500, 0, &e), -1);
    assert_too_long(path, &e, "connect");
    ck_assert_int_eq(nb_unix_bind(path, 0, &e), -1);
    assert_too_long(path, &e, "bind");
    ck_assert_int_eq(th_count_fds(), fds1);
    close(lfd);

    /* much longer ones too */
    long_path(path, 300, 'z');
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_too_long(path, &e, "listen");
    ck_assert_int_eq(nb_unix_connect(path, 0, 0, &e), -1);
    assert_too_long(path, &e, "connect");
    ck_assert_int_eq(dir_entries(), 1);  /* only the prefix listener's */
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(abstract_name_limits)
{
    char name[PATHBUF], dname[PATHBUF], prefix[PATHBUF], buf[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int lfd, cfd, sfd, dfd, fds1;
    nb_error e;

    /* '@' + 107 bytes: the leading NUL and 107 bytes fill sun_path */
    abstract_name(name, "max", SUN_PATH_SIZE);
    ck_assert_uint_eq(strlen(name), 108);
    lfd = nb_unix_listen(name, 4, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    ck_assert_str_eq(format_local(lfd, buf), name);
    cfd = nb_unix_connect(name, 1000, 0, &e);
    ck_assert_msg(cfd >= 0, "%s", e.message);
    ck_assert_str_eq(format_peer(cfd, buf), name);
    sfd = nb_tcp_accept(lfd, NULL, 0, &e);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);
    close(cfd);
    close(sfd);
    abstract_name(dname, "maxdgram", SUN_PATH_SIZE);
    dfd = nb_unix_bind(dname, 0, &e);
    ck_assert_msg(dfd >= 0, "%s", e.message);
    ck_assert_str_eq(format_local(dfd, buf), dname);
    close(dfd);

    /* '@' + 108 bytes: refused, and never cut to the live 107-byte name */
    snprintf(prefix, sizeof(prefix), "%sy", name);
    ck_assert_uint_eq(strlen(prefix), 109);
    fds1 = th_count_fds();
    ck_assert_int_eq(nb_unix_listen(prefix, 4, 0, &e), -1);
    assert_too_long(prefix, &e, "listen");
    ck_assert_int_eq(nb_unix_connect(prefix, 0, 0, &e), -1);
    assert_too_long(prefix, &e, "connect");
    ck_assert_int_eq(nb_unix_connect(prefix, 500, 0, &e), -1);
    assert_too_long(prefix, &e, "connect");
    ck_assert_int_eq(nb_unix_bind(prefix, 0, &e), -1);
    assert_too_long(prefix, &e, "bind");
    ck_assert_int_eq(th_count_fds(), fds1);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* ------------------------------------------------------ existing files */

START_TEST(stale_socket_file_is_replaced)
{
    char path[PATHBUF];
    struct stat before, after;
    int fds0 = th_count_fds();
    int lfd;
    nb_error e;

    in_dir(path, "stale.sock");
    lfd = nb_unix_listen(path, 4, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    close(lfd);  /* leaves the file behind */
    ck_assert(is_socket_file(path));
    ck_assert(exists(path, &before));

    lfd = nb_unix_listen(path, 4, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    ck_assert(exists(path, &after));
    ck_assert(S_ISSOCK(after.st_mode));
    assert_listener_works(lfd, path);
    close(lfd);

    /* a stale file of a socket that never listened, and of a datagram
     * socket, are stale all the same */
    ck_assert_int_eq(unlink(path), 0);
    make_stale_socket(path, SOCK_STREAM);
    lfd = nb_unix_listen(path, 4, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    assert_listener_works(lfd, path);
    close(lfd);
    ck_assert_int_eq(unlink(path), 0);
    make_stale_socket(path, SOCK_DGRAM);
    lfd = nb_unix_listen(path, 4, NB_NONBLOCK, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_nonblock(lfd), 1);
    assert_listener_works(lfd, path);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(live_listener_path_is_not_replaced)
{
    char path[PATHBUF];
    struct stat before, after;
    int fds0 = th_count_fds();
    int lfd, fds1;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "live.sock"), 4, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    ck_assert(exists(path, &before));
    fds1 = th_count_fds();

    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    ck_assert_int_eq(th_count_fds(), fds1);
    ck_assert_int_eq(nb_unix_listen(path, 4, NB_NONBLOCK, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    /* a datagram bind does not take a stream listener's path either */
    ck_assert_int_eq(nb_unix_bind(path, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    ck_assert_int_eq(th_count_fds(), fds1);

    /* the very same file, and the live listener still answers */
    ck_assert(exists(path, &after));
    ck_assert_uint_eq(after.st_ino, before.st_ino);
    /* Each refused nb_unix_listen probed the path with a connect(2) that
     * the live listener queued: the server sees one empty connection per
     * refused call (the datagram probe queues none).  Not forbidden by the
     * contract, but no more than that. */
    ck_assert_int_le(drain_phantoms(lfd), 2);
    assert_listener_works(lfd, path);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* A full backlog makes a probing connect fail with EAGAIN, not
 * ECONNREFUSED: the listener is alive and must stay. */
START_TEST(live_listener_with_full_backlog_is_not_replaced)
{
    char path[PATHBUF];
    struct stat before, after;
    int fds0 = th_count_fds();
    int lfd, fillers[MAX_FILLERS], n, fds1;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "full.sock"), 1, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    ck_assert(exists(path, &before));
    n = fill_backlog(path, fillers);
    fds1 = th_count_fds();
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    ck_assert_int_eq(th_count_fds(), fds1);
    ck_assert(exists(path, &after));
    ck_assert_uint_eq(after.st_ino, before.st_ino);
    close_all(fillers, n);
    /* the queued connections were closed but are still queued: drain */
    while (n-- > 0) {
        int sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
        ck_assert_int_ge(sfd, 0);
        close(sfd);
    }
    assert_listener_works(lfd, path);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(live_datagram_socket_path_is_not_replaced)
{
    char path[PATHBUF], spath[PATHBUF], buf[16];
    struct stat before, after;
    int fds0 = th_count_fds();
    int bfd, sender, fds1;
    nb_addr to;
    nb_error e;

    bfd = nb_unix_bind(in_dir(path, "dlive.sock"), 0, NULL);
    ck_assert_int_ge(bfd, 0);
    ck_assert(exists(path, &before));
    fds1 = th_count_fds();
    ck_assert_int_eq(nb_unix_bind(path, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_sys_error(&e, EADDRINUSE, "bind", path);
    ck_assert_int_eq(th_count_fds(), fds1);
    ck_assert(exists(path, &after));
    ck_assert_uint_eq(after.st_ino, before.st_ino);

    sender = nb_unix_bind(in_dir(spath, "sender.sock"), 0, NULL);
    ck_assert_int_ge(sender, 0);
    ck_assert_int_eq(nb_local_addr(bfd, &to, NULL), 0);
    ck_assert_int_eq(nb_udp_sendto(sender, "still", 5, &to, &e), 5);
    ck_assert_int_eq(nb_udp_recvfrom(bfd, buf, sizeof(buf), NULL, 1000, &e), 5);
    ck_assert_int_eq(memcmp(buf, "still", 5), 0);
    close(sender);
    close(bfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

enum other_kind { REGULAR, DIRECTORY, FIFO, DANGLING_SYMLINK,
                  SYMLINK_TO_STALE_SOCKET, N_OTHER_KINDS };

/* Whatever is at the path and is not a stale socket stays: regular file,
 * directory, FIFO, symlinks (even one to a stale socket). */
START_TEST(other_files_at_the_path_are_left_alone)
{
    char path[PATHBUF], target[PATHBUF], buf[16];
    struct stat before, after;
    int fds0 = th_count_fds();
    int fd, round;
    nb_error e;

    in_dir(path, "other");
    in_dir(target, "target.sock");
    switch ((enum other_kind)_i) {
    case REGULAR:
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "precious", 8), 8);
        close(fd);
        break;
    case DIRECTORY:
        ck_assert_int_eq(mkdir(path, 0700), 0);
        break;
    case FIFO:
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        break;
    case DANGLING_SYMLINK:
        ck_assert_int_eq(symlink(target, path), 0);
        break;
    default:
        make_stale_socket(target, SOCK_STREAM);
        ck_assert_int_eq(symlink(target, path), 0);
        break;
    }
    ck_assert(exists(path, &before));

    for (round = 0; round < 2; round++) {
        if (round == 0)
            fd = nb_unix_listen(path, 4, 0, &e);
        else
            fd = nb_unix_bind(path, 0, &e);
        ck_assert_int_eq(fd, -1);
        assert_sys_error(&e, EADDRINUSE, "bind", path);
        ck_assert_int_eq(th_count_fds(), fds0);
        ck_assert(exists(path, &after));
        ck_assert_uint_eq(after.st_ino, before.st_ino);
        ck_assert_uint_eq(after.st_mode, before.st_mode);
    }
    if (_i == REGULAR) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, buf, sizeof(buf)), 8);
        ck_assert_int_eq(memcmp(buf, "precious", 8), 0);
        close(fd);
    }
    if (_i == SYMLINK_TO_STALE_SOCKET)
        ck_assert(is_socket_file(target));
}
END_TEST

START_TEST(failing_listen_leaves_no_file_and_no_descriptor)
{
    char path[PATHBUF], name[PATHBUF];
    int fds0 = th_count_fds();
    int fd;
    nb_error e;

    in_dir(path, "nolisten.sock");
    listen_calls = 0;
    listen_fail_errno = ENOBUFS;
    fd = nb_unix_listen(path, 4, 0, &e);
    listen_fail_errno = 0;
    ck_assert_int_eq(listen_calls, 1);  /* the library's call came here */
    ck_assert_int_eq(fd, -1);
    assert_sys_error(&e, ENOBUFS, "listen", path);
    ck_assert(!exists(path, NULL));
    ck_assert_int_eq(th_count_fds(), fds0);

    /* the same when the bind had first replaced a stale file */
    make_stale_socket(path, SOCK_STREAM);
    listen_fail_errno = EPERM;
    fd = nb_unix_listen(path, 4, 0, &e);
    listen_fail_errno = 0;
    ck_assert_int_eq(fd, -1);
    assert_sys_error(&e, EPERM, "listen", path);
    ck_assert(!exists(path, NULL));
    ck_assert_int_eq(th_count_fds(), fds0);

    /* abstract: nothing to unlink, and the name is free again */
    abstract_name(name, "nolisten", 0);
    listen_fail_errno = ENOBUFS;
    fd = nb_unix_listen(name, 4, 0, &e);
    listen_fail_errno = 0;
    ck_assert_int_eq(fd, -1);
    assert_sys_error(&e, ENOBUFS, "listen", name);
    ck_assert_int_eq(th_count_fds(), fds0);
    fd = nb_unix_listen(name, 4, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    close(fd);

    ck_assert_int_eq(dir_entries(), 0);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(failing_bind_leaves_no_file_and_no_descriptor)
{
    char path[PATHBUF], file[PATHBUF];
    int fds0 = th_count_fds();
    int fd;
    nb_error e;

    in_dir(path, "no/such/dir.sock");
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_sys_error(&e, ENOENT, "bind", path);
    ck_assert_int_eq(nb_unix_bind(path, 0, &e), -1);
    assert_sys_error(&e, ENOENT, "bind", path);

    fd = open(in_dir(file, "plain"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
              0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    in_dir(path, "plain/x.sock");
    ck_assert_int_eq(nb_unix_listen(path, 4, 0, &e), -1);
    assert_sys_error(&e, ENOTDIR, "bind", path);
    ck_assert_int_eq(dir_entries(), 1);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* -------------------------------------------------------- connect errors */

START_TEST(connect_to_missing_path_is_enoent)
{
    char path[PATHBUF];
    int fds0 = th_count_fds();
    nb_error e;

    in_dir(path, "missing.sock");
    ck_assert_int_eq(nb_unix_connect(path, 0, 0, &e), -1);
    assert_sys_error(&e, ENOENT, "connect", path);
    ck_assert_int_eq(nb_error_is_temporary(&e), 0);
    ck_assert_int_eq(nb_unix_connect(path, 500, NB_NONBLOCK, &e), -1);
    assert_sys_error(&e, ENOENT, "connect", path);
    in_dir(path, "no/such/dir.sock");
    ck_assert_int_eq(nb_unix_connect(path, 500, 0, &e), -1);
    assert_sys_error(&e, ENOENT, "connect", path);
    errno = 0;
    ck_assert_int_eq(nb_unix_connect(path, 0, 0, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(connect_to_non_listeners_fails)
{
    char path[PATHBUF], dpath[PATHBUF], fpath[PATHBUF];
    int fds0 = th_count_fds();
    int fd, dfd;
    nb_error e;

    /* a stale file: refused, with and without a deadline */
    make_stale_socket(in_dir(path, "stale.sock"), SOCK_STREAM);
    ck_assert_int_eq(nb_unix_connect(path, 0, 0, &e), -1);
    assert_sys_error(&e, ECONNREFUSED, "connect", path);
    ck_assert_int_eq(nb_unix_connect(path, 500, 0, &e), -1);
    assert_sys_error(&e, ECONNREFUSED, "connect", path);
    ck_assert(is_socket_file(path));  /* connect removes nothing */

    /* a regular file: refused too */
    fd = open(in_dir(fpath, "plain"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
              0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(nb_unix_connect(fpath, 500, 0, &e), -1);
    assert_sys_error(&e, ECONNREFUSED, "connect", fpath);

    /* a datagram socket: the wrong type */
    dfd = nb_unix_bind(in_dir(dpath, "dgram.sock"), 0, NULL);
    ck_assert_int_ge(dfd, 0);
    ck_assert_int_eq(nb_unix_connect(dpath, 500, 0, &e), -1);
    assert_sys_error(&e, EPROTOTYPE, "connect", dpath);
    close(dfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* ------------------------------------------------------------- deadlines */

START_TEST(timed_connect_to_full_backlog_times_out)
{
    char path[PATHBUF];
    int fillers[MAX_FILLERS], n, lfd, fds1, round;
    int64_t t0, elapsed;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "full.sock"), 1, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    n = fill_backlog(path, fillers);
    fds1 = th_count_fds();
    for (round = 0; round < 2; round++) {
        int flags = round == 0 ? 0 : NB_NONBLOCK;
        errno = 0;
        t0 = th_now_ms();
        ck_assert_int_eq(nb_unix_connect(path, 200, flags, &e), -1);
        elapsed = th_now_ms() - t0;
        th_assert_error(&e, NB_ERR_TIMEOUT, "connect");
        ck_assert_int_eq(e.sys_errno, ETIMEDOUT);
        ck_assert_int_eq(errno, ETIMEDOUT);
        ck_assert_str_eq(e.addr, path);
        ck_assert_ptr_nonnull(strstr(e.message, path));
        ck_assert_int_eq(nb_error_is_temporary(&e), 1);
        ck_assert_msg(elapsed >= 200, "timed out after %lld ms",
                      (long long)elapsed);
        ck_assert_msg(elapsed < 2000, "timed out after %lld ms",
                      (long long)elapsed);
        ck_assert_int_eq(th_count_fds(), fds1);
    }
    close_all(fillers, n);
    close(lfd);
}
END_TEST

START_TEST(timed_connect_with_room_connects_at_once)
{
    char path[PATHBUF];
    int fds0 = th_count_fds();
    int lfd, cfd, sfd;
    int64_t t0, elapsed;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "room.sock"), 1, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    t0 = th_now_ms();
    cfd = nb_unix_connect(path, 5000, 0, &e);
    elapsed = th_now_ms() - t0;
    ck_assert_msg(cfd >= 0, "%s", e.message);
    ck_assert_msg(elapsed < 1000, "took %lld ms", (long long)elapsed);
    sfd = nb_tcp_accept(lfd, NULL, 0, NULL);
    ck_assert_int_ge(sfd, 0);
    exchange(cfd, sfd);
    close(sfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* The deadline is enforced with SO_SNDTIMEO during connect; the caller's
 * socket must not keep it (sends would then time out on their own). */
START_TEST(timed_connect_leaves_no_send_timeout)
{
    char path[PATHBUF];
    int fds0 = th_count_fds();
    int lfd, fd[4], i;

    lfd = nb_unix_listen(in_dir(path, "sndtimeo.sock"), 8, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    fd[0] = nb_unix_connect(path, 300, 0, NULL);
    fd[1] = nb_unix_connect(path, 300, NB_NONBLOCK, NULL);
    fd[2] = nb_unix_connect(path, 1, 0, NULL);
    fd[3] = nb_unix_connect(path, 0, 0, NULL);
    for (i = 0; i < 4; i++) {
        ck_assert_int_ge(fd[i], 0);
        ck_assert_msg(send_timeout_is_zero(fd[i]), "fd %d keeps SO_SNDTIMEO", i);
    }
    close_all(fd, 4);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* A timed connect to a full backlog waits, and connects as soon as the
 * listener accepts one (a child process does, 150 ms later). */
START_TEST(timed_connect_waits_for_room_in_backlog)
{
    char path[PATHBUF];
    int fds0 = th_count_fds();
    int fillers[MAX_FILLERS], n, lfd, cfd, status;
    int64_t t0, elapsed;
    pid_t pid;
    nb_error e;

    lfd = nb_unix_listen(in_dir(path, "wait.sock"), 1, 0, NULL);
    ck_assert_int_ge(lfd, 0);
    n = fill_backlog(path, fillers);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        poll(NULL, 0, 150);
        _exit(accept(lfd, NULL, NULL) >= 0 ? 0 : 1);
    }
    t0 = th_now_ms();
    cfd = nb_unix_connect(path, 5000, 0, &e);
    elapsed = th_now_ms() - t0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(cfd >= 0, "%s", e.message);
    ck_assert_msg(elapsed >= 100, "connected after %lld ms, before room was made",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 4000, "connected after %lld ms", (long long)elapsed);
    ck_assert(send_timeout_is_zero(cfd));
    ck_assert_int_eq(th_is_cloexec(cfd), 1);
    close(cfd);
    close_all(fillers, n);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* --------------------------------------------------------------- datagram */

START_TEST(datagram_sockets_exchange)
{
    char apath[PATHBUF], bpath[PATHBUF], buf[16], text[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int a, b;
    nb_addr to, from;
    nb_error e;

    th_poison(&e);
    a = nb_unix_bind(in_dir(apath, "a.sock"), 0, &e);
    ck_assert_int_ge(a, 0);
    b = nb_unix_bind(in_dir(bpath, "b.sock"), 0, &e);
    ck_assert_int_ge(b, 0);
    th_assert_untouched(&e);
    ck_assert(is_socket_file(apath));
    ck_assert(is_socket_file(bpath));
    ck_assert_int_eq(th_is_nonblock(a), 0);
    ck_assert_str_eq(format_local(a, text), apath);

    ck_assert_int_eq(nb_local_addr(b, &to, NULL), 0);
    ck_assert_int_eq(nb_udp_sendto(a, "hello", 5, &to, &e), 5);
    memset(&from, 0, sizeof(from));
    ck_assert_int_eq(nb_udp_recvfrom(b, buf, sizeof(buf), &from, 1000, &e), 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_str_eq(nb_addr_format(&from, text, sizeof(text)), apath);

    /* answer to the address the datagram came from */
    ck_assert_int_eq(nb_udp_sendto(b, "world!", 6, &from, &e), 6);
    ck_assert_int_eq(nb_udp_recvfrom(a, buf, sizeof(buf), &from, 1000, &e), 6);
    ck_assert_int_eq(memcmp(buf, "world!", 6), 0);
    ck_assert_str_eq(nb_addr_format(&from, text, sizeof(text)), bpath);
    th_assert_untouched(&e);
    close(a);
    close(b);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(datagram_nonblock_and_abstract)
{
    char aname[PATHBUF], bname[PATHBUF], buf[16], text[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int a, b;
    nb_addr to, from;
    nb_error e;

    a = nb_unix_bind(abstract_name(aname, "da", 0), NB_NONBLOCK, &e);
    ck_assert_int_ge(a, 0);
    b = nb_unix_bind(abstract_name(bname, "db", 0), NB_NONBLOCK, &e);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(th_is_nonblock(a), 1);
    ck_assert_int_eq(th_is_nonblock(b), 1);
    ck_assert_int_eq(dir_entries(), 0);
    ck_assert_str_eq(format_local(b, text), bname);

    /* nothing to read: the deadline, not EAGAIN */
    ck_assert_int_eq(nb_udp_recvfrom(b, buf, sizeof(buf), NULL, 50, &e), -1);
    th_assert_error(&e, NB_ERR_TIMEOUT, "recvfrom");

    ck_assert_int_eq(nb_local_addr(b, &to, NULL), 0);
    ck_assert_int_eq(nb_udp_sendto(a, "abs", 3, &to, &e), 3);
    ck_assert_int_eq(nb_udp_recvfrom(b, buf, sizeof(buf), &from, 1000, &e), 3);
    ck_assert_int_eq(memcmp(buf, "abs", 3), 0);
    ck_assert_str_eq(nb_addr_format(&from, text, sizeof(text)), aname);
    close(a);
    close(b);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(stale_datagram_file_is_replaced)
{
    char path[PATHBUF], spath[PATHBUF], buf[16], text[NB_ADDRSTRLEN];
    int fds0 = th_count_fds();
    int b, sender;
    nb_addr to, from;
    nb_error e;

    in_dir(path, "dstale.sock");
    b = nb_unix_bind(path, 0, NULL);
    ck_assert_int_ge(b, 0);
    close(b);  /* leaves the file behind */
    ck_assert(is_socket_file(path));

    b = nb_unix_bind(path, 0, &e);
    ck_assert_msg(b >= 0, "%s", e.message);
    sender = nb_unix_bind(in_dir(spath, "sender.sock"), 0, NULL);
    ck_assert_int_ge(sender, 0);
    ck_assert_int_eq(nb_local_addr(b, &to, NULL), 0);
    ck_assert_str_eq(nb_addr_format(&to, text, sizeof(text)), path);
    ck_assert_int_eq(nb_udp_sendto(sender, "again", 5, &to, &e), 5);
    ck_assert_int_eq(nb_udp_recvfrom(b, buf, sizeof(buf), &from, 1000, &e), 5);
    ck_assert_str_eq(nb_addr_format(&from, text, sizeof(text)), spath);
    close(b);

    /* a stale stream listener's file is replaced by a datagram bind too */
    ck_assert_int_eq(unlink(path), 0);
    make_stale_socket(path, SOCK_STREAM);
    b = nb_unix_bind(path, NB_NONBLOCK, &e);
    ck_assert_msg(b >= 0, "%s", e.message);
    ck_assert_int_eq(nb_udp_sendto(sender, "third", 5, &to, &e), 5);
    ck_assert_int_eq(nb_udp_recvfrom(b, buf, sizeof(buf), NULL, 1000, &e), 5);
    close(b);
    close(sender);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

static Suite *unix_suite(void)
{
    Suite *s = suite_create("unix");
    TCase *tc = tcase_create("unix");

    tcase_add_unchecked_fixture(tc, make_basedir, remove_basedir);
    tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, listen_connect_accept_exchange_data);
    tcase_add_test(tc, timed_connect_exchanges_data);
    tcase_add_test(tc, nonblock_listener_and_connection);
    tcase_add_test(tc, every_descriptor_is_cloexec);
    tcase_add_test(tc, listen_backlog_zero_is_not_a_queue_of_one);
    tcase_add_test(tc, abstract_namespace_creates_no_file);
    tcase_add_test(tc, abstract_name_in_use_and_released);
    tcase_add_test(tc, longest_path_fits);
    tcase_add_test(tc, path_one_byte_too_long_is_rejected_not_truncated);
    tcase_add_test(tc, abstract_name_limits);
    tcase_add_test(tc, stale_socket_file_is_replaced);
    tcase_add_test(tc, live_listener_path_is_not_replaced);
    tcase_add_test(tc, live_listener_with_full_backlog_is_not_replaced);
    tcase_add_test(tc, live_datagram_socket_path_is_not_replaced);
    tcase_add_loop_test(tc, other_files_at_the_path_are_left_alone, 0,
                        N_OTHER_KINDS);
    tcase_add_test(tc, failing_listen_leaves_no_file_and_no_descriptor);
    tcase_add_test(tc, failing_bind_leaves_no_file_and_no_descriptor);
    tcase_add_test(tc, connect_to_missing_path_is_enoent);
    tcase_add_test(tc, connect_to_non_listeners_fails);
    tcase_add_test(tc, timed_connect_to_full_backlog_times_out);
    tcase_add_test(tc, timed_connect_with_room_connects_at_once);
    tcase_add_test(tc, timed_connect_leaves_no_send_timeout);
    tcase_add_test(tc, timed_connect_waits_for_room_in_backlog);
    tcase_add_test(tc, datagram_sockets_exchange);
    tcase_add_test(tc, datagram_nonblock_and_abstract);
    tcase_add_test(tc, stale_datagram_file_is_replaced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(unix_suite());
}
