#!/bin/bash
# examples-interop.sh - time-server and time-client against programs nobody
# here wrote: OpenBSD nc, socat, rdate, systemd-socket-activate and small
# Python programs written the classic way (tests/classic-*.py).
#
# Loopback and ephemeral ports only; every wait is bounded; every process
# started here is killed on exit, pass or fail.  Each check prints one
# "ok" or "FAIL" line (a FAIL says what was expected and what came); the
# last line counts them; a part that cannot run here prints one "skip:"
# line saying why.  Exit 0 when nothing failed, 77 (skip) when a tool it
# needs is missing or nothing could run.

# Written for bash; automake runs it with $(SHELL).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
# Bytes are bytes, dates are read the same everywhere.
export LC_ALL=C

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
SERVER=$top_builddir/examples/time-server
CLIENT=$top_builddir/examples/time-client
HELPERS=$top_srcdir/tests
# $tmp, $pids, ok, fail, skip, the waits, start_server, unwrap.
# shellcheck source=tests/lib.sh
. "$HELPERS/lib.sh"

# --------------------------------------------------------------- tools
missing=
command -v socat >/dev/null || missing="$missing socat"
nc -h 2>&1 | grep -q OpenBSD || missing="$missing netcat-openbsd"
command -v rdate >/dev/null || missing="$missing rdate"
# The interpreter itself, not a version manager's shim (which can take
# seconds to start): it is started some thirty times.
PY=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)' 2>/dev/null) ||
    missing="$missing python3"
if [ -n "$missing" ]; then
    echo "skip: missing:$missing (apt-get install -y socat netcat-openbsd rdate python3)"
    exit 77
