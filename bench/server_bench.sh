#!/bin/sh
# server_bench.sh - time-server -q against a minimal hand-written C server
# (bench/raw_server) and the classic Python server (bench/classic_server.py):
# connections per second, and server CPU time per connection.
#
#   bench/server_bench.sh [-b BUILDDIR] [-n CONNS] [-c CONC] [-r ROUNDS]
#                         [-y PYCONNS] [-o OUTDIR] [-s PROFCONNS]
#                         [-l "SERVER ..."]
#
#   -b BUILDDIR  a configured build tree (default: configure and build one in
#                a temporary directory); tests/loadgen, bench/raw_server and
#                examples/time-server are made there if missing
#   -n CONNS     connections per run (default 100000)
#   -c CONC      connections in flight (default 128)
#   -r ROUNDS    rounds; each runs every server once, in a rotating order
#                so that drifting machine load hits all alike (default 3)
#   -y PYCONNS   connections per run for the Python server (default CONNS)
#   -o OUTDIR    where server-bench.dat, server-bench-summary.dat,
#                server-bench.md, server-bench.png and
#                server-bench-profile.md go (default .)
#   -s N         also profile the two C servers over N connections, at
#                concurrency 1 and CONC: system calls per connection with
#                strace -c -f and (at full speed) perf stat, user-space
#                instructions per connection with valgrind's callgrind;
#                each when installed (default 0: no profile)
#   -l SERVERS   which servers to run, of time-server, raw_server and
#                classic_server.py (default: all three)
#
# Each server runs on its own fresh ephemeral loopback port, pinned to CPU 0;
# the load generator is pinned to CPU 1.  Before each measured run the
# server gets 2,000 warm-up connections.  CPU time is utime + stime of the
# server process from /proc/PID/stat, read just before and just after the
# run (cross-checked with sum_exec_runtime from /proc/PID/schedstat, in ns).
#
# Exit status: 0 when every connection of every run completed, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
build=
conns=100000
conc=128
rounds=3
pyconns=
outdir=.
prof_conns=0
warmup=2000

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

servers=
while getopts b:n:c:r:y:o:s:l:h opt; do
    case $opt in
    b) build=$OPTARG ;;
    n) conns=$OPTARG ;;
    c) conc=$OPTARG ;;
    r) rounds=$OPTARG ;;
    y) pyconns=$OPTARG ;;
    o) outdir=$OPTARG ;;
    s) prof_conns=$OPTARG ;;
    l) servers=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
: "${pyconns:=$conns}"
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

tmp=$(mktemp -d)
server_pid=
strace_pid=
cleanup() {
    if [ -n "$strace_pid" ]; then kill "$strace_pid" 2>/dev/null || :; fi
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || :; fi
    wait 2>/dev/null || :
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build
if [ -z "$build" ]; then
    [ -x "$srcdir/configure" ] || {
        echo "server_bench.sh: no build dir given and no $srcdir/configure;" \
             "run ./autogen.sh first, or pass -b BUILDDIR" >&2
        exit 2
    }
    build=$tmp/build
    mkdir -p "$build"
    echo "building in $build ..." >&2
    (cd "$build" && "$srcdir/configure" >/dev/null)
fi
build=$(cd "$build" && pwd)
make -C "$build" -s examples/time-server tests/loadgen bench/raw_server >&2

loadgen=$build/tests/loadgen
python=$(command -v python3 || :)

# ------------------------------------------------------------------- CPUs
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    on_server_cpu="taskset -c 0"
    on_client_cpu="taskset -c 1"
else
    echo "server_bench.sh: fewer than 2 CPUs (or no taskset): not pinning" >&2
    on_server_cpu=
    on_client_cpu=
fi
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------- servers
server_cmd() {
    case $1 in
    time-server) echo "$build/examples/time-server -q -H 127.0.0.1 -p 0" ;;
    raw_server)  echo "$build/bench/raw_server -H 127.0.0.1 -p 0" ;;
    classic_server.py)  echo "$python $srcdir/bench/classic_server.py -H 127.0.0.1 -p 0" ;;
    esac
}

