/*
 * fuzz_resolve_args.c - the host, port and flags checks that nb_tcp_listen,
 * nb_tcp_connect, nb_udp_bind and nb_udp_connect make before any socket
 * exists: nb__check_flags, nb__parse_port and nb__resolve (lib/internal.h),
 * for both purposes (connect, bind) and both socket types.
 *
 * Nothing here touches the network.  This file defines getaddrinfo and
 * freeaddrinfo: the program's own definitions win over the C library's
 * (and over the sanitizer's interceptors, which are weak), so the library
 * objects linked in from lib/libnetbasics-core.la call these stubs.  The
 * stub fails as the input asks (EAI_NONAME, EAI_AGAIN, EAI_SYSTEM) or
 * returns a small list of documentation addresses (192.0.2.0/24,
 * 2001:db8::/32) that it allocates and counts.  What is left calls only
 * local things: getservbyname_r reads the services database (files/db),
 * if_nametoindex is an ioctl.
 *
 * Input: byte 0 is the flags (all 32 bits from bytes 3..6 when option bit
 * 4 is set), byte 1 options (bit 0: host NULL, bit 1: port NULL), byte 2
 * the stub's behaviour (bits 0-1: 0 EAI_NONAME, 1 one address, 2 three
 * addresses, 3 a failure: EAI_AGAIN, or EAI_SYSTEM when bit 2 is set;
 * bit 3: err NULL; bit 4: raw 32-bit flags follow); then the host up to a
 * NUL byte and the port after it.
 *
 * Checked, against an independent reading of the contract (netbasics(7),
 * "Hosts and ports" and "Flags"; the ERRORS sections of nb_tcp_listen(3),
 * nb_tcp_connect(3) and nb_udp_bind(3); internal.h):
 *  - nb__check_flags accepts exactly the flags each call allows (and never
 *    IPV4_ONLY with IPV6_ONLY); nb__parse_port accepts exactly 0..65535 in
 *    decimal and service-name-like words, and gives the number;
 *  - nb__resolve fails exactly when it should: NULL/empty host (for
 *    connect), a host of NB__HOST_MAX bytes or more, a bad port
 *    (NB_ERR_ARG, before any lookup); an unknown service or a failed
 *    getaddrinfo (NB_ERR_RESOLVE with its code);
 *  - a wildcard listener, or a numeric host whose family the flags allow,
 *    never reaches getaddrinfo; any numeric host that does reach it is
 *    passed with AI_NUMERICHOST (never to the name services); what reaches
 *    it is the host without brackets, the port as a number, the family,
 *    socket type and AI_PASSIVE the call asks for;
 *  - every error has code NB_ERR_ARG or NB_ERR_RESOLVE, errno EINVAL for
 *    the former, a non-empty, NUL-terminated message without control
 *    bytes, and nb_error_is_temporary true only for EAI_AGAIN;
 *  - a successful list holds >= 1 address, each of the socket type and of
 *    a family the flags allow, with the expected port (and for a numeric
 *    host, that address; for a wildcard, the any-address); *err is
 *    untouched;
 *  - everything getaddrinfo allocated is freed by nb__addrlist_free, once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "internal.h"

/* The flags each call accepts, as the table in netbasics(7), "Flags",
 * lists them. */
#define F_NONBLOCK  0x01
#define F_REUSEPORT 0x02
#define F_IPV4      0x04
#define F_IPV6      0x08
#define F_NODELAY   0x10

