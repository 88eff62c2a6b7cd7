#!/bin/sh
# faultshim-list.sh - the fault injector (tests/faultshim.c, test_faults)
# wraps every function it should:
#
#  1. the -Wl,--wrap= list of tests_test_faults_LDFLAGS in tests/local.mk
#     names exactly the functions of FS_CALLS in tests/faultshim-calls.h
#     (automake cannot generate the one from the other);
#  2. every function the library's objects call (nm -u on the convenience
#     library test_faults links, lib/.libs/libnetbasics-core.a) is wrapped,
#     or is on the list below of functions that cannot fail in a way the
#     library must handle.  A new system call in lib/ that nobody wraps
#     would otherwise never be failed by test_faults; this says which
#     function to add, and where.
#
# Exit 0 when all is well, 1 with one line per problem, 77 (skip) when nm
# or the library is missing.
set -eu
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
calls=$top_srcdir/tests/faultshim-calls.h
makefile=$top_srcdir/tests/local.mk
core=$top_builddir/lib/.libs/libnetbasics-core.a
NM=${NM:-nm}

# Functions lib/ may call without a wrapper, and why.  Nothing here may
# fail with an errno the library would have to report or recover from.
#   string and memory functions, formatting, character classes: no errno
#   inet_pton, inet_ntop: parse and print; called with buffers that fit
#   gai_strerror, strerror_r: text for an error code
#   getenv, getpid: cannot fail
#   unsetenv: fails only for a name with '=' (EINVAL); the names are fixed
#   clock_gettime: CLOCK_MONOTONIC cannot fail (EINVAL/EFAULT only for a
#     bad clock or pointer)
#   __errno_location, __ctype_b_loc: glibc's errno and <ctype.h>
#   __stack_chk_fail, _GLOBAL_OFFSET_TABLE_: the compiler's own
#   in6addr_any, in6addr_loopback: constants
#   htons, htonl, ntohs, ntohl: byte order (real calls at -O0, in the
#     coverage build); bcmp: clang's memcmp(...) == 0
# The helper threads of lib/lookup.c (the failure that matters there,
# pthread_create's EAGAIN, is wrapped and injected):
#   pthread_mutex_lock, pthread_mutex_unlock: a default (normal) mutex,
#     statically initialised: EINVAL/EAGAIN/EDEADLK/EPERM are for robust,
#     recursive or error-checking mutexes, or bad use, none of which the
#     library has (and the shim locks a mutex of its own in every wrapper)
#   pthread_once: cannot fail (POSIX lists no error for a valid once)
#   pthread_atfork: ENOMEM only, which lookup.c ignores on purpose (the
#     lookups work; only a forked child would count its parent's helpers);
#     it runs once per process under pthread_once, so no window of a test
#     but the program's first lookup would ever see it
#   pthread_attr_init, pthread_attr_destroy: glibc's cannot fail;
#     pthread_attr_setdetachstate: EINVAL for a value other than the two
#     constants only
#   sigfillset: EINVAL only for a null set; pthread_sigmask with
#     SIG_SETMASK and a set the library made: EINVAL only for a bad `how`
#   strncat: a string function, no errno
PURE='
htons htonl ntohs ntohl bcmp
memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp
strcasecmp strncasecmp strchr strrchr strpbrk strspn strcspn strstr strtol
strtoul strtoll strtoull snprintf vsnprintf strncat
inet_pton inet_ntop gai_strerror strerror_r __xpg_strerror_r getenv getpid
unsetenv clock_gettime __errno_location __ctype_b_loc __ctype_tolower_loc
__ctype_toupper_loc __stack_chk_fail _GLOBAL_OFFSET_TABLE_ in6addr_any
in6addr_loopback
pthread_mutex_lock pthread_mutex_unlock pthread_once pthread_atfork
pthread_attr_init pthread_attr_destroy pthread_attr_setdetachstate
sigfillset pthread_sigmask
__divdi3 __udivdi3 __moddi3 __umoddi3 __divmoddi4 __udivmoddi4
'
# Wrapped although they cannot fail here, so that test_faults sees them
# (and which thread makes them) and covers the error paths with stand-ins
# (the reasons are with errno_table in tests/test_faults.c): epoll_wait
# with timeout 0, timerfd_settime, read and write on eventfd/timerfd
# counters.
# Symbols of instrumented builds (configure --enable-sanitizers,
# --enable-fuzzing, --enable-code-coverage): not calls the library makes.
INSTRUMENTATION='^(__asan_|__ubsan_|__sanitizer_|__lsan_|__msan_|__tsan_|__sancov_|__start___sancov|__stop___sancov|__gcov_|__llvm_|__gcda_|__gcno_)'

command -v "$NM" >/dev/null 2>&1 || { echo "skip: $NM not installed"; exit 77; }
if [ ! -f "$core" ]; then
    echo "skip: $core not built"
    exit 77
