#!/bin/bash
# basic-examples.sh - examples/basic-time-server.c and basic-time-client.c,
# the programs a learner reads first: each stays within 50 non-blank
# lines and needs nothing but libnetbasics and libc; the server answers nc
# and a classic Python client with a daytime line and prints each client's
# address; the client prints what a server sends (this server, time-server,
# a Python server, nc with several lines and more than its buffer) until
# the end of the stream; failures print the library's message.
#
# Loopback and ephemeral ports only; every wait is bounded; everything
# started here is killed on exit.  Each check prints one "ok" or "FAIL"
# line.  Exit 77 when nc or python3 is missing.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
MAX_LINES=50
HELPERS=$top_srcdir/tests
# $tmp, $pids, ok, fail, wait_for, unwrap.
# shellcheck source=tests/lib.sh
. "$HELPERS/lib.sh"

missing=
nc -h 2>&1 | grep -q OpenBSD || missing="$missing netcat-openbsd"
PY=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)' 2>/dev/null) ||
    missing="$missing python3"
if [ -n "$missing" ]; then
    echo "skip: missing:$missing (apt-get install -y$missing)"
    exit 77
fi

# ---------------------------------------------------------- the sources
for name in basic-time-server basic-time-client; do
    src=$top_srcdir/examples/$name.c
    n=$(grep -c '[^[:space:]]' "$src")
    if [ "$n" -le "$MAX_LINES" ]; then
        ok "$name.c: $n non-blank lines (at most $MAX_LINES)"
    else
        fail "$name.c" "$n non-blank lines, want at most $MAX_LINES"
    fi
    # what a reader copies must build with the library alone
    others=$(grep '^#include' "$src" | grep -v '^#include <[a-z/]*\.h>$')
    if [ -z "$others" ]; then
        ok "$name.c: includes only <netbasics.h> and system headers"
    else
        fail "$name.c" "includes more than the library and libc: $others"
    fi
    [ -x "$top_builddir/examples/$name" ] || { echo "FAIL: $name not built"; exit 1; }
done

# The programs themselves, not libtool's wrapper scripts (lib.sh): $! is
# then the server.
SERVER=$top_builddir/examples/basic-time-server
CLIENT=$top_builddir/examples/basic-time-client
FULL=$top_builddir/examples/time-server
unwrap SERVER CLIENT FULL

DAYTIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$'

