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
build=${1:-${BUILD_DIR:-}}
if [ -z "$build" ]; then
    if [ -f config.status ]; then
        build=.
    else
        build=$here/../build
    fi
fi
build=$(cd "$build" && pwd) || { echo "no build directory $build" >&2; exit 2; }
prog=$build/bench/resolve_bench
if [ ! -x "$prog" ]; then
    make -C "$build" bench/resolve_bench >&2
fi

HOST=${HOST:-localhost}
N1=${N1:-1000}
N2=${N2:-3000}
WALL_BATCH=${WALL_BATCH:-50}
WALL_ROUNDS=${WALL_ROUNDS:-400}
SKIP=${SKIP:-}
MODES="gai inline bounded floor"
LIMIT=${LIMIT:-300}   # seconds, for any single step

skipped() {
    case " $SKIP " in *" $1 "*) return 0 ;; esac
    return 1
}
have() {
    command -v "$1" >/dev/null 2>&1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/resolve-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

run() {  # run MODE N [wrapper...]
    mode=$1 n=$2
    shift 2
    timeout "$LIMIT" "$@" "$prog" run "$mode" "$n" "$HOST"
}

echo "## Machine"
echo
echo "- CPUs: $(nproc) (nproc); model name: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | paste -sd ';' -)"
echo "- Kernel: $(uname -sr); C library: $(ldd --version 2>&1 | head -n 1)"
cc=$(sed -n "s/^CC='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
cflags=$(sed -n "s/^CFLAGS='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
echo "- Compiler: $(${cc:-cc} --version | head -n 1) (CFLAGS '$cflags'), shared libnetbasics"
echo "- Load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo

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
    echo "Load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo
fi

# Per lookup: (calls(N2) - calls(N1)) / (N2 - N1), per system call, every
# thread of the process included (strace -f).
if ! skipped strace && have strace; then
    echo "## System calls per lookup (strace -f -c)"
    echo
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" strace -f -c -U name,calls -o "$tmp/strace.out"
            awk 'NR > 2 && $1 !~ /^-/ && $1 != "total" { print $1, $2 }' \
                "$tmp/strace.out" >"$tmp/$mode.$n.sys"
        done
    done
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            sed "s/^/$mode $n /" "$tmp/$mode.$n.sys"
        done
    done | awk -v n1="$N1" -v n2="$N2" -v modes="$MODES" '
        { calls[$1, $2, $3] = $4
          if (!($3 in seen)) { seen[$3] = 1; order[++nkeys] = $3 } }
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
                    if (c < 0.005 && c > -0.005) c = 0
                    if (c != 0) any = 1
                    total[j] += c
                    line = line " " ((c == 0) ? "" : sprintf("%.3g", c)) " |"
                }
                if (any) print line
            }
            printf "| **total** |"
            for (j = 1; j <= nm; j++) printf " **%.3g** |", total[j]
            printf "\n"
        }'
    echo
fi

if ! skipped callgrind && have valgrind; then
    echo "## User-space instructions per lookup (callgrind, all threads)"
    echo
    echo "| mode | Ir, N = $N1 | Ir, N = $N2 | Ir per lookup |"
    echo "|---|---:|---:|---:|"
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" valgrind --tool=callgrind \
                --callgrind-out-file="$tmp/$mode.$n.cg" >/dev/null 2>&1
            # one file per thread with --separate-threads; one here: the sum
            sed -n 's/^summary: *//p' "$tmp/$mode.$n.cg" >"$tmp/$mode.$n.ir"
        done
        awk -v i1="$(cat "$tmp/$mode.$N1.ir")" -v i2="$(cat "$tmp/$mode.$N2.ir")" \
            -v n1="$N1" -v n2="$N2" -v mode="$mode" \
            'BEGIN { printf "| %s | %s | %s | %.1f |\n", mode, i1, i2, (i2 - i1) / (n2 - n1) }'
    done
    echo
fi
