# fresh-tree.sh - sourced by coverage.sh and static-analysis.sh, which
# build the tree again elsewhere.  `fresh_tree NAME` makes a temporary
# directory $work (removed on exit, with a trap), an empty build directory
# $build in it, and sets $tree to the source tree to configure: $srcdir
# itself, or a copy of its distribution when $srcdir is configured in place
# (a tree configured in place cannot also be built out of tree).  Exits 2
# when any of that fails.
fresh_tree() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/nb-$1.XXXXXX") || exit 2
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
    build=$work/build
    mkdir "$build"
    if [ -f "$srcdir/config.status" ]; then
        make -s -C "$srcdir" distdir distdir="$work/src" >/dev/null || exit 2
        tree=$work/src
    else
        if [ ! -x "$srcdir/configure" ]; then
            (cd "$srcdir" && ./autogen.sh) >/dev/null 2>&1 || exit 2
        fi
        tree=$srcdir
    fi
}
