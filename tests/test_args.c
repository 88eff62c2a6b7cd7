/*
 * test_args.c - every public function that takes arguments, fed bad ones:
 * ports, hosts, unix paths, flags, descriptors, buffers and the socket
 * activation variables.
 *
 * Every row checks: the call returns -1; the exact nb_code; errno (EINVAL
 * for argument errors the library detects itself, the kernel's EBADF or
 * ENOTSOCK when the kernel rejected a descriptor); sys_errno / gai_error;
 * op (the call's own step name, or "resolve"); that the message is one
 * NUL-terminated line that starts with op and names the bad value; that
 * attempts and transferred were reset; that nb_error_is_temporary says 0
 * for an argument error; that no descriptor leaked, no socket file was
 * made and no byte was sent; and that the same call with err NULL fails
 * the same way (errno included).  Calls that take a deadline are tried
 * with one and without.  The last tests check that a successful call
 * leaves *err byte for byte untouched.
 *
 * This file owns bad arguments for every call (tests/README); the
 * per-function files test behaviour with good ones.  What each call
 * accepts is stated in its man page (ERRORS, NB_ERR_ARG) and in
 * netbasics(7) ("Errors", "Hosts and ports", "Flags").
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers.h"

/* ------------------------------------------------------------ the calls */

enum fn {
    F_TCP_LISTEN,
    F_TCP_ACCEPT,
    F_TCP_CONNECT,
    F_UDP_BIND,
    F_UDP_CONNECT,
    F_UDP_SENDTO,
    F_UDP_RECVFROM,
    F_SEND_ALL,
    F_RECV_ALL,
    F_LOCAL_ADDR,
    F_PEER_ADDR,
    F_UNIX_LISTEN,
    F_UNIX_CONNECT,
    F_UNIX_BIND,
    F_LISTEN_FDS,
    F_COUNT
};

static const char *const fn_name[F_COUNT] = {
    "nb_tcp_listen", "nb_tcp_accept", "nb_tcp_connect", "nb_udp_bind",
    "nb_udp_connect", "nb_udp_sendto", "nb_udp_recvfrom", "nb_send_all",
    "nb_recv_all", "nb_local_addr", "nb_peer_addr", "nb_unix_listen",
    "nb_unix_connect", "nb_unix_bind", "nb_listen_fds",
};

/* The op an argument error of each call reports: nb_error(3), "op" ("For
 * NB_ERR_ARG it names the call's operation"), and the ERRORS section of
 * each call's page. */
static const char *const fn_op[F_COUNT] = {
    "listen", "accept", "connect", "bind", "connect", "sendto", "recvfrom",
    "send", "recv", "getsockname", "getpeername", "listen", "connect", "bind",
    "listen_fds",
};

/* Calls that return a new descriptor on success. */
static int returns_fd(enum fn f)
{
    switch (f) {
    case F_TCP_LISTEN: case F_TCP_ACCEPT: case F_TCP_CONNECT:
    case F_UDP_BIND: case F_UDP_CONNECT:
    case F_UNIX_LISTEN: case F_UNIX_CONNECT: case F_UNIX_BIND:
        return 1;
    default:
        return 0;
    }
}

struct call {
    enum fn fn;
    const char *host;   /* host, or the path of the unix calls */
    const char *port;
    int flags;
    int fd;
    void *buf;
    size_t len;
    const nb_addr *to;
    nb_addr *addr;      /* peer / from / out */
    int *fds;
    int max;
    int timeout_ms;
};

static long invoke(const struct call *c, nb_error *err)
{
    switch (c->fn) {
    case F_TCP_LISTEN:
        return nb_tcp_listen(c->host, c->port, 0, c->flags, err);
    case F_TCP_ACCEPT:
        return nb_tcp_accept(c->fd, c->addr, c->flags, err);
    case F_TCP_CONNECT:
        return nb_tcp_connect(c->host, c->port, c->timeout_ms, c->flags, err);
    case F_UDP_BIND:
        return nb_udp_bind(c->host, c->port, c->flags, err);
    case F_UDP_CONNECT:
        return nb_udp_connect(c->host, c->port, c->flags, err);
    case F_UDP_SENDTO:
        return (long)nb_udp_sendto(c->fd, c->buf, c->len, c->to, err);
    case F_UDP_RECVFROM:
        return (long)nb_udp_recvfrom(c->fd, c->buf, c->len, c->addr,
                                     c->timeout_ms, err);
    case F_SEND_ALL:
        return (long)nb_send_all(c->fd, c->buf, c->len, c->timeout_ms, err);
    case F_RECV_ALL:
        return (long)nb_recv_all(c->fd, c->buf, c->len, c->timeout_ms, err);
    case F_LOCAL_ADDR:
        return nb_local_addr(c->fd, c->addr, err);
    case F_PEER_ADDR:
        return nb_peer_addr(c->fd, c->addr, err);
    case F_UNIX_LISTEN:
        return nb_unix_listen(c->host, 0, c->flags, err);
    case F_UNIX_CONNECT:
        return nb_unix_connect(c->host, c->timeout_ms, c->flags, err);
    case F_UNIX_BIND:
        return nb_unix_bind(c->host, c->flags, err);
    case F_LISTEN_FDS:
        return nb_listen_fds(c->fds, c->max, err);
    case F_COUNT:
        break;
    }
    ck_abort_msg("bad fn %d", (int)c->fn);
    return -1;
}

/* ------------------------------------------------------------- fixtures */

/* Built afresh for every test (a checked fixture), with raw system calls
 * so that a bug in one nb_* call does not hide in another's test. */
static struct fixture {
    int listener;          /* TCP 127.0.0.1, O_NONBLOCK, nothing pending */
    char lport[8];
    int udp;               /* UDP bound to 127.0.0.1:0 */
    char uport[8];
    nb_addr udp_addr;      /* its address: a valid destination */
    int client, server;    /* a connected TCP pair */
    int unix_listener;     /* stream, abstract name unix_name */
    char unix_name[64];    /* "@nb-args-PID-srv" */
    char unix_new[96];     /* base_dir/new-PID.sock: free to bind; no
                              failing call may leave a file there */
    int unix_dgram;        /* an unbound unix datagram socket */
    int pipe[2];
    int tcp_fresh;         /* a TCP socket neither bound nor connected */
    int devnull;           /* /dev/null: open, not a socket */
    int closed;            /* a descriptor number that is not open */
    nb_addr scratch;
    char buf[64];
} fx;

