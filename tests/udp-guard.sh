#!/bin/bash
# udp-guard.sh - time-server -u cannot be turned into a weapon
# (examples/udpguard.h): it does not answer the well-known ports of other
# UDP services, answers a flood from one source a bounded number of times
# while it answers another source at once, keeps to its total limit, and
# one spoofed datagram between two servers (or between a server and a
# program that answers everything) starts an exchange that dies out within
# a few packets.  Real clients (rdate, nc, time-client, Python) are
# answered as before.
#
# Servers on loopback addresses and ephemeral ports.  The clients that
# pose as other services bind ports below 1024, and the spoofed datagrams
# are written on a raw socket: both need root (or CAP_NET_BIND_SERVICE,
# CAP_NET_RAW); without, those parts print "skip: <why>".  Every wait is
# bounded.  Each check prints one "ok" or "FAIL" line, and the measured
# figures as "#" lines.  Exit 0 when nothing failed, 77 when nothing could
# run.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
SERVER=$top_builddir/examples/time-server
CLIENT=$top_builddir/examples/time-client
HELPERS=$top_srcdir/tests
# $tmp, $pids, ok, fail, skip, the waits, start_server, unwrap.
# shellcheck source=tests/lib.sh
. "$HELPERS/lib.sh"

PY=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)' 2>/dev/null) || {
    echo "skip: everything: python3 is needed (apt-get install -y python3)"
    exit 77
}
for f in "$SERVER" "$CLIENT"; do
    [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
# The programs themselves rather than libtool's wrapper scripts, so that
# $! is the server's pid, whose CPU time is measured (lib.sh).
unwrap SERVER CLIENT
GUARD="$PY $HELPERS/udp-guard.py"

# ------------------------------------------------------------ bookkeeping
section() { echo "# $*"; }

# stop_server PID: stop_proc (lib.sh); a process still running $WAIT_S s
# after SIGTERM fails.
stop_server() {
    stop_proc "$1"
    case $status in
    still*) fail "stop $1" "$status" ;;
    esac
}

# Replies a server sent: its "ADDRESS datagram" lines.
replies_in() { grep -c ' datagram$' "$1"; }

# What the exit summary of a log counts for a reason ("from a port below
# 1024", "over the per-source limit"...): the sum over its lines, 0 if none.
dropped_in() {
    grep -o "[0-9][0-9]* $2" "$1" | awk '{ n += $1 } END { print n + 0 }'
}

# utime + stime of a process, in milliseconds.
cpu_ms() {
    local hz
    hz=$(getconf CLK_TCK)
    sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ print int(($12 + $13) * 1000 / hz) }'
}

DAYTIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}'

have_ipv6=no
"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null && have_ipv6=yes
can_bind=yes
why_bind=$($GUARD canbind 2>&1) || can_bind=no
can_raw=yes
why_raw=$($GUARD canraw 2>&1) || can_raw=no

# ====================================================================
section "1. real clients are answered as before"
if start_server time 2 -u -H 127.0.0.1 -p 0 -P time; then
    if command -v rdate >/dev/null; then
        out=$(timeout 10 rdate -u -p -o "$sport" 127.0.0.1 2>&1)
        rc=$?
        t=$(date -d "$(printf '%s\n' "$out" | sed 's/^rdate: \[[^]]*\][[:space:]]*//' |
                       head -n 1)" +%s 2>/dev/null)
        if [ "$rc" -eq 0 ] && [ -n "$t" ] && [ $((t - $(date +%s))) -le 3 ] &&
           [ $(($(date +%s) - t)) -le 3 ]; then
            ok "1 rdate -u -p: $out"
        else
            fail "1 rdate -u -p" "want exit 0 and the time now, got exit $rc: '$out'"
        fi
    else
        skip "1 rdate -u: rdate is not installed"
    fi
    good=0
    for i in 1 2 3 4 5; do
        out=$(timeout 10 "$CLIENT" -u -P time -t 3000 127.0.0.1 "$sport" 2>&1) &&
            good=$((good + 1))
    done
    [ "$good" -eq 5 ] && ok "1 time-client -u -P time, 5 times in a row: $out" ||
        fail "1 time-client -u -P time" "want 5 of 5 answered, got $good: '$out'"
    stop_server "$spid"
