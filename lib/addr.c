/*
 * addr.c - socket addresses: reading them off descriptors, printing them
 * (in messages too: nb__describe_fd, nb__fail_fd), and splitting and
 * joining "host:port" strings.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "internal.h"

static int fill_addr(int fd, nb_addr *out, nb_error *err, const char *op,
                     int (*get)(int, struct sockaddr *, socklen_t *))
{
    socklen_t len = sizeof(out->ss);

    if (nb__check_fd(fd, op, err) != 0)
        return -1;
    if (out == NULL)
        return nb__fail_arg(err, op, "", "address pointer is NULL");
    if (get(fd, (struct sockaddr *)&out->ss, &len) != 0)
        return nb__fail_fd(err, op, fd, errno);
    out->len = len;
    return 0;
}

int nb_local_addr(int fd, nb_addr *out, nb_error *err)
{
    return fill_addr(fd, out, err, "getsockname", getsockname);
}

int nb_peer_addr(int fd, nb_addr *out, nb_error *err)
{
    return fill_addr(fd, out, err, "getpeername", getpeername);
}

int nb_addr_port(const nb_addr *a)
{
    if (a == NULL || a->len > sizeof(a->ss))
        return -1;
    if (a->ss.ss_family == AF_INET && a->len >= sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6 && a->len >= sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return -1;
}

static void format_in6(const struct sockaddr_in6 *sin6, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    char scope[IF_NAMESIZE + 12] = "";
    unsigned port = ntohs(sin6->sin6_port);

    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
        /* ::ffff:a.b.c.d is an IPv4 peer of a dual-stack socket */
        inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, port);
        return;
    }
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    if (sin6->sin6_scope_id != 0) {
        char name[IF_NAMESIZE];
        if (if_indextoname(sin6->sin6_scope_id, name) != NULL)
            snprintf(scope, sizeof(scope), "%%%s", name);
        else
            snprintf(scope, sizeof(scope), "%%%u",
                     (unsigned)sin6->sin6_scope_id);
    }
    snprintf(buf, size, "[%s%s]:%u", host, scope, port);
}

/* A filesystem path, or "@name" for the abstract namespace, whose bytes
 * are arbitrary: NULs print as '@' (as ss(8) does), others unprintable as
 * '?'. */
static void format_unix(const struct sockaddr_un *sun, size_t pathlen,
                        char *buf, size_t size)
{
    size_t i, out = 0;
    int abstract = sun->sun_path[0] == '\0';

    if (pathlen == 0) {
        snprintf(buf, size, "(unnamed)");
        return;
    }
    /* a longer length (up to sizeof(sockaddr_storage)) says nothing more:
     * Linux reports one byte past sun_path for a 108-byte path, its NUL */
    if (pathlen > sizeof(sun->sun_path))
        pathlen = sizeof(sun->sun_path);
    for (i = 0; i < pathlen && out + 1 < size; i++) {
        unsigned char c = (unsigned char)sun->sun_path[i];
        if (c == '\0' && !abstract)
            break;
        if (c == '\0')
            c = '@';
        else if (c < 0x20 || c == 0x7f)
            c = '?';
        buf[out++] = (char)c;
    }
    buf[out] = '\0';
}

void nb__format_sockaddr(const struct sockaddr *addr, socklen_t len, char *buf,
                         size_t size)
{
    const size_t path_offset = offsetof(struct sockaddr_un, sun_path);
    struct sockaddr_storage ss;
    const struct sockaddr *sa = (const struct sockaddr *)&ss;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (len == 0)
        return;
    if (len < sizeof(sa_family_t) || len > sizeof(ss)) {
        snprintf(buf, size, "(invalid address)");
        return;
    }
    /* a copy, so that the casts below are aligned whatever addr points to */
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, addr, len);
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        char host[INET_ADDRSTRLEN];
        if (len < sizeof(*sin))
            break;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
        return;
    }
    case AF_INET6:
        if (len < sizeof(struct sockaddr_in6))
            break;
        format_in6((const struct sockaddr_in6 *)&ss, buf, size);
        return;
    case AF_UNIX:
        format_unix((const struct sockaddr_un *)&ss,
                    len > path_offset ? len - path_offset : 0, buf, size);
        return;
    default:
        snprintf(buf, size, "(family %d)", (int)sa->sa_family);
        return;
    }
    snprintf(buf, size, "(invalid address)");
}

