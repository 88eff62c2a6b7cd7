#!/bin/sh
# run.sh [SECONDS] - runs every libFuzzer target (tests/fuzz/fuzz_*, built
# with configure CC=clang --enable-fuzzing) for SECONDS each (default 30)
# and prints one summary line per target: executions, executions per
# second, coverage (libFuzzer's "cov" edges and "ft" features), corpus size
# before and after (new units), and crashes.  `make fuzz' runs it; CI runs
# `make fuzz FUZZ_SECONDS=30'.
#
# Each target works on a copy of its seed corpus (tests/fuzz/corpus/<t>/),
# never on the committed one: new units stay in $FUZZ_OUT/<t>/corpus, to be
# minimised and added by hand when worth it.  A crash, leak or timeout input
# is saved as $FUZZ_OUT/<t>/crash-* (leak-*, timeout-*, oom-*) next to the
# log; replay it with tests/fuzz/replay_<t> FILE or tests/fuzz/fuzz_<t> FILE.
#
# Environment: FUZZ_BUILDDIR (the build tree, default .), FUZZ_OUT (default
# $FUZZ_BUILDDIR/fuzz-out), FUZZ_TARGETS (default all four), FUZZ_ARGS
# (more libFuzzer options, e.g. -seed=1).
# Exit status: 0 when every target ran its time without a finding.
set -u

seconds=${1:-30}
case $seconds in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
builddir=${FUZZ_BUILDDIR:-.}
out=${FUZZ_OUT:-$builddir/fuzz-out}
targets=${FUZZ_TARGETS:-split addr_format resolve_args timeproto}

# Longest input worth trying: a little more than the target reads.
max_len() {
    case $1 in
        split)        echo 300 ;;   # 3 option bytes + hosts past 255
        addr_format)  echo 160 ;;   # 6 header bytes + sockaddr_storage
        resolve_args) echo 1200 ;;  # hosts past NB__HOST_MAX (1025)
        timeproto)    echo 64 ;;    # 3 + 12 bytes, replies of any length
        *)            echo 4096 ;;
    esac
}

# The value of libFuzzer's final "stat::NAME: value" line.
stat() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

mkdir -p "$out" || exit 2
summary="$out/summary.txt"
: > "$summary"
failed=0
printf '%s\n' "fuzzing $seconds s per target ($(date -u '+%Y-%m-%dT%H:%M:%SZ'))" |
    tee -a "$summary"
for t in $targets; do
    bin="$builddir/tests/fuzz/fuzz_$t"
    seeds="$here/corpus/$t"
    dir="$out/$t"
    if [ ! -x "$bin" ]; then
        echo "$bin not built: configure CC=clang --enable-fuzzing, then make" >&2
        exit 2
    fi
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    cp "$seeds"/* "$dir/corpus/"
    before=$(ls "$dir/corpus" | wc -l)

    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
        -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/" ${FUZZ_ARGS:-} "$dir/corpus" \
        > "$dir/log" 2>&1
    rc=$?

    execs=$(stat number_of_executed_units "$dir/log")
    speed=$(stat average_exec_per_sec "$dir/log")
    new=$(stat new_units_added "$dir/log")
    # the last status line: "#N  DONE  cov: C ft: F corp: ..."
    last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    after=$(ls "$dir/corpus" | wc -l)
    crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o \
              -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        verdict=OK
    else
        verdict="FAIL (exit $rc; see $dir/log)"
        failed=$((failed + 1))
    fi
    printf '%-13s execs %s (%s/s)  cov %s ft %s  corpus %s -> %s (+%s new units)  crashes %s  %s\n' \
        "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$before" \
        "$after" "${new:-?}" "$crashes" "$verdict" | tee -a "$summary"
    if [ "$verdict" != OK ]; then
        # the finding, for the CI log
        grep -E 'invariant violated|ERROR: |runtime error|SUMMARY' "$dir/log" |
            head -n 5 | sed 's/^/    /'
    fi
done
[ "$failed" -eq 0 ]
