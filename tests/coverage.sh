#!/bin/sh
# coverage.sh - line and branch coverage of lib/ by the test suite.
#
#   tests/coverage.sh [REPORT_DIR]
#
# Builds the library and the tests with gcov instrumentation (configure
# --enable-code-coverage, -O0) in a temporary directory, runs `make check'
# there, and prints the line and branch coverage of every file of lib/ and
# the total.  Exits 1 when a test fails or when lib/ line coverage is below
# NB_COVERAGE_MIN percent (default 90), 2 when the tools are missing.
# With REPORT_DIR, the lcov tracefile of lib/ (lib.info) and an HTML report
# (html/index.html) are left there.  Not part of `make check'; CI runs it,
# and so does `make coverage'.  Debian/Ubuntu: apt-get install lcov
#
# Lines that cannot run on Linux may carry LCOV_EXCL_LINE, with a comment
# saying why; everything else is meant to be tested.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
min=${NB_COVERAGE_MIN:-90}
report=${1:-}
LCOV=${LCOV:-lcov}
GCOV=${GCOV:-gcov}
GENHTML=${GENHTML:-genhtml}

for tool in "$LCOV" "$GCOV"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "coverage.sh: $tool not found (apt-get install lcov)" >&2
        exit 2
    fi
done

# A temporary build of a fresh tree: $work, $build, $tree.
. "$srcdir/tests/fresh-tree.sh"
fresh_tree coverage

echo "=== configure --enable-code-coverage (in $build)"
# -O0: the default -O2 comes after the coverage flags on the command line
# and would win; optimised code attributes lines and branches loosely.
(cd "$build" && "$tree/configure" --enable-code-coverage CFLAGS='-O0 -g') \
    >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log"
    exit 2
}

echo "=== make check (instrumented)"
if ! (cd "$build" && make -j"$jobs" && make -j"$jobs" check) \
        >"$work/check.log" 2>&1; then
    tail -n 60 "$work/check.log"
    [ -f "$build/test-suite.log" ] && cat "$build/test-suite.log"
    echo "coverage.sh: the test suite failed"
    exit 1
fi
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$work/check.log"

echo "=== lcov"
# The objects of lib/ are libtool's (lib/.libs); the shared library and
# the tests that link the convenience library share their counters.
lcov_rc="--rc lcov_branch_coverage=1"
# shellcheck disable=SC2086
if ! "$LCOV" --quiet --capture --compat-libtool --gcov-tool "$GCOV" $lcov_rc \
        --directory "$build" --output-file "$work/all.info" \
        >"$work/lcov.log" 2>&1 ||
   ! "$LCOV" --quiet $lcov_rc --extract "$work/all.info" "$tree/lib/*" \
        --output-file "$work/lib.info" >>"$work/lcov.log" 2>&1; then
    cat "$work/lcov.log"
    exit 2
fi

# One row per file: lines hit/found and branches hit/found, from the
# tracefile's LH/LF and BRH/BRF records.
awk -v root="$tree/" -v min="$min" '
function pct(hit, found) { return found ? 100.0 * hit / found : 100.0 }
/^SF:/  {
    file = substr($0, 4)
    if (index(file, root) == 1)
        file = substr(file, length(root) + 1)
}
/^LF:/  { lf = substr($0, 4) }
/^LH:/  { lh = substr($0, 4) }
/^BRF:/ { brf = substr($0, 5) }
/^BRH:/ { brh = substr($0, 5) }
/^end_of_record/ {
    rows[++n] = sprintf("%-22s %5d/%-5d %6.1f%%   %5d/%-5d %6.1f%%", file,
                        lh, lf, pct(lh, lf), brh, brf, pct(brh, brf))
    tlf += lf; tlh += lh; tbrf += brf; tbrh += brh
    lf = lh = brf = brh = 0
}
END {
    printf "%-22s %19s   %19s\n", "coverage of lib/", "lines", "branches"
    for (i = 1; i <= n; i++)
        print rows[i]
    printf "%-22s %5d/%-5d %6.1f%%   %5d/%-5d %6.1f%%\n", "total",
           tlh, tlf, pct(tlh, tlf), tbrh, tbrf, pct(tbrh, tbrf)
    line = pct(tlh, tlf)
    printf "lib/ line coverage %.1f%%, branch coverage %.1f%% (minimum for lines: %d%%)\n",
           line, pct(tbrh, tbrf), min
    exit line + 0.0001 < min ? 1 : 0
}' "$work/lib.info"
status=$?

if [ -n "$report" ]; then
    mkdir -p "$report" || exit 2
    cp "$work/lib.info" "$report/lib.info"
    if command -v "$GENHTML" >/dev/null 2>&1 &&
       "$GENHTML" --quiet $lcov_rc --branch-coverage --prefix "$tree" \
           --title "libnetbasics lib/" --output-directory "$report/html" \
           "$report/lib.info" >>"$work/lcov.log" 2>&1; then
        echo "report: $report/html/index.html"
    fi
fi

if [ "$status" -ne 0 ]; then
    echo "coverage.sh: lib/ line coverage is below $min%"
    exit 1
fi
exit 0
