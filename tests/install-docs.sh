#!/bin/sh
# install-docs.sh - `make install` puts the tutorial the README points to,
# and the sources of the examples, under $(docdir), where the README says;
# and every source file in examples/ is among them (a new example must be
# added to dist_example_DATA in examples/local.mk).
#
# It runs `make install-data` (the part of `make install` that copies
# documentation, man pages, the header and netbasics.pc: nothing is built
# or linked) from the build tree into a temporary DESTDIR, with prefix
# /usr/local as the README assumes.  Then it builds the installed
# examples the way the README says, against this tree's header.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

root=$tmp/root
docdir=/usr/local/share/doc/libnetbasics

# Not the parent make's flags: its job server is not ours, and a
# TESTS=... given to `make check` means nothing here.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" \
       install-data DESTDIR="$root" prefix=/usr/local >"$tmp/make.log" 2>&1; then
    ok "make install-data DESTDIR=... prefix=/usr/local"
else
    cat "$tmp/make.log"
    echo "FAIL: make install-data failed"
    exit 1
fi

d=$root$docdir
if cmp -s "$d/tutorial.md" "$top_srcdir/docs/tutorial.md"; then
    ok "$docdir/tutorial.md installed"
else
    fail "$docdir/tutorial.md not installed (or not the same file)"
fi

# Every source of examples/ (not what a build leaves there) is installed.
for f in "$top_srcdir"/examples/*.c "$top_srcdir"/examples/*.h \
         "$top_srcdir"/examples/*.socket "$top_srcdir"/examples/*.service; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    if cmp -s "$d/examples/$name" "$f"; then
        ok "$docdir/examples/$name"
    else
        fail "examples/$name is not installed: list it in dist_example_DATA (examples/local.mk)"
    fi
done
for f in "$d"/examples/*; do
    [ -f "$top_srcdir/examples/$(basename "$f")" ] ||
        fail "$docdir/examples/$(basename "$f") installed, but not in examples/"
done

# The README says where they are.
if grep -q "$docdir/tutorial.md" "$top_srcdir/README" &&
   grep -q "$docdir/examples" "$top_srcdir/README"; then
    ok "the README names $docdir/tutorial.md and $docdir/examples"
else
    fail "the README does not say where the tutorial and examples are installed"
fi

# The installed programs build as the README says: a copy of the
# directory, an empty config.h, -D_GNU_SOURCE.
inc=$(cd "$top_srcdir/include" && pwd)
cp -r "$d/examples" "$tmp/copy" && touch "$tmp/copy/config.h"
for p in time-server time-client; do
    [ -f "$tmp/copy/$p.c" ] || continue
    if (cd "$tmp/copy" &&
        $CC -std=c11 -D_GNU_SOURCE -I. -I"$inc" -c "$p.c" -o "$p.o" &&
        $CC -std=c11 -D_GNU_SOURCE -I. -I"$inc" -c timeproto.c -o timeproto.o) \
            >"$tmp/cc.log" 2>&1; then
        ok "the installed $p.c compiles as the README says"
    else
        cat "$tmp/cc.log"
        fail "the installed $p.c does not compile as the README says"
    fi
done

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