/* Made once by the runner (an unchecked fixture) and removed with its
 * contents at the end, also when a test failed in a forked child. */
static char base_dir[64];

static void make_base_dir(void)
{
    th_make_dir(base_dir, "nb-test-args");
}

static void remove_base_dir(void)
{
    th_remove_tree(base_dir);
}

static void setup(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int probe;

    memset(&fx, 0, sizeof(fx));
    fx.listener = th_raw_listener(AF_INET, 16, fx.lport);
    ck_assert_int_eq(fcntl(fx.listener, F_SETFL, O_NONBLOCK), 0);

    fx.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fx.udp, 0);
    len = th_loopback(&ss, AF_INET, 0);
    ck_assert_int_eq(bind(fx.udp, (struct sockaddr *)&ss, len), 0);
    ck_assert_int_eq(nb_local_addr(fx.udp, &fx.udp_addr, NULL), 0);
    th_port_of(fx.udp, fx.uport);

    th_tcp_pair(&fx.client, &fx.server);

    snprintf(fx.unix_name, sizeof(fx.unix_name), "@nb-args-%ld-srv",
             (long)getpid());
    snprintf(fx.unix_new, sizeof(fx.unix_new), "%s/new-%ld.sock", base_dir,
             (long)getpid());
    fx.unix_listener = th_unix_listener(fx.unix_name, 16);

    fx.unix_dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fx.unix_dgram, 0);
    ck_assert_int_eq(pipe2(fx.pipe, O_CLOEXEC), 0);
    fx.tcp_fresh = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fx.tcp_fresh, 0);
    fx.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fx.devnull, 0);

    /* the lowest free number, closed again */
    probe = fcntl(fx.pipe[0], F_DUPFD_CLOEXEC, 0);
    ck_assert_int_ge(probe, 0);
    close(probe);
    fx.closed = probe;
    ck_assert_int_eq(fcntl(fx.closed, F_GETFD), -1);
}

static void teardown(void)
{
    unlink(fx.unix_new);
    close(fx.listener);
    close(fx.udp);
    close(fx.client);
    close(fx.server);
    close(fx.unix_listener);
    close(fx.unix_dgram);
    close(fx.pipe[0]);
    close(fx.pipe[1]);
    close(fx.tcp_fresh);
    close(fx.devnull);
}

/* A call with valid arguments, the one each row then spoils. */
static struct call valid_call(enum fn f)
{
    struct call c;

    memset(&c, 0, sizeof(c));
    c.fn = f;
    c.timeout_ms = 300;
    c.buf = fx.buf;
    c.len = 1;
    c.addr = &fx.scratch;
    switch (f) {
    case F_TCP_LISTEN:
    case F_UDP_BIND:
        c.host = "127.0.0.1";
        c.port = "0";
        break;
    case F_TCP_ACCEPT:
        c.fd = fx.listener;
        break;
    case F_TCP_CONNECT:
        c.host = "127.0.0.1";
        c.port = fx.lport;
        break;
    case F_UDP_CONNECT:
        c.host = "127.0.0.1";
        c.port = fx.uport;
        break;
    case F_UDP_SENDTO:
        c.fd = fx.udp;
        c.to = &fx.udp_addr;
        break;
    case F_UDP_RECVFROM:
        c.fd = fx.udp;
        c.len = sizeof(fx.buf);
        break;
    case F_SEND_ALL:
        c.fd = fx.client;
        break;
    case F_RECV_ALL:
        c.fd = fx.server;
        break;
    case F_LOCAL_ADDR:
        c.fd = fx.udp;
        break;
    case F_PEER_ADDR:
        c.fd = fx.client;
        break;
    case F_UNIX_LISTEN:
    case F_UNIX_BIND:
        c.host = fx.unix_new;
        break;
    case F_UNIX_CONNECT:
        c.host = fx.unix_name;
        break;
    case F_LISTEN_FDS:
        c.fds = (int *)(void *)fx.buf;
        c.max = 4;
        break;
    case F_COUNT:
        break;
    }
    return c;
}

/* ------------------------------------------------------ checking a row */

struct expect {
    enum nb_code code;
    int or_resolve;   /* NB_ERR_RESOLVE is right as well: what the pages
                         say (an unknown service, EAI_SERVICE; a literal
                         of an excluded family, EAI_ADDRFAMILY) and an
                         argument error are both accepted */
    int err_no;       /* errno (and sys_errno for NB_ERR_SYSTEM); 0 means
                         EINVAL for NB_ERR_ARG, unchecked for RESOLVE */
    int err_no_alt;   /* another acceptable errno, or 0 */
    int gai;          /* gai_error wanted for RESOLVE; 0: any non-zero */
    /* What the message must name: alternatives separated by '|'; a
     * leading '#' asks for a number token (not part of a longer word);
     * "$FD" is the descriptor of the call as a number token.  NULL: no
     * check. */
    const char *names;
};

static int is_word_char(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* s contains tok as a token: not glued to letters or digits. */
static int has_token(const char *s, const char *tok)
{
    size_t n = strlen(tok);
    const char *p = s;

    while ((p = strstr(p, tok)) != NULL) {
        int before_ok = p == s || !is_word_char(p[-1]);
        int after_ok = !is_word_char(p[n]);
        if (before_ok && after_ok)
            return 1;
        p++;
    }
    return 0;
}

static int names_one(const char *msg, const char *alt, size_t n, int fd)
{
    char tok[128];

    if (n >= sizeof(tok))
        n = sizeof(tok) - 1;
    memcpy(tok, alt, n);
    tok[n] = '\0';
    if (strcmp(tok, "$FD") == 0) {
        snprintf(tok, sizeof(tok), "%d", fd);
        return has_token(msg, tok);
    }
    if (tok[0] == '#')
        return has_token(msg, tok + 1);
    return strstr(msg, tok) != NULL;
}

static int message_names(const char *msg, const char *names, int fd)
{
    const char *p = names;

    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (names_one(msg, p, n, fd))
            return 1;
        if (bar == NULL)
            return 0;
        p = bar + 1;
    }
}

