/*
 * error.c - the one place where nb_error objects are filled and read.  It
 * is the bottom of the library: it calls nothing else in lib/.
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
const char *nb__errno_text(int e, char *buf, size_t size)
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

/* The one writer of nb_error: every nb__fail* below ends here, so a new
 * field is one edit.  The message is "op addr: detail"; the detail is
 * formatted from fmt, or is the text of sys_errno when fmt is NULL (no
 * printf at all: that is the path of routine errors such as EAGAIN from
 * accept on a non-blocking listener).  User strings only ever travel as
 * %s arguments, never as the format. */
static void write_error(nb_error *err, enum nb_code code, const char *op,
                        const char *addr, int sys_errno, int gai,
                        const char *fmt, va_list ap) NB__PRINTF(7, 0);

static void write_error(nb_error *err, enum nb_code code, const char *op,
                        const char *addr, int sys_errno, int gai,
                        const char *fmt, va_list ap)
{
    char detail[NB_ERRMSG_SIZE];
    const char *text = detail;

    if (fmt != NULL)
        vsnprintf(detail, sizeof(detail), fmt, ap);
    else
        text = nb__errno_text(sys_errno, detail, sizeof(detail));
    err->code = code;
    err->sys_errno = sys_errno;
    err->gai_error = gai;
    err->op = op;
    err->addr[0] = '\0';
    append(err->addr, sizeof(err->addr), addr != NULL ? addr : "");
    make_printable(err->addr);
    err->message[0] = '\0';
    append(err->message, sizeof(err->message), op);
    if (err->addr[0] != '\0') {
        append(err->message, sizeof(err->message), " ");
        append(err->message, sizeof(err->message), err->addr);
    }
    append(err->message, sizeof(err->message), ": ");
    append(err->message, sizeof(err->message), text);
    make_printable(err->message);
    err->attempts = 0;
    err->transferred = 0;
}

int nb__fail(nb_error *err, enum nb_code code, const char *op,
             const char *addr, int sys_errno, int errno_value,
             const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        write_error(err, code, op, addr, sys_errno, 0, fmt, ap);
        va_end(ap);
    }
    errno = errno_value;
    return -1;
}

int nb__fail_arg(nb_error *err, const char *op, const char *addr,
                 const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        write_error(err, NB_ERR_ARG, op, addr, 0, 0, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

int nb__fail_sys(nb_error *err, const char *op, const char *addr, int e)
{
    return nb__fail(err, NB_ERR_SYSTEM, op, addr, e, e, NULL);
}

int nb__fail_sys_what(nb_error *err, const char *op, const char *addr, int e,
                      const char *what)
{
    char buf[128];

    return nb__fail(err, NB_ERR_SYSTEM, op, addr, e, e, "%s: %s", what,
                    nb__errno_text(e, buf, sizeof(buf)));
}

int nb__fail_timeout(nb_error *err, const char *op, const char *addr,
                     int timeout_ms, const char *what)
{
    return nb__fail(err, NB_ERR_TIMEOUT, op, addr, ETIMEDOUT, ETIMEDOUT,
                    "timed out after %d ms%s%s", timeout_ms,
                    what[0] != '\0' ? " " : "", what);
}

static void fill(nb_error *err, enum nb_code code, const char *op,
                 const char *addr, int sys_errno, int gai, const char *fmt, ...)
    NB__PRINTF(7, 8);

static void fill(nb_error *err, enum nb_code code, const char *op,
                 const char *addr, int sys_errno, int gai, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    write_error(err, code, op, addr, sys_errno, gai, fmt, ap);
    va_end(ap);
}

/* errno after a resolve failure is whatever getaddrinfo left (e). */
int nb__fail_resolve(nb_error *err, const char *addr, int gai, int e,
                     const char *detail)
{
    if (err != NULL && detail == NULL && gai == EAI_SYSTEM) {
        char buf[128];
        fill(err, NB_ERR_RESOLVE, "resolve", addr, 0, gai, "%s: %s",
             gai_strerror(gai), nb__errno_text(e, buf, sizeof(buf)));
    } else if (err != NULL) {
        fill(err, NB_ERR_RESOLVE, "resolve", addr, 0, gai, "%s",
             detail != NULL ? detail : gai_strerror(gai));
    }
    errno = e;
    return -1;
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

void nb__close_quietly(int fd)
{
    int saved = errno;

    if (fd >= 0)
        close(fd);
    errno = saved;
}
