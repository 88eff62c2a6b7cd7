#!/bin/sh
# abi-compat.sh PREFIX - a program built against release 0.1.0 runs,
# unchanged, against the library installed in PREFIX, and behaves the same.
#
# From a git checkout (it needs the 0.1.0 commit): builds 0.1.0 into a
# temporary prefix, compiles tests/abi/program-0.1.c against it (its
# header, its library), runs that one binary on the 0.1.0 library and on
# PREFIX's, and compares what it prints.  It also checks that PREFIX's
# library keeps the soname libnetbasics.so.0.  Run by .ci/run after
# `make install`; exits 77 (skip) when the commit is not in this clone.
set -eu
release=e81b0eb21144aa8ad10c191247432ce1767f5b8e   # 0.1.0
new_prefix=$1
srcdir=$(cd "$(dirname "$0")/.." && pwd)
new_lib=$new_prefix/lib

if ! git -C "$srcdir" cat-file -e "$release^{commit}" 2>/dev/null; then
    echo "skip: the 0.1.0 commit ($release) is not in this clone"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building 0.1.0 from $release"
git -C "$srcdir" archive --prefix=nb-0.1.0/ "$release" | tar -x -C "$work"
(cd "$work/nb-0.1.0" && ./autogen.sh && ./configure --prefix="$work/old" &&
     make -j"$(nproc 2>/dev/null || echo 2)" && make install) \
    > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }

${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$work/old/include" \
    "$srcdir/tests/abi/program-0.1.c" -L"$work/old/lib" -lnetbasics \
    -o "$work/program"

soname=$(objdump -p "$new_lib/libnetbasics.so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libnetbasics.so.0 ] ||
    { echo "FAIL: the installed library's soname is '$soname'"; exit 1; }
echo "installed library $new_lib/libnetbasics.so: soname $soname"

for which in old new; do
    if [ $which = old ]; then dir="$work/old/lib"; else dir=$new_lib; fi
    loaded=$(LD_LIBRARY_PATH=$dir ldd "$work/program" | awk '/libnetbasics/ { print $3 }')
    case $loaded in
        "$dir"/*) ;;
        *) echo "FAIL: the $which run would load '$loaded', not $dir's library"; exit 1 ;;
    esac
    LD_LIBRARY_PATH=$dir "$work/program" > "$work/$which.out" ||
        { echo "FAIL: the 0.1.0 program failed on the $which library"; cat "$work/$which.out"; exit 1; }
done
if ! diff -u "$work/old.out" "$work/new.out"; then
    echo "FAIL: the 0.1.0 program behaves differently on the new library"
    exit 1
fi
echo "the 0.1.0 program behaves the same on both libraries ($(wc -l < "$work/new.out") lines compared)"
