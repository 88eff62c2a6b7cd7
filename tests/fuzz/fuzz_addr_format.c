/*
 * fuzz_addr_format.c - nb_addr_format and nb_addr_port on arbitrary
 * nb_addr contents, lengths and buffer sizes.
 *
 * Input: byte 0 gives the buffer size (0..NB_ADDRSTRLEN+8), byte 1
 * options (bit 0: pass a NULL address; bit 1: the length is the 4 bytes
 * that follow, else the 2 that follow, little-endian), then the length,
 * then the bytes of the sockaddr_storage (zero-filled after the input
 * ends).  The length can be anything, larger than sockaddr_storage
 * included.  Every output buffer is a heap block of exactly its size, so
 * ASan sees any write past it.
 *
 * Checked, from the contract in netbasics.h:
 *  - with an NB_ADDRSTRLEN buffer the text is NUL-terminated inside it
 *    (so at most NB_ADDRSTRLEN-1 long), printable (no control bytes), and
 *    is exactly what the address says: "a.b.c.d:port" (IPv4-mapped IPv6
 *    too), "[v6%scope]:port", the unix path (NULs of an abstract name as
 *    '@', other control bytes as '?'; at most the 108 bytes of sun_path
 *    whatever the length), "(unnamed)", "(family N)",
 *    "(invalid address)" for a length that does not fit, "" for an empty
 *    address or a NULL one;
 *  - a smaller buffer gets the same text cut to size-1 bytes and a NUL,
 *    and a size of 0 gets nothing written;
 *  - nb_addr_format returns buf;
 *  - nb_addr_port is -1 or 0..65535: the port exactly when the family is
 *    IPv4 or IPv6 and the length fits it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "fuzz.h"
#include "netbasics.h"

static int is_printable_line(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* The text the contract asks for; want is NB_ADDRSTRLEN bytes. */
static void expected_text(const nb_addr *a, char *want, size_t size)
{
    const size_t path_offset = offsetof(struct sockaddr_un, sun_path);
    struct sockaddr_storage ss;
    socklen_t len;

    want[0] = '\0';
    if (a == NULL || a->len == 0)
        return;
    len = a->len;
    if (len < sizeof(sa_family_t) || len > sizeof(ss)) {
        snprintf(want, size, "(invalid address)");
        return;
    }
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &a->ss, len);  /* only len bytes count */
    switch (ss.ss_family) {
    case AF_INET: {
        struct sockaddr_in sin;
        char host[INET_ADDRSTRLEN];
        if (len < sizeof(sin))
            break;
        memcpy(&sin, &ss, sizeof(sin));
        inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host));
        snprintf(want, size, "%s:%u", host, (unsigned)ntohs(sin.sin_port));
        return;
    }
    case AF_INET6: {
        struct sockaddr_in6 sin6;
        char host[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 12] = "";
        if (len < sizeof(sin6))
            break;
        memcpy(&sin6, &ss, sizeof(sin6));
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            inet_ntop(AF_INET, &sin6.sin6_addr.s6_addr[12], host,
                      sizeof(host));
            snprintf(want, size, "%s:%u", host,
                     (unsigned)ntohs(sin6.sin6_port));
            return;
        }
        inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host));
        if (sin6.sin6_scope_id != 0) {
            char name[IF_NAMESIZE];
            if (if_indextoname(sin6.sin6_scope_id, name) != NULL)
                snprintf(scope, sizeof(scope), "%%%s", name);
            else
                snprintf(scope, sizeof(scope), "%%%u",
                         (unsigned)sin6.sin6_scope_id);
        }
        snprintf(want, size, "[%s%s]:%u", host, scope,
                 (unsigned)ntohs(sin6.sin6_port));
        return;
    }
    case AF_UNIX: {
        const unsigned char *path = (const unsigned char *)&ss + path_offset;
        size_t n = len > path_offset ? len - path_offset : 0, i, out = 0;
        if (n == 0) {
            snprintf(want, size, "(unnamed)");
            return;
        }
        /* bytes past sun_path are not part of the name */
        if (n > sizeof(struct sockaddr_un) - path_offset)
            n = sizeof(struct sockaddr_un) - path_offset;
        for (i = 0; i < n && out + 1 < size; i++) {
            if (path[i] == '\0' && path[0] != '\0')
                break;
            want[out++] = path[i] == '\0'                    ? '@'
                          : (path[i] < 0x20 || path[i] == 0x7f) ? '?'
                                                                : (char)path[i];
        }
        want[out] = '\0';
        return;
    }
    default:
        snprintf(want, size, "(family %d)", (int)ss.ss_family);
        return;
    }
    snprintf(want, size, "(invalid address)");
}

