# syscalls-lib.sh - sourced by connect-syscalls.sh and
# connector-syscalls.sh, which run tests/syscall_probe under strace and
# compare the system calls it makes between its two markers,
# write(-1, "nb-probe-begin") and write(-1, "nb-probe-end"), with what a
# man page allows.  strace records every system call of every thread (not
# just the network ones, so that nothing slips through); the calls
# compared are those of the thread that wrote the markers.
#
# syscalls_setup MODE: $probe, the probe's command for MODE (connect,
# connector); $tmp, a directory removed on exit; the counts $ran,
# $failures and $skipped at 0.  Exits 77 when strace is missing or cannot
# trace, 1 when the probe is not built.
syscalls_setup() {
    command -v strace >/dev/null 2>&1 || { echo "skip: strace not installed"; exit 77; }
    probe="$top_builddir/tests/syscall_probe"
    if [ ! -x "$probe" ]; then
        echo "$probe is not built"
        exit 1
    fi
    probe_mode=$1
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! strace -f -o "$tmp/trace" true >/dev/null 2>&1; then
        echo "skip: strace cannot trace here (ptrace not permitted?)"
        exit 77
    fi
    failures=0
    ran=0
    skipped=0
}

# probe_case WHAT HOST TIMEOUT FLAGS: runs the probe under strace and
# leaves the calls of its thread between the markers in $tmp/window, one
# line each as strace printed them; returns 0.  When there is nothing to
# check, says why, counts the case and returns 1: skipped when the probe
# exits 77 (HOST is IPv6 and there is no IPv6 here), failed when it fails
# or the markers are not in the trace.
probe_case() {
    rc=0
    # LeakSanitizer cannot run under ptrace (--enable-sanitizers builds).
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -o "$tmp/trace" "$probe" "$probe_mode" "$2" "$3" "$4" || rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "skip: $1: no IPv6 here"
        skipped=$((skipped + 1))
        return 1
    fi
    ran=$((ran + 1))
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $1: the probe failed (status $rc)"
        failures=$((failures + 1))
        return 1
    fi
    if ! awk '
        {
            line = $0
            pid = ""
            if (match(line, /^[0-9]+ +/)) {      # "-f -o" prefixes the pid
                pid = substr(line, 1, RLENGTH)
                sub(/ +$/, "", pid)
                line = substr(line, RLENGTH + 1)
            }
            if (index(line, "write(-1, \"nb-probe-begin\"") == 1) {
                inside = 1; who = pid; begun = 1; next
            }
            if (inside && pid == who && index(line, "write(-1, \"nb-probe-end\"") == 1) {
                inside = 0; ended = 1; next
            }
            if (inside && pid == who && line !~ /^(---|\+\+\+)/)
                print line
        }
        END { if (!begun || !ended) exit 1 }
    ' "$tmp/trace" > "$tmp/window"; then
        echo "markers not found in the trace"
        echo "FAIL: $1: the probe failed (status 1)"
        failures=$((failures + 1))
        return 1
    fi
    return 0
}

# without_runtime_calls NAMES: NAMES less the memory mappings a sanitizer's
# runtime makes (ThreadSanitizer maps shadow memory as the program touches
# new memory, AddressSanitizer's allocator maps its own chunks): their
# calls, not the library's.  Unchanged in other builds.
without_runtime_calls() {
    case "${NB_SANITIZER_FLAGS:-}" in
    *-fsanitize=*)
        echo "$1" | sed -E 's/(^| )(mmap|munmap|madvise|mprotect)\b//g; s/^ +//' ;;
    *)
        echo "$1" ;;
    esac
}

# names_match WHAT NAMES ERE: NAMES, the calls' names space-separated, must
# match ERE (the whole list).
names_match() {
    if echo "$2" | grep -Eqx "$3"; then
        echo "ok: $1: $2"
    else
        echo "FAIL: $1: got \"$2\", want /$3/:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
    fi
}

# none_of WHAT ERE WHY: no call in the window may match ERE (its name);
# otherwise fails WHAT, saying WHY, and returns 1.
none_of() {
    if grep -Eq "^($2)\(" "$tmp/window"; then
        echo "FAIL: $1: $3:"
        sed 's/^/    /' "$tmp/window"
        failures=$((failures + 1))
        return 1
    fi
    return 0
}

# syscalls_end: the summary; exits 1 when a case failed, 77 when none ran.
syscalls_end() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures of $ran cases failed, $skipped skipped"
        exit 1
    fi
    if [ "$ran" -eq 0 ]; then
        echo "skip: all $skipped cases"
        exit 77
    fi
    echo "all $ran cases passed, $skipped skipped"
}
