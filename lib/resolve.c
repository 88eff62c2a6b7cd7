/*
 * resolve.c - host:port into addresses: nb_resolve, and the resolution
 * every connect, listen and bind call starts with.
 *
 * Numeric hosts and ports never reach getaddrinfo(3): parsing them here
 * costs no allocation, no thread, no AI_ADDRCONFIG netlink probe and no
 * read of /etc/hosts, nsswitch.conf or gai.conf.  Service names are looked
 * up once with getservbyname_r so that every later step works with a
 * number.  A name is resolved by getaddrinfo in the calling thread, or, when
 * the call has a deadline, on a helper thread (lookup.c) that the call stops
 * waiting for at the deadline.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Longest service name accepted; IANA's are at most 15 characters. */
#define SERVICE_MAX 64

/* The value of a string of decimal digits, in one pass: 0..65535; -1 when
 * the digits make a larger number; -2 when there is a non-digit. */
static int parse_decimal_port(const char *s)
{
    long value = 0;

    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -2;
        if (value <= 65535)
            value = value * 10 + (*s - '0');
    }
    return value > 65535 ? -1 : (int)value;
}

static int looks_like_service_name(const char *s)
{
    size_t n = strlen(s);
    int letters = 0;

    if (n == 0 || n > SERVICE_MAX || !isalnum((unsigned char)s[0]))
        return 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalpha(c))
            letters++;
        else if (!isdigit(c) && c != '-' && c != '_' && c != '.' && c != '+')
            return 0;
    }
    return letters > 0;
}

int nb__parse_port(const char *port, int *numeric, const char *op,
                   const char *host, nb_error *err)
{
    char where[NB_ADDRSTRLEN];
    int value;

    *numeric = -1;  /* defined on every path, the failures too */
    if (port == NULL || port[0] == '\0')
        return nb__fail_arg(err, op, "", "port is %s",
                            port == NULL ? "NULL" : "empty");
    value = parse_decimal_port(port);
    if (value >= 0 || (value == -2 && looks_like_service_name(port))) {
        *numeric = value >= 0 ? value : -1;
        return 0;
    }
    nb__hostport(where, sizeof(where), nb__is_wildcard(host) ? "*" : host,
                 port);
    return nb__fail_arg(err, op, where,
                        "invalid port \"%s\": not 0..65535 or a service name",
                        port);
}

/* Service names are looked up in the services database for the socket
 * type; a miss is reported as getaddrinfo would: NB_ERR_RESOLVE with
 * EAI_SERVICE. */
static int lookup_service(const char *port, int socktype,
                          const nb__addrlist *list, nb_error *err)
{
    struct servent ent, *found = NULL;
    char buf[4096], name[NB_ADDRSTRLEN], detail[SERVICE_MAX + 160];
    const char *proto = socktype == SOCK_DGRAM ? "udp" : "tcp";
    int saved = errno;
    int rc = getservbyname_r(port, proto, &ent, buf, sizeof(buf), &found);

    if (rc == 0 && found != NULL)
        return ntohs((uint16_t)found->s_port);
    nb__addrlist_name(list, name, sizeof(name));
    if (rc != 0 && rc != ENOENT) {
        /* the services database could not be read: not the name's fault */
        char text[128];
        snprintf(detail, sizeof(detail), "looking up service '%s': %s", port,
                 nb__errno_text(rc, text, sizeof(text)));
        return nb__fail_resolve(err, name, EAI_SYSTEM, rc, detail);
    }
    snprintf(detail, sizeof(detail), "unknown service '%s' for %s", port,
             proto);
    return nb__fail_resolve(err, name, EAI_SERVICE, saved, detail);
}

static int protocol_for(int socktype)
{
    return socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
}

static void set_one(nb__addrlist *list, int family, int socktype)
{
    memset(&list->one, 0, sizeof(list->one));
    list->one.ai_family = family;
    list->one.ai_socktype = socktype;
    list->one.ai_protocol = protocol_for(socktype);
    list->one.ai_addr = (struct sockaddr *)&list->one_ss;
    list->one.ai_addrlen = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    list->head = &list->one;
}

static void set_wildcard(nb__addrlist *list, int flags, int socktype,
                         int port)
{
    memset(&list->one_ss, 0, sizeof(list->one_ss));
    if (flags & NB_IPV4_ONLY) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&list->one_ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        set_one(list, AF_INET, socktype);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&list->one_ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_any;
        set_one(list, AF_INET6, socktype);
    }
}

/* "%eth0" or "%2" after an IPv6 address.  0 when unknown.  A number is
 * any sin6_scope_id (32 bits), as getaddrinfo takes it: interface indexes
 * grow past 65535 on hosts that create many interfaces (containers). */