static void check_error(const char *label, const struct call *c,
                        const struct expect *x, const nb_error *e,
                        int got_errno)
{
    enum nb_code want = x->code;
    const char *want_op = fn_op[c->fn];

    if (x->or_resolve && e->code == NB_ERR_RESOLVE)
        want = NB_ERR_RESOLVE;
    ck_assert_msg(e->code == want, "%s: code %s, want %s", label,
                  nb_code_name(e->code), nb_code_name(want));
    ck_assert_msg(memchr(e->message, '\0', sizeof(e->message)) != NULL,
                  "%s: message not terminated", label);
    ck_assert_msg(memchr(e->addr, '\0', sizeof(e->addr)) != NULL,
                  "%s: addr not terminated", label);
    ck_assert_msg(e->op != th_poison_op && e->op != NULL && e->op[0] != '\0',
                  "%s: op not set", label);
    ck_assert_msg(e->message[0] != '\0', "%s: empty message", label);
    ck_assert_msg(strchr(e->message, '\n') == NULL, "%s: message \"%s\"",
                  label, e->message);
    ck_assert_ptr_eq(nb_error_message(e), e->message);
    ck_assert_msg(e->attempts == 0, "%s: attempts %d", label, e->attempts);
    ck_assert_msg(e->transferred == 0, "%s: transferred %zu", label,
                  e->transferred);

    switch (want) {
    case NB_ERR_ARG: {
        int want_errno = x->err_no != 0 ? x->err_no : EINVAL;
        ck_assert_msg(nb_error_is_temporary(e) == 0,
                      "%s: an argument error called temporary", label);
        ck_assert_msg(e->sys_errno == 0, "%s: sys_errno %d", label,
                      e->sys_errno);
        ck_assert_msg(e->gai_error == 0, "%s: gai_error %d", label,
                      e->gai_error);
        ck_assert_msg(got_errno == want_errno ||
                      (x->err_no_alt != 0 && got_errno == x->err_no_alt),
                      "%s: errno %d (%s), want %d (%s)", label, got_errno,
                      strerror(got_errno), want_errno, strerror(want_errno));
        break;
    }
    case NB_ERR_RESOLVE: {
        char want_addr[NB_ADDRSTRLEN];
        want_op = "resolve";
        /* nb_error(3): addr is "host:port" (a long host cut short) */
        snprintf(want_addr, sizeof(want_addr),
                 strchr(c->host, ':') != NULL && c->host[0] != '[' ? "[%s]:%s"
                                                                  : "%s:%s",
                 c->host, c->port);
        ck_assert_msg(strcmp(e->addr, want_addr) == 0, "%s: addr \"%s\", "
                      "want \"%s\"", label, e->addr, want_addr);
        ck_assert_msg(e->sys_errno == 0, "%s: sys_errno %d", label,
                      e->sys_errno);
        if (x->gai != 0)
            ck_assert_msg(e->gai_error == x->gai, "%s: gai_error %d (%s), "
                          "want %d (%s)", label, e->gai_error,
                          gai_strerror(e->gai_error), x->gai,
                          gai_strerror(x->gai));
        else
            ck_assert_msg(e->gai_error != 0, "%s: gai_error 0", label);
        break;
    }
    default:
        ck_assert_msg(e->sys_errno == x->err_no, "%s: sys_errno %d, want %d",
                      label, e->sys_errno, x->err_no);
        ck_assert_msg(got_errno == x->err_no, "%s: errno %d, want %d",
                      label, got_errno, x->err_no);
        break;
    }
    ck_assert_msg(strcmp(e->op, want_op) == 0, "%s: op \"%s\", want \"%s\"",
                  label, e->op, want_op);
    ck_assert_msg(strncmp(e->message, want_op, strlen(want_op)) == 0,
                  "%s: message \"%s\" does not start with \"%s\"", label,
                  e->message, want_op);
    if (x->names != NULL)
        ck_assert_msg(message_names(e->message, x->names, c->fd),
                      "%s: message \"%s\" does not name %s", label,
                      e->message, x->names);
}

/* Calls that take a deadline. */
static int takes_timeout(enum fn f)
{
    return f == F_TCP_CONNECT || f == F_UDP_RECVFROM || f == F_SEND_ALL ||
           f == F_RECV_ALL || f == F_UNIX_CONNECT;
}

/* Nothing moved: no byte reached the other end of the TCP pair, no
 * datagram the UDP socket (which sends to itself), and no socket file
 * was made. */
static void check_nothing_happened(const char *label)
{
    struct stat st;

    ck_assert_msg(th_poll_for(fx.server, POLLIN, 0) == 0,
                  "%s: bytes reached the peer", label);
    ck_assert_msg(th_poll_for(fx.udp, POLLIN, 0) == 0,
                  "%s: a datagram was sent", label);
    ck_assert_msg(lstat(fx.unix_new, &st) != 0, "%s: %s was made", label,
                  fx.unix_new);
}

/* The contract for one bad call: with an error object, then with err
 * NULL. */
static void check_failure_once(const char *label, const struct call *c,
                               const struct expect *x)
{
    nb_error e;
    int before = th_count_fds();
    int got_errno;
    long r;

    th_poison(&e);
    errno = 0;
    r = invoke(c, &e);
    got_errno = errno;
    if (r >= 0 && returns_fd(c->fn))
        close((int)r);
    ck_assert_msg(r == -1, "%s: returned %ld, want -1", label, r);
    check_error(label, c, x, &e, got_errno);
    ck_assert_msg(th_count_fds() == before, "%s: a descriptor leaked", label);
    check_nothing_happened(label);

    errno = 0;
    r = invoke(c, NULL);
    if (r >= 0 && returns_fd(c->fn))
        close((int)r);
    ck_assert_msg(r == -1, "%s (err NULL): returned %ld, want -1", label, r);
    if (e.code != NB_ERR_RESOLVE)
        ck_assert_msg(errno == got_errno, "%s (err NULL): errno %d, with an "
                      "error object %d", label, errno, got_errno);
    ck_assert_msg(th_count_fds() == before, "%s (err NULL): a descriptor "
                  "leaked", label);
    check_nothing_happened(label);
}

/* ... with the call's deadline, and without one where it takes one (a bad
 * argument is rejected before anything waits). */