static int expected_port(const nb_addr *a)
{
    if (a == NULL || a->len > sizeof(a->ss))
        return -1;
    if (a->ss.ss_family == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, &a->ss, sizeof(sin));
        return ntohs(sin.sin_port);
    }
    if (a->ss.ss_family == AF_INET6 &&
        a->len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, &a->ss, sizeof(sin6));
        return ntohs(sin6.sin6_port);
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_addr addr, *a = &addr;
    size_t bufsize, full_len, cut;
    char *full, *buf, want[NB_ADDRSTRLEN];
    unsigned opts;
    uint32_t len;
    int port, want_port;

    if (size < 4)
        return 0;
    bufsize = data[0] % (NB_ADDRSTRLEN + 9);
    opts = data[1];
    memset(&addr, 0, sizeof(addr));
    if (opts & 2) {
        if (size < 6)
            return 0;
        len = (uint32_t)data[2] | (uint32_t)data[3] << 8 |
              (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
        data += 6;
        size -= 6;
    } else {
        len = (uint32_t)data[2] | (uint32_t)data[3] << 8;
        data += 4;
        size -= 4;
    }
    addr.len = (socklen_t)len;
    memcpy(&addr.ss, data, size < sizeof(addr.ss) ? size : sizeof(addr.ss));
    if (opts & 1)
        a = NULL;

    full = malloc(NB_ADDRSTRLEN);
    buf = malloc(bufsize);
    if (full == NULL || (bufsize > 0 && buf == NULL))
        abort();
    memset(full, 'x', NB_ADDRSTRLEN);
    if (bufsize > 0)
        memset(buf, 'x', bufsize);

    /* a full buffer */
    FUZZ_CHECK(nb_addr_format(a, full, NB_ADDRSTRLEN) == full);
    FUZZ_CHECK(memchr(full, '\0', NB_ADDRSTRLEN) != NULL);
    full_len = strlen(full);
    FUZZ_CHECK(full_len <= NB_ADDRSTRLEN - 1);
    FUZZ_CHECK(is_printable_line(full));
    expected_text(a, want, sizeof(want));
    if (strcmp(full, want) != 0)
        FUZZ_FAIL("len %u family %d: \"%s\", want \"%s\"", (unsigned)len,
                  (int)addr.ss.ss_family, full, want);

    /* a buffer of any size gets the same text, cut */
    FUZZ_CHECK(nb_addr_format(a, buf, bufsize) == buf);
    if (bufsize > 0) {
        FUZZ_CHECK(memchr(buf, '\0', bufsize) != NULL);
        cut = full_len < bufsize - 1 ? full_len : bufsize - 1;
        FUZZ_CHECK(strlen(buf) == cut);
        FUZZ_CHECK(memcmp(buf, full, cut) == 0);
    }
    /* a NULL buffer is not written to */
    FUZZ_CHECK(nb_addr_format(a, NULL, bufsize) == NULL);

    port = nb_addr_port(a);
    want_port = expected_port(a);
    FUZZ_CHECK(port >= -1 && port <= 65535);
    if (port != want_port)
        FUZZ_FAIL("len %u family %d: port %d, want %d", (unsigned)len,
                  (int)addr.ss.ss_family, port, want_port);
    if (port >= 0) {
        char suffix[8];
        size_t n = (size_t)snprintf(suffix, sizeof(suffix), ":%d", port);
        FUZZ_CHECK(full_len > n &&
                   strcmp(full + full_len - n, suffix) == 0);
    }
    free(full);
    free(buf);
    return 0;
}