fi
problems=0
fail() {
    echo "FAIL: $*"
    problems=$((problems + 1))
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- 1. the X-macro list against the --wrap list, in order
sed -n 's/^[ 	]*X(\([A-Z0-9_]*\), *\([a-z0-9_]*\),.*$/\2/p' "$calls" \
    > "$tmp/listed"
sed -n '/^tests_test_faults_LDFLAGS *=/,/^[^	]/p' "$makefile" |
    tr ' 	\\' '\n\n\n' | sed -n 's/^-Wl,--wrap=\([A-Za-z0-9_]*\)$/\1/p' \
    > "$tmp/wrapped"
[ -s "$tmp/listed" ] || fail "no X(...) entries found in $calls"
[ -s "$tmp/wrapped" ] ||
    fail "no -Wl,--wrap= found in tests_test_faults_LDFLAGS ($makefile)"
for f in $(cat "$tmp/listed"); do
    grep -qx "$f" "$tmp/wrapped" ||
        fail "$f is in FS_CALLS ($calls) but has no -Wl,--wrap=$f in" \
             "tests_test_faults_LDFLAGS ($makefile): test_faults would" \
             "never see the library call it"
done
for f in $(cat "$tmp/wrapped"); do
    grep -qx "$f" "$tmp/listed" ||
        fail "-Wl,--wrap=$f is in tests_test_faults_LDFLAGS ($makefile) but" \
             "$f is not in FS_CALLS ($calls): add" \
             "X(NAME, $f, return type, (parameter types)) there"
done
if ! cmp -s "$tmp/listed" "$tmp/wrapped" && [ "$problems" -eq 0 ]; then
    fail "the --wrap list in $makefile is not in the order of FS_CALLS" \
         "($calls): keep them in one order, so that they read alike"
fi

# --- 2. what the library calls
"$NM" -u "$core" | awk 'NF >= 2 { print $NF } NF == 1 && $1 !~ /:$/ { print $1 }' |
    sed 's/@.*//' | sort -u > "$tmp/undefined"
# glibc with a 64-bit time_t on a 32-bit system (_TIME_BITS=64, the i386
# build) renames the calls that carry a time to their *64 versions
# (setsockopt is __setsockopt64, ioctl __ioctl_time64): a -Wl,--wrap of the
# plain names does not see them, so the fault injector is only whole on
# builds where time_t is native; test_faults says so too.
renamed=$(grep -E '^__[a-z_]+(64|_time64)$' "$tmp/undefined" | tr '\n' ' ')
if [ -n "$renamed" ]; then
    echo "skip: lib/ calls ${renamed}(64-bit time_t on a 32-bit system):" \
         "the --wrap fault injector, made for the plain names, cannot see" \
         "them; the 64-bit builds check the list"
    exit 77
fi
"$NM" --defined-only "$core" | awk 'NF == 3 { print $3 }' | sort -u \
    > "$tmp/defined"
comm -23 "$tmp/undefined" "$tmp/defined" > "$tmp/imports"
[ -s "$tmp/imports" ] || fail "nm found no function that $core calls"
for f in $(cat "$tmp/imports"); do
    echo "$f" | grep -Eq "$INSTRUMENTATION" && continue
    base=$f
    case $f in
    __*_chk)
        # _FORTIFY_SOURCE's checked variants: __recv_chk for recv
        base=${f#__}
        base=${base%_chk}
        ;;
    esac
    if echo "$PURE" | tr ' ' '\n' | grep -qx "$base"; then
        continue
    fi
    if grep -qx "$base" "$tmp/listed"; then
        [ "$base" = "$f" ] && continue
        fail "lib/ calls $f (the _FORTIFY_SOURCE form of $base), which" \
             "-Wl,--wrap=$base does not intercept: build the tests without" \
             "-D_FORTIFY_SOURCE, or wrap $f as well"
        continue
    fi
    fail "lib/ calls $f, which the fault injector does not wrap: add" \
         "X(NAME, $f, return type, (parameter types)) to FS_CALLS in" \
         "$calls, -Wl,--wrap=$f to tests_test_faults_LDFLAGS in $makefile" \
         "and a __wrap_$f to tests/faultshim.c (with the errors it can" \
         "return in errno_table in tests/test_faults.c); or, if it cannot" \
         "fail in a way the library must handle, add it to PURE in $0," \
         "saying why"
done
# Wrapped but no longer called: harmless, worth knowing.
for f in $(cat "$tmp/listed"); do
    grep -qx "$f" "$tmp/imports" ||
        echo "note: $f is wrapped but lib/ no longer calls it"
done

[ "$problems" -eq 0 ] || exit 1
echo "ok: $(wc -l < "$tmp/listed") functions wrapped, the same in" \
     "FS_CALLS and the --wrap list; lib/ calls $(wc -l < "$tmp/imports")" \
     "functions, every one wrapped or known not to fail"
