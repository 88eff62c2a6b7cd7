#!/bin/sh
# man-int-args.sh - a call that takes several int arguments is easy to
# call with two of them swapped, and the compiler cannot tell (flags in the
# place of a backlog gave a blocking listener with a backlog of 1).  So the
# NOTES section of its page writes the call out with every argument in
# order, "nb_tcp_listen(host, port, backlog, flags, err)", and says which
# int is which.
#
# For each function of include/netbasics.h with two or more plain int
# parameters, the page that documents it (following a .so link) must have
# a NOTES section that holds that call, its parameter names taken from the
# header, once roff's font escapes are removed.  A function without a page
# is left to tests/manpages.sh, which reports it.
set -eu
header="$top_srcdir/include/netbasics.h"
mandir="$top_srcdir/man"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tmp_fail=$tmp/failed
: > "$tmp_fail"

# One prototype per line: "NB_EXPORT ... name(params);" joined, with the
# attributes and comments dropped.
protos=$(sed -e 's,/\*.*\*/,,' "$header" |
         awk '/^NB_EXPORT/ { p = ""; inside = 1 }
              inside { p = p " " $0; if ($0 ~ /;/) { print p; inside = 0 } }' |
         tr -s ' \t' '  ')

echo "$protos" | while IFS= read -r proto; do
    name=$(printf '%s\n' "$proto" | sed 's/^.*[ *]\(nb_[a-z_]*\)(.*$/\1/')
    params=$(printf '%s\n' "$proto" | sed 's/^[^(]*(\(.*\));.*$/\1/')
    # plain int parameters ("int x", "const int x"; not "int *x")
    ints=$(printf '%s\n' "$params" | tr ',' '\n' |
           grep -c '^ *\(const \)\{0,1\}int [a-z_]*$' || true)
    [ "$ints" -ge 2 ] || continue
    # the call as the page writes it: the parameter names in order
    names=$(printf '%s\n' "$params" | tr ',' '\n' |
            sed 's/^.*[ *]\([a-z_]*\) *$/\1/' | paste -sd, - | sed 's/,/, /g')
    call="$name($names)"
    page="$mandir/man3/$name.3"
    [ -f "$page" ] || { echo "# $name: no page (tests/manpages.sh reports it)"; continue; }
    target=$(sed -n '1s/^\.so \(man3\/.*\)$/\1/p' "$page")
    [ -n "$target" ] && page="$mandir/$target"
    notes=$(sed -n '/^\.SH NOTES/,/^\.SH /p' "$page" |
            sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(dq/"/g')
    if [ -z "$notes" ]; then
        echo "FAIL: $name: $(basename "$page") has no NOTES section"
        echo x >> "$tmp_fail"
    elif printf '%s\n' "$notes" | grep -qF "$call"; then
        echo "ok   - $name: $(basename "$page") NOTES has $call"
    else
        echo "FAIL: $name: the NOTES of $(basename "$page") do not write out $call"
        echo x >> "$tmp_fail"
    fi
done

checked=$(echo "$protos" | grep -c . || true)
if [ -s "$tmp_fail" ]; then
    echo "$(wc -l < "$tmp_fail") page(s) do not say which int is which"
    exit 1
fi
echo "every page of a call taking several ints writes the call out ($checked prototypes read)"
