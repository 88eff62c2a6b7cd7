#!/bin/sh
# A bounded load test of time-server, loopback only, that stops by itself
# in well under a minute: 100,000 TCP connections, 256 in flight, all
# answered, while
#   - 500 idle clients connect first and hold their connection open,
#     never reading, until the end (then each must hold a whole reply),
#   - 2,000 clients connect at once halfway through and all reset,
#   - junk UDP datagrams (random bytes, 0..1400 long) arrive throughout,
# and afterwards the server still answers a TCP and a UDP query and is
# still running.  Driven by tests/loadgen; see bench/RESULTS.md (part 3).
#
# A connection fails when it gets no complete reply within 10 s: a SYN that
# a full accept queue dropped is sent again after 1, 3 and 7 s, so this
# tolerates a busy machine but not a server that stops answering.  The whole
# run is cut off after 50 s (loadgen -T), and then fails.  On a 2-core
# machine shared with other jobs it took 6-10 s, 20 s when the other jobs
# kept both CPUs busy, 20-30 s then with --enable-sanitizers.
#
# Environment: LOAD_CONNS, LOAD_CONC, LOAD_IDLE, LOAD_BURST, LOAD_JUNK_RATE
# change the figures (defaults 100000, 256, 500, 2000, 2000 per second).
set -eu
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
conns=${LOAD_CONNS:-100000}
conc=${LOAD_CONC:-256}
idle=${LOAD_IDLE:-500}
burst=${LOAD_BURST:-2000}
junk=${LOAD_JUNK_RATE:-2000}
limit=50   # seconds; loadgen gives up then, and says so

server=$top_builddir/examples/time-server
loadgen=$top_builddir/tests/loadgen
if [ ! -x "$loadgen" ]; then
    echo "FAIL: $loadgen is not built (make check builds it; alone: make tests/loadgen)"
    exit 1
fi

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || :; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The log exists before the server does: the shell opens it in the child,
# and sed (under set -e) must not find it missing.
: >"$tmp/server.log"
"$server" -q -u -H 127.0.0.1 -p 0 2>"$tmp/server.log" &
pid=$!
port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\) (datagram).*/\1/p' "$tmp/server.log")
    [ -n "$port" ] || sleep 0.1
    i=$((i + 1))
done
if [ -z "$port" ]; then
    echo "time-server did not start:"
    cat "$tmp/server.log"
    exit 1
fi
echo "time-server pid $pid on 127.0.0.1:$port (stream and datagram)"

status=0
"$loadgen" -p "$port" -u "$port" -n "$conns" -c "$conc" -i "$idle" \
    -r "$burst" -j "$junk" -t 10000 -T "$limit" || status=$?
echo "loadgen exit status $status"

if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: time-server is no longer running"
    status=1
fi
# Anything the server said under load besides its start-up lines.
if grep -v 'listening on' "$tmp/server.log"; then
    echo "(time-server said the above under load)"
fi
[ "$status" -eq 0 ] || { echo "FAIL"; exit 1; }
echo "PASS"
