#!/bin/sh
# The man pages format without a single warning from man(1) and groff, as
# lintian checks them; every .so link page points at a page that exists;
# every public function of netbasics.h has a page, named in the NAME line
# of the page it leads to; every page is installed (listed in man/local.mk);
# every nb_*(3) page a page refers to exists.
#
# Pages live in man/man3 and man/man7, the layout of an installed tree, so
# that man -l run from man/ resolves ".so man3/x.3" as man does once
# installed.  Needs man-db and groff (Debian: man-db groff-base).
set -eu
command -v man >/dev/null 2>&1 || { echo "skip: man(1) not installed"; exit 77; }
command -v groff >/dev/null 2>&1 || { echo "skip: groff not installed"; exit 77; }

# Absolute: the checks below run from man/.
srcdir=$(cd "$top_srcdir" && pwd)
mandir="$srcdir/man"
header="$srcdir/include/netbasics.h"
makefile="$srcdir/man/local.mk"
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

# A missing locale would make man(1) itself warn.
if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
    LC_ALL=C.UTF-8
else
    LC_ALL=C
fi
MANROFFSEQ=
MANWIDTH=80
export LC_ALL MANROFFSEQ MANWIDTH

cd "$mandir"
pages=$(ls man3/*.3 man7/*.7)

# The target of a link page: ".so man3/x.3" as its only line.
so_target() {
    sed -n '1s/^\.so \(man[37]\/[A-Za-z0-9_.]*\.[37]\)$/\1/p' "$1"
}

for page in $pages; do
    if head -n 1 "$page" | grep -q '^\.so '; then
        target=$(so_target "$page")
        if [ -z "$target" ] || [ "$(wc -l < "$page")" -ne 1 ]; then
            fail "$page: a link page is one line: .so man3/<page>.3"
            continue
        fi
        [ -f "$target" ] || { fail "$page: $target does not exist"; continue; }
        if head -n 1 "$target" | grep -q '^\.so '; then
            fail "$page: $target is a link page itself"
        fi
    else
        # groff's own, stricter, set of warnings (-ww: all of them); a
        # link page would only repeat its target's.
        out=$(groff -t -s -man -ww -z -Tutf8 "$page" 2>&1) ||
            fail "$page: groff exited with $?"
        [ -z "$out" ] || fail "$page: groff -ww:
$out"
    fi
    # man(1) exits 0 even after a warning or a failed .so: read stderr.
    out=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
        fail "$page: man exited with $?"
    [ -z "$out" ] || fail "$page: man --warnings:
$out"
    grep -Eq "(^|[[:space:]])man/$page([[:space:]]|\$)" "$makefile" ||
        fail "$page: not listed in man/local.mk (it would not be installed)"
    # Plain ASCII: anything else is written as a roff escape.
    if LC_ALL=C grep -n '[^ -~	]' "$page"; then
        fail "$page: characters other than printable ASCII and tab"
    fi
done

# Every public function has a page, and its name is in that page's NAME.
functions=$(sed -n 's/^NB_EXPORT .*[ *]\(nb_[a-z_]*\)(.*/\1/p' "$header")
[ -n "$functions" ] || fail "no function found in $header"
for fn in $functions; do
    page="man3/$fn.3"
    [ -f "$page" ] || { fail "$fn: no page $page"; continue; }
    target=$(so_target "$page")
    [ -n "$target" ] || target=$page
    [ -f "$target" ] || continue  # reported above
    sed -n '/^\.SH NAME/,/^\.SH/p' "$target" | grep -q "\\<$fn\\>" ||
        fail "$fn: not named in the NAME section of $target"
done

# Cross references to library pages lead somewhere.
refs=$(grep -ho '\<\(nb_[a-z_]*\|netbasics\) ([37])' $pages |
       sed 's/^\([a-z_]*\) (\([37]\))$/\1.\2/' | sort -u)
for ref in $refs; do
    section=${ref##*.}
    [ -f "man$section/$ref" ] || fail "a page refers to ${ref%.*}($section), which has no page"
done

[ "$failed" -eq 0 ] || exit 1
echo "$(echo "$pages" | wc -w) pages format cleanly; $(echo "$functions" | wc -w) functions documented"
