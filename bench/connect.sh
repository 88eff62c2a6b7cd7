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
build=${1:-${BUILD_DIR:-}}
if [ -z "$build" ]; then
    if [ -f config.status ]; then
        build=.
    else
        build=$here/../build
    fi
fi
build=$(cd "$build" && pwd) || { echo "no build directory $build" >&2; exit 2; }
prog=$build/bench/connect_bench
if [ ! -x "$prog" ]; then
    make -C "$build" bench/connect_bench >&2
fi

N1=${N1:-1000}
N2=${N2:-3000}
WALL_BATCH=${WALL_BATCH:-50}
WALL_ROUNDS=${WALL_ROUNDS:-400}
SKIP=${SKIP:-}
MODES="raw nb raw-timed raw-timed-eager nb-timed"
LIMIT=${LIMIT:-180}   # seconds, for any single step

skipped() {
    case " $SKIP " in *" $1 "*) return 0 ;; esac
    return 1
}
have() {
    command -v "$1" >/dev/null 2>&1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/connect-bench.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || :
        wait "$server_pid" 2>/dev/null || :
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server is a process of its own, never traced: strace -c and callgrind
# below see the client alone.  It exits by itself after 60 s without a
# client, should this script die without killing it.
"$prog" server 60 >"$tmp/port" &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server did not start" >&2
        exit 1
    fi
    sleep 0.05
done
port=$(cat "$tmp/port")

run() {  # run MODE N [wrapper...]: the client, bounded in time
    mode=$1 n=$2
    shift 2
    timeout "$LIMIT" "$@" "$prog" run "$mode" "$n" "$port"
}

echo "## Machine"
echo
echo "- CPUs: $(nproc) (nproc); model name: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | paste -sd ';' -)"
echo "- Kernel: $(uname -sr)"
cc=$(sed -n "s/^CC='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
cflags=$(sed -n "s/^CFLAGS='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
echo "- Compiler: $(${cc:-cc} --version | head -n 1) (CFLAGS '$cflags'), shared libnetbasics"
echo "- Tools: $(strace -V 2>/dev/null | head -n 1), $(valgrind --version 2>/dev/null)"
echo "- Load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo

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
    echo "Load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo
fi

# ------------------------------------------------------------ system calls
# Per connection: (calls(N2) - calls(N1)) / (N2 - N1), per system call.
per_conn_table() {  # per_conn_table SUFFIX MODE...: Markdown from $tmp/MODE.N.SUFFIX
    suffix=$1
    shift
    for mode in "$@"; do
        for n in "$N1" "$N2"; do
            sed "s/^/$mode $n /" "$tmp/$mode.$n.$suffix"
        done
    done | awk -v n1="$N1" -v n2="$N2" -v modes="$*" '
        { key = $3; calls[$1, $2, key] = $4; errs[$1, $2, key] = $5
          if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key } }
        END {
            nm = split(modes, m, " ")
            printf "| system call |"
            for (j = 1; j <= nm; j++) printf " %s |", m[j]
            printf "\n|---|"
            for (j = 1; j <= nm; j++) printf "---:|"
            printf "\n"
            for (k = 1; k <= nkeys; k++) {
                key = order[k]; line = "| " key " |"; any = 0
                for (j = 1; j <= nm; j++) {
                    c = (calls[m[j], n2, key] - calls[m[j], n1, key]) / (n2 - n1)
                    e = (errs[m[j], n2, key] - errs[m[j], n1, key]) / (n2 - n1)
                    if (c != 0) any = 1
                    total[j] += c; etotal[j] += e
                    cell = (c == 0) ? "" : sprintf("%.3g", c)
                    if (e != 0) cell = cell sprintf(" (%.3g failed)", e)
                    line = line " " cell " |"
                }
                if (any) print line
            }
            printf "| **total** |"
            for (j = 1; j <= nm; j++) {
                printf " **%.3g**", total[j]
                if (etotal[j] != 0) printf " (%.3g failed)", etotal[j]
                printf " |"
            }
            printf "\n"
        }'
}

if ! skipped strace && have strace; then
    echo "## System calls per connection (strace -c, client only)"
    echo
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" strace -c -U name,calls,errors -o "$tmp/strace.out"
            # "name calls errors" with errors possibly blank -> 0.
            awk 'NR > 2 && $1 !~ /^-/ && $1 != "total" {
                     print $1, $2, ($3 == "" ? 0 : $3) }' \
                "$tmp/strace.out" >"$tmp/$mode.$n.sys"
        done
    done
    per_conn_table sys $MODES
    echo
    echo "\"failed\": calls that returned -1 (EINPROGRESS from a non-blocking connect,"
    echo "EAGAIN from a recv that found no data).  strace stops the client at every"
    echo "system call, which slows it down: how often a recv finds no data yet"
    echo "depends on timing, so the failed recv + poll pairs of the timed modes are"
    echo "fewer here than in a free-running client (next table)."
    echo
fi

# perf counts system calls through tracepoints, without stopping the
# client: timing-dependent counts are those of a free-running client.
if ! skipped perf && have perf &&
    perf stat -x, -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
    echo "## System calls per connection, free-running client (perf stat tracepoints)"
    echo
    events=raw_syscalls:sys_enter
    for s in socket connect poll getsockopt ioctl read recvfrom close; do
        events=$events,syscalls:sys_enter_$s
    done
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" perf stat -x, -o "$tmp/perf.out" -e "$events"
            awk -F, '$3 ~ /sys_enter/ { name = $3
                     sub(/^.*sys_enter_?/, "", name)
                     if (name == "") name = "all"
                     print name, $1, 0 }' "$tmp/perf.out" >"$tmp/$mode.$n.perf"
        done
    done
    per_conn_table perf $MODES | grep -v '^| \*\*total'
    echo
    echo "\"all\" counts every system call; the others are the ones of interest."
    echo
