/*
 * test_connector_uv.c - connectors inside an event loop this project did
 * not write: libuv's uv_run.  Each connector's descriptor is watched with
 * uv_poll for UV_READABLE, and nb_connector_step is called from the poll
 * callback, as nb_connector(3) tells a libuv program to do.  The listener
 * is watched the same way and accepts as connections come.
 *
 * In one loop at once: connectors to a numeric host in every mode, to
 * "localhost" (helper threads wake the descriptor), one refused, one to a
 * listener whose full queue drops SYNs with a 300 ms deadline (the
 * connector's own timer must wake libuv: the test arms no libuv timer but
 * a 20 s watchdog), an unknown service and an unresolvable name (failures
 * found while starting).  Failures must be nb_tcp_connect's, message for
 * message.  At the end uv_loop_close must succeed (every handle closed)
 * and no descriptor may be left open.
 *
 * Built only when configure finds libuv (pkg-config libuv >= 1.0);
 * otherwise tests/test_connector_uv_skip.c takes its place and the test is
 * reported as skipped.  Plain C, no Check runner: exit 0 passed, 1
 * failed; of tests/helpers.c it uses only what never asserts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "helpers.h"
#include "netbasics.h"

#define N_NUMERIC 40
#define N_NAMED 20
#define DEADLINE_MS 300
#define WATCHDOG_MS 20000

static int failures;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failure(const char *fmt, ...)
{
    va_list ap;

    failures++;
    printf("FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Open descriptors (th_count_fds without its ck_assert); -1 when /proc
 * cannot tell. */
static int count_fds(void)
{
    int n = th_count_entries("/proc/self/fd");

    return n < 0 ? -1 : n - 1;  /* the directory's own descriptor */
}

/* A loopback IPv4 listener on an ephemeral port; backlog 1 and its queue
 * filled when stall is set (the kernel then drops further SYNs: the
 * fillers go into fillers[]).  Bound but not listening when refuse is
 * set. */
struct server {
    int fd;
    int port;
    char port_text[8];
    int fillers[16];
    int nfillers;
};

static int open_server(struct server *s, int backlog, int stall, int refuse)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    memset(s, 0, sizeof(*s));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        (!refuse && listen(s->fd, stall ? 1 : backlog) != 0) ||
        getsockname(s->fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    s->port = ntohs(sin.sin_port);
    snprintf(s->port_text, sizeof(s->port_text), "%d", s->port);
    if (stall)
        return th_fill_queue((struct sockaddr *)&sin, sizeof(sin), s->fillers,
                             &s->nfillers, 16);
    return 0;
}

static void close_server(struct server *s)
{
    while (s->nfillers > 0)
        close(s->fillers[--s->nfillers]);
    close(s->fd);
}

/* One connector and what it must come to. */
struct job {
    uv_poll_t poll;
    nb_connector *c;
    char what[64];
    const char *host, *port;
    int timeout, flags;
    int want;                /* 1: connects to want_port; -1: fails */
    int want_port;
    nb_error want_err;       /* nb_tcp_connect's, for a failure */
    int result;              /* what the step said, 0 while running */
    int64_t ended_ms;        /* when, after the start of the loop */
    int wakeups;
};

static int64_t t0;
static int running;
static uv_timer_t watchdog;
static uv_poll_t listen_poll;
static int accepted, connected;

static void job_closed(uv_handle_t *h)
{
    struct job *j = h->data;

    nb_connector_free(j->c);  /* after libuv let go of its descriptor */
    j->c = NULL;
}

