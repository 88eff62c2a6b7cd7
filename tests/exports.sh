#!/bin/sh
# The shared library's binary interface, as lib/libnetbasics.sym defines it:
#  - every function declared in include/netbasics.h is listed there, and
#    nothing else is;
#  - the library exports exactly those names (no internal nb__* helper,
#    nothing without the prefix);
#  - each carries the version node the list gives it (objdump -T), so that
#    a program linked against an older release keeps finding it;
#  - the soname is libnetbasics.so.0 and libc is the only dependency.
set -eu
so=$(ls "$top_builddir"/lib/.libs/libnetbasics.so.[0-9]* 2>/dev/null | head -n 1)
if [ -z "$so" ]; then
    echo "skip: no shared library built (configure --disable-shared?)"
    exit 77
fi
for tool in nm objdump; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "skip: $tool missing (binutils)"; exit 77; }
done
symfile="$top_srcdir/lib/libnetbasics.sym"
status=0
fail() { echo "FAIL: $*"; status=1; }

# "name node" for every symbol of the version script, in file order.
listed_with_node=$(awk '
    /^[A-Za-z0-9_.]+[ \t]*\{/ { node = $1 }
    /^[ \t]+nb_[a-z0-9_]+;/ { sub(/;.*/, "", $1); print $1, node }
' "$symfile" | sort)
listed=$(echo "$listed_with_node" | awk '{ print $1 }')
declared=$(sed -n 's/^NB_EXPORT .*[ *]\(nb_[a-z0-9_]*\)(.*/\1/p' \
               "$top_srcdir/include/netbasics.h" | sort)
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' |
           sed 's/@.*//' | sort)

[ "$declared" = "$listed" ] || {
    fail "include/netbasics.h and lib/libnetbasics.sym list different functions:"
    echo "$declared" > "${TMPDIR:-/tmp}/nb-declared.$$"
    echo "$listed" | diff "${TMPDIR:-/tmp}/nb-declared.$$" - || true
    rm -f "${TMPDIR:-/tmp}/nb-declared.$$"
}
[ "$exported" = "$listed" ] || {
    fail "the library exports other names than lib/libnetbasics.sym lists:"
    echo "--- exported"; echo "$exported"
    echo "--- listed"; echo "$listed"
}
echo "$(echo "$exported" | wc -l) functions exported, each declared in netbasics.h and listed in libnetbasics.sym"

# Version nodes: objdump -T prints "... NODE name" (default version).
versioned=$(objdump -T "$so" | awk '$NF ~ /^nb_/ { print $NF, $(NF-1) }' | sort)
if echo "$versioned" | awk '{ print $2 }' | grep -q '^NETBASICS_'; then
    [ "$versioned" = "$listed_with_node" ] || {
        fail "version nodes differ from lib/libnetbasics.sym:"
        echo "--- objdump -T"; echo "$versioned"
        echo "--- libnetbasics.sym"; echo "$listed_with_node"
    }
    echo "every nb_ symbol carries its version node:" \
         $(echo "$versioned" | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }')
else
    echo "skip: the linker did not version the symbols (no --version-script)"
fi

soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libnetbasics.so.0" ] || fail "soname is '$soname', want libnetbasics.so.0"
needed=$(objdump -p "$so" | awk '$1 == "NEEDED" { print $2 }' |
         grep -v -e '^libc\.so' -e '^ld-linux' -e '^libc\.musl' || true)
[ -z "$needed" ] || fail "unexpected dependencies: $needed"
exit $status