fi

# ------------------------------------------------------------ instructions
ir_per_conn() {  # ir_per_conn MODE: (Ir(N2) - Ir(N1)) / (N2 - N1)
    awk -v i1="$(cat "$tmp/$1.$N1.ir")" -v i2="$(cat "$tmp/$1.$N2.ir")" \
        -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.1f", (i2 - i1) / (n2 - n1) }'
}

# Lines "N<TAB>Ir<TAB>file:function" from callgrind_annotate's output.
annotated() {  # annotated N FILE
    awk -v n="$1" '/^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]/ {
             ir = $1; gsub(/,/, "", ir)
             sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "")
             sub(/ \[.*\]$/, "")
             fn = $0; sub(/^.*\//, "", fn)
             printf "%s\t%s\t%s\n", n, ir, fn }' "$2"
}

if ! skipped callgrind && have valgrind; then
    echo "## User-space instructions per connection (callgrind, client only)"
    echo
    echo "| mode | Ir, N = $N1 | Ir, N = $N2 | Ir per connection |"
    echo "|---|---:|---:|---:|"
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" valgrind --tool=callgrind \
                --callgrind-out-file="$tmp/$mode.$n.cg" >/dev/null 2>&1
            for incl in yes no; do
                callgrind_annotate --inclusive=$incl --threshold=100 \
                    --auto=no "$tmp/$mode.$n.cg" >"$tmp/$mode.$n.$incl"
            done
            sed -n 's/^summary: *//p' "$tmp/$mode.$n.cg" >"$tmp/$mode.$n.ir"
        done
        echo "| $mode | $(cat "$tmp/$mode.$N1.ir") | $(cat "$tmp/$mode.$N2.ir") | $(ir_per_conn "$mode") |"
    done
    echo
    echo "| library over hand-written | extra Ir per connection |"
    echo "|---|---:|"
    for pair in nb:raw nb-timed:raw-timed nb-timed:raw-timed-eager; do
        a=${pair%:*} b=${pair#*:}
        awk -v a="$(ir_per_conn "$a")" -v b="$(ir_per_conn "$b")" \
            -v name="$a − $b" 'BEGIN { printf "| %s | %+.1f |\n", name, a - b }'
    done
    echo
    echo "Valgrind gives the client no vDSO: clock_gettime is a real system call"
    echo "under callgrind, so the clock reads of the timed modes cost a few"
    echo "instructions less here than natively (alike for raw and nb)."
    echo
    # The functions under the library calls, per connection by the same
    # difference of two runs.
    for mode in nb nb-timed; do
        echo "### Where the instructions of \`$mode\` go (Ir per connection)"
        echo
        echo "| function | inclusive | self |"
        echo "|---|---:|---:|"
        for incl in yes no; do
            for n in "$N1" "$N2"; do
                annotated "$n" "$tmp/$mode.$n.$incl" | sed "s/^/$incl	/"
            done
        done | awk -F '\t' -v n1="$N1" -v n2="$N2" '
            { ir[$1, $2, $4] = $3; fns[$4] = 1 }
            END {
                for (f in fns) {
                    d = (ir["yes", n2, f] - ir["yes", n1, f]) / (n2 - n1)
                    s = (ir["no", n2, f] - ir["no", n1, f]) / (n2 - n1)
                    if (d >= 10 && f !~ /PROGRAM TOTALS|\(below main\)|^\?\?\?|connect_bench\.c:main$|libc-start/)
                        printf "%.1f\t%.1f\t%s\n", d, s, f
                }
            }' | sort -t "$(printf '\t')" -k1,1gr -k3,3 | head -n 30 |
            awk -F '\t' '{ printf "| `%s` | %.1f | %.1f |\n", $3, $1, $2 }'
        echo
    done
    echo "\`connect_bench.c:nb\` and \`connect_bench.c:nb_timed\` are the benchmark's"
    echo "loop bodies: the two library calls, close(2) and a length check."
    echo
fi
