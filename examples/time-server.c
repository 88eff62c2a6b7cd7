/*
 * time-server - the classic teaching server, written with libnetbasics.
 *
 * For each TCP client: send the current time and close.  With -u, also
 * answer every UDP datagram with one reply.  One process polls all its
 * sockets; with -w N, N worker processes share the port with SO_REUSEPORT
 * and the parent restarts any that die.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "netbasics.h"
#include "timeproto.h"

#define PROGRAM "time-server"
#define DEFAULT_PORT "9999"
#define BACKLOG 512
#define MAX_SOCKETS 16
#define MAX_WORKERS 256
/* Connections taken per wake-up, so that one busy socket cannot starve the
 * others. */
#define ACCEPT_BATCH 64
/* A reply is a few dozen bytes and always fits an empty send buffer; the
 * deadline only bounds the impossible case, so that no client can hold the
 * server. */
#define SEND_TIMEOUT_MS 10
/* Back-off while out of descriptors (EMFILE/ENFILE): first and longest. */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

struct options {
    const char *host;
    const char *port;
    const char *unix_path;
    int family_flags;
    int udp;
    int workers;
    int quiet;
    enum tp_protocol proto;
};

/* The sockets one serving process polls. */
struct socket_set {
    struct pollfd pfd[MAX_SOCKETS];
    int is_stream[MAX_SOCKETS];
    int n;
};

struct server {
    struct socket_set set;
    const struct options *opt;
    int paused;              /* accepting is paused until `resume` */
    int backoff_ms;          /* the last pause; 0 after an accept works */
    struct timespec resume;  /* when accepting resumes */
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* SIGCHLD only needs to interrupt the parent's ppoll; waitpid does the rest. */
static void on_child_signal(int sig)
{
    (void)sig;
}

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROGRAM " [-H HOST] [-p PORT] [-4|-6] [-u] [-P daytime|time]\n"
        "                   [-w N] [-U PATH] [-q] [-h] [-V]\n"
        "  -H HOST  address to listen on (default: all, IPv6 and IPv4)\n"
        "  -p PORT  port number or service name (default " DEFAULT_PORT
        "; 0: any free port)\n"
        "  -4, -6   IPv4 only, IPv6 only\n"
        "  -u       also answer UDP datagrams on the same port\n"
        "  -P PROTO daytime (RFC 867 text, default) or time (RFC 868)\n"
        "  -w N     N worker processes sharing the port (SO_REUSEPORT)\n"
        "  -U PATH  also listen on a Unix socket (\"@name\": abstract)\n"
        "  -q       do not log clients\n"
        "  -h       this help;  -V  version\n"
        "Sockets passed by systemd socket activation are used instead of -H/-p/-U.\n");
}

/* A bad command line: one line naming the value, then exit 2. */
static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROGRAM ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" PROGRAM " -h' for help.\n");
    exit(2);
}

/* A startup failure: exit 2 for a bad value the user gave, 1 otherwise. */
static void die_error(const nb_error *err)
{
    fprintf(stderr, PROGRAM ": %s\n", nb_error_message(err));
    exit(err->code == NB_ERR_ARG ? 2 : 1);
}