static void check_failure(const char *label, const struct call *c,
                          const struct expect *x)
{
    check_failure_once(label, c, x);
    if (takes_timeout(c->fn)) {
        struct call untimed = *c;
        char label2[256];
        untimed.timeout_ms = 0;
        snprintf(label2, sizeof(label2), "%s, no deadline", label);
        check_failure_once(label2, &untimed, x);
    }
}

/* ------------------------------------------------------------- ports */

static const enum fn port_fns[] = {
    F_TCP_LISTEN, F_TCP_CONNECT, F_UDP_BIND, F_UDP_CONNECT,
};
#define N_PORT_FNS (int)(sizeof(port_fns) / sizeof(port_fns[0]))

static const struct port_row {
    const char *port;
    struct expect x;
} port_rows[] = {
    { "",       { NB_ERR_ARG, 0, 0, 0, 0, "port" } },
    { NULL,     { NB_ERR_ARG, 0, 0, 0, 0, "port" } },
    { "65536",  { NB_ERR_ARG, 0, 0, 0, 0, "65536" } },
    { "70000",  { NB_ERR_ARG, 0, 0, 0, 0, "70000" } },
    { "-1",     { NB_ERR_ARG, 0, 0, 0, 0, "-1" } },
    /* netbasics(7), "Hosts and ports": a port that starts with digits but
     * is not a number may be taken for a service name; then it is an
     * unknown one, NB_ERR_RESOLVE with EAI_SERVICE */
    { "80x",    { NB_ERR_ARG, 1, 0, 0, EAI_SERVICE, "80x" } },
    { " 80",    { NB_ERR_ARG, 0, 0, 0, 0, "\" 80\"|' 80'| 80:" } },
    { "80 ",    { NB_ERR_ARG, 0, 0, 0, 0, "80 " } },
    { "+80",    { NB_ERR_ARG, 0, 0, 0, 0, "+80" } },
    { "0x50",   { NB_ERR_ARG, 1, 0, 0, EAI_SERVICE, "0x50" } },
    { "99999999999999999999",
                { NB_ERR_ARG, 0, 0, 0, 0, "99999999999999999999" } },
    { "8 0",    { NB_ERR_ARG, 0, 0, 0, 0, "8 0" } },
    /* would be 80 after a 16-bit or a 32-bit wrap-around */
    { "65616",  { NB_ERR_ARG, 0, 0, 0, 0, "65616" } },
    { "4294967376", { NB_ERR_ARG, 0, 0, 0, 0, "4294967376" } },
    /* a service name that /etc/services does not have */
    { "no-such-service-nb",
                { NB_ERR_RESOLVE, 0, 0, 0, EAI_SERVICE, "no-such-service-nb" } },
};
#define N_PORT_ROWS (int)(sizeof(port_rows) / sizeof(port_rows[0]))

/* One row, every call that takes a port (a fork per row, not per call:
 * forks are what makes a Check suite slow). */
START_TEST(bad_port_row)
{
    const struct port_row *row = &port_rows[_i];
    int f;

    for (f = 0; f < N_PORT_FNS; f++) {
        struct call c = valid_call(port_fns[f]);
        char label[160];

        c.port = row->port;
        snprintf(label, sizeof(label), "%s(\"%s\", port %s%s%s)",
                 fn_name[c.fn], c.host, row->port ? "\"" : "",
                 row->port ? row->port : "NULL", row->port ? "\"" : "");
        check_failure(label, &c, &row->x);
    }
}
END_TEST

/* A service name from /etc/services resolves to its number: "daytime" is
 * 13, "echo" 7.  Binding those needs privileges, and another program may
 * hold them, so a bind may fail, but only at bind(2) and only for the
 * number the name stands for.  127.83.71.1 keeps clear of others'
 * 127.0.0.1. */
#define SERVICE_HOST "127.83.71.1"

static void check_bound_or_denied(const char *label, int fd, const nb_error *e,
                                  int port)
{
    char want[32];

    if (fd >= 0) {
        nb_addr a;
        ck_assert_int_eq(th_is_cloexec(fd), 1);
        ck_assert_int_eq(nb_local_addr(fd, &a, NULL), 0);
        ck_assert_msg(nb_addr_port(&a) == port, "%s: bound port %d, want %d",
                      label, nb_addr_port(&a), port);
        close(fd);
        return;
    }
    snprintf(want, sizeof(want), "%s:%d", SERVICE_HOST, port);
    ck_assert_msg(e->code == NB_ERR_SYSTEM, "%s: %s: %s", label,
                  nb_code_name(e->code), e->message);
    ck_assert_str_eq(e->op, "bind");
    ck_assert_msg(e->sys_errno == EACCES || e->sys_errno == EADDRINUSE,
                  "%s: %s", label, e->message);
    ck_assert_str_eq(e->addr, want);
    printf("%s: %s (the name resolved to %d all the same)\n", label,
           e->message, port);
}