fi
if start_server daytime 2 -u -H 127.0.0.1 -p 0; then
    if nc -h 2>&1 | grep -q OpenBSD; then
        out=$(printf 'what time is it?\n' | timeout 10 nc -u -w 1 127.0.0.1 "$sport" 2>&1)
        [[ $out =~ ^$DAYTIME_RE$'\r'?$ ]] && ok "1 nc -u: $out" ||
            fail "1 nc -u" "want a daytime line, got '$out'"
    else
        skip "1 nc -u: OpenBSD nc is not installed (apt-get install -y netcat-openbsd)"
    fi
    out=$(timeout 10 "$PY" "$HELPERS/classic-client.py" -u 127.0.0.1 "$sport" 2>&1)
    [[ $out =~ ^$DAYTIME_RE$'\r'$ ]] && ok "1 a classic Python UDP client" ||
        fail "1 a classic Python UDP client" "want a daytime line, got '$out'"
    good=0
    for i in $(seq 10); do
        out=$(timeout 10 "$CLIENT" -u -t 3000 127.0.0.1 "$sport" 2>&1) &&
            good=$((good + 1))
    done
    [ "$good" -eq 10 ] && ok "1 time-client -u, 10 times in a row" ||
        fail "1 time-client -u, 10 times" "want 10 of 10 answered, got $good: '$out'"
    stop_server "$spid"
    if grep -q 'not answered' "$slog"; then
        fail "1 nothing dropped" "want no summary line, got: $(grep 'not answered' "$slog")"
    else
        ok "1 nothing was dropped, no summary line"
    fi
fi

# ====================================================================
section "2. no reply to the ports of other UDP services"
# check_wellknown WHAT FILE: the lines of udp-guard.py wellknown.
check_wellknown() {
    local what=$1 file=$2 port rest tried=0
    while IFS=: read -r port rest; do
        rest=${rest# }
        case $port:$rest in
            ephemeral:"reply "*) ok "$what: an ephemeral port is answered ($rest)" ;;
            ephemeral:*) fail "$what: an ephemeral port" "want a reply, got '$rest'" ;;
            *:"no reply") tried=$((tried + 1)); ok "$what: port $port gets no reply" ;;
            *:"cannot bind"*) skip "$what: port $port: $rest" ;;
            *) tried=$((tried + 1)); fail "$what: port $port" "want no reply, got '$rest'" ;;
        esac
    done <"$file"
    wk_tried=$tried
}
if [ "$can_bind" = no ]; then
    skip "2 well-known source ports: $why_bind"
else
    addr=$($GUARD loopback)
    if start_server wk 2 -u -H 127.0.0.1 -p 0; then
        $GUARD wellknown 127.0.0.1 "$sport" "$addr" 7 13 19 37 53 123 >"$tmp/wk.out" 2>&1
        check_wellknown "2 from $addr" "$tmp/wk.out"
        stop_server "$spid"
        n=$(dropped_in "$slog" "from a port below 1024")
        [ "$n" -eq "$wk_tried" ] &&
            ok "2 the server counted them: $(grep 'not answered' "$slog")" ||
            fail "2 counted" "want $wk_tried from a port below 1024, got: $(tail -n 2 "$slog")"
    fi
    # The dual-stack socket sees IPv4 clients as ::ffff:127.x.y.z.
    if start_server wk-dual 2 -u -p 0; then
        $GUARD wellknown 127.0.0.1 "$sport" "$addr" 53 123 >"$tmp/wk.out" 2>&1
        check_wellknown "2 dual-stack, from $addr" "$tmp/wk.out"
        if [ "$have_ipv6" = yes ]; then
            $GUARD wellknown ::1 "$sport" ::1 53 123 >"$tmp/wk.out" 2>&1
            check_wellknown "2 dual-stack, from ::1" "$tmp/wk.out"
        else
            skip "2 from ::1: no IPv6 on this machine"
        fi
        stop_server "$spid"
    fi
fi