static int parse_workers(const char *s)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > MAX_WORKERS)
        die_usage("invalid worker count '%s' (1..256)", s);
    return (int)n;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->port = DEFAULT_PORT;
    opt->proto = TP_DAYTIME;
    while ((c = getopt(argc, argv, ":H:p:46uP:w:U:qhV")) != -1) {
        switch (c) {
        case 'H': opt->host = optarg; break;
        case 'p': opt->port = optarg; break;
        case '4': opt->family_flags |= NB_IPV4_ONLY; break;
        case '6': opt->family_flags |= NB_IPV6_ONLY; break;
        case 'u': opt->udp = 1; break;
        case 'P':
            if (tp_protocol_parse(optarg, &opt->proto) != 0)
                die_usage("invalid protocol '%s' (daytime or time)", optarg);
            break;
        case 'w': opt->workers = parse_workers(optarg); break;
        case 'U': opt->unix_path = optarg; break;
        case 'q': opt->quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf(PROGRAM " (libnetbasics) %s\n", nb_version()); exit(0);
        case ':': die_usage("option -%c needs a value", optopt); break;
        default:  die_usage("unknown option -%c", optopt);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (opt->family_flags == (NB_IPV4_ONLY | NB_IPV6_ONLY))
        die_usage("-4 and -6 exclude each other");
}

static void add_socket(struct socket_set *set, int fd, int is_stream)
{
    if (set->n == MAX_SOCKETS) {
        fprintf(stderr, PROGRAM ": too many sockets (at most %d)\n", MAX_SOCKETS);
        exit(1);
    }
    set->pfd[set->n].fd = fd;
    set->pfd[set->n].events = POLLIN;
    set->is_stream[set->n] = is_stream;
    set->n++;
}

static void announce(const struct socket_set *set, int workers)
{
    int i;

    for (i = 0; i < set->n; i++) {
        char text[NB_ADDRSTRLEN] = "?";
        nb_addr local;
        if (nb_local_addr(set->pfd[i].fd, &local, NULL) == 0)
            nb_addr_format(&local, text, sizeof(text));
        fprintf(stderr, PROGRAM ": listening on %s (%s)", text,
                set->is_stream[i] ? "stream" : "datagram");
        if (workers > 0)
            fprintf(stderr, ", %d workers", workers);
        fputc('\n', stderr);
    }
}

/* Sockets from systemd-style activation: streams are listeners, datagram
 * sockets get the UDP treatment.  They come blocking, and are made
 * non-blocking like the server's own: it accepts until EAGAIN, and a
 * blocking accept would hold it (and its signals) until the next client.
 * Returns how many were taken. */
static int add_activated_sockets(struct socket_set *set)
{
    int fds[MAX_SOCKETS];
    nb_error err;
    int n, i;

    n = nb_listen_fds(fds, MAX_SOCKETS, &err);
    if (n < 0)
        die_error(&err);
    if (n > MAX_SOCKETS) {
        fprintf(stderr, PROGRAM ": %d sockets passed, at most %d supported\n",
                n, MAX_SOCKETS);
        exit(1);
    }
    for (i = 0; i < n; i++) {
        int type = 0, fl;
        socklen_t len = sizeof(type);
        if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
            (fl = fcntl(fds[i], F_GETFL)) < 0 ||
            fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0) {
            fprintf(stderr, PROGRAM ": passed descriptor %d: %s\n", fds[i],
                    strerror(errno));
            exit(1);
        }
        add_socket(set, fds[i], type == SOCK_STREAM);
    }
    return n;
}

/* The TCP listener (and UDP socket with -u) on host:port.  Returns the
 * port bound, so that -p 0 gives every socket the same one. */
static int open_port_sockets(struct socket_set *set, const struct options *opt,
                             const char *port, int reuseport)
{
    int flags = NB_NONBLOCK | opt->family_flags | (reuseport ? NB_REUSEPORT : 0);
    char bound_port[8];
    nb_addr local;
    nb_error err;
    int fd;

    fd = nb_tcp_listen(opt->host, port, BACKLOG, flags, &err);
    if (fd < 0 || nb_local_addr(fd, &local, &err) != 0)
        die_error(&err);
    add_socket(set, fd, 1);
    snprintf(bound_port, sizeof(bound_port), "%d", nb_addr_port(&local));
    if (opt->udp) {
        fd = nb_udp_bind(opt->host, bound_port, flags, &err);
        if (fd < 0)
            die_error(&err);
        add_socket(set, fd, 0);
    }
    return nb_addr_port(&local);
}

/* Sockets every process serves: activated ones, or the Unix listener.
 * Returns 1 when activation supplied the sockets (no TCP/UDP of our own). */
static int open_shared_sockets(struct socket_set *set, const struct options *opt)
{
    memset(set, 0, sizeof(*set));
    if (add_activated_sockets(set) > 0)
        return 1;
    if (opt->unix_path != NULL) {
        nb_error err;
        int fd = nb_unix_listen(opt->unix_path, BACKLOG, NB_NONBLOCK, &err);
        if (fd < 0)
            die_error(&err);
        add_socket(set, fd, 1);
    }
    return 0;
}

