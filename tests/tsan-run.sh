#!/bin/sh
# tsan-run.sh - runs a Check program of a ThreadSanitizer build (configure
# --enable-tsan makes it automake's LOG_COMPILER), or skips, saying why,
# the ones TSan cannot judge:
#
#   tests/test_faults  its fault injector (tests/faultshim.c, -Wl,--wrap of
#                      malloc, poll, getaddrinfo...) keeps one global state
#                      without a lock, and the library's lookup threads
#                      call the wrapped functions too: TSan reports the
#                      shim's races, not the library's.
#
# Usage: tsan-run.sh PROGRAM [ARGS...]
case $1 in
*/test_faults | test_faults)
    echo "skip: $1 under ThreadSanitizer: the fault injector's state is not" \
         "thread-safe (see tests/tsan-run.sh); the other builds run it"
    exit 77
    ;;
esac
exec "$@"
