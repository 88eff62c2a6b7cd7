# common.sh - what bench/connect.sh, bench/connector.sh and bench/resolve.sh
# share; sourced by them (". "$here/common.sh""), never run.
#
# The script sets `here` (its own directory) before sourcing this file,
# then calls `bench_init PROGRAM "$@"` and sets N1, N2, SKIP, LIMIT, MODES
# and RUN_ARGS (for run, below).  Per connection or lookup, a count X is
# (X(N2) - X(N1)) / (N2 - N1), so that start-up costs cancel.

# bench_init PROGRAM [BUILD_DIR]: $build, the build directory (BUILD_DIR,
# else $BUILD_DIR, else the current directory when it has a config.status,
# else ../build next to the script's directory); $prog, bench/PROGRAM in
# it, made when missing; $tmp, a temporary directory removed on exit,
# together with the server of start_server.
bench_init() {
    build=${2:-${BUILD_DIR:-}}
    if [ -z "$build" ]; then
        if [ -f config.status ]; then
            build=.
        else
            build=$here/../build
        fi
    fi
    build=$(cd "$build" && pwd) || { echo "no build directory $build" >&2; exit 2; }
    prog=$build/bench/$1
    if [ ! -x "$prog" ]; then
        make -C "$build" "bench/$1" >&2
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$(echo "$1" | tr _ -).XXXXXX")
    server_pid=
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || :
        wait "$server_pid" 2>/dev/null || :
    fi
    rm -rf "$tmp"
}

# run MODE N [WRAPPER...]: "$prog run MODE N $RUN_ARGS" (the words of
# RUN_ARGS: what the program's run command takes after N), N iterations
# of MODE, under WRAPPER (strace, perf stat, valgrind), bounded in time.
run() {
    mode=$1 n=$2
    shift 2
    # shellcheck disable=SC2086 # RUN_ARGS is words
    timeout "$LIMIT" "$@" "$prog" run "$mode" "$n" $RUN_ARGS
}

skipped() {  # skipped PART: PART is in $SKIP
    case " $SKIP " in *" $1 "*) return 0 ;; esac
    return 1
}

have() {
    command -v "$1" >/dev/null 2>&1
}

# start_server: "$prog server 60" in the background, a process of its own,
# never traced (strace -c and callgrind see the client alone); $port, the
# port it printed.  It exits by itself after 60 s without a client, should
# the script die without killing it.
start_server() {
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
}

load_average() {
    cut -d ' ' -f 1-3 /proc/loadavg
}

# machine_section [libc] [tools]: the "## Machine" section, with the C
# library's version (libc) and the strace and valgrind versions (tools).
machine_section() {
    libc='' tools=''
    for what in "$@"; do
        case $what in
        libc) libc="; C library: $(ldd --version 2>&1 | head -n 1)" ;;
        tools) tools=yes ;;
        esac
    done
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) (nproc); model name: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | paste -sd ';' -)"
    echo "- Kernel: $(uname -sr)$libc"
    cc=$(sed -n "s/^CC='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
    cflags=$(sed -n "s/^CFLAGS='\(.*\)'$/\1/p" "$build/config.log" | head -n 1)
    echo "- Compiler: $(${cc:-cc} --version | head -n 1) (CFLAGS '$cflags'), shared libnetbasics"
    if [ -n "$tools" ]; then
        echo "- Tools: $(strace -V 2>/dev/null | head -n 1), $(valgrind --version 2>/dev/null)"
    fi
    echo "- Load average at start: $(load_average)"
    echo
}

# ------------------------------------------------------------ system calls

# strace_runs STRACE_OPTION...: "name calls errors" lines (errors 0 when
# strace gave none) in $tmp/MODE.N.sys for every mode and N of $N1 $N2,
# from strace -c with the options given (-U and its fields, -f).
strace_runs() {
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" strace -c "$@" -o "$tmp/strace.out"
            awk 'NR > 2 && $1 !~ /^-/ && $1 != "total" {
                     print $1, $2, ($3 == "" ? 0 : $3) }' \
                "$tmp/strace.out" >"$tmp/$mode.$n.sys"
        done
    done
}

perf_usable() {  # perf is there and may read the system call tracepoints
    have perf && perf stat -x, -e raw_syscalls:sys_enter true >/dev/null 2>&1
}

# perf_runs SYSCALL...: as strace_runs, in $tmp/MODE.N.perf, from perf
# stat's tracepoints (the client runs freely: timing-dependent counts are
# those of a free-running client): "all" (every system call) and the
# SYSCALLs, errors 0.
perf_runs() {
    events=raw_syscalls:sys_enter
    for s in "$@"; do
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
}

# perf_section FORMAT EPSILON SYSCALL...: unless SKIP has perf or perf
# cannot count here, the section of perf_runs' counts per connection, as
# per_conn_table prints them (no totals: "all" is one).
perf_section() {
    fmt=$1 eps=$2
    shift 2
    if skipped perf || ! perf_usable; then
        return 0
    fi
    echo "## System calls per connection, free-running client (perf stat tracepoints)"
    echo
    perf_runs "$@"
    per_conn_table perf "$fmt" "$eps" | grep -v '^| \*\*total'
    echo
    echo "\"all\" counts every system call; the others are the ones of interest."
    echo
}

