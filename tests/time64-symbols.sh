#!/bin/sh
# On a 32-bit system whose C library has both 32-bit and 64-bit time
# functions (glibc 2.34 and later on i386 or 32-bit ARM, musl 1.2 and
# later), the library and the examples call only the 64-bit ones: the
# _TIME_BITS=64 that configure put in config.h reached every object.
# Reads what each file imports: objdump -T for the shared library, nm -u
# for the static library, the example programs and their objects.  Fails
# on any 32-bit time function (clock_gettime, localtime_r, ppoll,
# setsockopt, ... instead of __clock_gettime64, __localtime64_r,
# __ppoll64, __setsockopt64, ...), and when no 64-bit one is imported at
# all (then this test looked at the wrong files).  Skipped, saying so,
# where time_t has 64 bits in every ABI of the C library (x86-64).
set -eu
: "${top_builddir:=.}"
: "${CC:=cc}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in nm objdump; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (binutils)"; exit 77; }
done

# Does the C library keep 32-bit time functions?  glibc says so with
# __TIMESIZE 32, musl with _REDIR_TIME64 1 (both in <time.h>'s headers).
printf '#include <time.h>\nnb_abi __TIMESIZE _REDIR_TIME64\n' >"$tmp/abi.c"
# shellcheck disable=SC2086 # CC may be "gcc -m32"
abi=$($CC -E -P "$tmp/abi.c" | grep '^nb_abi ')
case $abi in
    "nb_abi 32 "*|*" 1") ;;
    *)
        echo "SKIP: time_t has 64 bits in every ABI of this C library ($CC: $abi):" \
             "there are no 32-bit time functions to avoid"
        exit 77 ;;
esac

# The 32-bit time functions: the names the C library keeps for programs
# built with a 32-bit time_t.  A build with _TIME_BITS=64 (glibc) or musl
# 1.2 calls the 64-bit ones instead (__clock_gettime64, __ppoll64,
# __lstat64_time64, __ppoll_time64, ...).
time32='
adjtime adjtimex aio_suspend clock_adjtime clock_getres clock_gettime
clock_nanosleep clock_settime cnd_timedwait ctime ctime_r difftime
epoll_pwait2 fcntl fcntl64 fstat fstat64 fstatat fstatat64 futimens futimes
futimesat gai_suspend getitimer getrusage getsockopt gettimeofday glob
glob64 globfree globfree64 gmtime gmtime_r ioctl localtime localtime_r lstat
lstat64 lutimes mktime mq_timedreceive mq_timedsend msgctl mtx_timedlock
nanosleep ntp_adjtime ntp_gettime ntp_gettimex ppoll prctl pselect
pthread_clockjoin_np pthread_cond_clockwait pthread_cond_timedwait
pthread_mutex_clocklock pthread_mutex_timedlock pthread_rwlock_clockrdlock
pthread_rwlock_clockwrlock pthread_rwlock_timedrdlock
pthread_rwlock_timedwrlock pthread_timedjoin_np recvmmsg recvmsg
sched_rr_get_interval select sem_clockwait sem_timedwait semctl semtimedop
sendmmsg sendmsg setitimer setsockopt settimeofday shmctl sigtimedwait stat
stat64 stime thrd_sleep time timegm timelocal timer_gettime timer_settime
timerfd_gettime timerfd_settime timespec_get timespec_getres utime utimensat
utimes wait3 wait4
'
# shellcheck disable=SC2086 # one name a word
printf '%s\n' $time32 >"$tmp/time32"

# imports FILE: the undefined symbols of FILE, one a line, versions cut.
imports() {
    case $1 in
        *.so*) objdump -T "$1" | awk '/\*UND\*/ { print $NF }' ;;
        *.a|*.o) nm -u "$1" | awk '$1 == "U" { print $2 }' ;;
        # a program: its dynamic imports (a static one has none)
        *) nm -D -u "$1" 2>/dev/null | awk '$1 == "U" { print $2 }' ;;
    esac | sed 's/@.*//' | sort -u
}

is_elf() {
    [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

files=
for f in "$top_builddir"/lib/.libs/libnetbasics.so.*.*.* \
         "$top_builddir"/lib/.libs/libnetbasics.a \
         "$top_builddir"/examples/*.o; do
    [ -f "$f" ] && files="$files $f"
done
# The programs (libtool's wrapper scripts are not ELF: the programs they
# start are in .libs).
for f in "$top_builddir"/examples/* "$top_builddir"/examples/.libs/*; do
    case $f in *.o) continue ;; esac
    [ -f "$f" ] && [ -x "$f" ] && is_elf "$f" && files="$files $f"
done
if [ -z "$files" ]; then
    echo "FAIL: nothing built in $top_builddir/lib/.libs or $top_builddir/examples"
    exit 1
fi

status=0
all64=
for f in $files; do
    imports "$f" >"$tmp/imports"
    bad=$(grep -Fx -f "$tmp/time32" "$tmp/imports" | tr '\n' ' ')
    wide=$(grep -E '^__.*(64|64_r|_time64)$' "$tmp/imports" | tr '\n' ' ')
    all64="$all64 $wide"
    name=${f#"$top_builddir"/}
    if [ -n "$bad" ]; then
        echo "FAIL: $name imports 32-bit time functions: $bad"
        status=1
    else
        echo "ok   - $name: ${wide:-no time function}"
    fi
done
all64=$(printf '%s\n' "$all64" | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ')
case " $all64 " in
    *" __clock_gettime64 "*) ;;
    *)
        echo "FAIL: nothing imports __clock_gettime64; the examples read the clock," \
             "so this test is not looking at what was built"
        status=1 ;;
esac
echo "64-bit time functions imported: $all64"
exit $status
