/*
 * fuzz_split.c - nb_split_hostport on arbitrary strings and buffer sizes.
 *
 * Input: byte 0 is hostsize, byte 1 portsize (0..255: tiny sizes
 * included), byte 2 options (bit 0: err NULL, bit 1: host NULL, bit 2:
 * port NULL, bit 3: s NULL); the rest, up to its first NUL, is the string.
 * host and port are heap buffers of exactly their sizes, so ASan sees any
 * write past them.
 *
 * Checked:
 *  - the result is what the contract (netbasics.h, nb_split_hostport(3))
 *    says, computed here independently: "[h]:p" with h non-empty and free
 *    of brackets,
 *    or "h:p" with h free of ':', '[' and ']'; p non-empty and free of
 *    ':', '[' and ']'; each part shorter than its buffer;
 *  - on success both parts are NUL-terminated inside their buffers, the
 *    port is not empty, the host holds ':' only when the input was
 *    bracketed, re-joining them (host bracketed when it holds ':' or the
 *    input was bracketed) gives back the input exactly, and *err is
 *    untouched;
 *  - on failure the buffers are untouched, errno is EINVAL, and err holds
 *    NB_ERR_ARG with a non-empty one-line printable message.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "netbasics.h"

#define CANARY 0xa5

/* The contract's answer, from the string alone. */
static int expect_split(const char *s, size_t hostsize, size_t portsize,
                        const char **h, size_t *hlen, const char **p)
{
    const char *colon;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close == s + 1 || close[1] != ':')
            return -1;
        *h = s + 1;
        *hlen = (size_t)(close - s - 1);
        if (memchr(*h, '[', *hlen) != NULL)
            return -1;
        *p = close + 2;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL)
            return -1;
        *h = s;
        *hlen = (size_t)(colon - s);
        if (memchr(s, '[', *hlen) != NULL || memchr(s, ']', *hlen) != NULL)
            return -1;
        *p = colon + 1;
    }
    if ((*p)[0] == '\0' || strpbrk(*p, ":[]") != NULL)
        return -1;
    if (*hlen >= hostsize || strlen(*p) >= portsize)
        return -1;
    return 0;
}

static int is_printable_line(const char *s, size_t size)
{
    size_t i;

    for (i = 0; i < size && s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return i < size;
}

static int all_canary(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != CANARY)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t hostsize, portsize;
    unsigned opts;
    char *s, *host, *port;
    nb_error err, before;
    const char *want_h = NULL, *want_p = NULL;
    size_t want_hlen = 0;
    int rc, want;

    if (size < 3)
        return 0;
    hostsize = data[0];
    portsize = data[1];
    opts = data[2];
    data += 3;
    size -= 3;

    s = malloc(size + 1);
    host = malloc(hostsize);
    port = malloc(portsize);
    if (s == NULL || (hostsize > 0 && host == NULL) ||
        (portsize > 0 && port == NULL))
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    memset(host, CANARY, hostsize);
    memset(port, CANARY, portsize);
    memset(&err, 0x5a, sizeof(err));
    err.op = "untouched";
    before = err;

    errno = 0;
    rc = nb_split_hostport((opts & 8) ? NULL : s, (opts & 2) ? NULL : host,
                           hostsize, (opts & 4) ? NULL : port, portsize,
                           (opts & 1) ? NULL : &err);
    want = (opts & 0xe) ? -1
                        : expect_split(s, hostsize, portsize, &want_h,
                                       &want_hlen, &want_p);
    if (rc != want)
        FUZZ_FAIL("split(\"%s\", %zu, %zu) returned %d, want %d", s,
                  hostsize, portsize, rc, want);

    if (rc == 0) {
        int bracketed = s[0] == '[';
        char *joined;
        size_t hl, pl;

        FUZZ_CHECK(memchr(host, '\0', hostsize) != NULL);
        FUZZ_CHECK(memchr(port, '\0', portsize) != NULL);
        hl = strlen(host);
        pl = strlen(port);
        FUZZ_CHECK(pl > 0);
        FUZZ_CHECK(bracketed || strchr(host, ':') == NULL);
        FUZZ_CHECK(hl == want_hlen && memcmp(host, want_h, hl) == 0);
        FUZZ_CHECK(strcmp(port, want_p) == 0);
        /* re-joined, the parts are the input again */
        joined = malloc(hl + pl + 4);
        if (joined == NULL)
            abort();
        if (bracketed || strchr(host, ':') != NULL)
            snprintf(joined, hl + pl + 4, "[%s]:%s", host, port);
        else
            snprintf(joined, hl + pl + 4, "%s:%s", host, port);
        if (strcmp(joined, s) != 0)
            FUZZ_FAIL("\"%s\" split and re-joined is \"%s\"", s, joined);
        free(joined);
        FUZZ_CHECK(memcmp(&err, &before, sizeof(err)) == 0);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(errno == EINVAL);
        FUZZ_CHECK(all_canary((unsigned char *)host, hostsize));
        FUZZ_CHECK(all_canary((unsigned char *)port, portsize));
        if (!(opts & 1)) {
            FUZZ_CHECK(err.code == NB_ERR_ARG);
            FUZZ_CHECK(err.sys_errno == 0 && err.gai_error == 0);
            FUZZ_CHECK(err.op != NULL && strcmp(err.op, "split") == 0);
            FUZZ_CHECK(is_printable_line(err.message, sizeof(err.message)));
            FUZZ_CHECK(err.message[0] != '\0');
            FUZZ_CHECK(strcmp(nb_error_message(&err), err.message) == 0);
            FUZZ_CHECK(is_printable_line(err.addr, sizeof(err.addr)));
        }
    }
    free(s);
    free(host);
    free(port);
    return 0;
}