fi
for f in "$SERVER" "$CLIENT"; do
    [ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
# The examples are libtool wrapper scripts, which take half a second to
# start on a busy machine: the programs themselves (lib.sh).
unwrap SERVER CLIENT
echo "# server: $SERVER"
echo "# client: $CLIENT"

# ------------------------------------------------------------ bookkeeping
# Milliseconds and seconds on the wall clock, in $now_ms and $now_s,
# without starting a process (this test runs on busy machines too).
clock() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME/./}
        now_ms=$((10#$t / 1000))
    else
        now_ms=$(($(date +%s%N) / 1000000))
    fi
    now_s=$((now_ms / 1000))
}
clock
started=$now_ms

section() { clock; echo "# [$((now_ms - started)) ms] $*"; }

# launch_py NAME ARG...: tests/classic-server.py in the background.  They
# are launched together and then waited for (py_port): Python takes a
# while to start.
declare -A pypid
launch_py() {
    local name=$1
    shift
    "$PY" "$HELPERS/classic-server.py" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
    pypid[$name]=$!
    pids="$pids $!"
}

# py_port NAME: waits for a launched server's port, in $pport.
py_port() {
    pport=
    if ! wait_for "$tmp/$1.port" '^[0-9]+$'; then
        fail "$1: start" "want a port from classic-server.py, got:" \
             "$(head -c 300 "$tmp/$1.err")"
        return 1
    fi
    pport=$(head -n 1 "$tmp/$1.port")
}

# A file's bytes, shown as od -c does, on one line.
show() {
    if [ -s "$1" ]; then
        od -An -c "$1" | head -n 8 | tr -s ' \n' ' '
    else
        echo "nothing"
    fi
}

# Seconds between a date(1)-readable time and now, as an absolute value,
# in $skew_s; empty when the text is not a time.
skew() {
    local t
    skew_s=
    t=$(date -d "$1" +%s 2>/dev/null) || return 0
    clock
    t=$((t - now_s))
    skew_s=${t#-}
}

DAYTIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$'

# check_daytime WHAT FILE: FILE holds exactly one daytime line with CRLF
# whose time is within 3 s of now.
check_daytime() {
    local what=$1 file=$2 data= text
    IFS= read -r -d '' data <"$file"  # all of it, CRLF included
    text=${data:0:26}
    if [ ${#data} -ne 28 ] || ! [[ $text =~ $DAYTIME_RE ]] ||
       [ "${data:26}" != $'\r\n' ]; then
        fail "$what" "want one line 'YYYY-MM-DD HH:MM:SS.ffffff\\r\\n' (28 bytes)," \
             "got ${#data} bytes: $(show "$file")"
        return 1
    fi
    skew "$text"
    if [ -z "$skew_s" ] || [ "$skew_s" -gt 3 ]; then
        fail "$what" "want a time within 3 s of $(date '+%F %T'), got '$text'"
        return 1
    fi
    ok "$what"
}

# check_iso WHAT TEXT: TEXT is one ISO 8601 time within 3 s of now.
check_iso() {
    local what=$1 text=$2
    if ! [[ $text =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$ ]]; then
        fail "$what" "want one ISO 8601 time like 2026-11-25T14:01:36+01:00, got '$text'"
        return 1
    fi
    skew "$text"
    if [ -z "$skew_s" ] || [ "$skew_s" -gt 3 ]; then
        fail "$what" "want a time within 3 s of $(date -Iseconds), got '$text'"
        return 1
    fi
    ok "$what"
}

# run_client OUTPUT-PREFIX ARG...: time-client with a 10 s guard; stdout
# and stderr in PREFIX.out/.err; sets $rc and $elapsed (ms).
run_client() {
    local prefix=$1 t0
    shift
    clock
    t0=$now_ms
    timeout 10 "$CLIENT" "$@" >"$prefix.out" 2>"$prefix.err"
    rc=$?
    clock
    elapsed=$((now_ms - t0))
}

# expect_client WHAT WANT-RC WANT-STDOUT ARG...: exact stdout, exit status.
expect_client() {
    local what=$1 want_rc=$2 want=$3
    shift 3
    run_client "$tmp/client" "$@"
    if [ "$rc" -ne "$want_rc" ] || [ "$(cat "$tmp/client.out")" != "$want" ]; then
        fail "$what" "want exit $want_rc and '$want' from time-client $*, got" \
             "exit $rc, stdout '$(head -c 200 "$tmp/client.out")'," \
             "stderr '$(head -c 200 "$tmp/client.err")'"
        return 1
    fi
    ok "$what"
}

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    "$PY" "$HELPERS/interop-clients.py" freeport
}

have_ipv6=no
"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null && have_ipv6=yes

# ====================================================================
section "1. daytime over TCP: nc, socat, a classic Python client"
if start_server tcp 1 -H 127.0.0.1 -p 0; then
    timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc.out" 2>&1
    check_daytime "1 nc -N gets one daytime line" "$tmp/nc.out"
    timeout 10 socat -u "TCP:127.0.0.1:$sport" - >"$tmp/socat.out" 2>&1
    check_daytime "1 socat gets one daytime line" "$tmp/socat.out"
    timeout 10 "$PY" "$HELPERS/classic-client.py" 127.0.0.1 "$sport" \
        >"$tmp/py.out" 2>&1
    check_daytime "1 classic Python client gets one daytime line" "$tmp/py.out"
    n=$(grep -cE '^127\.0\.0\.1:[0-9]+ connected$' "$slog")
    if [ "$n" -eq 3 ]; then
        ok "1 log names each of the 3 clients (127.0.0.1:N connected)"
    else
        fail "1 log names each client" "want 3 lines '127.0.0.1:N connected'," \
             "got $n in: $(head -c 400 "$slog")"
    fi
    stop_proc "$spid"
fi

# ====================================================================
section "2. the dual-stack wildcard (-p 0, no -H)"
if start_server dual 1 -p 0; then
    if [ $have_ipv6 = yes ] && ! grep -q 'listening on \[::\]:' "$slog"; then
        fail "2 one dual-stack socket" "want 'listening on [::]:PORT'," \
             "got: $(head -c 300 "$slog")"
    fi
    timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc4.out" 2>&1
    check_daytime "2 wildcard reachable via 127.0.0.1" "$tmp/nc4.out"
    if grep -qE '^127\.0\.0\.1:[0-9]+ connected$' "$slog" &&
       ! grep -q 'ffff' "$slog"; then
        ok "2 IPv4 client logged as 127.0.0.1:N, not ::ffff:127.0.0.1"
    else
        fail "2 IPv4 client logged as 127.0.0.1:N" "got: $(head -c 300 "$slog")"
    fi
    if [ $have_ipv6 = yes ]; then
        timeout 10 nc -N ::1 "$sport" </dev/null >"$tmp/nc6.out" 2>&1
        check_daytime "2 wildcard reachable via ::1" "$tmp/nc6.out"
        if grep -qE '^\[::1\]:[0-9]+ connected$' "$slog"; then
            ok "2 IPv6 client logged as [::1]:N"
        else
            fail "2 IPv6 client logged as [::1]:N" "got: $(head -c 300 "$slog")"
        fi
    else
        skip "2 wildcard reachable via ::1" "no IPv6 on this machine"
    fi
    stop_proc "$spid"
fi

# ====================================================================
section "3. RFC 868 (-P time) read by rdate, TCP and UDP"
# check_between WHAT FILE LOW HIGH: FILE's first line is a time (rdate's
# "Wed Nov 25 14:31:20 UTC 2026", perhaps after "rdate: [host]<TAB>", or
# ISO 8601) within LOW..HIGH (Unix seconds), and $rc is 0.
check_between() {
    local what=$1 text t
    text=$(sed 's/^rdate: \[[^]]*\][[:space:]]*//' "$2" | head -n 1)
    t=$(date -d "$text" +%s 2>/dev/null)
    if [ "$rc" -eq 0 ] && [ -n "$t" ] && [ "$t" -ge "$3" ] && [ "$t" -le "$4" ]; then
        ok "$what: $text"
    else
        fail "$what" "want exit 0 and a time from $(TZ=UTC date -d "@$3" -Iseconds)" \
             "to $(TZ=UTC date -d "@$4" -Iseconds), got exit $rc: '$(head -c 200 "$2")'"
    fi
}
# check_rdate WHAT FILE: the same, within 3 s of now.
check_rdate() {
    clock
    check_between "$1" "$2" $((now_s - 3)) $((now_s + 3))
}
if start_server time 2 -H 127.0.0.1 -p 0 -P time -u; then
    timeout 10 rdate -p -o "$sport" 127.0.0.1 >"$tmp/rdate.out" 2>&1
    rc=$?
    check_rdate "3 rdate -p (TCP) prints now" "$tmp/rdate.out"
    timeout 10 rdate -u -p -o "$sport" 127.0.0.1 >"$tmp/rdateu.out" 2>&1
    rc=$?
    check_rdate "3 rdate -u -p (UDP) prints now" "$tmp/rdateu.out"
    run_client "$tmp/tc" -P time 127.0.0.1 "$sport"
    check_iso "3 time-client -P time prints now" "$(cat "$tmp/tc.out")"
    run_client "$tmp/tc" -u -P time 127.0.0.1 "$sport"
    check_iso "3 time-client -u -P time prints now" "$(cat "$tmp/tc.out")"
    stop_proc "$spid"
fi

# Across the 2036 wrap: the server's clock is moved by libfaketime to a
# minute before the 32-bit count wraps (top bit set) and to ten minutes
# after (a small count), and rdate and time-client must read the time.
# libfaketime's preload and AddressSanitizer's interceptors do not mix:
# on some machines the sanitized server hangs at start-up under it.  The
# gcc and clang builds run this section; a sanitizer build skips it.
# libfaketime moves the clock only of a program it can be preloaded into,
# and only through the functions it intercepts: not a static program (the
# musl build), not one of another architecture, and not the 64-bit time
# functions (__clock_gettime64) of a 32-bit build with a 64-bit time_t,
# which Debian 12's libfaketime 0.9.10 does not intercept.  Such a server
# answers with the real time; the section is then skipped, saying why:
# tests/test_timeproto checks the same wrap (and 2040) in-process, in
# every build.
# real_time_answer FILE: the time rdate printed in FILE is within a
# minute of the real clock.
real_time_answer() {
    local text t
    text=$(sed 's/^rdate: \[[^]]*\][[:space:]]*//' "$1" | head -n 1)
    t=$(date -d "$text" +%s 2>/dev/null) || return 1
    clock
    [ $((t - now_s)) -le 60 ] && [ $((now_s - t)) -le 60 ]
}
# Why libfaketime could not reach the server, as far as can be told.
unfakeable_why() {
    if ! LC_ALL=C grep -qa '/ld-linux' "$SERVER"; then
        echo "the server is not a dynamically linked glibc program"
    elif LC_ALL=C grep -qa '__clock_gettime64' "$SERVER"; then
        echo "the server calls __clock_gettime64 (64-bit time_t on a 32-bit" \
             "system), which this libfaketime does not intercept"
    else
        echo "no libfaketime for the server's architecture?"
    fi
}
if [[ ${NB_SANITIZER_FLAGS-} == *-fsanitize=* ]]; then
    skip "3 RFC 868 across the 2036 wrap" "libfaketime is not used with sanitizers"
elif command -v faketime >/dev/null &&
   fake_preload=$(faketime -f +0 sh -c 'printf %s "${LD_PRELOAD-}"') &&
   [ -n "$fake_preload" ]; then
    for start in "2036-02-07 06:27:00" "2036-02-07 06:38:00"; do
        low=$(TZ=UTC date -d "$start" +%s)
        high=$((low + 90))
        if TZ=UTC FAKETIME="@$start" \
           LD_PRELOAD="$fake_preload${LD_PRELOAD:+:$LD_PRELOAD}" \
           start_server fake 2 -H 127.0.0.1 -p 0 -P time -u; then
            TZ=UTC timeout 10 rdate -p -o "$sport" 127.0.0.1 >"$tmp/r.out" 2>&1
            rc=$?
            if [ "$rc" -eq 0 ] && real_time_answer "$tmp/r.out"; then
                skip "3 RFC 868 across the 2036 wrap" \
                     "libfaketime did not move the server's clock: $(unfakeable_why)"
                stop_proc "$spid"
                break
            fi
            check_between "3 server at $start UTC: rdate -p" "$tmp/r.out" "$low" "$high"
            TZ=UTC timeout 10 rdate -u -p -o "$sport" 127.0.0.1 >"$tmp/r.out" 2>&1
            rc=$?
            check_between "3 server at $start UTC: rdate -u -p" "$tmp/r.out" "$low" "$high"
            TZ=UTC run_client "$tmp/tc" -P time 127.0.0.1 "$sport"
            check_between "3 server at $start UTC: time-client -P time" "$tmp/tc.out" "$low" "$high"
            TZ=UTC run_client "$tmp/tc" -u -P time 127.0.0.1 "$sport"
            check_between "3 server at $start UTC: time-client -u -P time" "$tmp/tc.out" "$low" "$high"
            stop_proc "$spid"
        fi
    done
else
    skip "3 RFC 868 across the 2036 wrap" "faketime (libfaketime) not installed"
fi

# ====================================================================
section "4. daytime over UDP (-u), junk datagrams"
if start_server udp 2 -H 127.0.0.1 -p 0 -u; then
    printf 'x' | timeout 10 socat -t 0.5 - "UDP:127.0.0.1:$sport" >"$tmp/su.out" 2>&1
    check_daytime "4 socat datagram gets one daytime line" "$tmp/su.out"
    timeout 10 "$PY" "$HELPERS/classic-client.py" -u 127.0.0.1 "$sport" \
        >"$tmp/pu.out" 2>&1
    check_daytime "4 Python empty datagram gets one daytime line" "$tmp/pu.out"
    timeout 10 "$PY" "$HELPERS/interop-clients.py" udp 127.0.0.1 "$sport" \
        0 1 2000 >"$tmp/junk.out" 2>&1
    for size in 0 1 2000; do
        out=$(grep "^$size: " "$tmp/junk.out")
        case $out in
            "$size: reply 28 b'"*"\\r\\n'") ok "4 $size-byte datagram answered: $out" ;;
            [12]*": no reply") ok "4 $size-byte datagram ignored" ;;
            *)  fail "4 $size-byte datagram" "want a 28-byte daytime reply" \
                     "(or, for junk, none), got '$out' ($(head -c 300 "$tmp/junk.out"))" ;;
        esac
    done
    if is_running "$spid"; then
        timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc.out" 2>&1
        check_daytime "4 still serves TCP after the junk" "$tmp/nc.out"
        timeout 10 "$PY" "$HELPERS/classic-client.py" -u 127.0.0.1 "$sport" \
            >"$tmp/pu.out" 2>&1
        check_daytime "4 still serves UDP after the junk" "$tmp/pu.out"
    else
        fail "4 server survives junk datagrams" "it died: $(tail -n 3 "$slog")"
    fi
    stop_proc "$spid"