static void check_result(struct job *j, int rc, int fd, const nb_error *e)
{
    if (rc != j->want) {
        failure("%s: step returned %d (%s), want %d", j->what, rc,
             rc < 0 ? e->message : "connected", j->want);
    } else if (rc == 1) {
        nb_addr peer;
        if (nb_peer_addr(fd, &peer, NULL) != 0 ||
            nb_addr_port(&peer) != j->want_port)
            failure("%s: not connected to port %d", j->what, j->want_port);
        else if (((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0) !=
                 ((j->flags & NB_NONBLOCK) != 0))
            failure("%s: O_NONBLOCK does not follow the flags", j->what);
        else
            connected++;
    } else if (e->code != j->want_err.code ||
               strcmp(e->op, j->want_err.op) != 0 ||
               e->sys_errno != j->want_err.sys_errno ||
               e->gai_error != j->want_err.gai_error ||
               strcmp(e->addr, j->want_err.addr) != 0 ||
               strcmp(e->message, j->want_err.message) != 0 ||
               e->attempts != j->want_err.attempts) {
        failure("%s: \"%s\" (%s, attempts %d), nb_tcp_connect's \"%s\" (%s, "
             "attempts %d)", j->what, e->message, nb_code_name(e->code),
             e->attempts, j->want_err.message,
             nb_code_name(j->want_err.code), j->want_err.attempts);
    }
}

static void job_ready(uv_poll_t *p, int status, int events)
{
    struct job *j = p->data;
    nb_error e;
    int fd, rc;

    (void)events;
    if (status < 0) {
        failure("%s: uv_poll: %s", j->what, uv_strerror(status));
        return;
    }
    j->wakeups++;
    rc = nb_connector_step(j->c, &fd, &e);
    if (rc == 0)
        return;
    j->result = rc;
    j->ended_ms = th_now_ms() - t0;
    check_result(j, rc, fd, &e);
    if (fd >= 0)
        close(fd);
    uv_close((uv_handle_t *)p, job_closed);
    if (--running == 0) {
        uv_timer_stop(&watchdog);
        uv_close((uv_handle_t *)&watchdog, NULL);
        uv_close((uv_handle_t *)&listen_poll, NULL);
    }
}

static void listener_ready(uv_poll_t *p, int status, int events)
{
    int lfd, fd;

    (void)events;
    if (status < 0 || uv_fileno((uv_handle_t *)p, &lfd) != 0)
        return;
    while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        accepted++;
        close(fd);
    }
}

static void watchdog_fired(uv_timer_t *t)
{
    failure("the loop ran for %d ms: %d connectors unfinished", WATCHDOG_MS,
         running);
    uv_stop(t->loop);
}

