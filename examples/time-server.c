/*
 * time-server - the classic teaching server, written with libnetbasics,
 * grown into a real tool.  (basic-time-server.c is the same idea in 50
 * lines: read it first.)
 *
 * For each TCP client: send the current time and close.  With -u, also
 * answer UDP datagrams, one reply each, but never in a way that can be
 * turned against others (udpguard.h).  One process polls all its sockets;
 * with -w N, N worker processes share the port with SO_REUSEPORT and the
 * parent restarts any that die.
 *
 * This file reads the command line and starts the parts listed in
 * time-server.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time-server.h"

#define DEFAULT_PORT "9999"
#define MAX_WORKERS 256
#define STR(x) #x
#define XSTR(x) STR(x)

static void usage(FILE *out)
{
    fprintf(out,
        "usage: " PROGRAM " [-H HOST] [-p PORT] [-4|-6] [-u] [-P daytime|time]\n"
        "                   [-r BURST/RATE] [-R RATE] [-w N] [-U PATH] [-q]\n"
        "                   [-h|--help] [-V|--version]\n"
        "  -H HOST  address to listen on (default: all, IPv6 and IPv4)\n"
        "  -p PORT  port number or service name (default " DEFAULT_PORT
        "; 0: any free port)\n"
        "  -4, -6   IPv4 only, IPv6 only\n"
        "  -u       also answer UDP datagrams on the same port\n"
        "  -r BURST/RATE  UDP: replies one source address gets at once, then\n"
        "           per second (default " XSTR(UG_DEFAULT_BURST) "/"
        XSTR(UG_DEFAULT_RATE) ")\n"
        "  -R RATE  UDP: replies per second to all sources together (default "
        XSTR(UG_DEFAULT_TOTAL_RATE) ")\n"
        "  -P PROTO daytime (RFC 867 text, default) or time (RFC 868)\n"
        "  -w N     N worker processes sharing the port (SO_REUSEPORT)\n"
        "  -U PATH  also listen on a Unix socket (\"@name\": abstract)\n"
        "  -q       do not log clients, nor what UDP left unanswered\n"
        "  -h, --help     this help\n"
        "  -V, --version  the version\n"
        "UDP datagrams from ports below 1024, from broadcast or multicast\n"
        "addresses, or that are themselves a time reply, are never answered;\n"
        "what was not answered is logged in one line every 10 s at most.\n"
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

static void set_defaults(struct options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->port = DEFAULT_PORT;
    opt->proto = TP_DAYTIME;
    opt->udp_limits.burst = UG_DEFAULT_BURST;
    opt->udp_limits.rate = UG_DEFAULT_RATE;
    opt->udp_limits.total_rate = UG_DEFAULT_TOTAL_RATE;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    set_defaults(opt);
    /* leading ':': getopt reports nothing itself, die_usage does */
    while ((c = getopt_long(argc, argv, ":H:p:46uP:r:R:w:U:qhV", long_options,
                            NULL)) != -1) {
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
        case 'r':
            if (ug_parse_source_limit(optarg, &opt->udp_limits) != 0)
                die_usage("invalid limit '%s' (BURST/RATE, each 1..%d)",
                          optarg, UG_LIMIT_MAX);
            break;
        case 'R':
            if (ug_parse_rate(optarg, &opt->udp_limits.total_rate) != 0)
                die_usage("invalid rate '%s' (1..%d)", optarg, UG_LIMIT_MAX);
            break;
        case 'w': opt->workers = parse_workers(optarg); break;
        case 'U': opt->unix_path = optarg; break;
        case 'q': opt->quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf(PROGRAM " (libnetbasics) %s\n", nb_version()); exit(0);
        case ':': die_usage("option -%c needs a value", optopt); break;
        default:  die_bad_option(argv);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (opt->family_flags == (NB_IPV4_ONLY | NB_IPV6_ONLY))
        die_usage("-4 and -6 exclude each other");
}

int main(int argc, char **argv)
{
    struct options opt;
    struct socket_set set;
    struct server s;
    int activated;

    parse_options(argc, argv, &opt);
    tzset();
    if (opt.workers > 0)
        return run_workers(&opt);
    activated = open_shared_sockets(&set, &opt);
    if (!activated)
        open_port_sockets(&set, &opt, opt.port, 0);
    announce(&set, 0);
    server_init(&s, &set, &opt);
    serve_forever(&s);
    remove_socket_file(&opt, activated);
    return 0;
}
