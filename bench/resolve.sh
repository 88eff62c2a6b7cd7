#!/bin/sh
# resolve.sh - nb_resolve without a deadline (inline), with one (on a
# helper thread), and getaddrinfo on a freshly created, joined thread (the
# floor of any thread-per-lookup design): wall time, system calls and
# user-space instructions per lookup.  Prints Markdown on stdout.
#
# Usage: bench/resolve.sh [BUILD_DIR]     (or `make bench-resolve`)
#
# BUILD_DIR is the build directory; default $BUILD_DIR, else the current
# directory when it has a config.status, else ../build next to this
# script's directory.  bench/resolve_bench is made there when missing.
#
# Environment (defaults in brackets):
#   HOST            the name looked up ["localhost", from /etc/hosts]
#   N1, N2          lookups of the two strace and callgrind runs of each
#                   mode; per lookup = (X(N2) - X(N1)) / (N2 - N1) [1000, 3000]
#   WALL_BATCH      lookups per timed batch [50]
#   WALL_ROUNDS     rounds of batches, each mode once per round [400]
#   SKIP            any of "wall strace callgrind" to leave out []
#
# No network is used; every step is bounded by timeout(1); the whole run
# takes about a minute.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
. "$here/common.sh"
bench_init resolve_bench "$@"

HOST=${HOST:-localhost}
N1=${N1:-1000}
N2=${N2:-3000}
WALL_BATCH=${WALL_BATCH:-50}
WALL_ROUNDS=${WALL_ROUNDS:-400}
SKIP=${SKIP:-}
MODES="gai inline bounded floor"
LIMIT=${LIMIT:-300}   # seconds, for any single step
RUN_ARGS=$HOST   # resolve_bench run MODE N HOST

machine_section libc

if ! skipped wall; then
    echo "## Wall time per lookup of \"$HOST\""
    echo
    echo "Batches of $WALL_BATCH lookups, the modes interleaved round by round in one"
    echo "process (order reversed every other round); a paired ratio compares the"
    echo "two batches of the same round.  CPU = user + system time of the whole"
    echo "process, helper threads included."
    echo
    timeout "$LIMIT" "$prog" wall "$WALL_BATCH" "$WALL_ROUNDS" "$HOST"
    echo
    echo "Load average after: $(load_average)"
    echo
fi

# Per lookup: (calls(N2) - calls(N1)) / (N2 - N1), per system call, every
# thread of the process included (strace -f).
if ! skipped strace && have strace; then
    echo "## System calls per lookup (strace -f -c)"
    echo
    strace_runs -f -U name,calls
    per_conn_table sys %.3g 0.005
    echo
fi

if ! skipped callgrind && have valgrind; then
    echo "## User-space instructions per lookup (callgrind, all threads)"
    echo
    callgrind_table lookup %.1f
    echo
fi
