#!/bin/sh
# connector.sh - nb_connector in an epoll loop against a hand-written
# non-blocking connect (and against the connector's own system calls made
# by hand): client CPU time, system calls and user-space instructions per
# connection, and what one connector holds.  Prints Markdown on stdout.
#
# Usage: bench/connector.sh [BUILD_DIR]   (or `make bench-connector`)
#
# BUILD_DIR is the build directory; default $BUILD_DIR, else the current
# directory when it has a config.status, else ../build next to this
# script's directory.  bench/connector_bench is made there when missing.
#
# Environment (defaults in brackets):
#   CONNS       connections per batch [20000]
#   INFLIGHT    connections in flight at a time [200]
#   ROUNDS      rounds of batches, each mode once per round [30]
#   N1, N2      connection counts of the two strace / perf / callgrind runs
#               of each mode; per connection = (X(N2) - X(N1)) / (N2 - N1),
#               so that start-up costs cancel [2000, 6000]
#   SKIP        any of "rounds strace perf callgrind footprint" to leave
#               out []
#
# Only loopback (127.0.0.1) and an ephemeral port are used.  Every step is
# bounded by timeout(1); the whole run takes about two minutes here.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
. "$here/common.sh"
bench_init connector_bench "$@"

CONNS=${CONNS:-20000}
INFLIGHT=${INFLIGHT:-200}
ROUNDS=${ROUNDS:-30}
N1=${N1:-2000}
N2=${N2:-6000}
SKIP=${SKIP:-}
MODES="raw raw-nested connector"
LIMIT=${LIMIT:-600}   # seconds, for any single step

start_server
RUN_ARGS="$port $INFLIGHT"   # connector_bench run MODE N PORT INFLIGHT

machine_section tools

# ------------------------------------------------------------ CPU time
if ! skipped rounds; then
    echo "## Client CPU time per connection"
    echo
    echo "Batches of $CONNS connections, $INFLIGHT in flight, one epoll loop; the"
    echo "modes interleaved round by round in one process (order reversed every"
    echo "other round); a paired ratio compares the batches of one round.  Client"
    echo "CPU = user + system time of the client process (the server is another"
    echo "process)."
    echo
    timeout "$LIMIT" "$prog" rounds "$port" "$CONNS" "$ROUNDS" "$INFLIGHT"
    echo
    echo "Load average after: $(load_average)"
    echo
fi

# ------------------------------------------------------------ system calls
if ! skipped strace && have strace; then
    echo "## System calls per connection (strace -c, client only)"
    echo
    strace_runs -U name,calls,errors
    per_conn_table sys %.2f 0.005
    echo
    echo "\"failed\": EINPROGRESS from the non-blocking connect.  The loop's own"
    echo "epoll_wait serves many connections at once: its count per connection"
    echo "depends on timing (strace slows the client down; see the next table)."
    echo
fi

perf_section %.2f 0.005 epoll_create1 socket connect epoll_ctl epoll_wait getsockopt close

# ------------------------------------------------------------ instructions
if ! skipped callgrind && have valgrind; then
    echo "## User-space instructions per connection (callgrind, client only)"
    echo
    callgrind_table connection %.0f annotate
    echo
    where_table connector %.0f
fi

# ------------------------------------------------------------ footprint
if ! skipped footprint; then
    echo "## What one connector holds"
    echo
    echo "1,000 connectors held at once (their attempts in flight or connected,"
    echo "not yet stepped to the end); heap bytes from mallinfo2 (bytes in use,"
    echo "malloc's chunk headers included) with glibc's per-thread caches and"
    echo "extra arenas off, so that only what is held is counted."
    echo
    GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1 \
        timeout "$LIMIT" "$prog" footprint "$port"
    echo
fi
