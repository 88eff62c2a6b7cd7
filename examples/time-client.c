/*
 * time-client - asks a time server for the time and prints it.
 *
 * TCP: connect, read until the server closes.  UDP (-u): send an empty
 * datagram, print the one that comes back.  Every failure prints the
 * library's one-line message and exits 1.  With -m, several servers are
 * asked at once (time-client-many.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netbasics.h"
#include "time-client.h"
#include "timeproto.h"

#define PROGRAM "time-client"
/* UDP may lose the request or the reply: ask again this often. */
#define UDP_RETRY_MS 1000

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROGRAM " [-4|-6] [-u] [-P daytime|time] [-t MS] HOST [PORT]\n"
        "       " PROGRAM " [-4|-6] [-P daytime|time] [-t MS] -m HOST[:PORT]...\n"
        "       " PROGRAM " -h|--help|-V|--version\n"
        "  -4, -6   IPv4 only, IPv6 only\n"
        "  -u       ask over UDP\n"
        "  -P PROTO daytime (RFC 867 text, default) or time (RFC 868)\n"
        "  -t MS    give up after MS milliseconds, name lookup included\n"
        "           (default %d)\n"
        "  -m       ask every HOST[:PORT] at once (TCP), one line each, in\n"
        "           order; IPv6 addresses in brackets: [::1]:9999\n"
        "  -h, --help     this help\n"
        "  -V, --version  the version\n"
        "  PORT     number or service name (default " DEFAULT_PORT ")\n",
        TC_DEFAULT_TIMEOUT_MS);
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
    fprintf(stderr, "\nTry '" PROGRAM " --help'.\n");
    exit(2);
}

/* getopt_long returned '?': an option it does not know, or a long option
 * given a value it does not take (then optopt is the option's letter). */
static void die_bad_option(char **argv)
{
    const char *arg = argv[optind - 1];

    if (optopt == 0)  /* an unknown long option, which optind has passed */
        die_usage("unrecognized option '%s'", arg);
    if (optopt == 'h' || optopt == 'V')
        die_usage("option '%.*s' takes no value", (int)strcspn(arg, "="), arg);
    die_usage("unrecognized option '-%c'", optopt);
}

static void die(const char *message)
{
    fprintf(stderr, PROGRAM ": %s\n", message);
    exit(1);
}

static int parse_timeout(const char *s)
{
    char *end;
    long ms;

    errno = 0;
    ms = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || ms < 1 || ms > 86400000L)
        die_usage("invalid timeout '%s' (1..86400000 ms)", s);
    return (int)ms;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->port = DEFAULT_PORT;
    opt->timeout_ms = TC_DEFAULT_TIMEOUT_MS;
    opt->proto = TP_DAYTIME;
    /* leading ':': getopt reports nothing itself, die_usage does */
    while ((c = getopt_long(argc, argv, ":46umP:t:hV", long_options, NULL)) != -1) {
        switch (c) {
        case '4': opt->family_flags |= NB_IPV4_ONLY; break;
        case '6': opt->family_flags |= NB_IPV6_ONLY; break;
        case 'u': opt->udp = 1; break;
        case 'm': opt->many = 1; break;
        case 'P':
            if (tp_protocol_parse(optarg, &opt->proto) != 0)
                die_usage("invalid protocol '%s' (daytime or time)", optarg);
            break;
        case 't': opt->timeout_ms = parse_timeout(optarg); break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf(PROGRAM " (libnetbasics) %s\n", nb_version()); exit(0);
        case ':': die_usage("option -%c needs a value", optopt); break;
        default:  die_bad_option(argv);
        }
    }
    if (opt->family_flags == (NB_IPV4_ONLY | NB_IPV6_ONLY))
        die_usage("-4 and -6 exclude each other");
    if (opt->many && opt->udp)
        die_usage("-m asks over TCP only: leave out -u");
    if (optind >= argc)
        die_usage("missing HOST");
    if (opt->many) {
        opt->targets = argv + optind;
        opt->ntargets = argc - optind;
        return;
    }
    opt->host = argv[optind++];
    if (optind < argc)
        opt->port = argv[optind++];
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of the deadline, at least 1 ms: 0 would mean "no limit". */
static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - monotonic_ms();

    return left < 1 ? 1 : (int)left;
}

static size_t ask_tcp(const struct options *opt, char *reply, size_t size)
{
    int64_t deadline = monotonic_ms() + opt->timeout_ms;
    nb_error err;
    ssize_t n;
    int fd;

    fd = nb_tcp_connect(opt->host, opt->port, opt->timeout_ms,
                        opt->family_flags, &err);
    if (fd < 0)
        die(nb_error_message(&err));
    n = nb_recv_all(fd, reply, size, remaining_ms(deadline), &err);
    close(fd);
    if (n < 0)
        die(nb_error_message(&err));
    if ((size_t)n == size)
        die("reply too long: not a time server?");
    return (size_t)n;
}

static size_t ask_udp(const struct options *opt, char *reply, size_t size)
{
    int64_t deadline = monotonic_ms() + opt->timeout_ms;
    nb_error err;
    ssize_t n = -1;
    int fd;

    fd = nb_udp_connect(opt->host, opt->port, opt->family_flags, &err);
    if (fd < 0)
        die(nb_error_message(&err));
    do {
        int wait = remaining_ms(deadline);
        if (wait > UDP_RETRY_MS)
            wait = UDP_RETRY_MS;
        /* RFC 867 and 868: any datagram, even an empty one, asks */
        if (nb_udp_sendto(fd, "", 0, NULL, &err) < 0)
            break;
        n = nb_udp_recvfrom(fd, reply, size, NULL, wait, &err);
    } while (n < 0 && err.code == NB_ERR_TIMEOUT && monotonic_ms() < deadline);
    close(fd);
    if (n < 0)
        die(nb_error_message(&err));
    return (size_t)n;
}

int tc_format_reply(enum tp_protocol proto, const char *reply, size_t len,
                    char *text, size_t size)
{
    int64_t seconds;

    if (proto == TP_DAYTIME) {
        if (tp_daytime_sanitize(reply, len, text, size) >= 0)
            return 0;
        snprintf(text, size, "empty reply");
        return -1;
    }
    if (tp_time_parse((const unsigned char *)reply, len, &seconds) != 0) {
        snprintf(text, size, "bad RFC 868 reply: %zu bytes, want 4", len);
        return -1;
    }
    if (tp_format_iso8601(seconds, text, size) != 0) {
        snprintf(text, size, "time out of range");
        return -1;
    }
    return 0;
}

static void print_reply(enum tp_protocol proto, const char *reply, size_t len)
{
    char text[TC_REPLY_MAX];

    if (tc_format_reply(proto, reply, len, text, sizeof(text)) != 0)
        die(text);
    puts(text);
}

int main(int argc, char **argv)
{
    struct options opt;
    char reply[TC_REPLY_MAX];
    size_t len;

    parse_options(argc, argv, &opt);
    tzset();
    if (opt.many)
        return tc_ask_many(&opt);
    len = opt.udp ? ask_udp(&opt, reply, sizeof(reply))
                  : ask_tcp(&opt, reply, sizeof(reply));
    print_reply(opt.proto, reply, len);
    return fflush(stdout) == 0 ? 0 : 1;
}
