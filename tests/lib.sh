# lib.sh - sourced (by bash) by the tests that start the example programs
# and check what they do: basic-examples.sh, examples-interop.sh,
# tutorial.sh and udp-guard.sh.  What they share: the bookkeeping of
# checks, a temporary directory, the processes they start (killed on
# exit, pass or fail), bounded waits, and the programs themselves rather
# than libtool's wrapper scripts.
#
# Sourcing it makes $tmp (this run's own directory: the tests run in
# parallel), $pids (everything started in the background; cleanup kills
# it), the counts $passed, $failed and $skipped, and the traps that clean
# up on exit.  Needs $top_builddir.

tmp=$(mktemp -d) || exit 1
pids=""
passed=0 failed=0 skipped=0

ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
# fail WHAT WHY...: the words of WHY are joined with spaces.
fail() {
    local what=$1
    shift
    failed=$((failed + 1))
    echo "FAIL - $what: $*"
}
# skip WHAT [WHY]: one "skip:" line.
skip() {
    skipped=$((skipped + 1))
    if [ $# -ge 2 ]; then echo "skip: $1: $2"; else echo "skip: $1"; fi
}

# The children of a process (time-server -w's workers).
children_of() {
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# Kills everything in $pids, and their children, waits for them (so that
# nothing writes in $tmp any more) and removes $tmp.
cleanup() {
    local p c
    trap - EXIT INT TERM HUP
    {   # bash's "Killed" notices, printed as it reaps them, go too
        for p in $pids; do
            for c in $(children_of "$p"); do kill -KILL "$c"; done
            kill -KILL "$p"
        done
        for p in $pids; do wait "$p"; done
    } 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM HUP

# unwrap VAR...: each VAR holds the path of a program of the build, which
# libtool may have made a wrapper script, slow to start on a busy machine.
# libtool's execute mode names the programs they wrap and sets the library
# path those need: VAR is set to the program itself, started directly
# (and then $! is certainly the program's pid), and LD_LIBRARY_PATH is
# exported.  Nothing changes when libtool cannot say.
unwrap() {
    local v resolved i=0
    local -a progs=()
    for v in "$@"; do progs+=("${!v}"); done
    [ -x "$top_builddir/libtool" ] &&
        resolved=$("$top_builddir/libtool" --mode=execute sh -c \
                   'for p; do printf "%s\n" "$p"; done; printf "%s\n" "${LD_LIBRARY_PATH-}"' \
                   sh "${progs[@]}") &&
        [ "$(printf '%s\n' "$resolved" | wc -l)" -eq $(($# + 1)) ] || return 0
    for v in "$@"; do
        i=$((i + 1))
        printf -v "$v" '%s' "$(printf '%s\n' "$resolved" | sed -n "${i}p")"
    done
    LD_LIBRARY_PATH=$(printf '%s\n' "$resolved" | sed -n "$(($# + 1))p")
    export LD_LIBRARY_PATH
}

# Every wait below is bounded by WAIT_S seconds and ends as soon as what it
# waits for has happened; the bound is generous because a sanitizer build
# on a machine busy with other tests can take seconds to start a program.
WAIT_S=${WAIT_S:-15}
wait_rounds=$((WAIT_S * 20))

# Whether a process runs (a zombie does not).
is_running() {
    local stat state
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    state=${stat##*) }
    state=${state%% *}
    [ -n "$state" ] && [ "$state" != Z ]
}

# forget PID: takes it out of $pids.
forget() {
    local p keep=""
    for p in $pids; do [ "$p" = "$1" ] || keep="$keep $p"; done
    pids=$keep
}

# stop_proc PID [SIGNAL]: sends SIGNAL (TERM) and waits (at most $WAIT_S)
# for the process to end; kills it after that.  Sets $status to its exit
# status, or to "still running $WAIT_S s after SIGNAL".
stop_proc() {
    local pid=$1 sig=${2:-TERM} i
    [ "$sig" = KILL ] && disown "$pid" 2>/dev/null  # no "Killed" notice
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < wait_rounds; i++)); do
        is_running "$pid" || break
        sleep 0.05
    done
    if is_running "$pid"; then
        disown "$pid" 2>/dev/null  # no "Killed" notice from bash
        kill -KILL "$pid" 2>/dev/null
        status="still running $WAIT_S s after SIG$sig"
    else
        wait "$pid" 2>/dev/null
        status=$?
    fi
    forget "$pid"
}

# wait_for FILE PATTERN [COUNT]: until FILE has COUNT lines matching the
# extended regex PATTERN; at most $WAIT_S.
wait_for() {
    local file=$1 pattern=$2 count=${3:-1} i n
    for ((i = 0; i < wait_rounds; i++)); do
        n=$(grep -cE -- "$pattern" "$file" 2>/dev/null)
        [ "${n:-0}" -ge "$count" ] && return 0
        sleep 0.05
    done
    return 1
}

# start_server NAME NLINES ARG...: $SERVER (time-server) in the background,
# its stderr in $tmp/NAME.log ($slog); waits for NLINES "listening on"
# lines.  Sets $spid and $sport (the port of the first stream listener).
start_server() {
    local name=$1 want=$2
    shift 2
    slog=$tmp/$name.log
    # emptied here, not by the child's redirection, which may come after
    # wait_for has read the log of the previous server of that name
    : >"$slog"
    "$SERVER" "$@" 2>"$slog" &
    spid=$!
    pids="$pids $spid"
    sport=
    if ! wait_for "$slog" '^time-server: listening on ' "$want"; then
        fail "$name: start" "want $want 'listening on' lines within $WAIT_S s from" \
             "time-server $*, got: $(head -c 300 "$slog")"
        return 1
    fi
    sport=$(sed -n 's/^time-server: listening on .*:\([0-9][0-9]*\) (stream).*/\1/p' \
            "$slog" | head -n 1)
    return 0
}
