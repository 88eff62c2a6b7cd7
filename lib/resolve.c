/*
 * resolve.c - argument checks and host:port resolution.
 *
 * Numeric hosts and ports never reach getaddrinfo(3): parsing them here
 * costs no allocation, no AI_ADDRCONFIG netlink probe and no read of
 * /etc/hosts, nsswitch.conf or gai.conf.  Service names are looked up once
 * with getservbyname_r so that every later step works with a number.
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

int nb__check_flags(int flags, int allowed, const char *op, nb_error *err)
{
    if ((flags & ~allowed) != 0)
        return nb__fail_arg(err, op, "", "invalid flags 0x%x (allowed: 0x%x)",
                            (unsigned)flags, (unsigned)allowed);
    if ((flags & NB__FAMILY_FLAGS) == NB__FAMILY_FLAGS)
        return nb__fail_arg(err, op, "",
                            "NB_IPV4_ONLY and NB_IPV6_ONLY exclude each other");
    return 0;
}

int nb__is_wildcard(const char *host)
{
    return host == NULL || host[0] == '\0' || strcmp(host, "*") == 0;
}

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
    char buf[4096];
    const char *proto = socktype == SOCK_DGRAM ? "udp" : "tcp";
    int saved = errno;

    if (getservbyname_r(port, proto, &ent, buf, sizeof(buf), &found) != 0 ||
        found == NULL) {
        char name[NB_ADDRSTRLEN];
        nb__addrlist_name(list, name, sizeof(name));
        return nb__fail_resolve(err, name, EAI_SERVICE, saved);
    }
    return ntohs((uint16_t)found->s_port);
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

static int resolve_with_getaddrinfo(const char *host, int port, int socktype,
                                    enum nb__purpose purpose, int flags,
                                    int numeric_host, nb__addrlist *list,
                                    nb_error *err)
{
    struct addrinfo hints;
    char service[12];  /* "65535" and room for any int */
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = (flags & NB_IPV4_ONLY)   ? AF_INET
                      : (flags & NB_IPV6_ONLY) ? AF_INET6
                                               : AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol_for(socktype);
    hints.ai_flags = AI_NUMERICSERV;
    if (numeric_host)
        hints.ai_flags |= AI_NUMERICHOST;
    else if (purpose == NB__FOR_CONNECT && hints.ai_family == AF_UNSPEC &&
             !is_loopback_name(host))
        hints.ai_flags |= AI_ADDRCONFIG;  /* skip AAAA on IPv4-only hosts */
    if (purpose == NB__FOR_BIND)
        hints.ai_flags |= AI_PASSIVE;
    snprintf(service, sizeof(service), "%d", port);

    rc = getaddrinfo(host, service, &hints, &list->gai);
    if (rc != 0) {
        char name[NB_ADDRSTRLEN];
        int e = errno;
        list->gai = NULL;
        nb__addrlist_name(list, name, sizeof(name));
        return nb__fail_resolve(err, name, rc, e);
    }
    list->head = list->gai;
    return 0;
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

int nb__resolve(const char *host, const char *port, int socktype,
                enum nb__purpose purpose, int flags, const char *op,
                nb__addrlist *list, nb_error *err)
{
    int wildcard = purpose == NB__FOR_BIND && nb__is_wildcard(host);
    int portnum, family;

    list->head = NULL;
    list->gai = NULL;
    list->host = wildcard ? "*" : host;
    list->port = port;
    if (!wildcard && (host == NULL || host[0] == '\0'))
        return nb__fail_arg(err, op, "", "host is %s",
                            host == NULL ? "NULL" : "empty");
    if (!wildcard) {
        size_t n = strlen(host);
        if (n >= NB__HOST_MAX)
            return nb__fail_arg(err, op, "", "host name longer than %d bytes",
                                NB__HOST_MAX - 1);
        list->host = host = strip_brackets(host, n, list->unbracketed,
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
    return resolve_with_getaddrinfo(host, portnum, socktype, purpose, flags,
                                    family != 0, list, err);
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

int nb__addrlist_count(const nb__addrlist *list)
{
    const struct addrinfo *ai;
    int n = 0;

    for (ai = list->head; ai != NULL; ai = ai->ai_next)
        n++;
    return n;
}
