#!/bin/sh
# The system calls nb_tcp_connect makes for a numeric host
# (nb_tcp_connect(3), DESCRIPTION: "With timeout_ms 0 or less and no
# flags, such a connection costs exactly one socket(2) and one connect(2);
# a deadline adds only what waiting needs (poll(2), getsockopt(2)
# SO_ERROR, and an ioctl(2) to make the socket blocking again)"; "A
# numeric host with a decimal port is parsed by the library itself: no
# name service (DNS, hosts(5)) is asked about it").
#
# tests/connect_probe makes one connection between two marker calls,
# write(-1, "nb-probe-begin") and write(-1, "nb-probe-end"); strace records
# every system call (not just the network ones, so that nothing slips
# through) and the calls between the markers are compared with what the
# contract allows.  Skipped (77) when strace is missing or cannot trace,
# and when no case could run; an IPv6 case without IPv6 prints "skip:".
set -eu

command -v strace >/dev/null 2>&1 || { echo "skip: strace not installed"; exit 77; }
probe="$top_builddir/tests/connect_probe"
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
skipped=0

# window HOST TIMEOUT FLAGS: runs the probe under strace; leaves the system
# calls between the markers, one line each as strace printed them, in
# $tmp/window and their names, space-separated, in $tmp/names.  Returns
# the probe's exit status (77: IPv6 unavailable).
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
    sed 's/(.*//' "$tmp/window" | tr '\n' ' ' | sed 's/ $//' > "$tmp/names"
    return 0
}

# expect DESCRIPTION HOST TIMEOUT FLAGS ERE: the names of the calls, with
# clock reads dropped when a deadline is set, must match ERE.
expect() {
    what=$1 host=$2 timeout=$3 flags=$4 pattern=$5
    rc=0
    window "$host" "$timeout" "$flags" || rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "skip: $what: no IPv6 here"
        skipped=$((skipped + 1))
        return 0
    fi
    ran=$((ran + 1))
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $what: the probe failed (status $rc)"
        failures=$((failures + 1))
        return 0
    fi
    names=$(cat "$tmp/names")
    case "${NB_SANITIZER_FLAGS:-}" in
    *-fsanitize=thread*)
        # ThreadSanitizer's runtime maps shadow memory as the program
        # touches new memory: its calls, not the library's.
        names=$(echo "$names" | sed -E 's/(^| )(mmap|munmap|madvise|mprotect)\b//g; s/^ +//') ;;
    esac
    if [ "$timeout" -gt 0 ]; then
        # Reading CLOCK_MONOTONIC is part of waiting (and only a system
        # call where the vDSO cannot serve it).
        names=$(echo "$names" | sed -E 's/(^| )clock_gettime(64)?\b//g; s/^ +//')
    fi
    # A numeric host must not touch the file system: no /etc/hosts,
    # /etc/gai.conf, nsswitch.conf or NSS modules.
    if grep -Eq '^(open|openat|openat2|stat|lstat|newfstatat|statx|access|faccessat|faccessat2|readlink|readlinkat)\(' "$tmp/window"; then
        echo "FAIL: $what: a file was looked at:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
        return 0
    fi
    if echo "$names" | grep -Eqx "$pattern"; then
        echo "ok: $what: $names"
    else
        echo "FAIL: $what: got \"$names\", want /$pattern/:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
    fi
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

if [ "$failures" -ne 0 ]; then
    echo "$failures of $ran cases failed, $skipped skipped"
    exit 1
fi
if [ "$ran" -eq 0 ]; then
    echo "skip: all $skipped cases"
    exit 77
fi
echo "all $ran cases passed, $skipped skipped"