static const struct call {
    const char *func;
    const char *op;
    int allowed;
    int resolves;         /* the call resolves a host:port */
    int socktype;
    enum nb__purpose purpose;
} calls[] = {
    { "nb_tcp_listen", "listen", F_NONBLOCK | F_REUSEPORT | F_IPV4 | F_IPV6 | F_NODELAY, 1,
      SOCK_STREAM, NB__FOR_BIND },
    { "nb_tcp_connect", "connect", F_NONBLOCK | F_IPV4 | F_IPV6 | F_NODELAY, 1, SOCK_STREAM,
      NB__FOR_CONNECT },
    { "nb_udp_bind", "bind", F_NONBLOCK | F_REUSEPORT | F_IPV4 | F_IPV6, 1, SOCK_DGRAM,
      NB__FOR_BIND },
    { "nb_udp_connect", "connect", F_NONBLOCK | F_IPV4 | F_IPV6, 1, SOCK_DGRAM,
      NB__FOR_CONNECT },
    { "nb_tcp_accept", "accept", F_NONBLOCK | F_NODELAY, 0, 0, NB__FOR_CONNECT },
    { "nb_unix_listen", "listen", F_NONBLOCK, 0, 0, NB__FOR_BIND },  /* the unix calls */
};

/* ------------------------------------------------- the getaddrinfo stub */

enum stub_mode { STUB_NONAME, STUB_ONE, STUB_THREE, STUB_FAIL };

static struct {
    enum stub_mode mode;
    int fail_system;          /* STUB_FAIL: EAI_SYSTEM, else EAI_AGAIN */
    /* what the call under test must pass */
    const char *node;
    int port;
    int family;
    int socktype;
    int passive;
    int numeric;              /* the host is an IP address literal */
    /* what happened */
    int calls;
    int returned;             /* the code of the last call */
    int errno_left;
    long live_nodes;          /* allocated and not yet freed */
    int frees;
} stub;

struct fake_node {
    struct addrinfo ai;
    struct sockaddr_storage ss;
};

static struct addrinfo *fake_node(int family, const struct addrinfo *hints,
                                  int port, int i)
{
    struct fake_node *n = calloc(1, sizeof(*n));

    if (n == NULL)
        abort();
    n->ai.ai_family = family;
    n->ai.ai_socktype = hints->ai_socktype;
    n->ai.ai_protocol = hints->ai_protocol;
    n->ai.ai_addr = (struct sockaddr *)&n->ss;
    if (family == AF_INET) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        sin.sin_addr.s_addr = htonl(0xc0000200u + (uint32_t)i); /* 192.0.2.i */
        memcpy(&n->ss, &sin, sizeof(sin));
        n->ai.ai_addrlen = sizeof(sin);
    } else {
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        sin6.sin6_addr.s6_addr[0] = 0x20;  /* 2001:db8::i */
        sin6.sin6_addr.s6_addr[1] = 0x01;
        sin6.sin6_addr.s6_addr[2] = 0x0d;
        sin6.sin6_addr.s6_addr[3] = 0xb8;
        sin6.sin6_addr.s6_addr[15] = (uint8_t)i;
        memcpy(&n->ss, &sin6, sizeof(sin6));
        n->ai.ai_addrlen = sizeof(sin6);
    }
    stub.live_nodes++;
    return &n->ai;
}

int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    char *end;
    long port;
    int count, i;
    struct addrinfo *head = NULL, **tail = &head;

    stub.calls++;
    /* the library asks for what the call wants, and never for a name
     * service lookup of an address literal */
    FUZZ_CHECK(node != NULL && service != NULL && hints != NULL &&
               res != NULL);
    if (strcmp(node, stub.node) != 0)
        FUZZ_FAIL("getaddrinfo(\"%s\"), want \"%s\"", node, stub.node);
    errno = 0;
    port = strtol(service, &end, 10);
    FUZZ_CHECK(isdigit((unsigned char)service[0]) && *end == '\0' &&
               port == stub.port);
    FUZZ_CHECK(hints->ai_family == stub.family);
    FUZZ_CHECK(hints->ai_socktype == stub.socktype);
    FUZZ_CHECK(hints->ai_flags & AI_NUMERICSERV);
    FUZZ_CHECK(!(hints->ai_flags & AI_PASSIVE) == !stub.passive);
    if (stub.numeric && !(hints->ai_flags & AI_NUMERICHOST))
        FUZZ_FAIL("address literal \"%s\" passed to getaddrinfo without "
                  "AI_NUMERICHOST (flags 0x%x)", node, hints->ai_flags);

    switch (stub.mode) {
    case STUB_NONAME:
        stub.errno_left = ENOENT;
        stub.returned = EAI_NONAME;
        break;
    case STUB_FAIL:
        stub.errno_left = stub.fail_system ? ENOBUFS : EAGAIN;
        stub.returned = stub.fail_system ? EAI_SYSTEM : EAI_AGAIN;
        break;
    case STUB_ONE:
    case STUB_THREE:
        count = stub.mode == STUB_ONE ? 1 : 3;
        for (i = 0; i < count; i++) {
            int family = hints->ai_family != AF_UNSPEC ? hints->ai_family
                         : i % 2 == 0                   ? AF_INET6
                                                        : AF_INET;
            *tail = fake_node(family, hints, (int)port, i + 1);
            tail = &(*tail)->ai_next;
        }
        *res = head;
        stub.errno_left = 0;
        stub.returned = 0;
        break;
    }
    errno = stub.errno_left;
    return stub.returned;
}