static size_t current_reply(enum tp_protocol proto, char *buf, size_t size)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return tp_make_reply(proto, &now, buf, size);
}

static void log_client(const struct server *s, const nb_addr *peer,
                       const char *what)
{
    if (!s->opt->quiet) {
        char text[NB_ADDRSTRLEN];
        fprintf(stderr, "%s %s\n", nb_addr_format(peer, text, sizeof(text)),
                what);
    }
}

static void pause_accepting(struct server *s, const nb_error *err)
{
    if (s->paused)
        return;  /* another listener already paused this round */
    s->backoff_ms = s->backoff_ms == 0 ? BACKOFF_MIN_MS
                                       : s->backoff_ms * 2 > BACKOFF_MAX_MS
                                             ? BACKOFF_MAX_MS
                                             : s->backoff_ms * 2;
    clock_gettime(CLOCK_MONOTONIC, &s->resume);
    s->resume.tv_nsec += (long)s->backoff_ms * 1000000L;
    s->resume.tv_sec += s->resume.tv_nsec / 1000000000L;
    s->resume.tv_nsec %= 1000000000L;
    s->paused = 1;
    fprintf(stderr, PROGRAM ": %s; pausing accept for %d ms\n",
            nb_error_message(err), s->backoff_ms);
}

/* Accepts what is pending and answers each client.  A failure concerns
 * one client only and never stops the server. */
static void serve_stream(struct server *s, int listen_fd)
{
    char reply[TP_REPLY_MAX];
    nb_error err;
    int i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        nb_addr peer;
        size_t len;
        int fd = nb_tcp_accept(listen_fd, &peer, NB_NONBLOCK, &err);
        if (fd < 0) {
            if (err.code == NB_ERR_SYSTEM &&
                (err.sys_errno == EAGAIN || err.sys_errno == EWOULDBLOCK))
                return;
            if (nb_error_is_temporary(&err))
                pause_accepting(s, &err);
            else
                fprintf(stderr, PROGRAM ": %s\n", nb_error_message(&err));
            return;
        }
        s->backoff_ms = 0;
        log_client(s, &peer, "connected");
        len = current_reply(s->opt->proto, reply, sizeof(reply));
        if (nb_send_all(fd, reply, len, SEND_TIMEOUT_MS, &err) < 0)
            log_client(s, &peer, nb_error_message(&err));
        close(fd);
    }
}

/* One datagram in, one reply out.  Junk and empty datagrams are answered
 * like any other; a failure is logged and forgotten. */
static void serve_datagram(const struct server *s, int fd)
{
    char in[512], reply[TP_REPLY_MAX];
    nb_addr peer;
    nb_error err;
    size_t len;

    /* poll said readable; the short deadline only guards against a
     * datagram that vanished in between */
    if (nb_udp_recvfrom(fd, in, sizeof(in), &peer, 1, &err) < 0 &&
        !(err.code == NB_ERR_SYSTEM && err.sys_errno == EMSGSIZE)) {
        if (err.code != NB_ERR_TIMEOUT)
            fprintf(stderr, PROGRAM ": %s\n", nb_error_message(&err));
        return;
    }
    log_client(s, &peer, "datagram");
    len = current_reply(s->opt->proto, reply, sizeof(reply));
    if (nb_udp_sendto(fd, reply, len, &peer, &err) < 0)
        log_client(s, &peer, nb_error_message(&err));
}

/* Milliseconds until accepting resumes (0: now), for poll's timeout. */
static int backoff_left_ms(struct server *s)
{
    struct timespec now;
    long ms;

    if (!s->paused)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (s->resume.tv_sec - now.tv_sec) * 1000L +
         (s->resume.tv_nsec - now.tv_nsec) / 1000000L;
    return ms > 0 ? (int)ms : 0;
}

/* Signals that stop the server are blocked except inside ppoll, so that
 * one arriving between two checks of stop_signal cannot be lost.  The mask
 * to wait with is stored in *during_wait. */
