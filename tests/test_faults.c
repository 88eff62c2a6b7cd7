/*
 * test_faults.c - the library's error paths for system calls that do not
 * fail on a healthy Linux machine, and nb_tcp_connect on a name with
 * several addresses.  Neither can be arranged from outside: this program
 * defines socket, bind, connect, listen, accept4, setsockopt, ioctl,
 * getaddrinfo and freeaddrinfo itself.  It links the library's objects (the convenience
 * library, as test_race does), so the library's calls reach these
 * definitions.  Each passes the call on to the C library (dlsym RTLD_NEXT)
 * unless a fault is armed for it; connect also records where it went.
 *
 * getaddrinfo here knows one name, set with fake_name(), and nothing else:
 * no name service is ever asked.
 *
 * What is checked, whatever step fails: -1, NB_ERR_SYSTEM (or the
 * resolver's code), the op and the option or request in the message, the
 * injected errno in sys_errno and errno, and no descriptor left open
 * (API.md: "A failing call leaves no descriptor open").
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "helpers.h"

/* ------------------------------------------------- the C library's calls */

static int (*real_socket)(int, int, int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_ioctl)(int, unsigned long, void *);

static void load(void *fnptr, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (p == NULL) {
        fprintf(stderr, "test_faults: dlsym(%s): %s\n", name, dlerror());
        abort();
    }
    memcpy(fnptr, &p, sizeof(p));
}

static void load_real(void)
{
    if (real_socket != NULL)
        return;
    load(&real_bind, "bind");
    load(&real_connect, "connect");
    load(&real_listen, "listen");
    load(&real_accept4, "accept4");
    load(&real_setsockopt, "setsockopt");
    load(&real_ioctl, "ioctl");
    load(&real_socket, "socket");
}

/* With _GNU_SOURCE, glibc passes socket addresses as a transparent union. */
#if defined(__USE_GNU) && defined(__GNUC__) && !defined(__cplusplus)
#define SA_OF(a) ((a).__sockaddr__)
#else
#define SA_OF(a) (a)
#endif

/* ------------------------------------------------------------- faults */

enum fault_call { FC_NONE, FC_SOCKET, FC_BIND, FC_LISTEN, FC_ACCEPT,
                  FC_SETSOCKOPT, FC_IOCTL };

/* The armed fault: every matching call fails with err (only the first
 * `times` of them when times > 0). */
static struct {
    enum fault_call call;
    int times;
    int family;             /* FC_SOCKET, FC_BIND: this family only */
    int level, name;        /* FC_SETSOCKOPT: this option only */
    unsigned long request;  /* FC_IOCTL: this request only */
    int err;
    int hits;               /* calls failed so far */
} fault;

static void arm(enum fault_call call, int err)
{
    memset(&fault, 0, sizeof(fault));
    fault.call = call;
    fault.err = err;
}

static void arm_option(int level, int name, int err)
{
    arm(FC_SETSOCKOPT, err);
    fault.level = level;
    fault.name = name;
}

static void arm_ioctl(unsigned long request, int err)
{
    arm(FC_IOCTL, err);
    fault.request = request;
}

static void arm_family(enum fault_call call, int family, int err)
{
    arm(call, err);
    fault.family = family;
}

static int fail_now(void)
{
    fault.hits++;
    if (fault.times > 0 && fault.hits == fault.times)
        fault.call = FC_NONE;  /* this was the last one */
    errno = fault.err;
    return -1;
}

/* Where connect(2) was asked to go, in order. */
#define MAX_TRIED 32
static struct {
    struct sockaddr_storage ss[MAX_TRIED];
    int n;
} tried;

int socket(int domain, int type, int protocol)
{
    load_real();
    if (fault.call == FC_SOCKET && domain == fault.family)
        return fail_now();
    return real_socket(domain, type, protocol);
}

int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    const struct sockaddr *sa = SA_OF(addr);

    load_real();
    if (fault.call == FC_BIND && sa->sa_family == fault.family)
        return fail_now();
    return real_bind(fd, sa, len);
}

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    const struct sockaddr *sa = SA_OF(addr);

    load_real();
    if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
        tried.n < MAX_TRIED && len <= sizeof(tried.ss[0]))
        memcpy(&tried.ss[tried.n++], sa, len);
    return real_connect(fd, sa, len);
}

