#!/bin/sh
# netbasics.h stands alone and compiles cleanly as C11 (strict, pedantic).
# (As C++: header-cxx.sh.)
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <netbasics.h>\nint main(void) { nb_error e; nb_error_clear(&e); return e.code; }\n' \
    > "$tmp/use.c"

${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
    -I"$top_srcdir/include" "$tmp/use.c"
echo "C11: ok"
