/*
 * error.c - the one place where nb_error objects are filled and read.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void nb_error_clear(nb_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
    err->code = NB_OK;
    err->op = "";
}

const char *nb_error_message(const nb_error *err)
{
    if (err == NULL || err->code == NB_OK)
        return "";
    return err->message;
}

const char *nb_code_name(enum nb_code code)
{
    switch (code) {
    case NB_OK:          return "NB_OK";
    case NB_ERR_ARG:     return "NB_ERR_ARG";
    case NB_ERR_RESOLVE: return "NB_ERR_RESOLVE";
    case NB_ERR_SYSTEM:  return "NB_ERR_SYSTEM";
    case NB_ERR_TIMEOUT: return "NB_ERR_TIMEOUT";
    case NB_ERR_CLOSED:  return "NB_ERR_CLOSED";
    }
    return "NB_ERR_UNKNOWN";
}

static int is_temporary_errno(int e)
{
    switch (e) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case ECONNABORTED:
        return 1;
    default:
        return 0;
    }
}

int nb_error_is_temporary(const nb_error *err)
{
    if (err == NULL)
        return 0;
    switch (err->code) {
    case NB_ERR_TIMEOUT:
        return 1;
    case NB_ERR_SYSTEM:
        return is_temporary_errno(err->sys_errno);
    case NB_ERR_RESOLVE:
        return err->gai_error == EAI_AGAIN;
    default:
        return 0;
    }
}

/* A message is one line for people: user-supplied bytes such as a host name
 * must not smuggle newlines or terminal escapes into a log. */
static void make_printable(char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            *s = '?';
    }
}

/* The GNU strerror_r returns a pointer that may or may not be buf; the XSI
 * one returns int.  Both are thread-safe, unlike strerror(3). */
static const char *errno_text(int e, char *buf, size_t size)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(e, buf, size);
#else
    if (strerror_r(e, buf, size) != 0)
        snprintf(buf, size, "error %d", e);
    return buf;
#endif
}

/* Appends src to the NUL-terminated string in dst, truncating at size:
 * a long host name shortens the message, it never overflows it. */
static void append(char *dst, size_t size, const char *src)
{
    size_t used = strlen(dst);
    size_t n = strlen(src);

    if (used + 1 >= size)
        return;
    if (n > size - used - 1)
        n = size - used - 1;
    memcpy(dst + used, src, n);
    dst[used + n] = '\0';
}

static void copy_string(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void vfill(nb_error *err, enum nb_code code, const char *op,
                  const char *addr, int sys_errno, int gai,
                  const char *fmt, va_list ap) NB__PRINTF(7, 0);

static void vfill(nb_error *err, enum nb_code code, const char *op,
                  const char *addr, int sys_errno, int gai,
                  const char *fmt, va_list ap)
{
    char detail[NB_ERRMSG_SIZE];

    vsnprintf(detail, sizeof(detail), fmt, ap);
    err->code = code;
    err->sys_errno = sys_errno;
    err->gai_error = gai;
    err->op = op;
    copy_string(err->addr, sizeof(err->addr), addr);
    make_printable(err->addr);
    err->message[0] = '\0';
    append(err->message, sizeof(err->message), op);
    if (err->addr[0] != '\0') {
        append(err->message, sizeof(err->message), " ");
        append(err->message, sizeof(err->message), err->addr);
    }
    append(err->message, sizeof(err->message), ": ");
    append(err->message, sizeof(err->message), detail);
    make_printable(err->message);
    err->attempts = 0;
    err->transferred = 0;
}

static int finish(enum nb_code code, int sys_errno)
{
    if (code == NB_ERR_ARG)
        errno = EINVAL;
    else if (sys_errno != 0)
        errno = sys_errno;
    return -1;
}

int nb__fail(nb_error *err, enum nb_code code, const char *op,
             const char *addr, int sys_errno, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vfill(err, code, op, addr, sys_errno, 0, fmt, ap);
        va_end(ap);
    }
    return finish(code, sys_errno);
}