int listen(int fd, int backlog)
{
    load_real();
    if (fault.call == FC_LISTEN)
        return fail_now();
    return real_listen(fd, backlog);
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
    load_real();
    if (fault.call == FC_ACCEPT)
        return fail_now();
    return real_accept4(fd, SA_OF(addr), len, flags);
}

int setsockopt(int fd, int level, int name, const void *value,
               socklen_t len)
{
    load_real();
    if (fault.call == FC_SETSOCKOPT && level == fault.level &&
        name == fault.name)
        return fail_now();
    return real_setsockopt(fd, level, name, value, len);
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    load_real();
    if (fault.call == FC_IOCTL && request == fault.request)
        return fail_now();
    return real_ioctl(fd, request, arg);
}

/* ----------------------------------------------------- a fake resolver */

#define FAKE_MAX 24

static struct {
    const char *name;            /* the one name known */
    const char *addrs[FAKE_MAX]; /* its numeric addresses, in order */
    int n;
    int gai;                     /* nonzero: fail with this code... */
    int gai_errno;               /* ...leaving this errno */
    int calls;
    struct addrinfo hints;       /* as the last call passed them */
} fake;

struct fake_entry {
    struct addrinfo ai;          /* first: freeing the entry frees both */
    struct sockaddr_storage ss;
};

static void fake_name(const char *name)
{
    memset(&fake, 0, sizeof(fake));
    fake.name = name;
}

static void fake_add(const char *ip)
{
    ck_assert_int_lt(fake.n, FAKE_MAX);
    fake.addrs[fake.n++] = ip;
}

void freeaddrinfo(struct addrinfo *ai)
{
    while (ai != NULL) {
        struct addrinfo *next = ai->ai_next;
        free(ai);
        ai = next;
    }
}

/* Makes one entry for ip:port, or NULL when hints exclude its family. */
static struct addrinfo *fake_entry(const char *ip, int port,
                                   const struct addrinfo *hints)
{
    int family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    struct fake_entry *e;

    if (hints != NULL && hints->ai_family != AF_UNSPEC &&
        hints->ai_family != family)
        return NULL;
    e = calloc(1, sizeof(*e));
    ck_assert_ptr_nonnull(e);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&e->ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
        e->ai.ai_addrlen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&e->ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        e->ai.ai_addrlen = sizeof(*sin6);
    }
    e->ai.ai_family = family;
    e->ai.ai_socktype = hints != NULL ? hints->ai_socktype : SOCK_STREAM;
    e->ai.ai_protocol = hints != NULL ? hints->ai_protocol : 0;
    e->ai.ai_addr = (struct sockaddr *)&e->ss;
    return &e->ai;
}

int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints,
                struct addrinfo **restrict res)
{
    struct addrinfo *head = NULL, **tail = &head;
    int i;

