#!/bin/sh
# netbasics.h uses no type whose size depends on _FILE_OFFSET_BITS or
# _TIME_BITS (time_t, off_t, struct timeval, struct timespec, struct stat,
# ...), so the library's ABI is the same whichever way a program is built:
# on i386 the library is built with a 64-bit time_t (configure), and a
# program built without _TIME_BITS=64 must still be able to call it.
#  1. The header's own declarations (comments removed, system headers
#     left out) may name only the types listed below, each of them known
#     not to depend on those macros.  A new type fails this test until it
#     has been checked and added to the list.
#  2. A program prints the size of each listed type and the layout of each
#     public structure; built without and with -D_FILE_OFFSET_BITS=64
#     -D_TIME_BITS=64, it must print the same.  (On 64-bit systems these
#     macros change nothing; the test bites on 32-bit ones.)
set -eu
: "${top_srcdir:=.}"
: "${CC:=cc}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Types the header may use: the C library's (none depends on the two
# macros) and its own.
# struct nb_connector is opaque: only pointers to it cross the interface.
allowed='size_t ssize_t socklen_t struct:sockaddr_storage struct:nb_error struct:nb_addr enum:nb_code struct:nb_connector'
# Types that do depend on them, for a clearer message.
forbidden='time_t off_t clock_t suseconds_t ino_t blkcnt_t fsblkcnt_t fsfilcnt_t rlim_t struct:timeval struct:timespec struct:itimerspec struct:stat struct:tm struct:rusage'

# 1. The header alone, preprocessed against empty system headers.
mkdir -p "$tmp/stub/sys"
: >"$tmp/stub/stddef.h"
: >"$tmp/stub/sys/types.h"
: >"$tmp/stub/sys/socket.h"
printf '#include <netbasics.h>\n' >"$tmp/only.c"
# shellcheck disable=SC2086 # CC may be "gcc -m32"
$CC -E -P -nostdinc -I"$tmp/stub" -I"$top_srcdir/include" "$tmp/only.c" \
    >"$tmp/decls"
used=$(tr -s ' \t' '  ' <"$tmp/decls" |
       grep -oE '\b(struct|union|enum) [A-Za-z_][A-Za-z0-9_]*|\b[A-Za-z_][A-Za-z0-9_]*_t\b' |
       tr ' ' ':' | sort -u)
status=0
for t in $used; do
    case " $forbidden " in
        *" $t "*)
            echo "FAIL: netbasics.h uses $(echo "$t" | tr ':' ' '), whose size depends on _FILE_OFFSET_BITS or _TIME_BITS on 32-bit systems"
            status=1
            continue ;;
    esac
    case " $allowed " in
        *" $t "*) ;;
        *)
            echo "FAIL: netbasics.h uses '$(echo "$t" | tr ':' ' ')', which is not on this test's list: check that its size does not depend on _FILE_OFFSET_BITS or _TIME_BITS, then add it to 'allowed' in tests/header-abi.sh"
            status=1 ;;
    esac
done
[ "$status" -eq 0 ] || exit 1
echo "types in netbasics.h: $(printf '%s\n' "$used" | tr ':\n' ' ,' | sed 's/,$//; s/,/, /g')"

# 2. Sizes and layouts, built both ways.
cat >"$tmp/abi.c" <<'EOF'
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <netbasics.h>

#define TYPE(t) printf("%-24s size %2zu align %zu\n", #t, sizeof(t), _Alignof(t))
#define MEMBER(t, m) printf("  %-22s at %3zu size %zu\n", #m, offsetof(t, m), \
                            sizeof(((t *)0)->m))

int main(void)
{
    TYPE(size_t);
    TYPE(ssize_t);
    TYPE(socklen_t);
    TYPE(struct sockaddr_storage);
    TYPE(enum nb_code);
    TYPE(nb_error);
    MEMBER(nb_error, code);
    MEMBER(nb_error, sys_errno);
    MEMBER(nb_error, gai_error);
    MEMBER(nb_error, op);
    MEMBER(nb_error, addr);
    MEMBER(nb_error, message);
    MEMBER(nb_error, attempts);
    MEMBER(nb_error, transferred);
    TYPE(nb_addr);
    MEMBER(nb_addr, len);
    MEMBER(nb_addr, ss);
    /* not part of the comparison: shows what the macros change here */
    fprintf(stderr, "time_t %zu bits, off_t %zu bits\n",
            sizeof(time_t) * 8, sizeof(off_t) * 8);
    return 0;
}
EOF
build() {  # NAME FLAGS...
    name=$1
    shift
    # shellcheck disable=SC2086 # CC may be "gcc -m32"
    $CC -std=c11 -I"$top_srcdir/include" "$@" "$tmp/abi.c" -o "$tmp/$name"
    "$tmp/$name" >"$tmp/$name.out" 2>"$tmp/$name.types"
}
build default
build wide -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
echo "default build: $(cat "$tmp/default.types"); with _FILE_OFFSET_BITS=64 _TIME_BITS=64: $(cat "$tmp/wide.types")"
if ! cmp -s "$tmp/default.out" "$tmp/wide.out"; then
    echo "FAIL: the public types differ with _FILE_OFFSET_BITS=64 _TIME_BITS=64:"
    diff "$tmp/default.out" "$tmp/wide.out" || :
    exit 1
fi
cat "$tmp/default.out"
echo "the same in both builds"