static void catch_signals(sigset_t *during_wait, int with_sigchld)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (with_sigchld) {
        sa.sa_handler = on_child_signal;
        sa.sa_flags = SA_NOCLDSTOP;
        sigaction(SIGCHLD, &sa, NULL);
        sigaddset(&block, SIGCHLD);
    }
    sigprocmask(SIG_BLOCK, &block, during_wait);
    sigdelset(during_wait, SIGINT);
    sigdelset(during_wait, SIGTERM);
    if (with_sigchld)
        sigdelset(during_wait, SIGCHLD);
}

/* Serves each socket that ppoll found ready. */
static void serve_ready(struct server *s)
{
    const struct socket_set *set = &s->set;
    int i;

    for (i = 0; i < set->n; i++) {
        if (set->pfd[i].revents == 0)
            continue;
        if (set->is_stream[i])
            serve_stream(s, set->pfd[i].fd);
        else
            serve_datagram(s, set->pfd[i].fd);
    }
}

static void serve_forever(struct server *s)
{
    struct socket_set *set = &s->set;
    sigset_t wait_mask;
    int i;

    catch_signals(&wait_mask, 0);
    while (!stop_signal) {
        int left = backoff_left_ms(s);
        struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
        int n;

        /* the pause ends, but its length is kept: the next failure
         * doubles it, and only an accept that works resets it */
        if (left == 0)
            s->paused = 0;
        for (i = 0; i < set->n; i++)
            set->pfd[i].events = set->is_stream[i] && s->paused ? 0 : POLLIN;
        n = ppoll(set->pfd, (nfds_t)set->n, left < 0 ? NULL : &ts, &wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror(PROGRAM ": ppoll");
            exit(1);
        }
        serve_ready(s);
    }
    for (i = 0; i < set->n; i++)
        close(set->pfd[i].fd);
}

/* The socket file of -U is ours to remove at a clean exit (not the one of
 * an abstract name, which has no file, nor one passed by activation). */
static void remove_socket_file(const struct options *opt, int activated)
{
    if (opt->unix_path != NULL && opt->unix_path[0] != '@' && !activated)
        unlink(opt->unix_path);
}

/* ------------------------------------------------------------- workers */

/* Each worker owns one set: the shared sockets plus its own SO_REUSEPORT
 * TCP (and UDP) socket.  The parent keeps every socket open, so a worker
 * that dies loses no queued connection: its replacement takes over the
 * same listener. */
struct worker {
    pid_t pid;               /* 0: waiting to be (re)started */
    struct socket_set set;
    int64_t started_ms;
    int64_t restart_at_ms;
};

struct pool {
    struct worker *w;
    int n;
    int shared_n;            /* sockets at the start of every set */
    int activated;           /* the sockets came from socket activation */
    const struct options *opt;
};

/* A worker that dies this soon after starting is restarted only after the
 * same delay, so that a crash loop cannot eat the machine. */
#define CRASH_LOOP_MS 1000

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_other_sets(const struct pool *p, int keep)
{
    int i, j;

    for (i = 0; i < p->n; i++)
        if (i != keep)
            for (j = p->shared_n; j < p->w[i].set.n; j++)
                close(p->w[i].set.pfd[j].fd);
}

static void start_worker(struct pool *p, int index)
{
    struct worker *w = &p->w[index];
    pid_t pid;

    (void)fflush(stderr);  /* best effort: nothing buffered is printed twice */
    pid = fork();
    if (pid < 0) {
        perror(PROGRAM ": fork");
        w->restart_at_ms = monotonic_ms() + CRASH_LOOP_MS;
        return;
    }
    if (pid == 0) {
        struct server s;
        sigset_t none;
        (void)signal(SIGCHLD, SIG_DFL);  /* cannot fail for SIGCHLD */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close_other_sets(p, index);
        memset(&s, 0, sizeof(s));
        s.set = w->set;
        s.opt = p->opt;
        serve_forever(&s);
        exit(0);
    }
    w->pid = pid;
    w->started_ms = monotonic_ms();
}