    fake.calls++;
    if (hints != NULL)
        fake.hints = *hints;
    if (node == NULL || fake.name == NULL || strcmp(node, fake.name) != 0)
        return EAI_NONAME;
    if (fake.gai != 0) {
        errno = fake.gai_errno;
        return fake.gai;
    }
    for (i = 0; i < fake.n; i++) {
        struct addrinfo *ai = fake_entry(fake.addrs[i],
                                         service != NULL ? atoi(service) : 0,
                                         hints);
        if (ai != NULL) {
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    if (head == NULL)
        return EAI_NONAME;
    *res = head;
    return 0;
}

/* ------------------------------------------------------------ fixtures */

static void setup(void)
{
    memset(&fault, 0, sizeof(fault));
    memset(&tried, 0, sizeof(tried));
    fake_name(NULL);
}

static void teardown(void)
{
    memset(&fault, 0, sizeof(fault));
    fake_name(NULL);
}

/* The text of errno e, as the library words it. */
static const char *text_of(int e)
{
    static char buf[128];

    snprintf(buf, sizeof(buf), "%s", strerror(e));
    return buf;
}

static void assert_contains(const char *s, const char *part)
{
    ck_assert_msg(strstr(s, part) != NULL, "\"%s\" lacks \"%s\"", s, part);
}

/* A TCP port on 127.0.0.1 that refuses: bound, not listening; *fd keeps
 * it reserved until the test closes it. */
static void refusing_port(int *fd, char port[8])
{
    struct sockaddr_in sin;

    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(*fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    th_port_of(*fd, port);
}

static const char *tried_ip(int i, char *buf, size_t size)
{
    const struct sockaddr_storage *ss = &tried.ss[i];

    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
                  (socklen_t)size);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
                  buf, (socklen_t)size);
    return buf;
}

static void assert_tried(int i, const char *ip)
{
    char buf[INET6_ADDRSTRLEN];

    ck_assert_int_gt(tried.n, i);
    ck_assert_str_eq(tried_ip(i, buf, sizeof(buf)), ip);
}

/* -------------------------------------------- a name, several addresses */

START_TEST(several_addresses_connect_to_the_one_listening)
{
    int fds0 = th_count_fds();
    char port[8];
    nb_addr peer;
    nb_error e;
    int lfd, fd, sfd;

    lfd = th_raw_listener(AF_INET, 8, port);
    fake_name("multi.test");
    fake_add("127.0.0.2");
    fake_add("127.0.0.3");
    fake_add("127.0.0.1");
    fd = nb_tcp_connect("multi.test", port, 5000, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(fake.calls, 1);
    /* in getaddrinfo's order (one family: nothing to interleave) */
    ck_assert_int_eq(tried.n, 3);
    assert_tried(0, "127.0.0.2");
    assert_tried(1, "127.0.0.3");
    assert_tried(2, "127.0.0.1");
    ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
    ck_assert_int_eq(nb_addr_port(&peer), atoi(port));
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    /* raced non-blocking, returned blocking */
    ck_assert_int_eq(th_is_nonblock(fd), 0);
    sfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    close(sfd);
    close(fd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(every_address_refused_reports_the_count)
{
    int fds0 = th_count_fds();
    char port[8], want[NB_ERRMSG_SIZE];
    nb_error e;
    int rfd;

    refusing_port(&rfd, port);
    fake_name("multi.test");
    fake_add("127.0.0.1");
    fake_add("127.0.0.2");
    fake_add("127.0.0.3");
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect("multi.test", port, 5000, 0, &e), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    ck_assert_int_eq(e.attempts, 3);
    snprintf(want, sizeof(want), "multi.test:%s", port);
    ck_assert_str_eq(e.addr, want);
    snprintf(want, sizeof(want),
             "connect multi.test:%s: %s (3 addresses tried)", port,
             text_of(ECONNREFUSED));
    ck_assert_str_eq(e.message, want);
    ck_assert_int_eq(tried.n, 3);
    close(rfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* More addresses than the library keeps on its stack (16): the list and
 * the race's bookkeeping are allocated, and freed again. */
START_TEST(long_address_lists)
{
    int listening = _i == 0;
    int fds0 = th_count_fds();
    char port[8], ips[19][16];
    nb_error e;
    int lfd, i, fd;

    if (listening)
        lfd = th_raw_listener(AF_INET, 8, port);
    else
        refusing_port(&lfd, port);
    fake_name("long.test");
    for (i = 0; i < 19; i++) {
        snprintf(ips[i], sizeof(ips[i]), "127.0.0.%d", i + 2);
        fake_add(ips[i]);
    }
    fake_add("127.0.0.1");
    fd = nb_tcp_connect("long.test", port, 10000, 0, &e);
    ck_assert_int_eq(tried.n, 20);
    assert_tried(0, "127.0.0.2");
    assert_tried(19, "127.0.0.1");
    if (listening) {
        int sfd;
        ck_assert_msg(fd >= 0, "%s", e.message);
        sfd = accept(lfd, NULL, NULL);
        ck_assert_int_ge(sfd, 0);
        close(sfd);
        close(fd);
    } else {
        ck_assert_int_eq(fd, -1);
        th_assert_error(&e, NB_ERR_SYSTEM, "connect");
        ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
        ck_assert_int_eq(e.attempts, 20);
        assert_contains(e.message, "(20 addresses tried)");
    }
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* RFC 8305: the families alternate, starting with the first address's. */
START_TEST(families_are_interleaved)
{
    int fds0 = th_count_fds();
    char port[8];
    nb_addr peer;
    nb_error e;
    int lfd, fd, sfd;

    if (!th_have_ipv6())
        return;
    lfd = th_raw_listener(AF_INET6, 8, port);
    fake_name("dual.test");
    fake_add("127.0.0.2");
    fake_add("127.0.0.3");
    fake_add("::1");
    fd = nb_tcp_connect("dual.test", port, 5000, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    assert_tried(0, "127.0.0.2");
    assert_tried(1, "::1");
    ck_assert_int_eq(nb_peer_addr(fd, &peer, NULL), 0);
    ck_assert_int_eq(peer.ss.ss_family, AF_INET6);
    sfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    close(sfd);
    close(fd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* What the library asks getaddrinfo for. */
static const struct hints_row {
    int listen;          /* nb_tcp_listen, else nb_tcp_connect */
    int flags;
    int family;          /* ai_family wanted */
    int want, refuse;    /* ai_flags that must be, must not be set */
} hints_rows[] = {
    { 0, 0, AF_UNSPEC, AI_NUMERICSERV | AI_ADDRCONFIG, AI_PASSIVE },
    { 0, NB_IPV4_ONLY, AF_INET, AI_NUMERICSERV, AI_PASSIVE },
    { 0, NB_IPV6_ONLY, AF_INET6, AI_NUMERICSERV, AI_PASSIVE },
    { 1, 0, AF_UNSPEC, AI_NUMERICSERV | AI_PASSIVE, AI_ADDRCONFIG },
    { 1, NB_IPV4_ONLY, AF_INET, AI_NUMERICSERV | AI_PASSIVE, AI_ADDRCONFIG },
};
#define N_HINTS_ROWS (int)(sizeof(hints_rows) / sizeof(hints_rows[0]))

START_TEST(hints_follow_the_call_and_flags)
{
    const struct hints_row *row = &hints_rows[_i];
    int fds0 = th_count_fds();
    char port[8];
    nb_error e;
    int rfd, fd;

    refusing_port(&rfd, port);
    fake_name("hints.test");
    fake_add("127.0.0.1");
    if (row->listen)
        fd = nb_tcp_listen("hints.test", "0", 0, row->flags, &e);
    else
        fd = nb_tcp_connect("hints.test", port, 2000, row->flags, &e);
    ck_assert_int_eq(fake.calls, 1);
    ck_assert_int_eq(fake.hints.ai_family, row->family);
    ck_assert_int_eq(fake.hints.ai_socktype, SOCK_STREAM);
    ck_assert_int_eq(fake.hints.ai_flags & row->want, row->want);
    ck_assert_int_eq(fake.hints.ai_flags & row->refuse, 0);
    if (row->listen) {
        ck_assert_msg(fd >= 0, "%s", e.message);
        close(fd);
    } else if (row->flags == NB_IPV6_ONLY) {
        /* the one address is IPv4: nothing is left to try */
        ck_assert_int_eq(fd, -1);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
    } else {
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(e.sys_errno, ECONNREFUSED);
    }
    close(rfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* The resolver's failures: its code, its errno (API.md: "after
 * NB_ERR_RESOLVE errno is whatever getaddrinfo left"), and the errno's
 * text in the message for EAI_SYSTEM. */
static const struct gai_row {
    int gai;
    int err;            /* errno getaddrinfo leaves */
    int temporary;
} gai_rows[] = {
    { EAI_AGAIN, 0, 1 },
    { EAI_FAIL, 0, 0 },
    { EAI_NONAME, ENOENT, 0 },
    { EAI_SYSTEM, EMFILE, 0 },
    { EAI_MEMORY, ENOMEM, 0 },
};
#define N_GAI_ROWS (int)(sizeof(gai_rows) / sizeof(gai_rows[0]))

START_TEST(resolver_failures_are_reported_as_they_came)
{
    const struct gai_row *row = &gai_rows[_i];
    int fds0 = th_count_fds();
    char want[NB_ERRMSG_SIZE];
    int call;

    for (call = 0; call < 3; call++) {
        nb_error e;
        int fd;

        fake_name("fail.test");
        fake.gai = row->gai;
        fake.gai_errno = row->err;
        errno = 12345;
        if (call == 0)
            fd = nb_tcp_connect("fail.test", "80", 1000, 0, &e);
        else if (call == 1)
            fd = nb_tcp_listen("fail.test", "80", 0, 0, &e);
        else
            fd = nb_udp_connect("fail.test", "80", 0, &e);
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(errno, row->err);
        th_assert_error(&e, NB_ERR_RESOLVE, "resolve");
        ck_assert_int_eq(e.gai_error, row->gai);
        ck_assert_int_eq(e.sys_errno, 0);
        ck_assert_str_eq(e.addr, "fail.test:80");
        if (row->gai == EAI_SYSTEM)
            snprintf(want, sizeof(want), "resolve fail.test:80: %s: %s",
                     gai_strerror(row->gai), text_of(row->err));
        else
            snprintf(want, sizeof(want), "resolve fail.test:80: %s",
                     gai_strerror(row->gai));
        ck_assert_str_eq(e.message, want);
        ck_assert_int_eq(nb_error_is_temporary(&e), row->temporary);
    }
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* ----------------------------------------- failures after a connection */

/* A connected socket is put in its final mode: blocking again (it was
 * non-blocking for a deadline or a race) and TCP_NODELAY.  When that
 * fails, the connection is closed and the step named. */
static const struct mode_row {
    int multi;            /* a name with two addresses: the race */
    int timeout_ms;
    int flags;
    enum fault_call call; /* FC_SETSOCKOPT: TCP_NODELAY; FC_IOCTL: FIONBIO */
    int err;
    const char *op, *what;
} mode_rows[] = {
    { 0, 0, NB_NODELAY, FC_SETSOCKOPT, ENOBUFS, "setsockopt", "TCP_NODELAY" },
    { 0, 2000, NB_NODELAY, FC_SETSOCKOPT, ENOBUFS, "setsockopt",
      "TCP_NODELAY" },
    { 0, 2000, 0, FC_IOCTL, EIO, "ioctl", "FIONBIO" },
    { 1, 0, NB_NODELAY, FC_SETSOCKOPT, ENOMEM, "setsockopt", "TCP_NODELAY" },
    { 1, 2000, 0, FC_IOCTL, EIO, "ioctl", "FIONBIO" },
};
#define N_MODE_ROWS (int)(sizeof(mode_rows) / sizeof(mode_rows[0]))

START_TEST(connect_mode_failure_closes_the_connection)
{
    const struct mode_row *row = &mode_rows[_i];
    int fds0 = th_count_fds();
    char port[8], want[64], buf[1];
    const char *host = row->multi ? "multi.test" : "127.0.0.1";
    nb_error e;
    int lfd, sfd;

    lfd = th_raw_listener(AF_INET, 8, port);
    if (row->multi) {
        fake_name("multi.test");
        fake_add("127.0.0.2");
        fake_add("127.0.0.1");
    }
    if (row->call == FC_SETSOCKOPT)
        arm_option(IPPROTO_TCP, TCP_NODELAY, row->err);
    else
        arm_ioctl(FIONBIO, row->err);
    errno = 0;
    ck_assert_int_eq(nb_tcp_connect(host, port, row->timeout_ms, row->flags,
                                    &e), -1);
    ck_assert_int_eq(errno, row->err);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, row->op);
    ck_assert_int_eq(e.sys_errno, row->err);
    snprintf(want, sizeof(want), "%s:%s", host, port);
    ck_assert_str_eq(e.addr, want);
    assert_contains(e.message, row->what);
    assert_contains(e.message, text_of(row->err));
    arm(FC_NONE, 0);
    /* the connection was made, then closed: the server reads its end */
    sfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(recv(sfd, buf, sizeof(buf), 0), 0);
    close(sfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(accept_nodelay_failure_drops_the_connection)
{
    int fds0 = th_count_fds();
    char port[8], buf[1];
    nb_error e;
    int lfd, cfd;

    lfd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    th_port_of(lfd, port);
    cfd = nb_tcp_connect("127.0.0.1", port, 2000, 0, &e);
    ck_assert_msg(cfd >= 0, "%s", e.message);
    arm_option(IPPROTO_TCP, TCP_NODELAY, ENOMEM);
    errno = 0;
    ck_assert_int_eq(nb_tcp_accept(lfd, NULL, NB_NODELAY, &e), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "setsockopt");
    ck_assert_int_eq(e.sys_errno, ENOMEM);
    assert_contains(e.message, "TCP_NODELAY");
    arm(FC_NONE, 0);
    /* the client sees the connection end */
    ck_assert_int_eq(nb_recv_all(cfd, buf, sizeof(buf), 2000, &e), 0);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* accept(2) reports a connection that died in the queue, or a network
 * error pending on it (ECONNABORTED, EPROTO, ...), and EINTR: the
 * listener is fine, and nb_tcp_accept takes the next connection. */
static const int retried_errnos[] = {
    EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENONET, EHOSTDOWN, EHOSTUNREACH,
    ENETUNREACH,
};
#define N_RETRIED (int)(sizeof(retried_errnos) / sizeof(retried_errnos[0]))

/* A listener on 127.0.0.1 with one connection waiting. */
static void listener_with_client(int *lfd, int *cfd)
{
    char port[8];
    nb_error e;

    *lfd = nb_tcp_listen("127.0.0.1", "0", 0, 0, &e);
    ck_assert_msg(*lfd >= 0, "%s", e.message);
    th_port_of(*lfd, port);
    *cfd = nb_tcp_connect("127.0.0.1", port, 2000, 0, &e);
    ck_assert_msg(*cfd >= 0, "%s", e.message);
}

START_TEST(accept_retries_dead_connections_and_eintr)
{
    int fds0 = th_count_fds();
    nb_addr peer;
    nb_error e;
    int lfd, cfd, sfd;

    listener_with_client(&lfd, &cfd);
    arm(FC_ACCEPT, retried_errnos[_i]);
    fault.times = 2;
    sfd = nb_tcp_accept(lfd, &peer, 0, &e);
    ck_assert_msg(sfd >= 0, "%s: %s", text_of(retried_errnos[_i]), e.message);
    ck_assert_int_eq(fault.hits, 2);
    ck_assert_int_eq(th_is_cloexec(sfd), 1);
    ck_assert_int_eq(peer.ss.ss_family, AF_INET);
    close(sfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* Any other failure is reported; the connection stays queued. */
START_TEST(accept_reports_other_errors)
{
    int fds0 = th_count_fds();
    nb_error e;
    int lfd, cfd, sfd;

    listener_with_client(&lfd, &cfd);
    arm(FC_ACCEPT, ENOBUFS);
    errno = 0;
    ck_assert_int_eq(nb_tcp_accept(lfd, NULL, 0, &e), -1);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "accept");
    ck_assert_int_eq(e.sys_errno, ENOBUFS);
    ck_assert_int_eq(nb_error_is_temporary(&e), 1);
    arm(FC_NONE, 0);
    sfd = nb_tcp_accept(lfd, NULL, 0, &e);
    ck_assert_msg(sfd >= 0, "%s", e.message);
    close(sfd);
    close(cfd);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* A Unix connect with a deadline arms SO_SNDTIMEO; when it cannot, the
 * call fails naming connect and the socket is closed. */
START_TEST(unix_connect_timeout_option_failure)
{
    int fds0 = th_count_fds();
    char name[64];
    nb_error e;
    int lfd;

    snprintf(name, sizeof(name), "@nb-faults-t-%ld", (long)getpid());
    lfd = nb_unix_listen(name, 0, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    arm_option(SOL_SOCKET, SO_SNDTIMEO, ENOMEM);
    errno = 0;
    ck_assert_int_eq(nb_unix_connect(name, 1000, 0, &e), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "connect");
    ck_assert_int_eq(e.sys_errno, ENOMEM);
    ck_assert_str_eq(e.addr, name);
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* ------------------------------------------------ failures while binding */

static const struct option_row {
    int udp;
    const char *host;
    int flags;
    int level, name;
    const char *what, *where;
} option_rows[] = {
    { 0, "127.0.0.1", 0, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR",
      "127.0.0.1:0" },
    { 0, "127.0.0.1", NB_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT",
      "127.0.0.1:0" },
    { 0, "127.0.0.1", NB_NODELAY, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY",
      "127.0.0.1:0" },
    { 0, "::1", 0, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", "[::1]:0" },
    { 1, "127.0.0.1", NB_REUSEPORT, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR",
      "127.0.0.1:0" },
    { 1, "::1", 0, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", "[::1]:0" },
};
#define N_OPTION_ROWS (int)(sizeof(option_rows) / sizeof(option_rows[0]))

START_TEST(bind_option_failure_closes_the_socket)
{
    const struct option_row *row = &option_rows[_i];
    int fds0 = th_count_fds();
    char want[NB_ERRMSG_SIZE];
    nb_error e;
    int fd;

    if (strchr(row->host, ':') != NULL && !th_have_ipv6())
        return;
    arm_option(row->level, row->name, ENOBUFS);
    errno = 0;
    if (row->udp)
        fd = nb_udp_bind(row->host, "0", row->flags, &e);
    else
        fd = nb_tcp_listen(row->host, "0", 0, row->flags, &e);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "setsockopt");
    ck_assert_int_eq(e.sys_errno, ENOBUFS);
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_str_eq(e.addr, row->where);
    snprintf(want, sizeof(want), "setsockopt %s: %s: %s", row->where,
             row->what, text_of(ENOBUFS));
    ck_assert_str_eq(e.message, want);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* listen(2) fails after bind: the message names the address bound, with
 * the port the kernel chose. */
START_TEST(listen_failure_names_the_bound_address)
{
    const char *host = _i == 0 ? "127.0.0.1" : "::1";
    const char *prefix = _i == 0 ? "127.0.0.1:" : "[::1]:";
    int fds0 = th_count_fds();
    nb_error e;

    if (_i == 1 && !th_have_ipv6())
        return;
    arm(FC_LISTEN, EADDRINUSE);
    errno = 0;
    ck_assert_int_eq(nb_tcp_listen(host, "0", 0, 0, &e), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "listen");
    ck_assert_int_eq(e.sys_errno, EADDRINUSE);
    ck_assert_msg(strncmp(e.addr, prefix, strlen(prefix)) == 0 &&
                  atoi(e.addr + strlen(prefix)) > 0,
                  "addr \"%s\" is not %sPORT", e.addr, prefix);
    assert_contains(e.message, text_of(EADDRINUSE));
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* On a kernel without IPv6 (socket(AF_INET6) refused) or with IPv6
 * switched off (no :: to bind), the wildcard listener is 0.0.0.0. */
static const struct nov6_row {
    int udp;
    enum fault_call call;
    int err;
} nov6_rows[] = {
    { 0, FC_SOCKET, EAFNOSUPPORT },
    { 0, FC_SOCKET, EPROTONOSUPPORT },
    { 0, FC_BIND, EADDRNOTAVAIL },
    { 1, FC_SOCKET, EAFNOSUPPORT },
    { 1, FC_BIND, EADDRNOTAVAIL },
};
#define N_NOV6_ROWS (int)(sizeof(nov6_rows) / sizeof(nov6_rows[0]))

START_TEST(wildcard_without_ipv6_is_ipv4)
{
    const struct nov6_row *row = &nov6_rows[_i];
    int fds0 = th_count_fds();
    char port[8], want[NB_ADDRSTRLEN], text[NB_ADDRSTRLEN];
    nb_addr local;
    nb_error e;
    int fd;

    arm_family(row->call, AF_INET6, row->err);
    if (row->udp)
        fd = nb_udp_bind(NULL, "0", 0, &e);
    else
        fd = nb_tcp_listen(NULL, "0", 0, 0, &e);
    ck_assert_msg(fd >= 0, "%s", e.message);
    ck_assert_int_eq(fault.hits, 1);
    arm(FC_NONE, 0);
    ck_assert_int_eq(th_is_cloexec(fd), 1);
    ck_assert_int_eq(nb_local_addr(fd, &local, NULL), 0);
    ck_assert_int_eq(local.ss.ss_family, AF_INET);
    th_port_of(fd, port);
    snprintf(want, sizeof(want), "0.0.0.0:%s", port);
    ck_assert_str_eq(nb_addr_format(&local, text, sizeof(text)), want);
    if (!row->udp) {
        /* and it takes connections on IPv4 loopback */
        int cfd = nb_tcp_connect("127.0.0.1", port, 2000, 0, &e);
        int sfd;
        ck_assert_msg(cfd >= 0, "%s", e.message);
        sfd = nb_tcp_accept(fd, NULL, 0, &e);
        ck_assert_msg(sfd >= 0, "%s", e.message);
        close(sfd);
        close(cfd);
    }
    close(fd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

/* With NB_IPV6_ONLY there is nothing to fall back to. */
START_TEST(ipv6_only_wildcard_without_ipv6_fails)
{
    int fds0 = th_count_fds();
    nb_error e;

    arm_family(FC_SOCKET, AF_INET6, EAFNOSUPPORT);
    errno = 0;
    ck_assert_int_eq(nb_tcp_listen(NULL, "0", 0, NB_IPV6_ONLY, &e), -1);
    ck_assert_int_eq(errno, EAFNOSUPPORT);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "socket");
    ck_assert_int_eq(e.sys_errno, EAFNOSUPPORT);
    ck_assert_str_eq(e.addr, "[::]:0");
    ck_assert_int_eq(e.attempts, 1);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

START_TEST(unix_connect_nonblock_failure_closes_the_socket)
{
    int fds0 = th_count_fds();
    char name[64];
    nb_error e;
    int lfd;

    snprintf(name, sizeof(name), "@nb-faults-%ld", (long)getpid());
    lfd = nb_unix_listen(name, 0, 0, &e);
    ck_assert_msg(lfd >= 0, "%s", e.message);
    arm_ioctl(FIONBIO, EIO);
    errno = 0;
    ck_assert_int_eq(nb_unix_connect(name, 0, NB_NONBLOCK, &e), -1);
    ck_assert_int_eq(errno, EIO);
    ck_assert_int_eq(fault.hits, 1);
    th_assert_error(&e, NB_ERR_SYSTEM, "ioctl");
    ck_assert_int_eq(e.sys_errno, EIO);
    ck_assert_str_eq(e.addr, name);
    assert_contains(e.message, "FIONBIO");
    close(lfd);
    ck_assert_int_eq(th_count_fds(), fds0);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *names = tcase_create("several addresses");
    TCase *faults = tcase_create("failing system calls");

    tcase_add_checked_fixture(names, setup, teardown);
    tcase_add_test(names, several_addresses_connect_to_the_one_listening);
    tcase_add_test(names, every_address_refused_reports_the_count);
    tcase_add_loop_test(names, long_address_lists, 0, 2);
    tcase_add_test(names, families_are_interleaved);
    tcase_add_loop_test(names, hints_follow_the_call_and_flags, 0,
                        N_HINTS_ROWS);
    tcase_add_loop_test(names, resolver_failures_are_reported_as_they_came,
                        0, N_GAI_ROWS);
    suite_add_tcase(s, names);

    tcase_add_checked_fixture(faults, setup, teardown);
    tcase_add_loop_test(faults, connect_mode_failure_closes_the_connection,
                        0, N_MODE_ROWS);
    tcase_add_test(faults, accept_nodelay_failure_drops_the_connection);
    tcase_add_loop_test(faults, accept_retries_dead_connections_and_eintr, 0,
                        N_RETRIED);
    tcase_add_test(faults, accept_reports_other_errors);
    tcase_add_test(faults, unix_connect_timeout_option_failure);
    tcase_add_loop_test(faults, bind_option_failure_closes_the_socket, 0,
                        N_OPTION_ROWS);
    tcase_add_loop_test(faults, listen_failure_names_the_bound_address, 0, 2);
    tcase_add_loop_test(faults, wildcard_without_ipv6_is_ipv4, 0,
                        N_NOV6_ROWS);
    tcase_add_test(faults, ipv6_only_wildcard_without_ipv6_fails);
    tcase_add_test(faults, unix_connect_nonblock_failure_closes_the_socket);
    suite_add_tcase(s, faults);
    return s;
}

int main(void)
{
    return th_run_suite(faults_suite());
}