START_TEST(service_name_port_listen)
{
    nb_error e;
    int before = th_count_fds();
    int fd = nb_tcp_listen(SERVICE_HOST, "daytime", 0, 0, &e);

    check_bound_or_denied("nb_tcp_listen daytime", fd, &e, 13);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(service_name_port_udp_bind)
{
    nb_error e;
    int before = th_count_fds();
    int fd = nb_udp_bind(SERVICE_HOST, "daytime", 0, &e);

    check_bound_or_denied("nb_udp_bind daytime", fd, &e, 13);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

START_TEST(service_name_port_udp_connect)
{
    nb_error e;
    nb_addr peer;
    int before = th_count_fds();
    int fd = nb_udp_connect("127.0.0.1", "daytime", 0, &e);

    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
    ck_assert_int_eq(nb_addr_port(&peer), 13);
    close(fd);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* "echo" is 7.  With the privilege to listen on 127.83.71.1:7 the connect
 * must reach that listener; without, it must be refused (not an argument
 * or resolve error). */
START_TEST(service_name_port_tcp_connect)
{
    struct sockaddr_in sin;
    nb_error e;
    nb_addr peer;
    int before = th_count_fds();
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int listening, why, fd;

    ck_assert_int_ge(l, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(7);
    ck_assert_int_eq(inet_pton(AF_INET, SERVICE_HOST, &sin.sin_addr), 1);
    listening = bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
                listen(l, 4) == 0;
    why = errno;
    fd = nb_tcp_connect(SERVICE_HOST, "echo", 2000, 0, &e);
    if (listening) {
        ck_assert_msg(fd >= 0, "%s", e.message);
        ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
        ck_assert_int_eq(nb_addr_port(&peer), 7);
        close(fd);
    } else {
        printf("service_name_port_tcp_connect: cannot listen on %s:7 (%s); "
               "checking only that the connect was refused\n", SERVICE_HOST,
               strerror(why));
        ck_assert_int_eq(fd, -1);
        th_assert_error(&e, NB_ERR_SYSTEM, "connect");
        ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    }
    close(l);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------- hosts */

static char long_host[1100];  /* filled in main: 1099 letters */

/* Rows marked connect_only are valid for listen and bind: there NULL and
 * "" are the wildcard (see test_listen). */
static const struct host_row {
    const char *host;  /* long_host stands for itself */
    int flags;
    int connect_only;
    struct expect x;
} host_rows[] = {
    { NULL, 0, 1, { NB_ERR_ARG, 0, 0, 0, 0, "host" } },
    { "", 0, 1, { NB_ERR_ARG, 0, 0, 0, 0, "host" } },
    { TH_UNRESOLVABLE, 0, 0, { NB_ERR_RESOLVE, 0, 0, 0, 0, TH_LONG_LABEL } },
    { long_host, 0, 0, { NB_ERR_ARG, 1, 0, 0, 0, "host|aaaaaaaa" } },
    /* a literal of the family the flags exclude */
    { "::1", NB_IPV4_ONLY, 0, { NB_ERR_ARG, 1, 0, 0, 0, "::1" } },
    { "127.0.0.1", NB_IPV6_ONLY, 0, { NB_ERR_ARG, 1, 0, 0, 0, "127.0.0.1" } },
};
#define N_HOST_ROWS (int)(sizeof(host_rows) / sizeof(host_rows[0]))

START_TEST(bad_host_row)
{
    const struct host_row *row = &host_rows[_i];
    int f;

    for (f = 0; f < N_PORT_FNS; f++) {
        struct call c = valid_call(port_fns[f]);
        char label[200];

        if (row->connect_only && (c.fn == F_TCP_LISTEN || c.fn == F_UDP_BIND))
            continue;
        c.host = row->host;
        c.flags = row->flags;
        snprintf(label, sizeof(label), "%s(host %s%.40s%s, flags 0x%x)",
                 fn_name[c.fn], row->host ? "\"" : "",
                 row->host ? row->host : "NULL", row->host ? "\"" : "",
                 (unsigned)row->flags);
        check_failure(label, &c, &row->x);
    }
}
END_TEST

/* --------------------------------------------------------- unix paths */

static char long_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
static char long_abstract[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];

static const enum fn unix_fns[] = { F_UNIX_LISTEN, F_UNIX_CONNECT, F_UNIX_BIND };
#define N_UNIX_FNS (int)(sizeof(unix_fns) / sizeof(unix_fns[0]))

static const struct path_row {
    const char *path;
    struct expect x;
} path_rows[] = {
    { NULL, { NB_ERR_ARG, 0, 0, 0, 0, "path" } },
    { "", { NB_ERR_ARG, 0, 0, 0, 0, "path" } },
    { "@", { NB_ERR_ARG, 0, 0, 0, 0, "@|abstract" } },
    /* 108 bytes: one more than sun_path holds with its NUL */
    { long_path, { NB_ERR_ARG, 0, 0, 0, 0, "#108|/tmp/nb-args-xxxxx" } },
    /* "@" and 108 bytes: one more than an abstract name can have */
    { long_abstract, { NB_ERR_ARG, 0, 0, 0, 0, "#108|#109|@nb-args-xxxx" } },
};
#define N_PATH_ROWS (int)(sizeof(path_rows) / sizeof(path_rows[0]))

START_TEST(bad_unix_path_row)
{
    const struct path_row *row = &path_rows[_i];
    int f;

    for (f = 0; f < N_UNIX_FNS; f++) {
        struct call c = valid_call(unix_fns[f]);
        char label[200];

        c.host = row->path;
        snprintf(label, sizeof(label), "%s(path %s%.30s%s)", fn_name[c.fn],
                 row->path ? "\"" : "", row->path ? row->path : "NULL",
                 row->path ? "\"" : "");
        check_failure(label, &c, &row->x);
    }
}
END_TEST

/* ------------------------------------------------------------- flags */

/* netbasics(7), "Flags": the table of which flags apply to which call. */
static const struct {
    enum fn fn;
    int allowed;
} flag_fns[] = {
    { F_TCP_LISTEN, NB_NONBLOCK | NB_REUSEPORT | NB_IPV4_ONLY | NB_IPV6_ONLY |
                    NB_NODELAY },
    { F_TCP_ACCEPT, NB_NONBLOCK | NB_NODELAY },
    { F_TCP_CONNECT, NB_NONBLOCK | NB_IPV4_ONLY | NB_IPV6_ONLY | NB_NODELAY },
    { F_UDP_BIND, NB_NONBLOCK | NB_REUSEPORT | NB_IPV4_ONLY | NB_IPV6_ONLY },
    { F_UDP_CONNECT, NB_NONBLOCK | NB_IPV4_ONLY | NB_IPV6_ONLY },
    { F_UNIX_LISTEN, NB_NONBLOCK },
    { F_UNIX_CONNECT, NB_NONBLOCK },
    { F_UNIX_BIND, NB_NONBLOCK },
};

static const struct {
    int flags;
    const char *name;  /* what the message may say instead of the value */
} flag_values[] = {
    { 0x20, NULL },
    { 0x40, NULL },
    { 0x100, NULL },
    { 0x40000000, NULL },
    { INT_MIN, NULL },  /* 0x80000000 */
    { -1, NULL },
    { NB_IPV4_ONLY | NB_IPV6_ONLY, "NB_IPV6_ONLY" },
    { NB_NONBLOCK | NB_IPV4_ONLY | NB_IPV6_ONLY, "NB_IPV6_ONLY" },
    { NB_NONBLOCK | 0x20, NULL },
    { NB_NONBLOCK | NB_NODELAY, "NB_NODELAY" },
    { NB_NONBLOCK | NB_REUSEPORT, "NB_REUSEPORT" },
    /* each flag alone: bad where it does not apply */
    { NB_NONBLOCK, "NB_NONBLOCK" },
    { NB_REUSEPORT, "NB_REUSEPORT" },
    { NB_IPV4_ONLY, "NB_IPV4_ONLY" },
    { NB_IPV6_ONLY, "NB_IPV6_ONLY" },
    { NB_NODELAY, "NB_NODELAY" },
};

static int flags_valid(int flags, int allowed)
{
    return (flags & ~allowed) == 0 &&
           (flags & (NB_IPV4_ONLY | NB_IPV6_ONLY)) !=
               (NB_IPV4_ONLY | NB_IPV6_ONLY);
}

/* One call, every flag value that is bad for it.  The message names the
 * value ("0x20") or, for a known flag, its name. */
START_TEST(bad_flags_for_call)
{
    size_t v;
    int checked = 0;

    for (v = 0; v < sizeof(flag_values) / sizeof(flag_values[0]); v++) {
        struct call c = valid_call(flag_fns[_i].fn);
        struct expect x = { NB_ERR_ARG, 0, 0, 0, 0, NULL };
        char names[64], label[128];

        c.flags = flag_values[v].flags;
        if (flags_valid(c.flags, flag_fns[_i].allowed))
            continue;
        snprintf(names, sizeof(names), "#0x%x%s%s", (unsigned)c.flags,
                 flag_values[v].name ? "|" : "",
                 flag_values[v].name ? flag_values[v].name : "");
        x.names = names;
        snprintf(label, sizeof(label), "%s(flags 0x%x)", fn_name[c.fn],
                 (unsigned)c.flags);
        check_failure(label, &c, &x);
        checked++;
    }
    ck_assert_int_ge(checked, 5);
}
END_TEST

/* --------------------------------------------------------- descriptors */

enum fd_kind {
    FD_MINUS1,
    FD_CLOSED,
    FD_PIPE_READ,
    FD_PIPE_WRITE,
    FD_UDP,
    FD_TCP_FRESH,
    FD_TCP_CONNECTED,
    FD_UNIX_DGRAM,
    FD_REGULAR_FILE,
};

static const char *const fd_kind_name[] = {
    "-1", "a closed descriptor", "a pipe's read end", "a pipe's write end",
    "a UDP socket", "a TCP socket not listening", "a connected TCP socket",
    "a unix datagram socket", "/dev/null",
};

static int fd_of_kind(enum fd_kind k)
{
    switch (k) {
    case FD_MINUS1:        return -1;
    case FD_CLOSED:        return fx.closed;
    case FD_PIPE_READ:     return fx.pipe[0];
    case FD_PIPE_WRITE:    return fx.pipe[1];
    case FD_UDP:           return fx.udp;
    case FD_TCP_FRESH:     return fx.tcp_fresh;
    case FD_TCP_CONNECTED: return fx.client;
    case FD_UNIX_DGRAM:    return fx.unix_dgram;
    case FD_REGULAR_FILE:  return fx.devnull;
    }
    return -1;
}

/* Calls that take a descriptor. */
static const enum fn fd_fns[] = {
    F_TCP_ACCEPT, F_UDP_SENDTO, F_UDP_RECVFROM, F_SEND_ALL, F_RECV_ALL,
    F_LOCAL_ADDR, F_PEER_ADDR,
};

static const struct fd_row {
    enum fd_kind kind;
    int accept_only;   /* sockets only accept(2) refuses */
    struct expect x;
} fd_rows[] = {
    { FD_MINUS1, 0, { NB_ERR_ARG, 0, 0, 0, 0, "#-1" } },
    /* the kernel's errno is kept: more precise than EINVAL */
    { FD_CLOSED, 0, { NB_ERR_ARG, 0, EBADF, 0, 0, "$FD" } },
    { FD_PIPE_READ, 0, { NB_ERR_ARG, 0, ENOTSOCK, 0, 0, "$FD" } },
    { FD_PIPE_WRITE, 0, { NB_ERR_ARG, 0, ENOTSOCK, 0, 0, "$FD" } },
    { FD_REGULAR_FILE, 0, { NB_ERR_ARG, 0, ENOTSOCK, 0, 0, "$FD" } },
    /* accept(2) gives EOPNOTSUPP or EINVAL, reported as argument errors */
    { FD_UDP, 1, { NB_ERR_ARG, 0, EINVAL, EOPNOTSUPP, 0, "$FD" } },
    { FD_TCP_FRESH, 1, { NB_ERR_ARG, 0, EINVAL, 0, 0, "$FD" } },
    { FD_TCP_CONNECTED, 1, { NB_ERR_ARG, 0, EINVAL, 0, 0, "$FD" } },
    { FD_UNIX_DGRAM, 1, { NB_ERR_ARG, 0, EINVAL, EOPNOTSUPP, 0, "$FD" } },
};
#define N_FD_ROWS (int)(sizeof(fd_rows) / sizeof(fd_rows[0]))

START_TEST(bad_fd_row)
{
    const struct fd_row *row = &fd_rows[_i];
    size_t f;

    for (f = 0; f < sizeof(fd_fns) / sizeof(fd_fns[0]); f++) {
        struct call c = valid_call(fd_fns[f]);
        char label[128];

        if (row->accept_only && c.fn != F_TCP_ACCEPT)
            continue;
        c.fd = fd_of_kind(row->kind);
        snprintf(label, sizeof(label), "%s(%s, fd %d)", fn_name[c.fn],
                 fd_kind_name[row->kind], c.fd);
        check_failure(label, &c, &row->x);
        if (c.fn == F_UDP_SENDTO) {  /* to the connected peer */
            c.to = NULL;
            snprintf(label, sizeof(label), "%s(%s, fd %d, to NULL)",
                     fn_name[c.fn], fd_kind_name[row->kind], c.fd);
            check_failure(label, &c, &row->x);
        }
    }
}
END_TEST

/* ------------------------------------------------- buffers and pointers */

enum ptr_bad { P_NULL_BUF, P_HUGE_LEN, P_LEN_ABOVE_SSIZE_MAX, P_TO_LEN_0,
               P_TO_LEN_OVER_1, P_TO_LEN_1000, P_TO_LEN_MAX, P_NULL_OUT,
               P_NULL_FDS, P_NEG_MAX };

static nb_addr bad_to;

static const struct ptr_row {
    enum fn fn;
    enum ptr_bad what;
    const char *label;
    struct expect x;
} ptr_rows[] = {
    { F_UDP_SENDTO, P_NULL_BUF, "buf NULL, len 10",
      { NB_ERR_ARG, 0, 0, 0, 0, "buf|NULL" } },
    { F_UDP_RECVFROM, P_NULL_BUF, "buf NULL, len 10",
      { NB_ERR_ARG, 0, 0, 0, 0, "buf|NULL" } },
    { F_SEND_ALL, P_NULL_BUF, "buf NULL, len 10",
      { NB_ERR_ARG, 0, 0, 0, 0, "buf|NULL" } },
    { F_RECV_ALL, P_NULL_BUF, "buf NULL, len 10",
      { NB_ERR_ARG, 0, 0, 0, 0, "buf|NULL" } },
    /* the result must fit the ssize_t returned */
    { F_SEND_ALL, P_HUGE_LEN, "len SIZE_MAX",
      { NB_ERR_ARG, 0, 0, 0, 0, "#18446744073709551615|#4294967295" } },
    { F_RECV_ALL, P_HUGE_LEN, "len SIZE_MAX",
      { NB_ERR_ARG, 0, 0, 0, 0, "#18446744073709551615|#4294967295" } },
    { F_UDP_SENDTO, P_HUGE_LEN, "len SIZE_MAX",
      { NB_ERR_ARG, 0, 0, 0, 0, "#18446744073709551615|#4294967295" } },
    { F_UDP_RECVFROM, P_HUGE_LEN, "len SIZE_MAX",
      { NB_ERR_ARG, 0, 0, 0, 0, "#18446744073709551615|#4294967295" } },
    /* the first length that does not fit */
    { F_SEND_ALL, P_LEN_ABOVE_SSIZE_MAX, "len SSIZE_MAX + 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#9223372036854775808|#2147483648" } },
    { F_RECV_ALL, P_LEN_ABOVE_SSIZE_MAX, "len SSIZE_MAX + 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#9223372036854775808|#2147483648" } },
    { F_UDP_SENDTO, P_LEN_ABOVE_SSIZE_MAX, "len SSIZE_MAX + 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#9223372036854775808|#2147483648" } },
    { F_UDP_RECVFROM, P_LEN_ABOVE_SSIZE_MAX, "len SSIZE_MAX + 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#9223372036854775808|#2147483648" } },
    /* a destination that is empty or longer than a sockaddr_storage */
    { F_UDP_SENDTO, P_TO_LEN_0, "to->len 0",
      { NB_ERR_ARG, 0, 0, 0, 0, "#0" } },
    { F_UDP_SENDTO, P_TO_LEN_OVER_1, "to->len sizeof(sockaddr_storage) + 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#129" } },
    { F_UDP_SENDTO, P_TO_LEN_1000, "to->len 1000",
      { NB_ERR_ARG, 0, 0, 0, 0, "#1000" } },
    { F_UDP_SENDTO, P_TO_LEN_MAX, "to->len (socklen_t)-1",
      { NB_ERR_ARG, 0, 0, 0, 0, "#4294967295" } },
    { F_LOCAL_ADDR, P_NULL_OUT, "out NULL",
      { NB_ERR_ARG, 0, 0, 0, 0, "NULL" } },
    { F_PEER_ADDR, P_NULL_OUT, "out NULL",
      { NB_ERR_ARG, 0, 0, 0, 0, "NULL" } },
    { F_LISTEN_FDS, P_NULL_FDS, "fds NULL, max 1",
      { NB_ERR_ARG, 0, 0, 0, 0, "fds|NULL" } },
    { F_LISTEN_FDS, P_NEG_MAX, "max -1",
      { NB_ERR_ARG, 0, 0, 0, 0, "max|#-1" } },
};
#define N_PTR_ROWS (int)(sizeof(ptr_rows) / sizeof(ptr_rows[0]))

