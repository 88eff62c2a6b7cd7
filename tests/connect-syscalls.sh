#!/bin/sh
# The system calls nb_tcp_connect makes for a numeric host
# (nb_tcp_connect(3), DESCRIPTION: "With timeout_ms 0 or less and no
# flags, such a connection costs exactly one socket(2) and one connect(2);
# a deadline adds only what waiting needs (poll(2), getsockopt(2)
# SO_ERROR, and an ioctl(2) to make the socket blocking again)"; "A
# numeric host with a decimal port is parsed by the library itself: no
# name service (DNS, hosts(5)) is asked about it").
#
# tests/syscall_probe makes one connection between two marker calls,
# write(-1, "nb-probe-begin") and write(-1, "nb-probe-end"); strace records
# every system call (not just the network ones, so that nothing slips
# through) and the calls between the markers are compared with what the
# contract allows (tests/syscalls-lib.sh).  Skipped (77) when strace is
# missing or cannot trace, and when no case could run; an IPv6 case
# without IPv6 prints "skip:".
set -eu

# shellcheck source=tests/syscalls-lib.sh
. "$(dirname "$0")/syscalls-lib.sh"
syscalls_setup connect

# expect DESCRIPTION HOST TIMEOUT FLAGS ERE: the names of the calls, with
# clock reads dropped when a deadline is set, must match ERE.
expect() {
    what=$1 timeout=$3 pattern=$5
    probe_case "$what" "$2" "$timeout" "$4" || return 0
    names=$(sed 's/(.*//' "$tmp/window" | tr '\n' ' ' | sed 's/ $//')
    names=$(without_runtime_calls "$names")
    if [ "$timeout" -gt 0 ]; then
        # Reading CLOCK_MONOTONIC is part of waiting (and only a system
        # call where the vDSO cannot serve it).
        names=$(echo "$names" | sed -E 's/(^| )clock_gettime(64)?\b//g; s/^ +//')
    fi
    # A numeric host must not touch the file system: no /etc/hosts,
    # /etc/gai.conf, nsswitch.conf or NSS modules.
    none_of "$what" 'open|openat|openat2|stat|lstat|newfstatat|statx|access|faccessat|faccessat2|readlink|readlinkat' \
        "a file was looked at" || return 0
    names_match "$what" "$names" "$pattern"
}

EXACT='socket connect'
# socket, connect (EINPROGRESS), then, when the handshake was not done at
# once, poll + getsockopt(SO_ERROR), and one ioctl(FIONBIO) (or fcntl) to
# make the socket blocking again.
TIMED='socket connect( p?poll getsockopt)?( (ioctl|fcntl))?'
# NB_NONBLOCK: the same wait, nothing to restore.
NONBLOCK='socket connect( p?poll getsockopt)?'

expect "IPv4, no deadline"                127.0.0.1 0  0 "$EXACT"
expect "IPv4, timeout_ms -5"              127.0.0.1 -5 0 "$EXACT"
expect "IPv6, no deadline"                ::1       0  0 "$EXACT"
expect "bracketed IPv6, no deadline"      '[::1]'   0  0 "$EXACT"
expect "IPv4, deadline"                   127.0.0.1 1000 0 "$TIMED"
expect "IPv6, deadline"                   ::1       1000 0 "$TIMED"
expect "IPv4, NB_NONBLOCK"                127.0.0.1 0 1 "$NONBLOCK"
expect "IPv6, NB_NONBLOCK and deadline"   ::1       1000 1 "$NONBLOCK"

syscalls_end