# per_conn_table SUFFIX FORMAT EPSILON: Markdown from $tmp/MODE.N.SUFFIX,
# a row per system call, a column per mode of $MODES, then the totals:
# calls per connection (and the failed ones) in printf FORMAT; less than
# EPSILON either way counts as none (a blank cell).
per_conn_table() {
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            sed "s/^/$mode $n /" "$tmp/$mode.$n.$1"
        done
    done | awk -v n1="$N1" -v n2="$N2" -v modes="$MODES" -v fmt="$2" \
               -v eps="$3" '
        function per(count, mode, key,    v) {
            v = (count[mode, n2, key] - count[mode, n1, key]) / (n2 - n1)
            return (v < eps && v > -eps) ? 0 : v
        }
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
                    c = per(calls, m[j], key)
                    e = per(errs, m[j], key)
                    if (c != 0) any = 1
                    total[j] += c; etotal[j] += e
                    cell = (c == 0) ? "" : sprintf(fmt, c)
                    if (e != 0) cell = cell sprintf(" (" fmt " failed)", e)
                    line = line " " cell " |"
                }
                if (any) print line
            }
            printf "| **total** |"
            for (j = 1; j <= nm; j++) {
                printf " **" fmt "**", total[j]
                if (etotal[j] != 0) printf " (" fmt " failed)", etotal[j]
                printf " |"
            }
            printf "\n"
        }'
}

# ------------------------------------------------------------ instructions

# callgrind_table UNIT FORMAT [annotate]: runs every mode of $MODES under
# callgrind, N1 and N2 times, and prints the Markdown table of the
# instructions (Ir) of each run and per UNIT (connection, lookup) in
# printf FORMAT; $tmp/MODE.N.ir holds the total.  With annotate,
# callgrind_annotate's inclusive and self counts of every function are kept
# in $tmp/MODE.N.yes and $tmp/MODE.N.no for where_table.
callgrind_table() {
    echo "| mode | Ir, N = $N1 | Ir, N = $N2 | Ir per $1 |"
    echo "|---|---:|---:|---:|"
    for mode in $MODES; do
        for n in "$N1" "$N2"; do
            run "$mode" "$n" valgrind --tool=callgrind \
                --callgrind-out-file="$tmp/$mode.$n.cg" >/dev/null 2>&1
            if [ "${3:-}" = annotate ]; then
                for incl in yes no; do
                    callgrind_annotate --inclusive=$incl --threshold=100 \
                        --auto=no "$tmp/$mode.$n.cg" >"$tmp/$mode.$n.$incl"
                done
            fi
            # one file per thread with --separate-threads; one here: the sum
            sed -n 's/^summary: *//p' "$tmp/$mode.$n.cg" >"$tmp/$mode.$n.ir"
        done
        echo "| $mode | $(cat "$tmp/$mode.$N1.ir") | $(cat "$tmp/$mode.$N2.ir") | $(ir_per "$mode" "$2") |"
    done
}

ir_per() {  # ir_per MODE FORMAT: (Ir(N2) - Ir(N1)) / (N2 - N1)
    awk -v i1="$(cat "$tmp/$1.$N1.ir")" -v i2="$(cat "$tmp/$1.$N2.ir")" \
        -v n1="$N1" -v n2="$N2" -v fmt="$2" \
        'BEGIN { printf fmt, (i2 - i1) / (n2 - n1) }'
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

# where_table MODE FORMAT: after callgrind_table ... annotate, the 30
# functions under MODE's calls with the most instructions per connection
# (10 at least), inclusive and self, in printf FORMAT; the program's main
# and the C library's start-up left out.
where_table() {
    main="$(basename "$prog")[.]c:main\$"
    echo "### Where the instructions of \`$1\` go (Ir per connection)"
    echo
    echo "| function | inclusive | self |"
    echo "|---|---:|---:|"
    for incl in yes no; do
        for n in "$N1" "$N2"; do
            annotated "$n" "$tmp/$1.$n.$incl" | sed "s/^/$incl	/"
        done
    done | awk -F '\t' -v n1="$N1" -v n2="$N2" -v fmt="$2" -v main="$main" '
        { ir[$1, $2, $4] = $3; fns[$4] = 1 }
        END {
            for (f in fns) {
                d = (ir["yes", n2, f] - ir["yes", n1, f]) / (n2 - n1)
                s = (ir["no", n2, f] - ir["no", n1, f]) / (n2 - n1)
                if (d >= 10 && f !~ /PROGRAM TOTALS|\(below main\)|^\?\?\?|libc-start/ && f !~ main)
                    printf fmt "\t" fmt "\t%s\n", d, s, f
            }
        }' | sort -t "$(printf '\t')" -k1,1gr -k3,3 | head -n 30 |
        awk -F '\t' -v fmt="$2" '{ printf "| `%s` | " fmt " | " fmt " |\n", $3, $1, $2 }'
    echo
}
