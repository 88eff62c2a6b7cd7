#!/bin/sh
# The system calls an nb_connector makes (nb_connector(3): "a numeric host
# without a deadline costs epoll_create1, socket, connect, epoll_ctl,
# epoll_wait, getsockopt and the close of the epoll descriptor"; a timerfd
# only when a timer is due, an eventfd and a helper thread only for a
# name; a numeric host never reaches the resolver).
#
# tests/syscall_probe runs one connector from start to free between two
# marker calls, write(-1, "nb-probe-begin") and write(-1, "nb-probe-end");
# strace records every system call, and the calls of the probe's thread
# between the markers are compared with what the page allows
# (tests/syscalls-lib.sh).  The probe's own poll(2) on the descriptor is
# the caller's and is left out.  Skipped (77) when strace is missing or
# cannot trace.
set -eu

# shellcheck source=tests/syscalls-lib.sh
. "$(dirname "$0")/syscalls-lib.sh"
syscalls_setup connector

# expect DESCRIPTION HOST TIMEOUT FLAGS ERE: the names of the calls, without
# poll and clock reads, must match ERE (the whole list).
expect() {
    probe_case "$1" "$2" "$3" "$4" || return 0
    # "<... call resumed>" ends a call printed before as "<unfinished ...>"
    names=$(grep -v '^<\.\.\. ' "$tmp/window" | sed 's/(.*//; s/ .*//' |
        grep -Ev '^(p?poll|clock_gettime(64)?)$' | tr '\n' ' ' | sed 's/ $//')
    names_match "$1" "$(without_runtime_calls "$names")" "$5"
}

# A numeric host must not touch the file system (no /etc/hosts, gai.conf,
# nsswitch.conf or NSS modules), and starts no thread.
not_for_numeric() {
    none_of "$1" 'open|openat|openat2|stat|lstat|newfstatat|statx|access|faccessat2?|readlink(at)?|clone3?' \
        "a file was looked at, or a thread started" || :
}

# The whole life of a connector to a numeric host, no deadline,
# NB_NONBLOCK: what a hand-written non-blocking connect makes, plus the
# epoll descriptor (created, one socket added, waited on once, closed).
BARE='epoll_create1 socket connect epoll_ctl epoll_wait getsockopt close'
# Without NB_NONBLOCK the socket is made blocking again: one ioctl(FIONBIO).
BLOCKING='epoll_create1 socket connect epoll_ctl epoll_wait getsockopt ioctl close'
# A deadline adds its timer: a timerfd, added to the set, armed; closed by
# free (before the epoll descriptor).
TIMED='epoll_create1 socket connect epoll_ctl timerfd_create epoll_ctl timerfd_settime epoll_wait getsockopt( ioctl)? close close'

expect "IPv4, no deadline, NB_NONBLOCK"  127.0.0.1 0 1 "$BARE"
not_for_numeric "IPv4, no deadline, NB_NONBLOCK"
expect "IPv6, no deadline, NB_NONBLOCK"  ::1       0 1 "$BARE"
expect "IPv4, timeout_ms -5, NB_NONBLOCK" 127.0.0.1 -5 1 "$BARE"
expect "IPv4, no deadline, blocking"     127.0.0.1 0 0 "$BLOCKING"
expect "IPv6, no deadline, blocking"     '[::1]'   0 0 "$BLOCKING"
expect "IPv4, deadline"                  127.0.0.1 1000 0 "$TIMED"
not_for_numeric "IPv4, deadline"
expect "IPv6, deadline, NB_NONBLOCK"     ::1       1000 1 "$TIMED"

# A name: an eventfd for the helper thread's answer, the thread itself;
# still no timerfd without a deadline.  (What the resolver does is not
# this test's business: only the probe's thread is looked at.)
expect "localhost, no deadline" localhost 0 1 \
    'epoll_create1 eventfd2? epoll_ctl .*clone3?( .*)?'
none_of "localhost, no deadline" timerfd_create "a timerfd was made" || :

syscalls_end