static unsigned scope_id_of(const char *scope)
{
    uint64_t number = 0;
    const char *s;

    if (scope[0] == '\0')
        return 0;
    for (s = scope; *s >= '0' && *s <= '9'; s++)
        if (number <= UINT32_MAX)
            number = number * 10 + (uint64_t)(*s - '0');
    if (*s != '\0')
        return if_nametoindex(scope);  /* a name, even "1a" */
    return number <= UINT32_MAX ? (unsigned)number : 0;
}

/* Parses a numeric IPv4 or IPv6 host (with an optional %scope) into *ss.
 * Returns the family, or 0 when host is not numeric (or its scope is
 * unknown: getaddrinfo then produces the error). */
static int parse_numeric_host(const char *host, struct sockaddr_storage *ss)
{
    char text[INET6_ADDRSTRLEN];
    const char *percent;
    size_t n;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1)
        return AF_INET;
    percent = strchr(host, '%');
    n = percent != NULL ? (size_t)(percent - host) : strlen(host);
    if (n == 0 || n >= sizeof(text))
        return 0;
    memcpy(text, host, n);
    text[n] = '\0';
    if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr) != 1)
        return 0;
    if (percent != NULL) {
        unsigned scope = scope_id_of(percent + 1);
        if (scope == 0)
            return 0;
        ((struct sockaddr_in6 *)ss)->sin6_scope_id = scope;
    }
    return AF_INET6;
}

static void set_family_and_port(struct sockaddr_storage *ss, int family,
                                int port)
{
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
    }
}

static int family_allowed(int family, int flags)
{
    if (flags & NB_IPV4_ONLY)
        return family == AF_INET;
    if (flags & NB_IPV6_ONLY)
        return family == AF_INET6;
    return 1;
}

/* Names that mean this host: AI_ADDRCONFIG would hide their addresses on a
 * machine whose only configured addresses are loopback ones (RFC 6761). */
static int is_loopback_name(const char *host)
{
    static const char *const names[] = {
        "localhost", "localhost.localdomain", "localhost6",
        "localhost6.localdomain6", "ip6-localhost", "ip6-loopback",
    };
    size_t n = strlen(host);
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(host, names[i]) == 0)
            return 1;
    return n > 10 && strcasecmp(host + n - 10, ".localhost") == 0;
}

/* The question for getaddrinfo: AI_NUMERICSERV always (the port is a
 * number by now); AI_ADDRCONFIG for a peer's name unless it names this
 * host; AI_PASSIVE to bind. */
static void make_query(nb__query *q, const char *host, int port, int socktype,
                       enum nb__purpose purpose, int flags, int numeric_host)
{
    struct addrinfo *hints = &q->hints;

    memset(hints, 0, sizeof(*hints));
    hints->ai_family = (flags & NB_IPV4_ONLY)   ? AF_INET
                       : (flags & NB_IPV6_ONLY) ? AF_INET6
                                                : AF_UNSPEC;
    hints->ai_socktype = socktype;
    hints->ai_protocol = protocol_for(socktype);
    hints->ai_flags = AI_NUMERICSERV;
    if (numeric_host)
        hints->ai_flags |= AI_NUMERICHOST;
    else if (purpose == NB__FOR_CONNECT && hints->ai_family == AF_UNSPEC &&
             !is_loopback_name(host))
        hints->ai_flags |= AI_ADDRCONFIG;  /* skip AAAA on IPv4-only hosts */
    if (purpose == NB__FOR_BIND)
        hints->ai_flags |= AI_PASSIVE;
    q->host = host;
    snprintf(q->service, sizeof(q->service), "%d", port);
}

/* Copies "[v6]" (n bytes) without its brackets; returns host itself
 * otherwise. */
static const char *strip_brackets(const char *host, size_t n, char *buf,
                                  size_t size)
{
    if (n < 2 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= size)
        return host;
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    return buf;
}

int nb__resolve_prepare(const char *host, const char *port, int socktype,
                        enum nb__purpose purpose, int flags, const char *op,
                        nb__addrlist *list, nb__query *q, int *inline_only,
                        nb_error *err)
{
    int wildcard = purpose == NB__FOR_BIND && nb__is_wildcard(host);
    int portnum, family;

    list->head = NULL;
    list->gai = NULL;
    list->host = wildcard ? "*" : host;
    list->port = port;
    if (!wildcard) {
        if (nb__check_peer_host(host, op, err) != 0)
            return -1;
        list->host = host = strip_brackets(host, strlen(host),
                                           list->unbracketed,
                                           sizeof(list->unbracketed));
    }
    if (nb__parse_port(port, &portnum, op, host, err) != 0)
        return -1;
    if (portnum < 0) {
        portnum = lookup_service(port, socktype, list, err);
        if (portnum < 0)
            return -1;
    }

    if (wildcard) {
        set_wildcard(list, flags, socktype, portnum);
        return 0;
    }
    family = parse_numeric_host(host, &list->one_ss);
    if (family != 0 && family_allowed(family, flags)) {
        set_family_and_port(&list->one_ss, family, portnum);
        set_one(list, family, socktype);
        return 0;
    }
    make_query(q, host, portnum, socktype, purpose, flags, family != 0);
    *inline_only = family != 0;
    return 1;
}