# ====================================================================
section "3. a flood from one source, and another source"
# check_flood WHAT FILE BURST RATE: the replies to a flood (udp-guard.py
# flood) are at least 1 and at most BURST + RATE per second it lasted.
check_flood() {
    local what=$1 sent replies secs bound
    read -r _ sent _ replies _ _ _ secs <"$2"
    bound=$(awk -v b="$3" -v r="$4" -v s="$secs" \
                'BEGIN { printf "%d", b + r * (s == int(s) ? s : int(s) + 1) + 1 }')
    echo "# $what: $(cat "$2")"
    if [ "${replies:-0}" -ge 1 ] && [ "$replies" -le "$bound" ]; then
        ok "$what: $replies replies to $sent datagrams (at most $bound)"
    else
        fail "$what" "want 1..$bound replies, got: $(cat "$2")"
    fi
}
a=$($GUARD loopback)
b=$($GUARD loopback)
while [ "$b" = "$a" ]; do b=$($GUARD loopback); done
if start_server flood 2 -u -H 127.0.0.1 -p 0; then
    $GUARD flood 127.0.0.1 "$sport" 1000 "$a" >"$tmp/flood.out" 2>&1
    check_flood "3 1000 datagrams from $a (defaults 20/10)" "$tmp/flood.out" 20 10
    out=$($GUARD ask 127.0.0.1 "$sport" "$b" 2>&1)
    case $out in
        "reply 28 bytes after "*) ok "3 meanwhile $b is answered at once: $out" ;;
        *) fail "3 another source" "want a reply at once, got '$out'" ;;
    esac
    stop_server "$spid"
    n=$(dropped_in "$slog" "over the per-source limit")
    [ "$n" -ge 1 ] && ok "3 logged: $(grep 'not answered' "$slog")" ||
        fail "3 logged" "want a summary with 'over the per-source limit', got: $(tail -n 2 "$slog")"
    # one summary line, not one line per datagram
    lines=$(grep -c 'not answered' "$slog")
    [ "$lines" -eq 1 ] && ok "3 one summary line for $n datagrams" ||
        fail "3 one summary line" "got $lines: $(grep 'not answered' "$slog")"
fi
if start_server flood2 2 -u -H 127.0.0.1 -p 0 -r 5/1; then
    $GUARD flood 127.0.0.1 "$sport" 300 "$a" >"$tmp/flood.out" 2>&1
    check_flood "3 -r 5/1: 300 datagrams" "$tmp/flood.out" 5 1
    stop_server "$spid"
fi

# ====================================================================
section "4. the limit of all replies (-R)"
srcs=""
for i in 1 2 3 4 5 6 7 8 9 10; do srcs="$srcs $($GUARD loopback)"; done
if start_server total 2 -u -H 127.0.0.1 -p 0 -r 1000/1000 -R 20; then
    # shellcheck disable=SC2086
    $GUARD flood 127.0.0.1 "$sport" 50 $srcs >"$tmp/flood.out" 2>&1
    check_flood "4 -R 20: 50 datagrams from each of 10 sources" "$tmp/flood.out" 20 20
    stop_server "$spid"
    n=$(dropped_in "$slog" "over the total limit")
    [ "$n" -ge 1 ] && ok "4 logged: $(grep 'not answered' "$slog")" ||
        fail "4 logged" "want 'over the total limit', got: $(tail -n 2 "$slog")"
fi

# ====================================================================
section "5. -q logs nothing"
if start_server quiet 2 -u -H 127.0.0.1 -p 0 -q; then
    $GUARD flood 127.0.0.1 "$sport" 100 "$a" >"$tmp/flood.out" 2>&1
    stop_server "$spid"
    if [ "$(wc -l <"$slog")" -eq 2 ]; then
        ok "5 -q: 100 datagrams, nothing logged but the sockets"
    else
        fail "5 -q" "want only the 2 'listening on' lines, got: $(head -c 300 "$slog")"
    fi
fi