# start_server NAME: starts it pinned, sets server_pid and port.  $wrap,
# when set, is a command (valgrind) to run the server under.
wrap=
starts=0
start_server() {
    starts=$((starts + 1))
    log=$tmp/$1.$starts.log  # a fresh file: never read an old port
    : > "$log"
    # shellcheck disable=SC2046,SC2086  # both split on purpose
    $on_server_cpu $wrap $(server_cmd "$1") 2>"$log" &
    server_pid=$!
    port=
    i=0
    while [ -z "$port" ] && [ $i -lt 300 ]; do
        port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\) (stream).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] || sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$port" ]; then
        echo "server_bench.sh: $1 did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
}

stop_server() {
    kill "$server_pid" 2>/dev/null || :
    wait "$server_pid" 2>/dev/null || :
    server_pid=
}

# utime + stime (clock ticks) and sum_exec_runtime (ns) of the server
cpu_ticks() { sed 's/.*) //' "/proc/$server_pid/stat" | awk '{ print $12 + $13 }'; }
cpu_ns()    { awk '{ print $1 }' "/proc/$server_pid/schedstat"; }

field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p"; }

failures=0
if [ -z "$servers" ]; then
    servers="time-server raw_server"
    if [ -n "$python" ]; then
        servers="$servers classic_server.py"
    else
        echo "server_bench.sh: no python3; skipping classic_server.py" >&2
    fi
fi
for s in $servers; do
    case $s in
    time-server|raw_server|classic_server.py) ;;
    *) echo "server_bench.sh: unknown server '$s'" >&2; exit 2 ;;
    esac
done

# ------------------------------------------------------------------- runs
data=$outdir/server-bench.dat
{
    echo "# server_bench.sh $(date -u '+%Y-%m-%dT%H:%M:%SZ'): $(nproc) CPUs," \
         "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
    echo "# concurrency $conc; server on CPU 0, loadgen on CPU 1; CLK_TCK $clk_tck"
    echo "# server round conns completed failed elapsed_s conn_per_s cpu_ticks cpu_us_per_conn sched_us_per_conn max_ms over_1s"
} > "$data"

round=1
while [ "$round" -le "$rounds" ]; do
    # rotate the order: round 1 a b c, round 2 b c a, ...
    order=$(echo "$servers" | awk -v r="$round" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
    for s in $order; do
        n=$conns
        [ "$s" = classic_server.py ] && n=$pyconns
        start_server "$s"
        $on_client_cpu "$loadgen" -p "$port" -n "$warmup" -c "$conc" -T 60 >/dev/null || {
            echo "server_bench.sh: warm-up against $s failed" >&2
            failures=$((failures + 1))
        }
        t0=$(cpu_ticks); n0=$(cpu_ns)
        out=$($on_client_cpu "$loadgen" -p "$port" -n "$n" -c "$conc" -T 300 2>"$tmp/loadgen.err") || :
        t1=$(cpu_ticks); n1=$(cpu_ns)
        stop_server
        completed=$(echo "$out" | field completed)
        failed=$(echo "$out" | field failed)
        elapsed=$(echo "$out" | field elapsed_s)
        rate=$(echo "$out" | field conn_per_s)
        if [ -z "$completed" ] || [ "$failed" != 0 ]; then
            echo "server_bench.sh: $s round $round: failures: $out" >&2
            cat "$tmp/loadgen.err" >&2
            failures=$((failures + 1))
        fi
        awk -v s="$s" -v r="$round" -v n="$n" -v c="${completed:-0}" \
            -v f="${failed:-$n}" -v e="${elapsed:-0}" -v rate="${rate:-0}" \
            -v t="$((t1 - t0))" -v ns="$((n1 - n0))" -v hz="$clk_tck" \
            -v mx="$(echo "$out" | field max_ms)" -v slow="$(echo "$out" | field over_1s)" 'BEGIN {
                printf "%s %d %d %d %d %s %s %d %.3f %.3f %s %s\n", s, r, n, c, f, e, rate,
                       t, t * 1e6 / hz / n, ns / 1000 / n, (mx == "" ? "-" : mx), (slow == "" ? "-" : slow) }' >> "$data"
        tail -n 1 "$data" | awk '{ printf "round %d  %-17s %7d conns  %6d failed  %8.0f conn/s  %7.2f us CPU/conn (schedstat %.2f)  slowest %s ms\n",
                                     $2, $1, $3, $5, $7, $9, $10, $11 }' >&2
    done
    round=$((round + 1))
