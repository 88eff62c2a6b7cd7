#!/bin/sh
# The complete client in the README compiles warning-free against the
# library, links, and behaves: it prints the time from a server on port
# 9999, or the library's one-line error and exit status 1.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk '/^A complete client/ { grab = 1; next }
     grab && /^    / { sub(/^    /, ""); print; seen = 1; next }
     grab && seen && /^[^ ]/ { exit }
     grab && seen && /^$/ { print }' "$top_srcdir/README" > "$tmp/client.c"
grep -q 'int main' "$tmp/client.c" || { echo "no example found in README"; exit 1; }

# shellcheck disable=SC2086 # the flags are words
"$top_builddir/libtool" --mode=link --tag=CC $CC ${NB_SANITIZER_FLAGS:-} \
    -std=c11 -Wall -Wextra -Werror \
    -I"$top_srcdir/include" -o "$tmp/client" "$tmp/client.c" \
    "$top_builddir/lib/libnetbasics.la" >/dev/null

status=0
out=$("$tmp/client" 127.0.0.1 2>&1) || status=$?
echo "client said: $out (status $status)"
case "$status:$out" in
    "1:connect 127.0.0.1:9999: Connection refused") ;;
    0:[0-9][0-9][0-9][0-9]-*) ;;  # a time server happens to run on 9999
    *) echo "unexpected result"; exit 1 ;;
esac
