#!/bin/sh
# The system calls an nb_connector makes (nb_connector(3): "a numeric host
# without a deadline costs epoll_create1, socket, connect, epoll_ctl,
# epoll_wait, getsockopt and the close of the epoll descriptor"; a timerfd
# only when a timer is due, an eventfd and a helper thread only for a
# name; a numeric host never reaches the resolver).
#
# tests/connector_probe runs one connector from start to free between two
# marker calls, write(-1, "nb-probe-begin") and write(-1, "nb-probe-end");
# strace records every system call, and the calls of the probe's thread
# between the markers are compared with what the page allows.  The probe's
# own poll(2) on the descriptor is the caller's and is left out.  Skipped
# (77) when strace is missing or cannot trace.
set -eu

command -v strace >/dev/null 2>&1 || { echo "skip: strace not installed"; exit 77; }
probe="$top_builddir/tests/connector_probe"
if [ ! -x "$probe" ]; then
    echo "$probe is not built"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! strace -f -o "$tmp/trace" true >/dev/null 2>&1; then
    echo "skip: strace cannot trace here (ptrace not permitted?)"
    exit 77
fi

failures=0
ran=0

# window HOST TIMEOUT FLAGS: runs the probe under strace; leaves the calls
# of its main thread between the markers in $tmp/window (as strace printed
# them) and their names, space-separated, without poll and clock reads, in
# $tmp/names.  Returns the probe's exit status (77: IPv6 unavailable).
window() {
    rc=0
    # LeakSanitizer cannot run under ptrace (--enable-sanitizers builds).
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -o "$tmp/trace" "$probe" "$1" "$2" "$3" || rc=$?
    [ "$rc" -eq 0 ] || return "$rc"
    awk '
        {
            line = $0
            pid = ""
            if (match(line, /^[0-9]+ +/)) {      # "-f -o" prefixes the pid
                pid = substr(line, 1, RLENGTH)
                sub(/ +$/, "", pid)
                line = substr(line, RLENGTH + 1)
            }
            if (index(line, "write(-1, \"nb-probe-begin\"") == 1) {
                inside = 1; who = pid; begun = 1; next
            }
            if (inside && pid == who && index(line, "write(-1, \"nb-probe-end\"") == 1) {
                inside = 0; ended = 1; next
            }
            if (inside && pid == who && line !~ /^(---|\+\+\+)/)
                print line
        }
        END { if (!begun || !ended) exit 1 }
    ' "$tmp/trace" > "$tmp/window" || { echo "markers not found in the trace"; return 1; }
    # "<... call resumed>" ends a call printed before as "<unfinished ...>"
    grep -v '^<\.\.\. ' "$tmp/window" | sed 's/(.*//; s/ .*//' |
        grep -Ev '^(p?poll|clock_gettime(64)?)$' | tr '\n' ' ' |
        sed 's/ $//' > "$tmp/names"
    return 0
}

# expect DESCRIPTION HOST TIMEOUT FLAGS ERE: the names of the calls must
# match ERE (the whole list).
expect() {
    what=$1 host=$2 timeout=$3 flags=$4 pattern=$5
    rc=0
    window "$host" "$timeout" "$flags" || rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "SKIP: $what (no IPv6 here)"
        return 0
    fi
    ran=$((ran + 1))
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $what: the probe failed (status $rc)"
        failures=$((failures + 1))
        return 0
    fi
    names=$(cat "$tmp/names")
    if echo "$names" | grep -Eqx "$pattern"; then
        echo "ok: $what: $names"
    else
        echo "FAIL: $what: got \"$names\", want /$pattern/:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
    fi
}

# A numeric host must not touch the file system (no /etc/hosts, gai.conf,
# nsswitch.conf or NSS modules), and starts no thread.
not_for_numeric() {
    if grep -Eq '^(open|openat|openat2|stat|lstat|newfstatat|statx|access|faccessat2?|readlink(at)?|clone3?)\(' "$tmp/window"; then
        echo "FAIL: $1: a file was looked at, or a thread started:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
    fi
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
if grep -q '^timerfd_create' "$tmp/window"; then
    echo "FAIL: localhost, no deadline: a timerfd was made"
    failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failures in $ran cases"
    exit 1
fi
echo "all $ran cases passed"