# check_daytime WHAT FILE: exactly one daytime line, CRLF, within 3 s.
check_daytime() {
    local data= t
    IFS= read -r -d '' data <"$2"
    if [ ${#data} -ne 28 ] || ! [[ ${data:0:26} =~ $DAYTIME_RE ]] ||
       [ "${data:26}" != $'\r\n' ]; then
        fail "$1" "want 'YYYY-MM-DD HH:MM:SS.ffffff\\r\\n', got: $(od -An -c "$2" | head -n 3)"
        return
    fi
    t=$(date -d "${data:0:26}" +%s)
    if [ $((t - $(date +%s))) -gt 3 ] || [ $(($(date +%s) - t)) -gt 3 ]; then
        fail "$1" "want the time now, got ${data:0:26}"
        return
    fi
    ok "$1: ${data:0:26}"
}

have_ipv6=no
"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null && have_ipv6=yes

# ----------------------------------------------------------- the server
log=$tmp/server.log
"$SERVER" 0 2>"$log" &
spid=$!
pids="$pids $spid"
if ! wait_for "$log" '^listening on '; then
    fail "basic-time-server 0" "no 'listening on' line: $(head -c 300 "$log")"
    exit 1
fi
where=$(sed -n 's/^listening on //p' "$log")
port=${where##*:}
ok "basic-time-server 0: listening on $where"

timeout 10 nc -N 127.0.0.1 "$port" </dev/null >"$tmp/nc.out" 2>&1
check_daytime "nc -N 127.0.0.1" "$tmp/nc.out"
timeout 10 "$PY" "$HELPERS/classic-client.py" 127.0.0.1 "$port" >"$tmp/py.out" 2>&1
check_daytime "a classic Python client" "$tmp/py.out"
clients=2
if [ "$have_ipv6" = yes ]; then
    timeout 10 nc -N ::1 "$port" </dev/null >"$tmp/nc6.out" 2>&1
    check_daytime "nc -N ::1" "$tmp/nc6.out"
    clients=3
fi
timeout 10 "$CLIENT" 127.0.0.1 "$port" >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/c.err" ] &&
    check_daytime "basic-time-client -> basic-time-server" "$tmp/c.out" ||
    fail "basic-time-client -> basic-time-server" "exit $rc: $(cat "$tmp/c.err")"
clients=$((clients + 1))
if wait_for "$log" '^(127\.0\.0\.1|\[::1\]):[0-9]+$' "$clients"; then
    ok "the server printed each client's address: $(grep -E ':[0-9]+$' "$log" |
        grep -v '^listening' | tr '\n' ' ')"
else
    fail "the server prints each client" "want $clients lines ADDRESS:PORT, got: $(cat "$log")"
fi
# a second server on the same port: the library's message, exit 1
timeout 10 "$SERVER" "$port" >"$tmp/busy.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ "$(cat "$tmp/busy.out")" = "bind $where: Address already in use" ] &&
    ok "a busy port: exit 1: $(cat "$tmp/busy.out")" ||
    fail "a busy port" "want exit 1 and 'bind $where: Address already in use', got exit $rc: $(cat "$tmp/busy.out")"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
timeout 10 "$SERVER" 65536 >"$tmp/bad.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q 'invalid port "65536"' "$tmp/bad.out" &&
    ok "port 65536: exit 1: $(cat "$tmp/bad.out")" ||
    fail "port 65536" "want exit 1 and 'invalid port', got exit $rc: $(cat "$tmp/bad.out")"

# ----------------------------------------------------------- the client
# against time-server
flog=$tmp/full.log
"$FULL" -H 127.0.0.1 -p 0 -q 2>"$flog" &
pids="$pids $!"
if wait_for "$flog" 'listening on .* \(stream\)'; then
    fport=$(sed -n 's/.*:\([0-9]*\) (stream)$/\1/p' "$flog")
    timeout 10 "$CLIENT" 127.0.0.1 "$fport" >"$tmp/c.out" 2>&1
    check_daytime "basic-time-client -> time-server" "$tmp/c.out"
else
    fail "time-server" "did not start: $(cat "$flog")"
fi

# against a Python server
"$PY" "$HELPERS/classic-server.py" >"$tmp/py.port" 2>"$tmp/py.err" &
pids="$pids $!"
if wait_for "$tmp/py.port" '^[0-9]+$'; then
    timeout 10 "$CLIENT" 127.0.0.1 "$(cat "$tmp/py.port")" >"$tmp/c.out" 2>&1
    # str(datetime.now()): microseconds, unless they happen to be 0
    if [ $? -eq 0 ] && grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}(\.[0-9]{6})?'$'\r''$' "$tmp/c.out"; then
        ok "basic-time-client -> a Python server: $(tr -d '\r' <"$tmp/c.out")"
    else
        fail "basic-time-client -> a Python server" "got: $(head -c 200 "$tmp/c.out")"
    fi
else
    fail "classic-server.py" "did not start: $(cat "$tmp/py.err")"
fi

# against nc: several lines, more than one buffer (512 bytes), then the end
"$PY" -c 'import sys
for i in range(100):
    sys.stdout.write("line %03d of what nc sends\r\n" % i)' >"$tmp/lines"
timeout 20 nc -v -N -l 127.0.0.1 0 <"$tmp/lines" >/dev/null 2>"$tmp/ncl.err" &
pids="$pids $!"
if wait_for "$tmp/ncl.err" '^Listening on '; then
    nport=$(sed -n 's/^Listening on .* \([0-9]*\)$/\1/p' "$tmp/ncl.err")
    timeout 10 "$CLIENT" 127.0.0.1 "$nport" >"$tmp/c.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/lines" "$tmp/c.out"; then
        ok "basic-time-client -> nc -l: all $(wc -c <"$tmp/lines") bytes, as sent"
    else
        fail "basic-time-client -> nc -l" "want the $(wc -c <"$tmp/lines") bytes" \
             "sent, got exit $rc and $(wc -c <"$tmp/c.out") bytes: $(head -c 200 "$tmp/c.out")"
    fi
else
    fail "nc -l" "did not start: $(cat "$tmp/ncl.err")"
fi

# failures
timeout 10 "$CLIENT" >"$tmp/c.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q '^usage: .*basic-time-client HOST \[PORT\]$' "$tmp/c.out" &&
    ok "no HOST: exit 2: $(cat "$tmp/c.out")" ||
    fail "no HOST" "want exit 2 and the usage, got exit $rc: $(cat "$tmp/c.out")"
# the port of the server stopped above: nothing listens there now, unless
# another program took it meanwhile
timeout 10 "$CLIENT" 127.0.0.1 "$port" >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
if [ "$rc" -eq 1 ] && [ ! -s "$tmp/c.out" ] &&
   [ "$(cat "$tmp/c.err")" = "connect 127.0.0.1:$port: Connection refused" ]; then
    ok "a closed port: exit 1: $(cat "$tmp/c.err")"
elif [ "$rc" -eq 0 ]; then
    echo "# skip - a closed port: port $port was taken by another program meanwhile"
else
    fail "a closed port" "want exit 1 and 'connect 127.0.0.1:$port: Connection" \
         "refused', got exit $rc: $(cat "$tmp/c.err")"
fi

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