void freeaddrinfo(struct addrinfo *res)
{
    stub.frees++;
    while (res != NULL) {
        struct addrinfo *next = res->ai_next;
        /* ai is the first member of a fake_node */
        free(res);
        stub.live_nodes--;
        res = next;
    }
}

/* ------------------------------------------- the contract, independently */

static int expect_flags_ok(int flags, int allowed)
{
    return (flags & ~allowed) == 0 &&
           (flags & (F_IPV4 | F_IPV6)) != (F_IPV4 | F_IPV6);
}

/* 0..65535 in decimal sets *number; a service-like word sets -1; else the
 * port is invalid (returns -1). */
static int expect_port(const char *port, long *number)
{
    size_t i, n;
    int letters = 0, digits_only = 1;

    if (port == NULL || port[0] == '\0')
        return -1;
    n = strlen(port);
    for (i = 0; i < n; i++)
        if (port[i] < '0' || port[i] > '9')
            digits_only = 0;
    if (digits_only) {
        long v = 0;
        for (i = 0; i < n && v <= 65535; i++)
            v = v * 10 + (port[i] - '0');
        if (v > 65535)
            return -1;
        *number = v;
        return 0;
    }
    if (n > 64 || !isalnum((unsigned char)port[0]))
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)port[i];
        if (isalpha(c))
            letters++;
        else if (!isdigit(c) && !strchr("-_.+", c))
            return -1;
    }
    if (letters == 0)
        return -1;
    *number = -1;
    return 0;
}

/* The port of a service name, or -1 when the services database lacks it. */
static int service_port(const char *name, int socktype)
{
    struct servent ent, *found = NULL;
    char buf[4096];

    if (getservbyname_r(name, socktype == SOCK_DGRAM ? "udp" : "tcp", &ent,
                        buf, sizeof(buf), &found) != 0 ||
        found == NULL)
        return -1;
    return ntohs((uint16_t)found->s_port);
}

/* The family of an IP address literal, optionally IPv6 with a %scope that
 * names an interface (by name, or a decimal index 1..2^32-1 as
 * sin6_scope_id holds); 0 for anything else.  The address goes to *ss. */
static int literal_family(const char *host, struct sockaddr_storage *ss)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    char text[64];
    const char *percent;
    size_t n;

    memset(ss, 0, sizeof(*ss));
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        memcpy(ss, &sin, sizeof(sin));
        return AF_INET;
    }
    percent = strchr(host, '%');
    n = percent != NULL ? (size_t)(percent - host) : strlen(host);
    if (n >= sizeof(text))
        return 0;
    memcpy(text, host, n);
    text[n] = '\0';
    if (inet_pton(AF_INET6, text, &sin6.sin6_addr) != 1)
        return 0;
    if (percent != NULL) {
        const char *scope = percent + 1;
        size_t i, digits = strlen(scope);
        unsigned long long v = 0;
        for (i = 0; i < digits; i++) {
            if (!isdigit((unsigned char)scope[i]))
                break;
            if (v <= UINT32_MAX)
                v = v * 10 + (unsigned)(scope[i] - '0');
        }
        if (digits > 0 && i == digits) {
            if (v == 0 || v > UINT32_MAX)
                return 0;
            sin6.sin6_scope_id = (uint32_t)v;
        } else {
            sin6.sin6_scope_id = digits > 0 ? if_nametoindex(scope) : 0;
            if (sin6.sin6_scope_id == 0)
                return 0;
        }
    }
    memcpy(ss, &sin6, sizeof(sin6));
    return AF_INET6;
}

