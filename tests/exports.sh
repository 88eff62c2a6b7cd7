#!/bin/sh
# The shared library exports exactly the public nb_* functions declared in
# include/netbasics.h: no internal nb__* helper, nothing without the prefix.
set -eu
so=$(ls "$top_builddir"/lib/.libs/libnetbasics.so.[0-9]* 2>/dev/null | head -n 1)
if [ -z "$so" ]; then
    echo "skip: no shared library built (configure --disable-shared)"
    exit 77
fi
command -v nm >/dev/null 2>&1 || { echo "skip: nm not installed"; exit 77; }

exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort)
declared=$(sed -n 's/^NB_EXPORT .*[ *]\(nb_[a-z_]*\)(.*/\1/p' \
               "$top_srcdir/include/netbasics.h" | sort)

if [ "$exported" != "$declared" ]; then
    echo "exported symbols differ from the header's declarations:"
    echo "--- exported"; echo "$exported"
    echo "--- declared"; echo "$declared"
    exit 1
fi
echo "$(echo "$exported" | wc -l) symbols exported, all declared in netbasics.h"

soname=$(objdump -p "$so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libnetbasics.so.0" ]; then
    echo "soname is '$soname', want libnetbasics.so.0"
    exit 1
fi
# The library depends on libc only.
needed=$(objdump -p "$so" | awk '$1 == "NEEDED" { print $2 }' | grep -v '^libc\.so' || true)
if [ -n "$needed" ]; then
    echo "unexpected dependencies: $needed"
    exit 1
fi