static void note_exit(struct worker *w, int status)
{
    int64_t now = monotonic_ms();

    if (WIFSIGNALED(status))
        fprintf(stderr, PROGRAM ": worker %ld killed by signal %d; restarting\n",
                (long)w->pid, WTERMSIG(status));
    else
        fprintf(stderr, PROGRAM ": worker %ld exited with status %d; restarting\n",
                (long)w->pid, WEXITSTATUS(status));
    w->pid = 0;
    w->restart_at_ms = now - w->started_ms < CRASH_LOOP_MS ? now + CRASH_LOOP_MS
                                                            : now;
}

/* Reaps dead workers, starts those whose time has come, and returns the
 * milliseconds until the next pending start (-1: none pending). */
static int tend_workers(struct pool *p)
{
    int64_t now, next = -1;
    pid_t pid;
    int status, i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (i = 0; i < p->n; i++)
            if (p->w[i].pid == pid)
                note_exit(&p->w[i], status);
    now = monotonic_ms();
    for (i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0 && w->restart_at_ms <= now)
            start_worker(p, i);
        if (w->pid == 0 && (next < 0 || w->restart_at_ms - now < next))
            next = w->restart_at_ms - now;
    }
    return (int)next;
}

static void stop_workers(const struct pool *p)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (p->w[i].pid > 0)
            kill(p->w[i].pid, SIGTERM);
    for (i = 0; i < p->n; i++) {
        pid_t r;
        if (p->w[i].pid <= 0)
            continue;
        do
            r = waitpid(p->w[i].pid, NULL, 0);
        while (r < 0 && errno == EINTR);
    }
}

static void open_pool_sockets(struct pool *p)
{
    struct socket_set shared;
    const char *port = p->opt->port;
    char bound[8];
    int activated = open_shared_sockets(&shared, p->opt);
    int i;

    p->activated = activated;
    p->shared_n = shared.n;
    for (i = 0; i < p->n; i++) {
        p->w[i].set = shared;
        if (activated)
            continue;  /* everyone serves the passed sockets */
        snprintf(bound, sizeof(bound), "%d",
                 open_port_sockets(&p->w[i].set, p->opt, port, 1));
        port = bound;  /* "-p 0": the others join the port the first got */
    }
}

static void close_pool_sockets(const struct pool *p)
{
    int i, j;

    for (i = 0; i < p->n; i++)
        for (j = i == 0 ? 0 : p->shared_n; j < p->w[i].set.n; j++)
            close(p->w[i].set.pfd[j].fd);
}

static int run_workers(const struct options *opt)
{
    struct pool p;
    sigset_t wait_mask;
    int i;

    memset(&p, 0, sizeof(p));
    p.opt = opt;
    p.n = opt->workers;
    p.w = calloc((size_t)p.n, sizeof(*p.w));
    if (p.w == NULL) {
        perror(PROGRAM);
        return 1;
    }
    open_pool_sockets(&p);
    announce(&p.w[0].set, p.n);
    catch_signals(&wait_mask, 1);
    for (i = 0; i < p.n; i++)
        start_worker(&p, i);
    while (!stop_signal) {
        int next = tend_workers(&p);
        struct timespec ts = { next / 1000, (next % 1000) * 1000000L };
        ppoll(NULL, 0, next < 0 ? NULL : &ts, &wait_mask);
    }
    stop_workers(&p);
    close_pool_sockets(&p);
    remove_socket_file(opt, p.activated);
    free(p.w);
    return 0;
}

int main(int argc, char **argv)
{
    struct options opt;
    struct server s;
    int activated;

    parse_options(argc, argv, &opt);
    tzset();
    if (opt.workers > 0)
        return run_workers(&opt);
    memset(&s, 0, sizeof(s));
    s.opt = &opt;
    activated = open_shared_sockets(&s.set, &opt);
    if (!activated)
        open_port_sockets(&s.set, &opt, opt.port, 0);
    announce(&s.set, 0);
    serve_forever(&s);
    remove_socket_file(&opt, activated);
    return 0;
}