int nb__fail_arg(nb_error *err, const char *op, const char *addr,
                 const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vfill(err, NB_ERR_ARG, op, addr, 0, 0, fmt, ap);
        va_end(ap);
    }
    return finish(NB_ERR_ARG, 0);
}

int nb__fail_sys(nb_error *err, const char *op, const char *addr, int e)
{
    char buf[128];
    return nb__fail(err, NB_ERR_SYSTEM, op, addr, e, "%s",
                    errno_text(e, buf, sizeof(buf)));
}

int nb__fail_quick(nb_error *err, const char *op, int e)
{
    if (err != NULL) {
        char buf[128];
        err->code = NB_ERR_SYSTEM;
        err->sys_errno = e;
        err->gai_error = 0;
        err->op = op;
        err->addr[0] = '\0';
        err->message[0] = '\0';
        append(err->message, sizeof(err->message), op);
        append(err->message, sizeof(err->message), ": ");
        append(err->message, sizeof(err->message),
               errno_text(e, buf, sizeof(buf)));
        err->attempts = 0;
        err->transferred = 0;
    }
    errno = e;
    return -1;
}

int nb__fail_sys_what(nb_error *err, const char *op, const char *addr, int e,
                      const char *what)
{
    char buf[128];
    return nb__fail(err, NB_ERR_SYSTEM, op, addr, e, "%s: %s", what,
                    errno_text(e, buf, sizeof(buf)));
}

int nb__fail_timeout(nb_error *err, const char *op, const char *addr)
{
    char buf[128];
    return nb__fail(err, NB_ERR_TIMEOUT, op, addr, ETIMEDOUT, "%s",
                    errno_text(ETIMEDOUT, buf, sizeof(buf)));
}

static void fill(nb_error *err, enum nb_code code, const char *op,
                 const char *addr, int sys_errno, int gai,
                 const char *fmt, ...) NB__PRINTF(7, 8);

static void fill(nb_error *err, enum nb_code code, const char *op,
                 const char *addr, int sys_errno, int gai,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfill(err, code, op, addr, sys_errno, gai, fmt, ap);
    va_end(ap);
}

/* errno after a resolve failure is whatever getaddrinfo left (e); it is
 * restored after the message is made. */
int nb__fail_resolve(nb_error *err, const char *addr, int gai, int e)
{
    if (err != NULL) {
        if (gai == EAI_SYSTEM) {
            char buf[128];
            fill(err, NB_ERR_RESOLVE, "resolve", addr, 0, gai, "%s: %s",
                 gai_strerror(gai), errno_text(e, buf, sizeof(buf)));
        } else {
            fill(err, NB_ERR_RESOLVE, "resolve", addr, 0, gai, "%s",
                 gai_strerror(gai));
        }
    }
    errno = e;
    return -1;
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
    char buf[128];

    if (e == EBADF || e == ENOTSOCK)
        snprintf(what, sizeof(what), "fd %d", fd);
    else
        nb__describe_fd(fd, what, sizeof(what));
    switch (e) {
    case EBADF:
    case ENOTSOCK:
        nb__fail(err, NB_ERR_ARG, op, what, 0, "%s",
                 errno_text(e, buf, sizeof(buf)));
        errno = e;  /* the kernel's reason is more precise than EINVAL */
        return -1;
    case EPIPE:
    case ECONNRESET:
        return nb__fail(err, NB_ERR_CLOSED, op, what, e, "%s",
                        errno_text(e, buf, sizeof(buf)));
    default:
        return nb__fail_sys(err, op, what, e);
    }
}

void nb__note_attempts(nb_error *err, int attempts)
{
    char suffix[40];

    if (err == NULL)
        return;
    err->attempts = attempts;
    if (attempts <= 1)
        return;
    snprintf(suffix, sizeof(suffix), " (%d addresses tried)", attempts);
    append(err->message, sizeof(err->message), suffix);
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

void nb__close_quietly(int fd)
{
    int saved = errno;

    if (fd >= 0)
        close(fd);
    errno = saved;
}
