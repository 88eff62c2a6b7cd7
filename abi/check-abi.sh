#!/bin/sh
# check-abi.sh BASELINE LIBRARY - `make check-abi`: compares the binary
# interface of the library just built with the committed baseline of the
# last release (abidiff, from libabigail).  Functions and variables may be
# added; anything removed or changed (a function's signature, a type such
# as nb_error or nb_addr, the soname) fails.  See abi/README.
set -eu
baseline=$1
library=$2

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "check-abi: $1 not found; install libabigail's tools" \
         "(Debian/Ubuntu: apt-get install abigail-tools)" >&2
    exit 1
}
need abidiff
need readelf

[ -f "$library" ] || { echo "check-abi: $library not built" >&2; exit 1; }
# The baseline describes one architecture; another's layout differs.
want=$(sed -n "s/.*architecture='\([^']*\)'.*/\1/p;q" "$baseline")
have=$(abidw --no-corpus-path "$library" | sed -n "s/.*architecture='\([^']*\)'.*/\1/p;q")
if [ "$want" != "$have" ]; then
    echo "check-abi: skipped: the baseline is for $want, this library is $have"
    exit 0
fi
# Without debugging information abidiff sees names, not types.
if ! readelf -S "$library" | grep -q '\.debug_info'; then
    echo "check-abi: $library has no debugging information;" \
         "configure with CFLAGS containing -g (the default)" >&2
    exit 1
fi

# --no-added-syms: additions are what a minor release is for.  Every other
# change abidiff reports makes it exit non-zero.
if abidiff --no-added-syms "$baseline" "$library"; then
    echo "check-abi: $(basename "$library") is compatible with $(basename "$baseline")"
    abidiff "$baseline" "$library" | sed -n 's/^Functions changes summary: /added since the baseline: /p' || true
    exit 0
fi
echo "check-abi: FAILED: $(basename "$library") breaks the interface of $(basename "$baseline") (report above)" >&2
exit 1
