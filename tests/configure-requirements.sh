#!/bin/sh
# ./configure on a system that lacks one of the library's requirements
# (README, "Supported platforms"; m4/nb_check_platform.m4 and
# m4/nb_sys_year2038.m4) stops with one line naming it, not a page of
# compiler errors.  Each check is made to fail by presetting its cache
# variable (nb_cv_have_accept4=no, ...) on the command line; configure
# must then exit non-zero, and print on stderr exactly one line, the
# expected "configure: error: ..." naming what is missing.
#
# Configure runs in a temporary directory (the source tree may be
# read-only, as under `make distcheck') and stops at the requirement
# checks, which come before libtool's: under a second per run.  It runs
# there as if in its own source tree, made of links to the files it reads
# before it stops: started from another directory, it would refuse to run
# next to a build in the source tree ("source directory already
# configured").
set -eu
: "${top_srcdir:=.}"
: "${CC:=cc}"
srcdir=$(cd "$top_srcdir" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir lib
ln -s "$srcdir/configure" configure
ln -s "$srcdir/build-aux" build-aux
ln -s "$srcdir/lib/tcp.c" lib/tcp.c  # AC_CONFIG_SRCDIR

failed=0
n=0
# expect WANT-STDERR VAR=VALUE|--option...: configure fails, and its stderr
# is exactly WANT-STDERR (lines separated by '|').
expect() {
    want=$(printf '%s\n' "$1" | tr '|' '\n')
    shift
    n=$((n + 1))
    rc=0
    ./configure -q CC="$CC" "$@" >out 2>err </dev/null || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(cat err)" = "$want" ]; then
        echo "ok   - $*: $(tail -n 1 err)"
    else
        failed=$((failed + 1))
        echo "FAIL - $*: want a failure with exactly"
        printf '%s\n' "$want" | sed 's/^/         /'
        echo "       got exit $rc and"
        sed 's/^/         /' err
    fi
}

see="(see \"Supported platforms\" in README)"
needs="libnetbasics needs Linux with glibc 2.34 or later, or musl $see"
missing() {  # WHAT VAR=VALUE
    expect "configure: error: $1 not found; $needs" "$2"
}

expect "configure: error: Linux not found ($CC does not define __linux__); libnetbasics needs Linux: abstract Unix sockets, accept4, epoll, timerfd and eventfd $see" \
    nb_cv_sys_linux=no
expect "configure: error: glibc 2.34 or later not found (this is glibc 2.31); $needs" \
    nb_cv_glibc_version=2.31
missing accept4 nb_cv_have_accept4=no
missing SOCK_CLOEXEC nb_cv_have_sock_cloexec=no
missing SOCK_NONBLOCK nb_cv_have_sock_nonblock=no
missing MSG_NOSIGNAL nb_cv_have_msg_nosignal=no
missing epoll_create1 nb_cv_have_epoll_create1=no
missing timerfd_create nb_cv_have_timerfd_create=no
missing eventfd nb_cv_have_eventfd=no
missing "pthread_create in the C library" nb_cv_have_pthread_in_libc=no

# No 64-bit time_t: an error, unless --disable-year2038, which warns and
# goes on (stopped here by a missing accept4, so that the run stays short).
y2038="time_t is 32 bits and $CC offers no 64-bit time_t (glibc 2.34 or later, or musl 1.2 or later, has one); --disable-year2038 builds anyway, broken after 2038"
expect "configure: error: $y2038" \
    nb_cv_sys_time_bits=unavailable nb_cv_time_t_64=no
expect "configure: WARNING: time_t is 32 bits (--disable-year2038): time-server and time-client will fail after 2038-01-19 03:14:07 UTC|configure: error: accept4 not found; $needs" \
    --disable-year2038 nb_cv_time_t_64=no nb_cv_have_accept4=no

echo "configure requirements: $((n - failed)) of $n checks passed"
[ "$failed" -eq 0 ]