# ====================================================================
section "6. a spoofed datagram between two servers"
# loop WHAT SOURCE-PORT-OF PROTO-A PROTO-B: servers A and B; one datagram
# from B's port to A's, written on a raw socket.  Each answer would be a
# request to the other.  Want: A answers it, B does not answer A's reply,
# and nothing more happens: no replies, no CPU time, for a second.
loop() {
    local what=$1 pa pb apid bpid alog blog n0 n1 c0 c1 total
    start_server "loop-a" 2 -u -H 127.0.0.1 -p 0 -P "$2" || return
    apid=$spid pa=$sport alog=$slog
    if ! start_server "loop-b" 2 -u -H 127.0.0.1 -p 0 -P "$3"; then
        stop_server "$apid"
        return
    fi
    bpid=$spid pb=$sport blog=$slog
    $GUARD spoof 127.0.0.1 "$pb" 127.0.0.1 "$pa"
    if ! wait_for "$alog" ' datagram$'; then
        fail "$what" "the spoofed datagram was not answered: $(tail -n 2 "$alog")"
    fi
    # A second of watching: the measure, not a wait for something.
    n0=$(($(replies_in "$alog") + $(replies_in "$blog")))
    c0=$(($(cpu_ms "$apid") + $(cpu_ms "$bpid")))
    sleep 1
    n1=$(($(replies_in "$alog") + $(replies_in "$blog")))
    c1=$(($(cpu_ms "$apid") + $(cpu_ms "$bpid")))
    stop_server "$apid"
    astatus=$status
    stop_server "$bpid"
    bstatus=$status
    total=$(($(replies_in "$alog") + $(replies_in "$blog")))
    echo "# $what: 1 spoofed datagram, then replies in all: $total" \
         "(A $(replies_in "$alog"), B $(replies_in "$blog")), $((c1 - c0)) ms CPU in the second after"
    if [ "$total" -le 3 ] && [ "$n1" -eq "$n0" ] && [ $((c1 - c0)) -lt 300 ]; then
        ok "$what: dies out (replies in all: $total)"
    else
        fail "$what" "want at most 3 replies, none in the second after, little CPU;" \
             "got $total replies ($n0 then $n1), $((c1 - c0)) ms CPU"
    fi
    if [ "$(dropped_in "$blog" "that looked like a time reply")" -eq 1 ]; then
        ok "$what: B did not answer A's reply: $(grep 'not answered' "$blog")"
    else
        fail "$what: B" "want '1 that looked like a time reply' in B's log;" \
             "A (port $pa, exit $astatus) said: $(tr '\n' '|' <"$alog")" \
             "B (port $pb, exit $bstatus) said: $(tr '\n' '|' <"$blog")"
    fi
}
if [ "$can_raw" = no ]; then
    skip "6 spoofed datagrams: $why_raw"
else
    loop "6 daytime A, time B" daytime time
    loop "6 daytime A, daytime B" daytime daytime
    loop "6 time A, time B" time time

    # A program that answers everything, which no content rule can know:
    # the per-source limit ends the exchange after the burst.
    "$PY" "$HELPERS/udp-guard.py" reflector "$((WAIT_S * 2))" \
        >"$tmp/refl.port" 2>"$tmp/refl.err" &
    rpid=$!
    pids="$pids $rpid"
    if wait_for "$tmp/refl.port" '^[0-9]+$' && start_server refl 2 -u -H 127.0.0.1 -p 0; then
        rport=$(head -n 1 "$tmp/refl.port")
        $GUARD spoof 127.0.0.1 "$rport" 127.0.0.1 "$sport"
        wait_for "$slog" ' datagram$' 20
        n0=$(replies_in "$slog")
        c0=$(cpu_ms "$spid")
        sleep 1
        n1=$(replies_in "$slog")
        c1=$(cpu_ms "$spid")
        stop_server "$spid"
        stop_server "$rpid"
        echo "# 6 time-server and a reflector: 1 spoofed datagram," \
             "$n1 replies from time-server, $(cat "$tmp/refl.err"); $((c1 - c0)) ms CPU after"
        if [ "$n1" -ge 20 ] && [ "$n1" -le 22 ] && [ "$n1" -eq "$n0" ] &&
           [ "$(dropped_in "$slog" "over the per-source limit")" -ge 1 ]; then
            ok "6 a reflector: dies out after the burst ($n1 replies)"
        else
            fail "6 a reflector" "want 20..22 replies (the burst), then none;" \
                 "got $n0 then $n1, log: $(tail -n 2 "$slog")"
        fi
    else
        fail "6 a reflector" "did not start: $(cat "$tmp/refl.err")"
    fi

    # Port 0 cannot be bound: only a raw socket sends from it.
    if start_server port0 2 -u -H 127.0.0.1 -p 0; then
        $GUARD spoof 127.0.0.1 0 127.0.0.1 "$sport"
        # an ordinary request behind it: when that is answered, the
        # first was read
        $GUARD ask 127.0.0.1 "$sport" 127.0.0.1 >/dev/null
        stop_server "$spid"
        if [ "$(dropped_in "$slog" "from a port below 1024")" -eq 1 ] &&
           [ "$(replies_in "$slog")" -eq 1 ]; then
            ok "6 source port 0: not answered"
        else
            fail "6 source port 0" "want 1 dropped, 1 answered, got: $(tail -n 3 "$slog")"
        fi
    fi
fi

echo "udp-guard: $passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    exit 77
fi
[ "$failed" -eq 0 ]
