#!/bin/sh
# netbasics.h stands alone and compiles cleanly as C11 (strict, pedantic)
# and as C++ when a C++ compiler is installed.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <netbasics.h>\nint main(void) { nb_error e; nb_error_clear(&e); return e.code; }\n' \
    > "$tmp/use.c"

${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
    -I"$top_srcdir/include" "$tmp/use.c"
echo "C11: ok"

for cxx in "${CXX:-}" c++ g++ clang++; do
    [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 || continue
    cp "$tmp/use.c" "$tmp/use.cc"
    "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
        -I"$top_srcdir/include" "$tmp/use.cc"
    echo "C++ ($cxx): ok"
    exit 0
done
echo "no C++ compiler: C++ check skipped"