START_TEST(bad_pointer_row)
{
    const struct ptr_row *row = &ptr_rows[_i];
    struct call c = valid_call(row->fn);
    char label[128];

    switch (row->what) {
    case P_NULL_BUF:
        c.buf = NULL;
        c.len = 10;
        break;
    case P_HUGE_LEN:
        c.len = SIZE_MAX;
        break;
    case P_LEN_ABOVE_SSIZE_MAX:
        c.len = (size_t)SSIZE_MAX + 1;
        break;
    case P_TO_LEN_0:
    case P_TO_LEN_OVER_1:
    case P_TO_LEN_1000:
    case P_TO_LEN_MAX:
        bad_to = fx.udp_addr;
        bad_to.len = row->what == P_TO_LEN_0 ? 0
                     : row->what == P_TO_LEN_OVER_1 ? sizeof(bad_to.ss) + 1
                     : row->what == P_TO_LEN_1000 ? 1000
                                                   : (socklen_t)-1;
        c.to = &bad_to;
        break;
    case P_NULL_OUT:
        c.addr = NULL;
        break;
    case P_NULL_FDS:
        c.fds = NULL;
        c.max = 1;
        break;
    case P_NEG_MAX:
        c.max = -1;
        break;
    }
    snprintf(label, sizeof(label), "%s(%s)", fn_name[c.fn], row->label);
    check_failure(label, &c, &row->x);
}
END_TEST