done

# ---------------------------------------------------------------- summary
# Per server: median, min and max over the rounds.
summary=$outdir/server-bench-summary.dat
awk '
/^#/ { next }
{
    k = $1; n[k]++; order[k] = order[k] ? order[k] : ++nk; name[order[k]] = k
    rate[k, n[k]] = $7; cpu[k, n[k]] = $9; sch[k, n[k]] = $10; fail[k] += $5
    conns[k] = $3
}
function sort(a, k, m,    i, j, t) {
    for (i = 1; i <= m; i++) v[i] = a[k, i]
    for (i = 2; i <= m; i++)
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
}
function median(m) { return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2 }
BEGIN { print "# server conns runs failed rate_median rate_min rate_max cpu_median cpu_min cpu_max sched_median" }
END {
    for (o = 1; o <= nk; o++) {
        k = name[o]; m = n[k]
        sort(rate, k, m); rm = median(m); rl = v[1]; rh = v[m]
        sort(cpu, k, m);  cm = median(m); cl = v[1]; ch = v[m]
        sort(sch, k, m);  sm = median(m)
        printf "%s %d %d %d %.0f %.0f %.0f %.3f %.3f %.3f %.3f\n", k, conns[k], m, fail[k], rm, rl, rh, cm, cl, ch, sm
    }
}' "$data" > "$summary"

md=$outdir/server-bench.md
awk -v conc="$conc" '
/^#/ { next }
{ row[NR] = $0; if ($1 == "raw_server") raw = $8; if ($1 == "time-server") ts = $8 }
END {
    print "| server | connections/run | runs | failed | conn/s (median) | conn/s (min-max) | CPU us/conn (median) | CPU us/conn (min-max) | CPU vs raw_server |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (i = 2; i <= NR; i++) {
        if (!(i in row)) continue
        split(row[i], f, " ")
        printf "| %s | %d | %d | %d | %d | %d-%d | %.2f | %.2f-%.2f | %s |\n", \
            (f[1] == "time-server" ? "time-server -q" : f[1]), \
            f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], \
            (raw > 0 ? sprintf("%+.1f%%", (f[8] / raw - 1) * 100) : "-")
    }
    if (raw > 0 && ts > 0)
        printf "\nRatio of the medians: time-server CPU/conn is %.1f%% of raw_server CPU/conn.\n", ts / raw * 100
}' "$summary" > "$md"
# The two C servers run in the same round a few seconds apart, so the
# ratio within each round is less exposed to the machine's drifting load
# than the ratio of medians taken over the whole run.
awk '
/^#/ { next }
$1 == "time-server" { ts[$2] = $9 }
$1 == "raw_server"  { raw[$2] = $9 }
END {
    m = 0
    for (r in ts) if ((r in raw) && raw[r] > 0) v[++m] = ts[r] / raw[r]
    if (m == 0) exit
    for (i = 2; i <= m; i++)
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    med = m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    printf "Paired, round by round: time-server CPU/conn / raw_server CPU/conn ="
    for (i = 1; i <= m; i++) printf " %.2f", v[i]
    printf " (sorted); median %.1f%%.\n", med * 100
    printf "Target, time-server CPU/conn within 10%% of raw_server (median paired ratio <= 110%%): %s\n", \
        (med <= 1.10 ? "met" : "NOT met")
}' "$data" >> "$md"
cat "$md"

