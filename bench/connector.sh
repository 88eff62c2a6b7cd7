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
build=${1:-${BUILD_DIR:-}}
if [ -z "$build" ]; then
    if [ -f config.status ]; then
        build=.
    else
        build=$here/../build
    fi
fi
build=$(cd "$build" && pwd) || { echo "no build directory $build" >&2; exit 2; }
prog=$build/bench/connector_bench
if [ ! -x "$prog" ]; then
    make -C "$build" bench/connector_bench >&2
fi

CONNS=${CONNS:-20000}
INFLIGHT=${INFLIGHT:-200}
ROUNDS=${ROUNDS:-30}
N1=${N1:-2000}
N2=${N2:-6000}
SKIP=${SKIP:-}
MODES="raw raw-nested connector"
LIMIT=${LIMIT:-600}   # seconds, for any single step

skipped() {
    case " $SKIP " in *" $1 "*) return 0 ;; esac
    return 1
}
have() {
    command -v "$1" >/dev/null 2>&1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/connector-bench.XXXXXX")
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

# The server is a process of its own, never traced.  It exits by itself
# after 60 s without a client, should this script die without killing it.
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
    timeout "$LIMIT" "$@" "$prog" run "$mode" "$n" "$port" "$INFLIGHT"
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
                    if (c >= 0.005) any = 1
                    total[j] += c; etotal[j] += e
                    cell = (c < 0.005) ? "" : sprintf("%.2f", c)
                    if (e >= 0.005) cell = cell sprintf(" (%.2f failed)", e)
                    line = line " " cell " |"
                }
                if (any) print line
            }
            printf "| **total** |"
            for (j = 1; j <= nm; j++) {
                printf " **%.2f**", total[j]
                if (etotal[j] >= 0.005) printf " (%.2f failed)", etotal[j]
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
            awk 'NR > 2 && $1 !~ /^-/ && $1 != "total" {
                     print $1, $2, ($3 == "" ? 0 : $3) }' \
                "$tmp/strace.out" >"$tmp/$mode.$n.sys"
        done
    done
    per_conn_table sys $MODES
    echo
    echo "\"failed\": EINPROGRESS from the non-blocking connect.  The loop's own"
    echo "epoll_wait serves many connections at once: its count per connection"
    echo "depends on timing (strace slows the client down; see the next table)."
    echo
fi

if ! skipped perf && have perf &&
    perf stat -x, -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
    echo "## System calls per connection, free-running client (perf stat tracepoints)"
    echo
    events=raw_syscalls:sys_enter
    for s in epoll_create1 socket connect epoll_ctl epoll_wait getsockopt close; do
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
        -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.0f", (i2 - i1) / (n2 - n1) }'
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
    echo "### Where the instructions of \`connector\` go (Ir per connection)"
    echo
    echo "| function | inclusive | self |"
    echo "|---|---:|---:|"
    for incl in yes no; do
        for n in "$N1" "$N2"; do
            annotated "$n" "$tmp/connector.$n.$incl" | sed "s/^/$incl	/"
        done
    done | awk -F '\t' -v n1="$N1" -v n2="$N2" '
        { ir[$1, $2, $4] = $3; fns[$4] = 1 }
        END {
            for (f in fns) {
                d = (ir["yes", n2, f] - ir["yes", n1, f]) / (n2 - n1)
                s = (ir["no", n2, f] - ir["no", n1, f]) / (n2 - n1)
                if (d >= 10 && f !~ /PROGRAM TOTALS|\(below main\)|^\?\?\?|connector_bench\.c:main$|libc-start/)
                    printf "%.0f\t%.0f\t%s\n", d, s, f
            }
        }' | sort -t "$(printf '\t')" -k1,1gr -k3,3 | head -n 30 |
        awk -F '\t' '{ printf "| `%s` | %d | %d |\n", $3, $1, $2 }'
    echo
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
