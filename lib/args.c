/*
 * args.c - the argument checks every call shares: flags, descriptors,
 * buffers, hosts.  Each failure is NB_ERR_ARG with a message that names
 * what was wrong.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "internal.h"

/* The flags by name, in bit order, for messages. */
static const struct {
    int bit;
    const char *name;
} flag_names[] = {
    { NB_NONBLOCK, "NB_NONBLOCK" },
    { NB_REUSEPORT, "NB_REUSEPORT" },
    { NB_IPV4_ONLY, "NB_IPV4_ONLY" },
    { NB_IPV6_ONLY, "NB_IPV6_ONLY" },
    { NB_NODELAY, "NB_NODELAY" },
};

/* "NB_NONBLOCK|NB_NODELAY", or "none". */
static void name_flags(int flags, char *buf, size_t size)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (!(flags & flag_names[i].bit))
            continue;
        if (buf[0] != '\0')
            strncat(buf, "|", size - strlen(buf) - 1);
        strncat(buf, flag_names[i].name, size - strlen(buf) - 1);
    }
    if (buf[0] == '\0')
        strncat(buf, "none", size - 1);
}

int nb__check_flags(int flags, int allowed, const char *func, const char *op,
                    nb_error *err)
{
    if ((flags & ~allowed) != 0) {
        /* A swapped argument (a timeout or a backlog in the flags' place)
         * shows up here: say which flags the call takes, by name. */
        char names[96];
        name_flags(allowed, names, sizeof(names));
        return nb__fail_arg(err, op, "",
                            "invalid flags 0x%x for %s (allowed: %s)",
                            (unsigned)flags, func, names);
    }
    if ((flags & NB__FAMILY_FLAGS) == NB__FAMILY_FLAGS)
        return nb__fail_arg(err, op, "",
                            "NB_IPV4_ONLY and NB_IPV6_ONLY exclude each other");
    return 0;
}

int nb__check_fd(int fd, const char *op, nb_error *err)
{
    if (fd < 0)
        return nb__fail_arg(err, op, "", "invalid descriptor %d", fd);
    return 0;
}

int nb__check_buffer(const void *buf, size_t len, const char *op,
                     nb_error *err)
{
    if (buf == NULL && len > 0)
        return nb__fail_arg(err, op, "", "buffer is NULL");
    if (len > SSIZE_MAX)
        return nb__fail_arg(err, op, "", "length %zu too large", len);
    return 0;
}

int nb__is_wildcard(const char *host)
{
    return host == NULL || host[0] == '\0' || strcmp(host, "*") == 0;
}

int nb__check_peer_host(const char *host, const char *op, nb_error *err)
{
    if (host == NULL || host[0] == '\0')
        return nb__fail_arg(err, op, "", "host is %s",
                            host == NULL ? "NULL" : "empty");
    if (strcmp(host, "*") == 0)
        return nb__fail_arg(err, op, "",
                            "host \"*\" means every local address: it names "
                            "no peer (a wildcard is for listen and bind)");
    if (strlen(host) >= NB__HOST_MAX)
        return nb__fail_arg(err, op, "", "host name longer than %d bytes",
                            NB__HOST_MAX - 1);
    return 0;
}
