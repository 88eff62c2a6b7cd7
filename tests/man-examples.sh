#!/bin/sh
# The EXAMPLES of the man pages compile.  The code between the lines
# '.\" example-begin' and '.\" example-end' of a page is taken out, roff
# requests (.PP, .nf, .in...) dropped and the escapes the examples use
# undone (\e \- \(aq \(dq \&); any other escape is an error.  Each block
# is compiled as strict C11 with every warning an error.  Every page that
# is not a .so link must have at least one example.
set -eu
mandir="$top_srcdir/man"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

compiled=0
for page in "$mandir"/man3/*.3 "$mandir"/man7/*.7; do
    head -n 1 "$page" | grep -q '^\.so ' && continue
    name=$(basename "$page")
    begins=$(grep -c '^\.\\" example-begin$' "$page" || true)
    ends=$(grep -c '^\.\\" example-end$' "$page" || true)
    if [ "$begins" -eq 0 ]; then
        fail "$name: no example-begin/example-end block"
        continue
    fi
    if [ "$begins" -ne "$ends" ]; then
        fail "$name: $begins example-begin but $ends example-end"
        continue
    fi
    i=0
    while [ "$i" -lt "$begins" ]; do
        i=$((i + 1))
        c="$tmp/${name%.*}-$i.c"
        # The i-th block; lines that start with . or ' are roff requests.
        # \e goes through a placeholder so that no other escape can
        # produce or hide a backslash.
        awk -v want="$i" '
            /^\.\\" example-begin$/ { k++; inside = (k == want); next }
            /^\.\\" example-end$/ { inside = 0; next }
            inside && !/^[.\047]/
        ' "$page" |
        sed -e 's/\\e/@NB_BACKSLASH@/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" \
            -e 's/\\(dq/"/g' -e 's/\\&//g' > "$c.roff"
        if grep -n '\\' "$c.roff"; then
            fail "$name: example $i: a roff escape this test does not undo"
            continue
        fi
        sed 's/@NB_BACKSLASH@/\\/g' "$c.roff" > "$c"
        if ${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Werror \
               -I"$top_srcdir/include" -c "$c" -o "$tmp/example.o"; then
            compiled=$((compiled + 1))
        else
            fail "$name: example $i does not compile; the code was:"
            cat -n "$c"
        fi
    done
done

[ "$failed" -eq 0 ] || exit 1
echo "$compiled examples compile"
