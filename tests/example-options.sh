#!/bin/bash
# example-options.sh - the command lines of time-server and time-client:
# --help and -h print the usage on stdout and exit 0; --version and -V
# print "PROGRAM (libnetbasics) X.Y.Z" and exit 0; an unknown option, long
# or short, is named on stderr ("unrecognized option '--frobnicate'") with
# a hint, and the exit status is 2, as for a bad value (-r, -R).
#
# Nothing is started but the two programs, which exit at once.  Each check
# prints one "ok" or "FAIL" line.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
passed=0 failed=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { local what=$1; shift; failed=$((failed + 1)); echo "FAIL - $what: $*"; }

# The version the programs must print: the one of the headers, which the
# library built with them reports.
version=$(sed -n 's/^#define NB_VERSION_STRING "\(.*\)"$/\1/p' \
          "$top_srcdir/include/netbasics.h")

# run PROGRAM ARG...: stdout, stderr and exit status in $tmp/out, $tmp/err, $rc.
run() {
    local prog=$1
    shift
    timeout 10 "$top_builddir/examples/$prog" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# expect_ok PROGRAM FIRST-LINE ARG...: exit 0, nothing on stderr, and the
# first line of stdout is FIRST-LINE.
expect_ok() {
    local prog=$1 want=$2
    shift 2
    run "$prog" "$@"
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] &&
       [ "$(head -n 1 "$tmp/out")" = "$want" ]; then
        ok "$prog $*: exit 0: $want"
    else
        fail "$prog $*" "want exit 0, '$want' first on stdout, nothing on" \
             "stderr; got exit $rc, stdout '$(head -c 200 "$tmp/out")'," \
             "stderr '$(head -c 200 "$tmp/err")'"
    fi
}

# expect_usage_error PROGRAM MESSAGE ARG...: exit 2, nothing on stdout,
# stderr is "PROGRAM: MESSAGE" and the hint.
expect_usage_error() {
    local prog=$1 want=$2
    shift 2
    run "$prog" "$@"
    if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] &&
       [ "$(cat "$tmp/err")" = "$prog: $want
Try '$prog --help'." ]; then
        ok "$prog $*: exit 2: $want"
    else
        fail "$prog $*" "want exit 2 and '$prog: $want' and the hint on stderr;" \
             "got exit $rc, stderr '$(head -c 300 "$tmp/err")'," \
             "stdout '$(head -c 100 "$tmp/out")'"
    fi
}

for prog in time-server time-client; do
    [ -x "$top_builddir/examples/$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
    expect_ok "$prog" "$prog (libnetbasics) $version" --version
    expect_ok "$prog" "$prog (libnetbasics) $version" -V
    run "$prog" -h
    cp "$tmp/out" "$tmp/short-help"
    expect_ok "$prog" "$(head -n 1 "$tmp/short-help")" -h
    expect_ok "$prog" "$(head -n 1 "$tmp/short-help")" --help
    if ! grep -q "^usage: $prog " "$tmp/short-help"; then
        fail "$prog -h" "want 'usage: $prog ...', got: $(head -c 200 "$tmp/short-help")"
    fi
    if cmp -s "$tmp/out" "$tmp/short-help" &&
       grep -q -- '-h, --help' "$tmp/out" && grep -q -- '-V, --version' "$tmp/out"; then
        ok "$prog --help: the same as -h, and names --help and --version"
    else
        fail "$prog --help" "want the text of -h, naming --help and --version; got:" \
             "$(head -c 300 "$tmp/out")"
    fi
    expect_usage_error "$prog" "unrecognized option '--frobnicate'" --frobnicate
    expect_usage_error "$prog" "unrecognized option '--frobnicate=1'" --frobnicate=1
    expect_usage_error "$prog" "unrecognized option '-z'" -z
    expect_usage_error "$prog" "unrecognized option '-z'" -4z
    expect_usage_error "$prog" "option '--help' takes no value" --help=yes
    expect_usage_error "$prog" "option '--version' takes no value" --version=2
    expect_usage_error "$prog" "option -P needs a value" -P
done

run time-server --help
for opt in '-r BURST/RATE' '-R RATE' '(default 20/10)' '(default 1000)'; do
    if grep -qF -- "$opt" "$tmp/out"; then
        ok "time-server --help names $opt"
    else
        fail "time-server --help" "want '$opt' in: $(head -c 600 "$tmp/out")"
    fi
done
for value in 0/10 20/0 20 20/ /10 abc 1000001/1 -1/5; do
    expect_usage_error time-server \
        "invalid limit '$value' (BURST/RATE, each 1..1000000)" -r "$value"
done
for value in 0 abc 1000001 10/1; do
    expect_usage_error time-server "invalid rate '$value' (1..1000000)" -R "$value"
done
expect_usage_error time-server "option -r needs a value" -r

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