int main(void)
{
    static struct job jobs[N_NUMERIC + N_NAMED + 4];
    struct server up, stalled, closed;
    uv_loop_t loop;
    int fds_before, n = 0, i, rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("libuv %s\n", uv_version_string());
    fds_before = count_fds();
    if (open_server(&up, 512, 0, 0) != 0 || open_server(&stalled, 1, 1, 0) != 0 ||
        open_server(&closed, 0, 0, 1) != 0) {
        printf("FAIL: loopback servers: %s\n", strerror(errno));
        return 1;
    }
    if (uv_loop_init(&loop) != 0) {
        printf("FAIL: uv_loop_init\n");
        return 1;
    }

    for (i = 0; i < N_NUMERIC; i++, n++) {
        static const int flags[] = { 0, NB_NONBLOCK, NB_NODELAY, NB_NONBLOCK | NB_NODELAY };
        snprintf(jobs[n].what, sizeof(jobs[n].what), "127.0.0.1 #%d", i);
        jobs[n].host = "127.0.0.1";
        jobs[n].port = up.port_text;
        jobs[n].timeout = i % 2 ? 5000 : 0;
        jobs[n].flags = flags[i % 4];
        jobs[n].want = 1;
        jobs[n].want_port = up.port;
    }
    for (i = 0; i < N_NAMED; i++, n++) {
        snprintf(jobs[n].what, sizeof(jobs[n].what), "localhost #%d", i);
        jobs[n].host = "localhost";
        jobs[n].port = up.port_text;
        jobs[n].timeout = i % 2 ? 5000 : 0;
        jobs[n].flags = NB_IPV4_ONLY | (i % 4 < 2 ? NB_NONBLOCK : 0);
        jobs[n].want = 1;
        jobs[n].want_port = up.port;
    }
    snprintf(jobs[n].what, sizeof(jobs[n].what), "refused");
    jobs[n].host = "127.0.0.1";
    jobs[n].port = closed.port_text;
    jobs[n++].want = -1;
    snprintf(jobs[n].what, sizeof(jobs[n].what), "deadline on a full queue");
    jobs[n].host = "127.0.0.1";
    jobs[n].port = stalled.port_text;
    jobs[n].timeout = DEADLINE_MS;
    jobs[n++].want = -1;
    snprintf(jobs[n].what, sizeof(jobs[n].what), "unknown service");
    jobs[n].host = "127.0.0.1";
    jobs[n].port = "dytime";
    jobs[n++].want = -1;
    snprintf(jobs[n].what, sizeof(jobs[n].what), "unresolvable name");
    jobs[n].host = TH_UNRESOLVABLE;
    jobs[n].port = "80";
    jobs[n].timeout = 2000;
    jobs[n++].want = -1;

    /* the expected failures first: nb_tcp_connect blocks (300 ms) */
    for (i = 0; i < n; i++)
        if (jobs[i].want < 0 &&
            nb_tcp_connect(jobs[i].host, jobs[i].port, jobs[i].timeout,
                           jobs[i].flags, &jobs[i].want_err) >= 0)
            failure("%s: nb_tcp_connect succeeded", jobs[i].what);

    uv_poll_init(&loop, &listen_poll, up.fd);
    uv_poll_start(&listen_poll, UV_READABLE, listener_ready);
    uv_timer_init(&loop, &watchdog);
    uv_timer_start(&watchdog, watchdog_fired, WATCHDOG_MS, 0);
    t0 = th_now_ms();
    for (i = 0; i < n; i++) {
        nb_error e;
        jobs[i].c = nb_connector_start(jobs[i].host, jobs[i].port,
                                       jobs[i].timeout, jobs[i].flags, &e);
        if (jobs[i].c == NULL) {
            failure("%s: nb_connector_start: %s", jobs[i].what, e.message);
            continue;
        }
        jobs[i].poll.data = &jobs[i];
        rc = uv_poll_init(&loop, &jobs[i].poll, nb_connector_fd(jobs[i].c));
        if (rc == 0)
            rc = uv_poll_start(&jobs[i].poll, UV_READABLE, job_ready);
        if (rc != 0) {
            failure("%s: uv_poll: %s", jobs[i].what, uv_strerror(rc));
            continue;
        }
        running++;
    }

    rc = uv_run(&loop, UV_RUN_DEFAULT);
    printf("uv_run returned %d after %lld ms: %d connected, %d accepted\n", rc,
           (long long)(th_now_ms() - t0), connected, accepted);
    if (running != 0) {
        /* the watchdog stopped the loop: close what is left */
        for (i = 0; i < n; i++)
            if (jobs[i].c != NULL && jobs[i].result == 0)
                uv_close((uv_handle_t *)&jobs[i].poll, job_closed);
        if (!uv_is_closing((uv_handle_t *)&watchdog))
            uv_close((uv_handle_t *)&watchdog, NULL);
        if (!uv_is_closing((uv_handle_t *)&listen_poll))
            uv_close((uv_handle_t *)&listen_poll, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (connected != N_NUMERIC + N_NAMED)
        failure("%d connected, want %d", connected, N_NUMERIC + N_NAMED);
    for (i = 0; i < n; i++) {
        if (strcmp(jobs[i].what, "deadline on a full queue") == 0 &&
            (jobs[i].ended_ms < DEADLINE_MS - 5 || jobs[i].ended_ms > 3000))
            failure("%s: ended after %lld ms, want about %d", jobs[i].what,
                 (long long)jobs[i].ended_ms, DEADLINE_MS);
        if (jobs[i].wakeups > 4)
            failure("%s: woken %d times", jobs[i].what, jobs[i].wakeups);
    }
    rc = uv_loop_close(&loop);
    if (rc != 0)
        failure("uv_loop_close: %s", uv_strerror(rc));
    close_server(&up);
    close_server(&stalled);
    close_server(&closed);
#if UV_VERSION_HEX >= 0x012600
    /* libuv's own process-wide descriptors (its signal lock pipe) */
    uv_library_shutdown();
    if (count_fds() != fds_before)
#else
    /* before 1.38 libuv keeps its signal lock pipe open for good */
    if (count_fds() != fds_before + 2)
#endif
        failure("%d descriptors open at the end, %d at the start", count_fds(),
             fds_before);
    if (failures != 0) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("PASS: %d connectors in uv_run, every result as expected\n", n);
    return 0;
}
