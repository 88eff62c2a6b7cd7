#!/bin/sh
# static-analysis.sh - cppcheck, clang-tidy and scan-build over lib/ and
# examples/.  Every tool must report nothing; the script exits 1 on any
# finding, 2 when a tool is missing.  Not part of `make check' (it takes a
# minute and needs the tools); CI runs it, and so does `make static-analysis'.
#
#   tests/static-analysis.sh            from a source tree, configured or not
#
# The sources are never built in place: a fresh build directory is
# configured in a temporary directory (its config.h is what cppcheck and
# clang-tidy read) and scan-build builds it.
# Debian/Ubuntu: apt-get install cppcheck clang-tidy clang-tools
#
# Suppressing a false positive: at the line, with the reason -
#   /* cppcheck-suppress ID ; why */  or  /* NOLINTNEXTLINE(check): why */
# The clang-tidy checks and why some are off: .clang-tidy.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
CPPCHECK=${CPPCHECK:-cppcheck}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
SCAN_BUILD=${SCAN_BUILD:-scan-build}

for tool in "$CPPCHECK" "$CLANG_TIDY" "$SCAN_BUILD"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "static-analysis.sh: $tool not found" \
             "(apt-get install cppcheck clang-tidy clang-tools)" >&2
        exit 2
    fi
done

# A temporary build of a fresh tree: $work, $build, $tree.
. "$srcdir/tests/fresh-tree.sh"
fresh_tree static

echo "=== configure (in $build)"
# --disable-static: libtool would otherwise compile, and scan-build
# analyse, every file of lib/ twice (PIC and not).
(cd "$build" && "$tree/configure" --enable-werror --disable-static) \
    >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log"
    exit 2
}

cd "$srcdir" || exit 2
lib_c=$(ls lib/*.c)
examples_c=$(ls examples/*.c)
failed=""

echo "=== cppcheck $("$CPPCHECK" --version | sed 's/^Cppcheck //')"
# --library=posix: cppcheck knows the POSIX calls.  Every preprocessor
# configuration of each file is checked (no -D), config.h included.
# shellcheck disable=SC2086
if "$CPPCHECK" --enable=warning,style,performance,portability \
        --error-exitcode=1 --inline-suppr --quiet --std=c11 \
        --library=posix --suppress=missingIncludeSystem \
        -I include -I lib -I "$build" \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        $lib_c $examples_c; then
    echo "cppcheck: no findings"
else
    echo "cppcheck: FINDINGS (above)"
    failed="$failed cppcheck"
fi

echo "=== clang-tidy $("$CLANG_TIDY" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')"
# The flags the build uses that matter to the parser: C11, the include
# paths, config.h (which defines _GNU_SOURCE) and, for lib/, the export
# macro.  .clang-tidy is found from each file's directory.
tidy_failed=0
for f in $lib_c $examples_c; do
    case $f in
    lib/*) extra="-I lib -DNB_BUILDING_LIBRARY" ;;
    *) extra="-I examples" ;;
    esac
    # shellcheck disable=SC2086
    if ! "$CLANG_TIDY" --quiet "$f" -- -std=c11 -I include -I "$build" \
            $extra >"$work/tidy.out" 2>&1; then
        tidy_failed=1
    fi
    # the "N warnings generated" chatter is not a finding
    grep -v -e '^[0-9]* warnings* generated\.$' \
        -e '^Suppressed [0-9]* warnings' \
        -e '^Use -header-filter' "$work/tidy.out"
done
if [ "$tidy_failed" -eq 0 ]; then
    echo "clang-tidy: no findings"
else
    echo "clang-tidy: FINDINGS (above)"
    failed="$failed clang-tidy"
fi

echo "=== scan-build (clang static analyzer), make -j$jobs in $build"
# --status-bugs: exit 1 when the analyzer reports anything.  Its findings
# are printed as the compiler warnings it adds to the build log (the HTML
# reports go with the temporary directory).  scan-build puts its compiler
# wrapper in $CC; passing it to make (rather than configuring under
# scan-build, which would analyse every configure test) builds every
# object of lib/ and examples/ through the analyzer.
# shellcheck disable=SC2016
if (cd "$build" && "$SCAN_BUILD" --status-bugs -o "$work/scan-report" \
        sh -c 'exec make -j"$1" CC="$CC"' sh "$jobs") >"$work/scan.log" 2>&1
then
    grep -e '^scan-build:' "$work/scan.log" | grep -v 'Removing directory'
    echo "scan-build: no findings"
else
    grep -e 'warning:' -e 'error:' -e '^scan-build:' "$work/scan.log" |
        grep -v -e 'scan-view' -e 'Removing directory'
    echo "scan-build: FINDINGS (above)"
    failed="$failed scan-build"
fi

if [ -n "$failed" ]; then
    echo "static analysis FAILED:$failed"
    exit 1
fi
echo "static analysis: cppcheck, clang-tidy and scan-build report nothing"
exit 0