static int family_allowed(int family, int flags)
{
    return (flags & F_IPV4)   ? family == AF_INET
           : (flags & F_IPV6) ? family == AF_INET6
                              : 1;
}

/* ------------------------------------------------------------ the checks */

static void check_error(const nb_error *err, enum nb_code want, int e)
{
    size_t i;

    if (err->code != want)
        FUZZ_FAIL("error %s (\"%s\"), want %s", nb_code_name(err->code),
                  err->message, nb_code_name(want));
    FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
    FUZZ_CHECK(memchr(err->addr, '\0', sizeof(err->addr)) != NULL);
    FUZZ_CHECK(err->message[0] != '\0');
    for (i = 0; err->message[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)err->message[i] >= 0x20 &&
                   err->message[i] != 0x7f);
    for (i = 0; err->addr[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)err->addr[i] >= 0x20 &&
                   err->addr[i] != 0x7f);
    FUZZ_CHECK(err->op != NULL && err->op[0] != '\0');
    FUZZ_CHECK(strcmp(nb_error_message(err), err->message) == 0);
    FUZZ_CHECK(err->sys_errno == 0 && err->attempts == 0 &&
               err->transferred == 0);
    if (want == NB_ERR_ARG) {
        FUZZ_CHECK(err->gai_error == 0);
        FUZZ_CHECK(e == EINVAL);
        FUZZ_CHECK(!nb_error_is_temporary(err));
    } else {
        FUZZ_CHECK(err->gai_error != 0);
        FUZZ_CHECK(strcmp(err->op, "resolve") == 0);
        FUZZ_CHECK(nb_error_is_temporary(err) == (err->gai_error == EAI_AGAIN));
    }
}

static void check_list(const nb__addrlist *list, const struct call *c,
                       int flags, int port, int wildcard, int literal,
                       const struct sockaddr_storage *literal_ss)
{
    const struct addrinfo *ai;
    int n = 0;

    FUZZ_CHECK(list->head != NULL);
    FUZZ_CHECK(nb__addrlist_count(list) >= 1);
    for (ai = list->head; ai != NULL; ai = ai->ai_next) {
        int family = ai->ai_family, got_port;
        FUZZ_CHECK(++n <= 16);
        FUZZ_CHECK(family == AF_INET || family == AF_INET6);
        FUZZ_CHECK(family_allowed(family, flags));
        FUZZ_CHECK(ai->ai_socktype == c->socktype);
        FUZZ_CHECK(ai->ai_addr != NULL &&
                   ai->ai_addr->sa_family == (sa_family_t)family);
        if (family == AF_INET) {
            struct sockaddr_in sin;
            FUZZ_CHECK(ai->ai_addrlen == sizeof(sin));
            memcpy(&sin, ai->ai_addr, sizeof(sin));
            got_port = ntohs(sin.sin_port);
            if (wildcard)
                FUZZ_CHECK(sin.sin_addr.s_addr == htonl(INADDR_ANY));
            if (literal) {
                struct sockaddr_in want4;
                memcpy(&want4, literal_ss, sizeof(want4));
                FUZZ_CHECK(sin.sin_addr.s_addr == want4.sin_addr.s_addr);
            }
        } else {
            struct sockaddr_in6 sin6, want6;
            FUZZ_CHECK(ai->ai_addrlen == sizeof(sin6));
            memcpy(&sin6, ai->ai_addr, sizeof(sin6));
            got_port = ntohs(sin6.sin6_port);
            if (wildcard)
                FUZZ_CHECK(IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr));
            if (literal) {
                memcpy(&want6, literal_ss, sizeof(want6));
                FUZZ_CHECK(memcmp(&sin6.sin6_addr, &want6.sin6_addr,
                                  sizeof(sin6.sin6_addr)) == 0);
                FUZZ_CHECK(sin6.sin6_scope_id == want6.sin6_scope_id);
            }
        }
        if (got_port != port)
            FUZZ_FAIL("port %d in the list, want %d", got_port, port);
    }
    if (wildcard)
        FUZZ_CHECK(n == 1 &&
                   list->head->ai_family ==
                       ((flags & F_IPV4) ? AF_INET : AF_INET6));
    if (literal)
        FUZZ_CHECK(n == 1);
}