int nb__resolve_finish(nb__addrlist *list, nb__answer *answer, nb_error *err)
{
    if (answer->rc != 0) {
        char name[NB_ADDRSTRLEN];
        nb__addrlist_name(list, name, sizeof(name));
        return nb__fail_resolve(err, name, answer->rc, answer->saved_errno,
                                NULL);
    }
    list->gai = list->head = answer->res;
    answer->res = NULL;
    return 0;
}

static int fail_lookup(const nb__addrlist *list, const nb__deadline *d,
                       int status, const char *op, nb_error *err)
{
    char name[NB_ADDRSTRLEN];

    nb__addrlist_name(list, name, sizeof(name));
    if (status > 0)
        return nb__fail_timeout(err, "resolve", name, d->timeout_ms,
                                "while resolving");
    return nb__fail_sys(err, op, name, errno);
}

int nb__resolve(const char *host, const char *port, int socktype,
                enum nb__purpose purpose, int flags, const char *op,
                const nb__deadline *d, nb__addrlist *list, nb_error *err)
{
    nb__answer answer;
    nb__query q;
    int inline_only = 0;
    int rc = nb__resolve_prepare(host, port, socktype, purpose, flags, op,
                                 list, &q, &inline_only, err);

    if (rc <= 0)
        return rc;
    if (d == NULL || d->forever || inline_only) {
        answer.res = NULL;
        answer.rc = getaddrinfo(q.host, q.service, &q.hints, &answer.res);
        answer.saved_errno = errno;
    } else {
        const char *failed_op = "";
        int status = nb__lookup_wait(&q, d, &answer, &failed_op);
        if (status != 0)
            return fail_lookup(list, d, status, failed_op, err);
    }
    return nb__resolve_finish(list, &answer, err);
}

void nb__addrlist_free(nb__addrlist *list)
{
    if (list->gai != NULL) {
        int saved = errno;
        freeaddrinfo(list->gai);
        errno = saved;
        list->gai = NULL;
    }
    list->head = NULL;
}

void nb__addrlist_name(const nb__addrlist *list, char *buf, size_t size)
{
    nb__hostport(buf, size, list->host, list->port);
}

static int same_address(const struct addrinfo *a, const struct addrinfo *b)
{
    return a->ai_addrlen == b->ai_addrlen &&
           memcmp(a->ai_addr, b->ai_addr, a->ai_addrlen) == 0;
}

int nb__addrlist_unique(const nb__addrlist *list, const struct addrinfo **out,
                        int max)
{
    const struct addrinfo *ai;
    int n = 0;

    for (ai = list->head; ai != NULL && n < max; ai = ai->ai_next) {
        int i = 0;
        while (i < n && !same_address(out[i], ai))
            i++;
        if (i == n)
            out[n++] = ai;
    }
    return n;
}

int nb__addrlist_count(const nb__addrlist *list)
{
    const struct addrinfo *ai;
    int n = 0;

    for (ai = list->head; ai != NULL; ai = ai->ai_next)
        n++;
    return n;
}

/* ---------------------------------------------------------- nb_resolve */

static int same_as_stored(const nb_addr *out, int n, const struct addrinfo *ai)
{
    int i;

    for (i = 0; i < n; i++)
        if (out[i].len == ai->ai_addrlen &&
            memcmp(&out[i].ss, ai->ai_addr, ai->ai_addrlen) == 0)
            return 1;
    return 0;
}

static int check_resolve_args(int socktype, const nb_addr *out, int max,
                              int flags, nb_error *err)
{
    if (nb__check_flags(flags, NB__FAMILY_FLAGS, "nb_resolve", "resolve",
                        err) != 0)
        return -1;
    if (socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
        return nb__fail_arg(err, "resolve", "",
                            "socktype %d is neither SOCK_STREAM nor SOCK_DGRAM",
                            socktype);
    if (out == NULL)
        return nb__fail_arg(err, "resolve", "", "out is NULL");
    if (max < 1)
        return nb__fail_arg(err, "resolve", "", "max is %d, less than 1", max);
    return 0;
}

int nb_resolve(const char *host, const char *port, int socktype, nb_addr *out,
               int max, int timeout_ms, int flags, nb_error *err)
{
    const struct addrinfo *ai;
    nb__addrlist list;
    nb__deadline deadline;
    int n = 0;

    if (check_resolve_args(socktype, out, max, flags, err) != 0)
        return -1;
    nb__deadline_start(&deadline, timeout_ms);
    if (nb__resolve(host, port, socktype, NB__FOR_CONNECT, flags, "resolve",
                    &deadline, &list, err) != 0)
        return -1;
    for (ai = list.head; ai != NULL && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(out->ss) || same_as_stored(out, n, ai))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    nb__addrlist_free(&list);
    return n;
}