# ------------------------------------------------------------------- plot
if command -v gnuplot >/dev/null; then
    nserv=$(grep -vc '^#' "$summary")
    gnuplot <<EOF
set terminal pngcairo noenhanced size 1000,420 font "sans,10"
set output "$outdir/server-bench.png"
set multiplot layout 1,2 title "daytime servers on loopback: $conns connections per run, $conc in flight, server and loadgen pinned to one CPU each ($(nproc) CPUs)\\nbars: median of $rounds runs; whiskers: min-max"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xrange [-0.6:$nserv - 0.4]
set xtics scale 0
set title "connections per second (higher is better)"
plot "$summary" using 0:5:xtic(1) with boxes lc rgb "#4477aa" notitle, \\
     "" using 0:5:6:7 with yerrorbars lc rgb "black" pt 7 ps 0.4 notitle, \\
     "" using 0:7:(sprintf("%.0f", \$5)) with labels offset 0,1 notitle
set title "server CPU time per connection, us (lower is better)"
plot "$summary" using 0:8:xtic(1) with boxes lc rgb "#cc6677" notitle, \\
     "" using 0:8:9:10 with yerrorbars lc rgb "black" pt 7 ps 0.4 notitle, \\
     "" using 0:10:(sprintf("%.2f", \$8)) with labels offset 0,1 notitle
unset multiplot
EOF
    echo "plot: $outdir/server-bench.png" >&2
else
    echo "server_bench.sh: no gnuplot; no plot" >&2
fi

# ----------------------------------------------------------- system calls
# count_syscalls TOOL SERVER CONC N: system calls of SERVER while it serves
# N connections at concurrency CONC, one "name calls errors" line each, in
# $tmp/TOOL-SERVER-CONC.count.  TOOL strace: strace -c -f attached to the
# server (which slows it down many times over); TOOL perf: perf stat
# counting syscall tracepoints in the kernel, at full speed.
count_syscalls() {
    tool=$1 s=$2 c=$3 n=$4
    raw=$tmp/$tool-$s-$c.raw
    start_server "$s"
    $on_client_cpu "$loadgen" -p "$port" -n "$warmup" -c "$c" >/dev/null || :
    if [ "$tool" = strace ]; then
        strace -c -f -o "$raw" -p "$server_pid" 2>/dev/null &
    else
        events=raw_syscalls:sys_enter
        for call in accept4 sendto write close ppoll poll getpeername; do
            events=$events,syscalls:sys_enter_$call
        done
        perf stat -x, -o "$raw" -e "$events" \
            -e syscalls:sys_exit_accept4 --filter 'ret < 0' -p "$server_pid" &
    fi
    strace_pid=$!
    sleep 1  # let the tracer attach
    $on_client_cpu "$loadgen" -p "$port" -n "$n" -c "$c" -T 300 \
        >"$tmp/loadgen.out" 2>&1 || failures=$((failures + 1))
    kill -INT "$strace_pid"
    wait "$strace_pid" 2>/dev/null || :
    strace_pid=
    stop_server
    if [ "$tool" = strace ]; then
        # % time, seconds, usecs/call, calls, [errors], syscall
        awk '/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ {
                 print ($NF == "total" ? "TOTAL" : $NF), $4, (NF == 6 ? $5 : 0) }' "$raw"
    else
        awk -F, '/^[0-9]/ {
                     name = $3; sub(/.*:sys_(enter|exit)_/, "", name)
                     if ($3 ~ /raw_syscalls/) print "TOTAL", $1, 0
                     else if ($3 ~ /sys_exit_/) errs[name] = $1
                     else calls[name] = $1
                 }
                 END { for (k in calls) if (calls[k] > 0) print k, calls[k], errs[k] + 0 }' "$raw"
    fi > "$tmp/$tool-$s-$c.count"
}

