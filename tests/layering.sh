#!/bin/sh
# The files of lib/ form layers (lib/internal.h draws them): no two files
# call each other, directly or round a loop.  Read off the objects with nm:
# file A depends on file B when A uses a function B defines.  tsort finds
# any loop; each edge is printed on failure so that it can be undone.
set -eu
objdir="$top_builddir/lib"
objs=$(ls "$objdir"/libnetbasics_core_la-*.o 2>/dev/null || true)
if [ -z "$objs" ]; then
    objs=$(ls "$objdir"/.libs/libnetbasics_core_la-*.o 2>/dev/null || true)
fi
[ -n "$objs" ] || { echo "skip: no objects of lib/ found in $objdir"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "skip: nm missing (binutils)"; exit 77; }
command -v tsort >/dev/null 2>&1 || { echo "skip: tsort missing (coreutils)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in $objs; do
    f=$(basename "$o" .o | sed 's/^libnetbasics_core_la-//')
    nm "$o" | awk -v f="$f" '$2 ~ /^[TDRB]$/ { print $3, f }' >> "$tmp/defined"
    nm "$o" | awk -v f="$f" '$1 == "U" { print $2, f }' >> "$tmp/used"
done
# "user definer" for every symbol a file uses from another file
sort -k1,1 "$tmp/defined" > "$tmp/d"
sort -k1,1 "$tmp/used" > "$tmp/u"
join "$tmp/u" "$tmp/d" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"
if ! tsort "$tmp/edges" > "$tmp/order" 2> "$tmp/loop"; then
    echo "FAIL: files of lib/ call each other round a loop:"
    cat "$tmp/loop"
    echo "every dependency (user -> definer):"
    sed 's/ / -> /' "$tmp/edges"
    exit 1
fi
echo "lib/ has $(wc -l < "$tmp/edges") dependencies between files, no loop; bottom-up:"
tac "$tmp/order" | tr '\n' ' '
echo
