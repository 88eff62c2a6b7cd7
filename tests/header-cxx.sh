#!/bin/sh
# netbasics.h stands alone and compiles cleanly as C++11 (strict,
# pedantic), with the first C++ compiler found: $CXX, c++, g++, clang++.
# Skipped (77) when there is none.
set -eu
for cxx in "${CXX:-}" c++ g++ clang++; do
    [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 || continue
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    printf '#include <netbasics.h>\nint main() { nb_error e; nb_error_clear(&e); return e.code; }\n' \
        > "$tmp/use.cc"
    "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
        -I"$top_srcdir/include" "$tmp/use.cc"
    echo "C++ ($cxx): ok"
    exit 0
done
echo "skip: no C++ compiler (CXX, c++, g++, clang++)"
exit 77