char *nb_addr_format(const nb_addr *a, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (a == NULL) {
        buf[0] = '\0';
        return buf;
    }
    nb__format_sockaddr((const struct sockaddr *)&a->ss, a->len, buf, size);
    return buf;
}

static int split_error(const char *quoted, nb_error *err, const char *why)
{
    return nb__fail_arg(err, "split", quoted, "%s", why);
}

/* Copies n bytes and a NUL; the caller checked that n < size. */
static void copy_part(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int nb_split_hostport(const char *s, char *host, size_t hostsize, char *port,
                      size_t portsize, nb_error *err)
{
    const char *host_start, *host_end, *port_start, *colon;
    char quoted[NB_ADDRSTRLEN];

    if (s == NULL || host == NULL || port == NULL)
        return nb__fail_arg(err, "split", "", "NULL argument");
    /* The input is quoted in messages: "split "localhost::": empty port"
     * reads better than a run of colons. */
    snprintf(quoted, sizeof(quoted), "\"%s\"", s);
    if (s[0] == '[') {
        host_start = s + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL)
            return split_error(quoted, err, "missing ']'");
        if (host_end == host_start)
            return split_error(quoted, err, "empty host in brackets");
        if (host_end[1] != ':')
            return split_error(quoted, err, "missing ':port' after ']'");
        port_start = host_end + 2;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return split_error(quoted, err, "missing ':port'");
        host_start = s;
        host_end = colon;
        port_start = colon + 1;
        if (memchr(s, ':', (size_t)(colon - s)) != NULL)
            return split_error(quoted, err,
                               "too many ':' (an IPv6 host needs brackets: "
                               "[::1]:80)");
    }
    if (port_start[0] == '\0')
        return split_error(quoted, err, "empty port");
    if (strpbrk(port_start, "[]:") != NULL ||
        memchr(host_start, '[', (size_t)(host_end - host_start)) != NULL ||
        (s[0] != '[' && memchr(s, ']', (size_t)(host_end - s)) != NULL))
        return split_error(quoted, err, "unexpected '[', ']' or ':'");
    if ((size_t)(host_end - host_start) >= hostsize ||
        strlen(port_start) >= portsize)
        return split_error(quoted, err, "host or port too long for its buffer");
    copy_part(host, host_start, (size_t)(host_end - host_start));
    copy_part(port, port_start, strlen(port_start));
    return 0;
}

void nb__hostport(char *buf, size_t size, const char *host, const char *port)
{
    if (host == NULL)
        host = "";
    if (port == NULL)
        port = "";
    if (strchr(host, ':') != NULL)
        snprintf(buf, size, "[%s]:%s", host, port);
    else
        snprintf(buf, size, "%s:%s", host, port);
}

void nb__describe_fd(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int saved = errno;

    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
        len > 0)
        nb__format_sockaddr((struct sockaddr *)&ss, len, buf, size);
    else
        snprintf(buf, size, "fd %d", fd);
    errno = saved;
}

int nb__fail_fd(nb_error *err, const char *op, int fd, int e)
{
    char what[NB_ADDRSTRLEN];
    char text[128];

    switch (e) {
    case EBADF:
    case ENOTSOCK:
        /* The caller's mistake, but errno keeps the kernel's reason: it
         * is more precise than EINVAL. */
        snprintf(what, sizeof(what), "fd %d", fd);
        return nb__fail(err, NB_ERR_ARG, op, what, 0, e, "%s",
                        nb__errno_text(e, text, sizeof(text)));
    case EPIPE:
    case ECONNRESET:
        nb__describe_fd(fd, what, sizeof(what));
        return nb__fail(err, NB_ERR_CLOSED, op, what, e, e, NULL);
    default:
        nb__describe_fd(fd, what, sizeof(what));
        return nb__fail_sys(err, op, what, e);
    }
}