fi

# ====================================================================
section "5. time-client against other servers"
# Python servers for sections 5 and 6.
launch_py pyday
launch_py py2023 -P time --value 0xe8fe6f80
launch_py py0xffffffff -P time --value 0xffffffff
launch_py py0x00000001 -P time --value 0x00000001
launch_py pyudp -u
launch_py pyudp868 -u -P time --value 1
launch_py pysilent --silent
launch_py pysilentu -u --silent
launch_py pyshort -P time --short

if py_port pyday; then
    run_client "$tmp/tc" 127.0.0.1 "$pport"
    text=$(cat "$tmp/tc.out")
    if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/tc.out")" -eq 1 ] &&
       [[ $text =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?$ ]]; then
        ok "5 time-client prints a Python daytime server's line"
    else
        fail "5 time-client vs Python daytime server" "want exit 0 and one line" \
             "'YYYY-MM-DD HH:MM:SS.ffffff', got exit $rc, '$text'," \
             "stderr '$(cat "$tmp/tc.err")'"
    fi
fi

printf '2001-02-03 04:05:06.789012\r\n' >"$tmp/line"
timeout 20 socat -d -d TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork \
    EXEC:"cat $tmp/line" 2>"$tmp/socat-server.log" &
socat_pid=$!
pids="$pids $socat_pid"
if wait_for "$tmp/socat-server.log" 'listening on AF=2 127\.0\.0\.1:[0-9]+'; then
    port=$(sed -n 's/.*listening on AF=2 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
           "$tmp/socat-server.log" | head -n 1)
    expect_client "5 time-client prints a socat server's line" 0 \
        "2001-02-03 04:05:06.789012" 127.0.0.1 "$port"