/* A NULL buffer with length 0 is no mistake: nothing to move. */
START_TEST(null_buffer_with_zero_length_is_fine)
{
    nb_error e;
    int before = th_count_fds();

    nb_error_clear(&e);
    ck_assert_int_eq(nb_send_all(fx.client, NULL, 0, 300, &e), 0);
    ck_assert_int_eq(nb_send_all(fx.client, NULL, 0, 0, &e), 0);
    ck_assert_int_eq(nb_recv_all(fx.server, NULL, 0, 300, &e), 0);
    ck_assert_int_eq(nb_recv_all(fx.server, NULL, 0, 0, &e), 0);
    ck_assert_int_eq(nb_udp_sendto(fx.udp, NULL, 0, &fx.udp_addr, &e), 0);
    ck_assert_int_eq(e.code, NB_OK);
    ck_assert_int_eq(th_count_fds(), before);
}
END_TEST

/* --------------------------------------------------- socket activation */

static const struct env_row {
    const char *pid;   /* "$PID" is this process */
    const char *fds;
    struct expect x;
} env_rows[] = {
    { "abc", "1", { NB_ERR_ARG, 0, 0, 0, 0, "abc" } },
    { "0", "1", { NB_ERR_ARG, 0, 0, 0, 0, "LISTEN_PID" } },
    { "-5", "1", { NB_ERR_ARG, 0, 0, 0, 0, "-5" } },
    { "", "1", { NB_ERR_ARG, 0, 0, 0, 0, "LISTEN_PID" } },
    { "99999999999999999999", "1",
      { NB_ERR_ARG, 0, 0, 0, 0, "99999999999999999999" } },
    { "$PID", "x", { NB_ERR_ARG, 0, 0, 0, 0, "LISTEN_FDS" } },
    { "$PID", "-1", { NB_ERR_ARG, 0, 0, 0, 0, "LISTEN_FDS" } },
    { "$PID", "", { NB_ERR_ARG, 0, 0, 0, 0, "LISTEN_FDS" } },
    { "$PID", "1x", { NB_ERR_ARG, 0, 0, 0, 0, "1x" } },
    { "$PID", "99999999999999999999",
      { NB_ERR_ARG, 0, 0, 0, 0, "99999999999999999999" } },
};
#define N_ENV_ROWS (int)(sizeof(env_rows) / sizeof(env_rows[0]))