/* One call's checks and resolution, as nb_tcp_listen & co. make them. */
static void fuzz_call(const struct call *c, const char *host, const char *port,
                      int flags, int use_err)
{
    nb_error err, before, *errp = use_err ? &err : NULL;
    nb__addrlist list;
    struct sockaddr_storage literal_ss;
    const char *unbracketed = host;
    char buf[NB__HOST_MAX + 1];
    long want_number = 0;
    int want_port, family = 0, rc, e, wildcard;

    memset(&err, 0x5a, sizeof(err));
    err.op = "untouched";
    before = err;

    /* the flags */
    errno = 0;
    rc = nb__check_flags(flags, c->allowed, c->func, c->op, errp);
    e = errno;
    if (rc != (expect_flags_ok(flags, c->allowed) ? 0 : -1))
        FUZZ_FAIL("%s: flags 0x%x: %d", c->op, (unsigned)flags, rc);
    if (rc != 0) {
        if (use_err) {
            check_error(&err, NB_ERR_ARG, e);
            FUZZ_CHECK(strcmp(err.op, c->op) == 0);
        }
        return;
    }
    FUZZ_CHECK(memcmp(&err, &before, sizeof(err)) == 0);
    if (!c->resolves)
        return;

    /* what nb__resolve must do, step by step */
    wildcard = c->purpose == NB__FOR_BIND &&
               (host == NULL || host[0] == '\0' || strcmp(host, "*") == 0);
    if (!wildcard && host != NULL) {
        size_t n = strlen(host);
        /* only what fits "[v6%scope]" loses its brackets */
        if (n >= 2 && n - 2 < sizeof(((nb__addrlist *)0)->unbracketed) &&
            host[0] == '[' &&
            host[n - 1] == ']') {
            memcpy(buf, host + 1, n - 2);
            buf[n - 2] = '\0';
            unbracketed = buf;
        }
        family = literal_family(unbracketed, &literal_ss);
    }
    want_port = expect_port(port, &want_number) == 0 ? (int)want_number : -2;
    if (want_port == -1)
        want_port = service_port(port, c->socktype);  /* -1: unknown */

    stub.node = unbracketed != NULL ? unbracketed : "";
    stub.port = want_port;
    stub.family = (flags & F_IPV4) ? AF_INET : (flags & F_IPV6) ? AF_INET6
                                                                : AF_UNSPEC;
    stub.socktype = c->socktype;
    stub.passive = c->purpose == NB__FOR_BIND;
    stub.numeric = family != 0;
    stub.calls = 0;
    stub.frees = 0;

    errno = 0;
    rc = nb__resolve(host, port, c->socktype, c->purpose, flags, c->op, NULL,
                     &list, errp);
    e = errno;

    /* a peer's host may not be NULL, "" or "*", nor too long */
    if (!wildcard && (host == NULL || host[0] == '\0' ||
                      strcmp(host, "*") == 0 || strlen(host) >= NB__HOST_MAX)) {
        FUZZ_CHECK(rc == -1 && stub.calls == 0);
        if (use_err)
            check_error(&err, NB_ERR_ARG, e);
        return;
    }
    if (want_port == -2) {
        FUZZ_CHECK(rc == -1 && stub.calls == 0);
        if (use_err) {
            check_error(&err, NB_ERR_ARG, e);
            FUZZ_CHECK(strcmp(err.op, c->op) == 0);
        }
        return;
    }
    if (want_port == -1) {
        FUZZ_CHECK(rc == -1 && stub.calls == 0);
        if (use_err) {
            check_error(&err, NB_ERR_RESOLVE, e);
            FUZZ_CHECK(err.gai_error == EAI_SERVICE);
        }
        return;
    }
    if (wildcard || (family != 0 && family_allowed(family, flags))) {
        /* made without getaddrinfo */
        if (stub.calls != 0)
            FUZZ_FAIL("%s host \"%s\" (flags 0x%x) reached getaddrinfo",
                      wildcard ? "wildcard" : "numeric", host ? host : "NULL",
                      (unsigned)flags);
        FUZZ_CHECK(rc == 0);
    } else {
        FUZZ_CHECK(stub.calls == 1);
        if (stub.returned != 0) {
            FUZZ_CHECK(rc == -1);
            FUZZ_CHECK(e == stub.errno_left);
            FUZZ_CHECK(stub.live_nodes == 0);
            if (use_err) {
                check_error(&err, NB_ERR_RESOLVE, e);
                FUZZ_CHECK(err.gai_error == stub.returned);
            }
            return;
        }
        FUZZ_CHECK(rc == 0);
    }
    FUZZ_CHECK(memcmp(&err, &before, sizeof(err)) == 0);
    check_list(&list, c, flags, want_port, wildcard,
               stub.calls == 0 && !wildcard, &literal_ss);
    nb__addrlist_free(&list);
    FUZZ_CHECK(stub.live_nodes == 0);
    FUZZ_CHECK(stub.frees == stub.calls);
    nb__addrlist_free(&list);  /* a second free is harmless */
    FUZZ_CHECK(stub.frees == stub.calls);
}