# syscall_table TOOL CONC N: the Markdown table for both C servers.
syscall_table() {
    awk -v n="$(($3 + 1))" '
        FNR == 1 { file++ }
        { c[$1, file] = $2; e[$1, file] = $3; if ($1 != "TOTAL") seen[$1] = 1 }
        function cell(k, f) {
            return sprintf("%.2f%s", c[k, f] / n,
                           e[k, f] ? sprintf(" (%.2f failed)", e[k, f] / n) : "")
        }
        END {
            for (k in seen)
                printf "%.4f|| %s | %s | %s |\n", c[k, 1] + c[k, 2], k, cell(k, 1), cell(k, 2)
            printf "-1|| **all** | **%s** | **%s** |\n", cell("TOTAL", 1), cell("TOTAL", 2)
        }' "$tmp/$1-time-server-$2.count" "$tmp/$1-raw_server-$2.count" |
        sort -t'|' -k1,1 -g -r | cut -d'|' -f2-
}

# count_instructions SERVER CONC N: user-space instructions (callgrind's
# Ir) of SERVER while it serves N connections, counters zeroed after the
# warm-up; the number goes to $tmp/cg-SERVER-CONC.ir.
count_instructions() {
    s=$1 c=$2 n=$3
    out=$tmp/cg-$s-$c.out
    wrap="$build/libtool --mode=execute valgrind --tool=callgrind --callgrind-out-file=$out"
    start_server "$s"
    wrap=
    $on_client_cpu "$loadgen" -p "$port" -n "$warmup" -c "$c" >/dev/null || :
    callgrind_control -z "$server_pid" >/dev/null 2>&1
    $on_client_cpu "$loadgen" -p "$port" -n "$n" -c "$c" -T 600 \
        >"$tmp/loadgen.out" 2>&1 || failures=$((failures + 1))
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    stop_server
    sed -n 's/^summary: //p' "$out".* | head -n 1 > "$tmp/cg-$s-$c.ir"
}

if [ "$prof_conns" -gt 0 ]; then
    prof=$outdir/server-bench-profile.md
    : > "$prof"
    tools=
    command -v strace >/dev/null && tools=strace
    if command -v perf >/dev/null &&
       perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
        tools="$tools perf"
    fi
    [ -n "$tools" ] || echo "server_bench.sh: neither strace nor perf; no system call counts" >&2
    for tool in $tools; do
        for c in 1 "$conc"; do
            for s in time-server raw_server; do
                count_syscalls "$tool" "$s" "$c" "$prof_conns"
            done
            {
                if [ "$tool" = strace ]; then
                    echo "System calls per connection, strace -c -f attached to the server, concurrency $c, $prof_conns connections (+1, the loadgen's final query):"
                else
                    echo "System calls per connection at full speed, perf stat on syscall tracepoints, concurrency $c, $prof_conns connections (+1, the loadgen's final query):"
                fi
                echo
                echo "| system call | time-server -q | raw_server |"
                echo "| --- | ---: | ---: |"
                syscall_table "$tool" "$c" "$prof_conns"
                echo
            } >> "$prof"
        done
    done
    if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
        for c in 1 "$conc"; do
            for s in time-server raw_server; do
                count_instructions "$s" "$c" "$prof_conns"
            done
        done
        {
            echo "User-space instructions per connection (valgrind --tool=callgrind, Ir, counters zeroed after the warm-up; $prof_conns connections + 1):"
            echo
            echo "| concurrency | time-server -q | raw_server | time-server / raw_server |"
            echo "| ---: | ---: | ---: | ---: |"
            for c in 1 "$conc"; do
                awk -v c="$c" -v n="$((prof_conns + 1))" \
                    -v ts="$(cat "$tmp/cg-time-server-$c.ir")" -v raw="$(cat "$tmp/cg-raw_server-$c.ir")" \
                    'BEGIN { printf "| %d | %.0f | %.0f | %.2f |\n", c, ts / n, raw / n, (raw > 0 ? ts / raw : 0) }'
            done
            echo
        } >> "$prof"
    else
        echo "server_bench.sh: no valgrind/callgrind_control; no instruction counts" >&2
    fi
    cat "$prof"
fi

[ "$failures" -eq 0 ]