else
    fail "5 socat server" "want 'listening on' from socat, got:" \
         "$(head -c 300 "$tmp/socat-server.log")"
fi
stop_proc "$socat_pid"

# RFC 868 values: one from 2023, the two either side of the 2036 wrap.
for case in "py2023 0xe8fe6f80 UTC 2023-11-14T22:13:20+00:00" \
            "py2023 0xe8fe6f80 XYZ-5:30 2023-11-15T03:43:20+05:30" \
            "py0xffffffff 0xffffffff UTC 2036-02-07T06:28:15+00:00" \
            "py0x00000001 0x00000001 UTC 2036-02-07T06:28:17+00:00"; do
    set -- $case
    if py_port "$1"; then
        TZ=$3 expect_client "5 time-client -P time reads $2 as $4 (TZ=$3)" 0 \
            "$4" -P time 127.0.0.1 "$pport"
    fi
done

if py_port pyudp; then
    run_client "$tmp/tc" -u 127.0.0.1 "$pport"
    text=$(cat "$tmp/tc.out")
    if [ "$rc" -eq 0 ] &&
       [[ $text =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?$ ]]; then
        ok "5 time-client -u prints a Python UDP daytime server's line"
    else
        fail "5 time-client -u vs Python UDP server" "want exit 0 and a daytime" \
             "line, got exit $rc, '$text', stderr '$(cat "$tmp/tc.err")'"
    fi
fi
if py_port pyudp868; then
    TZ=UTC expect_client "5 time-client -u -P time reads a Python UDP RFC 868 reply" 0 \
        "2036-02-07T06:28:17+00:00" -u -P time 127.0.0.1 "$pport"
fi

for opt in -V -h; do
    run_client "$tmp/tc" "$opt"
    if [ "$rc" -eq 0 ] && [ -s "$tmp/tc.out" ] && [ ! -s "$tmp/tc.err" ]; then
        ok "5 time-client $opt exits 0: $(head -n 1 "$tmp/tc.out")"
    else
        fail "5 time-client $opt" "want exit 0, output on stdout only, got exit" \
             "$rc, stdout '$(head -c 100 "$tmp/tc.out")', stderr '$(cat "$tmp/tc.err")'"
    fi
done

# ====================================================================
section "6. time-client failures"
# expect_failure WHAT WANT-RC STDERR-TEST ARG...: STDERR-TEST is "=TEXT"
# (all of stderr, exactly), or "~TEXT" (its first line contains TEXT).
expect_failure() {
    local what=$1 want_rc=$2 test=$3 first good=yes
    shift 3
    run_client "$tmp/tc" "$@"
    first=$(head -n 1 "$tmp/tc.err")
    [ "$rc" -eq "$want_rc" ] || good=no
    [ -s "$tmp/tc.out" ] && good=no
    case $test in
        =*) [ "$(cat "$tmp/tc.err")" = "${test#=}" ] || good=no ;;
        ~*) [[ $first == *"${test#\~}"* ]] || good=no ;;
    esac
    if [ $good = yes ]; then
        ok "$what ($elapsed ms): $first"
    else
        fail "$what" "want exit $want_rc, no stdout, first stderr line" \
             "${test:0:1}'${test:1}', got exit $rc, stdout" \
             "'$(head -c 100 "$tmp/tc.out")', stderr '$(head -c 300 "$tmp/tc.err")'"
    fi
}

