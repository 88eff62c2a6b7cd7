#!/bin/sh
# connect.sh - nb_tcp_connect + nb_recv_all against the same steps done
# with raw system calls: wall time, system calls and user-space
# instructions per connection.  Prints Markdown on stdout.
#
# Usage: bench/connect.sh [BUILD_DIR]     (or `make bench` in the build dir)
#
# BUILD_DIR is the (out-of-tree) build directory; default $BUILD_DIR, else
# the current directory when it has a Makefile, else ../build next to this
# script's directory.  bench/connect_bench is made there when missing.
#
# Environment (defaults in brackets):
#   N1, N2          connection counts of the two strace and callgrind runs
#                   of each mode; per connection = (X(N2) - X(N1)) / (N2 - N1)
#                   so that start-up costs cancel [1000, 3000]
#   WALL_BATCH      connections per timed batch [50]
#   WALL_ROUNDS     rounds of batches, each mode once per round [400]
#   SKIP            any of "wall strace perf callgrind" to leave out []
#
# Only loopback (127.0.0.1) and an ephemeral port are used.  Every step is
# bounded by timeout(1); the whole run takes about a minute.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
. "$here/common.sh"
bench_init connect_bench "$@"

N1=${N1:-1000}
N2=${N2:-3000}
WALL_BATCH=${WALL_BATCH:-50}
WALL_ROUNDS=${WALL_ROUNDS:-400}
SKIP=${SKIP:-}
MODES="raw nb raw-timed raw-timed-eager nb-timed"
LIMIT=${LIMIT:-180}   # seconds, for any single step

start_server
RUN_ARGS=$port   # connect_bench run MODE N PORT

machine_section tools

# ------------------------------------------------------------ wall time
if ! skipped wall; then
    echo "## Wall time per connection"
    echo
    echo "Batches of $WALL_BATCH connections, the modes interleaved round by round in"
    echo "one process (order reversed every other round); the paired ratio compares"
    echo "the two batches of the same round.  Client CPU = user + system time of the"
    echo "client process (the server runs in another process)."
    echo
    echo "### Without a deadline (timeout_ms = 0)"
    echo
    timeout "$LIMIT" "$prog" wall "$port" "$WALL_BATCH" "$WALL_ROUNDS" raw,nb
    echo
    echo "### With a deadline (timeout_ms = 1000)"
    echo
    timeout "$LIMIT" "$prog" wall "$port" "$WALL_BATCH" "$WALL_ROUNDS" \
        raw-timed,raw-timed-eager,nb-timed
    echo
    echo "Load average after: $(load_average)"
    echo
fi

# ------------------------------------------------------------ system calls
if ! skipped strace && have strace; then
    echo "## System calls per connection (strace -c, client only)"
    echo
    strace_runs -U name,calls,errors
    per_conn_table sys %.3g 0
    echo
    echo "\"failed\": calls that returned -1 (EINPROGRESS from a non-blocking connect,"
    echo "EAGAIN from a recv that found no data).  strace stops the client at every"
    echo "system call, which slows it down: how often a recv finds no data yet"
    echo "depends on timing, so the failed recv + poll pairs of the timed modes are"
    echo "fewer here than in a free-running client (next table)."
    echo
fi

perf_section %.3g 0 socket connect poll getsockopt ioctl read recvfrom close

# ------------------------------------------------------------ instructions
if ! skipped callgrind && have valgrind; then
    echo "## User-space instructions per connection (callgrind, client only)"
    echo
    callgrind_table connection %.1f annotate
    echo
    echo "| library over hand-written | extra Ir per connection |"
    echo "|---|---:|"
    for pair in nb:raw nb-timed:raw-timed nb-timed:raw-timed-eager; do
        a=${pair%:*} b=${pair#*:}
        awk -v a="$(ir_per "$a" %.1f)" -v b="$(ir_per "$b" %.1f)" \
            -v name="$a − $b" 'BEGIN { printf "| %s | %+.1f |\n", name, a - b }'
    done
    echo
    echo "Valgrind gives the client no vDSO: clock_gettime is a real system call"
    echo "under callgrind, so the clock reads of the timed modes cost a few"
    echo "instructions less here than natively (alike for raw and nb)."
    echo
    # The functions under the library calls, per connection by the same
    # difference of two runs.
    where_table nb %.1f
    where_table nb-timed %.1f
    echo "\`connect_bench.c:nb\` and \`connect_bench.c:nb_timed\` are the benchmark's"
    echo "loop bodies: the two library calls, close(2) and a length check."
    echo
fi