/* nb__parse_port on its own, with its op and host in the message. */
static void fuzz_parse_port(const char *port, const char *host, int use_err)
{
    nb_error err;
    long want_number = 0;
    int want, numeric = -7, rc, e;

    want = expect_port(port, &want_number);
    errno = 0;
    rc = nb__parse_port(port, &numeric, "connect", host,
                        use_err ? &err : NULL);
    e = errno;
    if (rc != want)
        FUZZ_FAIL("parse_port(\"%s\") = %d, want %d", port ? port : "NULL",
                  rc, want);
    if (rc == 0)
        FUZZ_CHECK(numeric == want_number);
    else if (use_err)
        check_error(&err, NB_ERR_ARG, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned opts, behaviour;
    int flags;
    char *text, *host, *port;
    size_t i, n;

    if (size < 3)
        return 0;
    flags = data[0];
    opts = data[1];
    behaviour = data[2];
    data += 3;
    size -= 3;
    if (behaviour & 0x10) {
        if (size < 4)
            return 0;
        flags = (int)((uint32_t)data[0] | (uint32_t)data[1] << 8 |
                      (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24);
        data += 4;
        size -= 4;
    }
    stub.mode = (enum stub_mode)(behaviour & 3);
    stub.fail_system = (behaviour & 4) != 0;

    /* "host\0port": two strings, the second possibly missing */
    text = malloc(size + 2);
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    text[size + 1] = '\0';
    host = text;
    port = text + strlen(text) + 1;
    if (opts & 1)
        host = NULL;
    if (opts & 2)
        port = NULL;

    fuzz_parse_port(port, host, !(behaviour & 8));
    n = sizeof(calls) / sizeof(calls[0]);
    for (i = 0; i < n; i++)
        fuzz_call(&calls[i], host, port, flags, !(behaviour & 8));
    FUZZ_CHECK(stub.live_nodes == 0);
    free(text);
    return 0;
}