# A port held bound but not listening: refused, and no other test running
# at the same time can start listening on it meanwhile.
"$PY" "$HELPERS/interop-clients.py" closedport 60 >"$tmp/closed.port" &
closed_pid=$!
pids="$pids $closed_pid"
if wait_for "$tmp/closed.port" '^[0-9]+$'; then
    port=$(head -n 1 "$tmp/closed.port")
    expect_failure "6 refused port exits 1" 1 \
        "=time-client: connect 127.0.0.1:$port: Connection refused" 127.0.0.1 "$port"
else
    fail "6 refused port" "interop-clients.py closedport printed no port"
fi
stop_proc "$closed_pid" KILL

if py_port pysilent; then
    expect_failure "6 silent TCP server, -t 300, exits 1" 1 "~timed out" \
        -t 300 127.0.0.1 "$pport"
    if [ "$elapsed" -gt 4000 ]; then
        fail "6 -t 300 is kept" "want well under the default 5 s (< 4 s), took $elapsed ms"
    fi
fi
if py_port pysilentu; then
    expect_failure "6 silent UDP server, -u -t 300, exits 1" 1 "~timed out" \
        -u -t 300 127.0.0.1 "$pport"
    if [ "$elapsed" -gt 4000 ]; then
        fail "6 -u -t 300 is kept" "want well under the default 5 s (< 4 s), took $elapsed ms"
    fi
fi
if py_port pyshort; then
    expect_failure "6 3-byte RFC 868 reply exits 1" 1 "~3 bytes" \
        -P time 127.0.0.1 "$pport"
fi

expect_failure "6 no HOST: usage, exit 2" 2 "~HOST"
expect_failure "6 -t abc: usage, exit 2" 2 "~'abc'" -t abc 127.0.0.1
expect_failure "6 -P foo: usage, exit 2" 2 "~'foo'" -P foo 127.0.0.1
expect_failure "6 -4 -6: usage, exit 2" 2 "~-4 and -6" -4 -6 127.0.0.1
expect_failure "6 unknown option -z: usage, exit 2" 2 "~-z" -z 127.0.0.1
expect_failure "6 extra argument: usage, exit 2" 2 "~'extra'" 127.0.0.1 9 extra
# A label longer than 63 bytes is refused before any DNS query.
badhost=$(printf 'x%.0s' $(seq 64)).invalid
expect_failure "6 unresolvable host exits 1" 1 "~resolve" "$badhost"

for name in "${!pypid[@]}"; do
    stop_proc "${pypid[$name]}"
done

# ====================================================================
section "7. time-server robustness"
if start_server rob 1 -H 127.0.0.1 -p 0; then
    out=$(timeout 10 "$PY" "$HELPERS/interop-clients.py" reset 127.0.0.1 "$sport" 200 2>&1)
    timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc.out" 2>&1
    if is_running "$spid"; then
        check_daytime "7 answers after 200 clients reset at once ($out)" "$tmp/nc.out"
    else
        fail "7 survives 200 resets" "server died: $(tail -n 3 "$slog")"
    fi

    timeout 10 "$PY" "$HELPERS/interop-clients.py" hold 127.0.0.1 "$sport" 5 5 \
        >"$tmp/hold.out" 2>&1 &
    hold_pid=$!
    pids="$pids $hold_pid"
    if wait_for "$tmp/hold.out" '^connected$'; then
        clock
        t0=$now_ms
        timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc.out" 2>&1
        clock
        t=$((now_ms - t0))
        if [ "$t" -lt 4000 ]; then
            check_daytime "7 5 clients that never read do not delay the next ($t ms)" \
                "$tmp/nc.out"
        else
            fail "7 clients that never read" "want the next client answered at once, took $t ms"
        fi
    else
        fail "7 clients that never read" "want them connected, got: $(cat "$tmp/hold.out")"
    fi
    stop_proc "$hold_pid"
    stop_proc "$spid" TERM
    [ "$status" = 0 ] && ok "7 SIGTERM: exit status 0" ||
        fail "7 SIGTERM" "want exit status 0, got $status"
fi

if start_server rob2 1 -H 127.0.0.1 -p 0; then
    stop_proc "$spid" INT
    [ "$status" = 0 ] && ok "7 SIGINT: exit status 0" ||
        fail "7 SIGINT" "want exit status 0, got $status"
fi