static void env_setup(void)
{
    setup();
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

static void env_teardown(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    teardown();
}

START_TEST(bad_listen_env_row)
{
    const struct env_row *row = &env_rows[_i];
    struct call c = valid_call(F_LISTEN_FDS);
    char pid[24], label[128];
    const char *p = row->pid;

    if (strcmp(p, "$PID") == 0) {
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        p = pid;
    }
    ck_assert_int_eq(setenv("LISTEN_PID", p, 1), 0);
    ck_assert_int_eq(setenv("LISTEN_FDS", row->fds, 1), 0);
    snprintf(label, sizeof(label), "nb_listen_fds(LISTEN_PID=\"%s\", "
             "LISTEN_FDS=\"%s\")", p, row->fds);
    check_failure(label, &c, &row->x);
}
END_TEST

/* --------------------------------------------------- success is silent */

/* Queues what a successful call of fn needs. */
static void prepare_success(struct call *c, int *extra)
{
    *extra = -1;
    switch (c->fn) {
    case F_TCP_ACCEPT: {
        /* a connection waiting on the non-blocking listener */
        struct sockaddr_in sin;
        *extra = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(*extra, 0);
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port = htons((uint16_t)atoi(fx.lport));
        ck_assert_int_eq(connect(*extra, (struct sockaddr *)&sin, sizeof(sin)),
                         0);
        break;
    }
    case F_UDP_RECVFROM:
        ck_assert_int_eq(sendto(fx.udp, "d", 1, 0,
                                (struct sockaddr *)&fx.udp_addr.ss,
                                fx.udp_addr.len), 1);
        break;
    case F_RECV_ALL:
        ck_assert_int_eq(send(fx.client, "r", 1, MSG_NOSIGNAL), 1);
        break;
    default:
        break;
    }
}

START_TEST(success_leaves_err_untouched)
{
    struct call c = valid_call((enum fn)_i);
    nb_error e, before_e;
    int extra, before;
    long r;

    prepare_success(&c, &extra);
    before = th_count_fds();
    th_poison(&e);
    memcpy(&before_e, &e, sizeof(e));
    r = invoke(&c, &e);
    ck_assert_msg(r >= 0, "%s failed: %s", fn_name[c.fn],
                  memchr(e.message, '\0', sizeof(e.message)) ? e.message
                                                             : "(no message)");
    ck_assert_msg(memcmp(&e, &before_e, sizeof(e)) == 0,
                  "%s succeeded but changed *err", fn_name[c.fn]);
    if (returns_fd(c.fn)) {
        ck_assert_msg(th_is_cloexec((int)r) == 1, "%s: fd %ld not close-on-exec",
                      fn_name[c.fn], r);
        close((int)r);
    }
    ck_assert_int_eq(th_count_fds(), before);
    if (extra >= 0)
        close(extra);
}
END_TEST

/* --------------------------------------------------------------- suite */

static Suite *args_suite(void)
{
    Suite *s = suite_create("args");
    TCase *tc = tcase_create("args");
    TCase *env = tcase_create("listen_fds environment");

    tcase_add_unchecked_fixture(tc, make_base_dir, remove_base_dir);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, bad_port_row, 0, N_PORT_ROWS);
    tcase_add_test(tc, service_name_port_listen);
    tcase_add_test(tc, service_name_port_udp_bind);
    tcase_add_test(tc, service_name_port_udp_connect);
    tcase_add_test(tc, service_name_port_tcp_connect);
    tcase_add_loop_test(tc, bad_host_row, 0, N_HOST_ROWS);
    tcase_add_loop_test(tc, bad_unix_path_row, 0, N_PATH_ROWS);
    tcase_add_loop_test(tc, bad_flags_for_call, 0,
                        sizeof(flag_fns) / sizeof(flag_fns[0]));
    tcase_add_loop_test(tc, bad_fd_row, 0, N_FD_ROWS);
    tcase_add_loop_test(tc, bad_pointer_row, 0, N_PTR_ROWS);
    tcase_add_test(tc, null_buffer_with_zero_length_is_fine);
    suite_add_tcase(s, tc);

    tcase_add_unchecked_fixture(env, make_base_dir, remove_base_dir);
    tcase_add_checked_fixture(env, env_setup, env_teardown);
    tcase_add_loop_test(env, bad_listen_env_row, 0, N_ENV_ROWS);
    tcase_add_loop_test(env, success_leaves_err_untouched, 0, F_COUNT);
    suite_add_tcase(s, env);
    return s;
}

int main(void)
{
    memset(long_host, 'a', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    /* "/tmp/nb-args-xxx...": 108 bytes, no room left for the NUL */
    memset(long_path, 'x', sizeof(long_path) - 1);
    memcpy(long_path, "/tmp/nb-args-", 13);
    long_path[sizeof(long_path) - 1] = '\0';
    /* "@nb-args-xxx...": '@' and 108 bytes */
    memset(long_abstract, 'x', sizeof(long_abstract) - 1);
    memcpy(long_abstract, "@nb-args-", 9);
    long_abstract[sizeof(long_abstract) - 1] = '\0';
    return th_run_suite(args_suite());
}
