/*
 * time-client.h - what the parts of time-client share: time-client.c
 * (the command line, one server) and time-client-many.c (-m: several
 * servers at once, through nb_connector in one poll loop).
 */
#ifndef TIME_CLIENT_H
#define TIME_CLIENT_H

#include <stddef.h>

#include "timeproto.h"

#define DEFAULT_PORT "9999"
#define TC_DEFAULT_TIMEOUT_MS 5000
/* A daytime reply is one short line; anything longer is not a time server. */
#define TC_REPLY_MAX 1024

struct options {
    const char *host;
    const char *port;
    int family_flags;
    int udp;
    int many;              /* -m: targets[0..ntargets-1] are HOST[:PORT] */
    char **targets;
    int ntargets;
    int timeout_ms;
    enum tp_protocol proto;
};

/* The reply as one printable line into text: 0, or -1 with text saying
 * what is wrong with it. */
int tc_format_reply(enum tp_protocol proto, const char *reply, size_t len,
                    char *text, size_t size);

/* -m: asks every target at once, prints one line per target in order
 * ("TARGET: time" or "TARGET: error"); returns the exit status, 0 only
 * when every server answered. */
int tc_ask_many(const struct options *opt);

#endif