# The worker pool.
wait_children() {  # PID COUNT: until PID has COUNT children; at most $WAIT_S
    local i
    for ((i = 0; i < wait_rounds; i++)); do
        kids=$(children_of "$1")
        [ "$(echo $kids | wc -w)" -eq "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
if start_server workers 1 -H 127.0.0.1 -p 0 -w 3; then
    if wait_children "$spid" 3; then
        ok "7 -w 3: three workers ($(echo $kids))"
        victim=$(echo $kids | cut -d' ' -f1)
        kill -KILL "$victim"
        if wait_for "$slog" "worker $victim .*restart" &&
           wait_children "$spid" 3 && ! echo " $kids " | grep -q " $victim "; then
            ok "7 -w 3: SIGKILLed worker $victim restarted: $(grep "worker $victim" "$slog")"
        else
            fail "7 -w 3: worker restart" "want a log line about worker $victim and" \
                 "3 workers again, got workers '$(echo $kids)', log: $(tail -n 3 "$slog")"
        fi
        out=$(timeout 20 "$PY" "$HELPERS/interop-clients.py" many 127.0.0.1 "$sport" 50 2>&1)
        [ "$out" = "50 ok" ] && ok "7 -w 3: 50 connections answered" ||
            fail "7 -w 3: 50 connections" "want '50 ok', got '$out'"
    else
        fail "7 -w 3" "want 3 worker processes, got '$(echo $kids)'"
    fi
    kids=$(children_of "$spid")
    stop_proc "$spid" TERM
    left=""
    for k in $kids; do is_running "$k" && left="$left $k"; done
    if [ "$status" = 0 ] && [ -z "$left" ]; then
        ok "7 -w 3: SIGTERM: exit status 0, no worker left"
    else
        fail "7 -w 3: SIGTERM" "want exit 0 and no worker left, got $status, left:$left"
        for k in $left; do kill -KILL "$k"; done
    fi
fi
if start_server workers2 1 -H 127.0.0.1 -p 0 -w 2 && wait_children "$spid" 2; then
    kids=$(children_of "$spid")
    stop_proc "$spid" INT
    left=""
    for k in $kids; do is_running "$k" && left="$left $k"; done
    if [ "$status" = 0 ] && [ -z "$left" ]; then
        ok "7 -w 2: SIGINT: exit status 0, no worker left"
    else
        fail "7 -w 2: SIGINT" "want exit 0 and no worker left, got $status, left:$left"
        for k in $left; do kill -KILL "$k"; done
    fi
fi

# Bad command lines: exit 2, and the first line of stderr names the value.
bad_server_option() {  # VALUE-TO-FIND ARG...
    local value=$1 first out
    shift
    out=$(timeout 10 "$SERVER" -H 127.0.0.1 "$@" 2>&1 >/dev/null)
    rc=$?
    first=$(printf '%s\n' "$out" | head -n 1)
    if [ "$rc" -eq 2 ] && [[ $first == *"$value"* ]]; then
        ok "7 time-server $*: exit 2: $first"
    else
        fail "7 time-server $*" "want exit 2 and a first line naming '$value'," \
             "got exit $rc: '$out'"
    fi
}
bad_server_option "'foo'" -P foo
bad_server_option 99999 -p 99999
bad_server_option "port is empty" -p ''
bad_server_option "'0'" -w 0
bad_server_option "'abc'" -w abc
bad_server_option "-4 and -6" -4 -6
bad_server_option "'extra'" -p 0 extra
bad_server_option "-z" -z

if start_server inuse 1 -H 127.0.0.1 -p 0; then
    out=$(timeout 10 "$SERVER" -H 127.0.0.1 -p "$sport" 2>&1)
    rc=$?
    # strerror(EADDRINUSE): "Address already in use" (glibc), "Address in
    # use" (musl)
    if [ "$rc" -eq 1 ] && [[ $out == *"bind 127.0.0.1:$sport: Address "*"in use" ]] &&
       [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
        ok "7 port in use: exit 1: $out"
    else
        fail "7 port in use" "want exit 1 and one line ending 'bind 127.0.0.1:$sport:" \
             "Address already in use' (or musl's 'Address in use'), got exit $rc: '$out'"
    fi
    stop_proc "$spid"
fi

# Out of descriptors: the limit is set to the lowest free descriptor, so
# that every accept fails with EMFILE while UDP still works.
cpu_ticks() {  # utime + stime of a process, in clock ticks
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
if start_server emfile 2 -H 127.0.0.1 -p 0 -u; then
    lowest=0
    while [ -e "/proc/$spid/fd/$lowest" ]; do lowest=$((lowest + 1)); done
    # Only the soft limit: raising a hard limit needs CAP_SYS_RESOURCE.
    hard=$(awk '/^Max open files/ { print $5 }' "/proc/$spid/limits")
    prlimit --pid "$spid" --nofile="$lowest:$hard"
    # A client waits in the backlog (the server cannot take it).
    timeout 10 "$PY" "$HELPERS/classic-client.py" 127.0.0.1 "$sport" \
        >"$tmp/waiting.out" 2>&1 &
    waiting_pid=$!
    pids="$pids $waiting_pid"
    if wait_for "$slog" 'pausing accept'; then
        ok "7 EMFILE (limit $lowest): logs '$(grep -m 1 'pausing accept' "$slog")'"
    else
        fail "7 EMFILE" "want a 'pausing accept' line, got: $(tail -n 3 "$slog")"
    fi
    timeout 10 "$PY" "$HELPERS/classic-client.py" -u 127.0.0.1 "$sport" \
        >"$tmp/pu.out" 2>&1
    check_daytime "7 EMFILE: UDP still answered" "$tmp/pu.out"
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$spid")
    l0=$(grep -c 'pausing accept' "$slog")
    sleep 1
    c1=$(cpu_ticks "$spid")
    l1=$(grep -c 'pausing accept' "$slog")
    cpu_ms=$(((c1 - c0) * 1000 / hz))
    if [ "$cpu_ms" -lt 300 ]; then
        ok "7 EMFILE: no spinning (${cpu_ms} ms CPU in 1 s)"
    else
        fail "7 EMFILE: no spinning" "want < 300 ms CPU in 1 s, got $cpu_ms ms"
    fi
    # Backing off means waiting longer each time (up to a second), not
    # retrying at the same short interval forever.
    if [ $((l1 - l0)) -le 10 ]; then
        ok "7 EMFILE: backs off ($((l1 - l0)) accept retries in 1 s)"
    else
        fail "7 EMFILE: backs off" "want the pause to grow (<= 10 retries in 1 s)," \
             "got $((l1 - l0)) retries; last: '$(grep 'pausing accept' "$slog" | tail -n 1)'"
    fi
    raised=1024
    [ "$hard" != unlimited ] && [ "$hard" -lt 1024 ] && raised=$hard
    prlimit --pid "$spid" --nofile="$raised:$hard"
    for ((i = 0; i < wait_rounds; i++)); do
        is_running "$waiting_pid" || break
        sleep 0.05
    done
    wait "$waiting_pid" 2>/dev/null
    forget "$waiting_pid"
    check_daytime "7 EMFILE over: the waiting client is answered" "$tmp/waiting.out"
    timeout 10 nc -N 127.0.0.1 "$sport" </dev/null >"$tmp/nc.out" 2>&1
    check_daytime "7 EMFILE over: serves TCP again" "$tmp/nc.out"
    stop_proc "$spid"
fi

# ====================================================================
section "8. Unix sockets (-U)"
abstract=nb-interop-$$-$RANDOM
for path in "$tmp/time.sock" "@$abstract"; do
    case $path in
        @*) addr=ABSTRACT-CONNECT:${path#@} ;;
        *)  addr=UNIX-CONNECT:$path ;;
    esac
    if start_server unix 2 -H 127.0.0.1 -p 0 -U "$path"; then
        if grep -qF "listening on $path (stream)" "$slog"; then
            ok "8 -U $path announced"
        else
            fail "8 -U $path announced" "want 'listening on $path (stream)', got:" \
                 "$(head -c 300 "$slog")"
        fi
        timeout 10 socat -u "$addr" - >"$tmp/su.out" 2>&1
        check_daytime "8 socat $addr gets a daytime line" "$tmp/su.out"
        stop_proc "$spid"
        [ "$status" = 0 ] || fail "8 -U $path: SIGTERM" "want exit 0, got $status"
    fi
done
# A socket file left by a server that was killed does not stop the next.
if start_server unix-a 2 -H 127.0.0.1 -p 0 -U "$tmp/stale.sock"; then
    stop_proc "$spid" KILL
    if start_server unix-b 2 -H 127.0.0.1 -p 0 -U "$tmp/stale.sock"; then
        timeout 10 socat -u "UNIX-CONNECT:$tmp/stale.sock" - >"$tmp/su.out" 2>&1
        check_daytime "8 -U over a stale socket file left by a killed server" "$tmp/su.out"
        stop_proc "$spid"
    fi
fi

# ====================================================================
section "9. socket activation (LISTEN_FDS)"
"$PY" "$HELPERS/activate.py" "$tmp/act.ports" "$SERVER" 2>"$tmp/act.log" &
spid=$!
slog=$tmp/act.log
pids="$pids $spid"
if wait_for "$slog" '^time-server: listening on ' 2; then
    read -r tport uport <"$tmp/act.ports"
    if grep -q "^time-server: listening on 127.0.0.1:$tport (stream)" "$slog" &&
       grep -q "^time-server: listening on 127.0.0.1:$uport (datagram)" "$slog" &&
       [ "$(grep -c 'listening on' "$slog")" -eq 2 ]; then
        ok "9 serves the passed sockets (TCP $tport, UDP $uport) and no others"
    else
        fail "9 passed sockets announced" "want TCP 127.0.0.1:$tport and UDP" \
             "127.0.0.1:$uport only, got: $(head -c 300 "$slog")"
    fi
    for round in 1 2; do
        timeout 10 nc -N 127.0.0.1 "$tport" </dev/null >"$tmp/nc.out" 2>&1
        check_daytime "9 nc over the passed TCP socket (client $round)" "$tmp/nc.out"
        for how in TCP UDP; do
            if [ $how = TCP ]; then
                run_client "$tmp/tc" -t 2000 127.0.0.1 "$tport"
            else
                run_client "$tmp/tc" -t 2000 -u 127.0.0.1 "$uport"
            fi
            if [ "$rc" -eq 0 ] && [[ $(cat "$tmp/tc.out") =~ $DAYTIME_RE ]]; then
                ok "9 time-client over the passed $how socket (client $round)"
            else
                fail "9 time-client over the passed $how socket (client $round)" \
                     "want exit 0 and a daytime line, got exit $rc," \
                     "'$(cat "$tmp/tc.out")', stderr '$(cat "$tmp/tc.err")'"
            fi
        done
    done
    stop_proc "$spid"
    [ "$status" = 0 ] && ok "9 SIGTERM: exit status 0" ||
        fail "9 SIGTERM" "want exit status 0, got $status"
else
    fail "9 socket activation" "want 2 'listening on' lines, got:" \
         "$(head -c 300 "$slog")"
    stop_proc "$spid" KILL
fi

# systemd-socket-activate binds the port it is given: a port free a moment
# ago may have been taken since by another test running at the same time,
# so a few ports are tried.
ssa_start() {
    local try
    for try in 1 2 3; do
        port=$(free_port)
        # It passes on only the environment it is told to.
        systemd-socket-activate -l "127.0.0.1:$port" \
            ${LD_LIBRARY_PATH:+-E LD_LIBRARY_PATH="$LD_LIBRARY_PATH"} \
            "$SERVER" 2>"$tmp/ssa.log" &
        spid=$!
        slog=$tmp/ssa.log
        pids="$pids $spid"
        wait_for "$slog" "Listening on 127\.0\.0\.1:$port|[Ff]ailed|[Ee]rror" &&
            grep -q "Listening on 127\.0\.0\.1:$port" "$slog" && return 0
        grep -q "in use" "$slog" || return 1
        echo "# 127.0.0.1:$port taken meanwhile: $(head -n 1 "$slog")"
        stop_proc "$spid" KILL
    done
    return 1
}
if command -v systemd-socket-activate >/dev/null; then
    if ssa_start; then
        # It execs the server when the first client comes.
        timeout 10 nc -N 127.0.0.1 "$port" </dev/null >"$tmp/nc.out" 2>&1
        check_daytime "9 systemd-socket-activate: first client answered" "$tmp/nc.out"
        timeout 10 nc -N 127.0.0.1 "$port" </dev/null >"$tmp/nc.out" 2>&1
        check_daytime "9 systemd-socket-activate: second client answered" "$tmp/nc.out"
        if grep -q "^time-server: listening on 127.0.0.1:$port (stream)" "$slog"; then
            ok "9 systemd-socket-activate: the passed socket announced"
        else
            fail "9 systemd-socket-activate: announced" "want 'listening on" \
                 "127.0.0.1:$port (stream)', got: $(head -c 300 "$slog")"
        fi
        stop_proc "$spid"
        [ "$status" = 0 ] && ok "9 systemd-socket-activate: SIGTERM: exit 0" ||
            fail "9 systemd-socket-activate: SIGTERM" "want exit 0, got $status"
    else
        fail "9 systemd-socket-activate" "want 'Listening on 127.0.0.1:$port'," \
             "got: $(head -c 300 "$slog")"
        stop_proc "$spid" KILL
    fi
else
    skip "9 systemd-socket-activate" "not installed"
fi

# ====================================================================
section "10 time-client -m: several servers at once, one line each, in order"
# Two daytime servers, a port held bound but not listening and a name
# that resolves nowhere; asked together through nb_connector in one poll
# loop.  Exit 0 only when every server answered.
"$PY" "$HELPERS/interop-clients.py" closedport 60 >"$tmp/closed-m.port" &
closed_pid=$!
pids="$pids $closed_pid"
pid_a= pid_b=
if start_server many-a 1 -q -H 127.0.0.1 -p 0 && port_a=$sport && pid_a=$spid &&
   start_server many-b 1 -q -H 127.0.0.1 -p 0 && port_b=$sport && pid_b=$spid &&
   wait_for "$tmp/closed-m.port" '^[0-9]+$'; then
    closed=$(head -n 1 "$tmp/closed-m.port")
    run_client "$tmp/many" -t 3000 -m "127.0.0.1:$port_b" "127.0.0.1:$closed" \
        "localhost:$port_a" "x$(printf '%070d' 0).invalid:13"
    mapfile -t lines <"$tmp/many.out"
    want_refused="127.0.0.1:$closed: connect 127.0.0.1:$closed: Connection refused"
    if [ "$rc" -eq 1 ] && [ "${#lines[@]}" -eq 4 ] &&
       [[ ${lines[0]#127.0.0.1:$port_b: } =~ $DAYTIME_RE ]] &&
       [ "${lines[1]}" = "$want_refused" ] &&
       [[ ${lines[2]#localhost:$port_a: } =~ $DAYTIME_RE ]] &&
       [[ ${lines[3]} == *": resolve "*".invalid:13: "* ]]; then
        ok "10 -m: times, the refusal and the resolver's error, in argument order, exit 1 ($elapsed ms)"
    else
        fail "10 -m with failures" "want exit 1 and 4 lines in order, got exit $rc:" \
             "$(head -c 600 "$tmp/many.out") stderr $(head -c 200 "$tmp/many.err")"
    fi
    run_client "$tmp/many" -m "127.0.0.1:$port_a" "[::ffff:127.0.0.1]:$port_b"
    mapfile -t lines <"$tmp/many.out"
    if [ "$rc" -eq 0 ] && [ "${#lines[@]}" -eq 2 ] &&
       [[ ${lines[0]#127.0.0.1:$port_a: } =~ $DAYTIME_RE ]] &&
       [[ ${lines[1]#\[::ffff:127.0.0.1\]:$port_b: } =~ $DAYTIME_RE ]]; then
        ok "10 -m: every server answered: exit 0"
    else
        fail "10 -m all answered" "want exit 0 and 2 times, got exit $rc:" \
             "$(head -c 300 "$tmp/many.out") stderr $(head -c 200 "$tmp/many.err")"
    fi
else
    fail "10 -m" "servers or the held port did not start"
fi
for p in $pid_a $pid_b; do stop_proc "$p"; done
stop_proc "$closed_pid" KILL

# ====================================================================
clock
echo "# $(((now_ms - started) / 1000)) s"
echo "interop: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77
