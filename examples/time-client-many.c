/*
 * time-client-many.c - time-client -m: ask several servers at once.
 *
 * One thread, one poll(2) loop, no timer of its own: each server is first
 * an nb_connector (poll its descriptor for POLLIN, call nb_connector_step
 * when it is readable), then a connected non-blocking socket (poll it for
 * POLLIN, read with nb_recv until the server closes).  The -t deadline
 * covers everything: the connectors carry it (name lookup included), the
 * loop checks it while reading.  One line per server, in argument order.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netbasics.h"
#include "time-client.h"

enum stage { CONNECTING, READING, DONE };

struct server {
    const char *target;           /* as given on the command line */
    char host[NB_ADDRSTRLEN];
    char port[32];
    enum stage stage;
    nb_connector *connector;
    int fd;
    char reply[TC_REPLY_MAX];
    size_t len;
    char line[TC_REPLY_MAX];      /* the time, or why there is none */
    int ok;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finish(struct server *s, int ok, const char *line)
{
    snprintf(s->line, sizeof(s->line), "%s", line);
    s->ok = ok;
    s->stage = DONE;
    nb_connector_free(s->connector);
    s->connector = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* "host", "host:port", "[v6]:port", or a bare IPv6 address ("::1"). */
static int split_target(struct server *s, const char *default_port)
{
    const char *t = s->target;
    nb_error err;
    size_t n = strlen(t);

    if (nb_split_hostport(t, s->host, sizeof(s->host), s->port,
                          sizeof(s->port), &err) == 0)
        return 0;
    if (n > 2 && t[0] == '[' && t[n - 1] == ']' && n - 2 < sizeof(s->host)) {
        snprintf(s->host, sizeof(s->host), "%.*s", (int)(n - 2), t + 1);
    } else if (strchr(t, ']') == NULL &&
               (strchr(t, ':') == NULL || strchr(t, ':') != strrchr(t, ':')) &&
               n < sizeof(s->host)) {
        snprintf(s->host, sizeof(s->host), "%s", t);  /* no port given */
    } else {
        finish(s, 0, nb_error_message(&err));
        return -1;
    }
    snprintf(s->port, sizeof(s->port), "%s", default_port);
    return 0;
}

static void start(struct server *s, const struct options *opt)
{
    nb_error err;

    s->fd = -1;
    s->stage = CONNECTING;
    if (split_target(s, opt->port) != 0)
        return;
    s->connector = nb_connector_start(s->host, s->port, opt->timeout_ms,
                                      opt->family_flags | NB_NONBLOCK, &err);
    if (s->connector == NULL)
        finish(s, 0, nb_error_message(&err));
}

static void step(struct server *s)
{
    nb_error err;
    int rc = nb_connector_step(s->connector, &s->fd, &err);

    if (rc < 0) {
        finish(s, 0, nb_error_message(&err));
    } else if (rc > 0) {
        nb_connector_free(s->connector);
        s->connector = NULL;
        s->stage = READING;
    }
}

static void receive(struct server *s, enum tp_protocol proto)
{
    char text[TC_REPLY_MAX];
    nb_error err;
    ssize_t n;

    if (s->len == sizeof(s->reply)) {
        finish(s, 0, "reply too long: not a time server?");
        return;
    }
    /* poll said readable: this returns at once */
    n = nb_recv(s->fd, s->reply + s->len, sizeof(s->reply) - s->len, 1, &err);
    if (n > 0) {
        s->len += (size_t)n;
    } else if (n < 0 && err.code != NB_ERR_TIMEOUT) {
        finish(s, 0, nb_error_message(&err));
    } else if (n == 0) {
        int ok = tc_format_reply(proto, s->reply, s->len, text,
                                 sizeof(text)) == 0;
        finish(s, ok, text);
    }
}

/* The deadline passed while a server was still sending. */
static void expire(struct server *s, int timeout_ms)
{
    char line[NB_ERRMSG_SIZE];

    snprintf(line, sizeof(line), "recv %s:%s: timed out after %d ms "
             "(%zu bytes received)", s->host, s->port, timeout_ms, s->len);
    finish(s, 0, line);
}

/* One round: poll what is pending, then move each ready server on.
 * Returns how many are still pending. */
static int round_trip(struct server *servers, struct pollfd *pfds, int n,
                      const struct options *opt, int64_t deadline)
{
    int i, pending = 0, wait;

    for (i = 0; i < n; i++) {
        pfds[i].fd = servers[i].stage == CONNECTING
                         ? nb_connector_fd(servers[i].connector)
                         : servers[i].stage == READING ? servers[i].fd : -1;
        pfds[i].events = POLLIN;
        pfds[i].revents = 0;
        pending += pfds[i].fd >= 0;
    }
    if (pending == 0)
        return 0;
    /* the connectors wake this poll at their own deadline; the margin
     * lets them report it themselves, with their message */
    wait = (int)(deadline + 50 - monotonic_ms());
    if (poll(pfds, (nfds_t)n, wait < 0 ? 0 : wait) < 0 && errno != EINTR) {
        perror("time-client: poll");
        exit(1);
    }
    for (i = 0; i < n; i++) {
        if (pfds[i].revents != 0 && servers[i].stage == CONNECTING)
            step(&servers[i]);
        else if (pfds[i].revents != 0 && servers[i].stage == READING)
            receive(&servers[i], opt->proto);
        else if (servers[i].stage == READING && monotonic_ms() >= deadline)
            expire(&servers[i], opt->timeout_ms);
    }
    return pending;
}

int tc_ask_many(const struct options *opt)
{
    int n = opt->ntargets, i, status = 0;
    struct server *servers = calloc((size_t)n, sizeof(*servers));
    struct pollfd *pfds = calloc((size_t)n, sizeof(*pfds));
    int64_t deadline = monotonic_ms() + opt->timeout_ms;

    if (servers == NULL || pfds == NULL) {
        fprintf(stderr, "time-client: out of memory\n");
        free(servers);
        free(pfds);
        return 1;
    }
    for (i = 0; i < n; i++) {
        servers[i].target = opt->targets[i];
        start(&servers[i], opt);
    }
    while (round_trip(servers, pfds, n, opt, deadline) > 0) {
        /* each round moves every ready server on */
    }
    for (i = 0; i < n; i++) {
        printf("%s: %s\n", servers[i].target, servers[i].line);
        if (!servers[i].ok)
            status = 1;
    }
    free(servers);
    free(pfds);
    return fflush(stdout) == 0 ? status : 1;
}
