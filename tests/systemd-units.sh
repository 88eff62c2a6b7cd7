#!/bin/sh
# systemd-units.sh - examples/time-server.socket and time-server.service
# pass `systemd-analyze verify`: every key known, every value valid, the
# socket finds its service, the documentation pages exist.  The units are
# also checked to be the pair the examples document: TCP and UDP port
# 9999, one service for both (Accept=no), ExecStart at the installed path.
#
# verify needs no running systemd (it works in a container without one),
# but it insists that ExecStart names an executable file: the check runs
# on a copy whose ExecStart points at the built examples/time-server.
# Exit 77 (skip) without systemd-analyze.
set -u
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "skip: systemd-analyze not installed (apt-get install systemd)"
    exit 77
fi
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
socket=$top_srcdir/examples/time-server.socket
service=$top_srcdir/examples/time-server.service
installed=/usr/local/bin/time-server
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# -------------------------------------------------------- what they say
has() {  # has FILE LINE: FILE holds exactly this line
    grep -qx -- "$2" "$1" || fail "$(basename "$1"): no line '$2'"
}
has "$socket" 'ListenStream=9999'
has "$socket" 'ListenDatagram=9999'
has "$socket" 'BindIPv6Only=both'
has "$socket" 'Accept=no'
has "$socket" 'WantedBy=sockets.target'
has "$service" "ExecStart=$installed"
for option in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict \
              PrivateTmp=yes 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
    has "$service" "$option"
done

# ------------------------------------------------------ systemd-analyze
cp "$socket" "$service" "$tmp/" || exit 1
server=$(cd "$top_builddir/examples" 2>/dev/null && pwd)/time-server
if [ ! -x "$server" ]; then
    echo "FAIL: $top_builddir/examples/time-server not built"
    exit 1
fi
sed "s|^ExecStart=$installed|ExecStart=$server|" "$service" > "$tmp/time-server.service"

# Documentation= names man:netbasics(7), found in the source tree, and
# systemd's own pages, which minimal systems leave out.
if man -w systemd.socket >/dev/null 2>&1; then
    man_option=--man=yes
    # absolute: verify runs in $tmp
    MANPATH="$(cd "$top_srcdir/man" && pwd):"
    export MANPATH
else
    man_option=--man=no
    echo "# systemd's man pages are not installed: Documentation= not checked"
fi
echo "# $(systemd-analyze --version | head -n 1)"
status=0
(cd "$tmp" && systemd-analyze verify "$man_option" \
     ./time-server.socket ./time-server.service) >"$tmp/verify.out" 2>&1 ||
    status=$?
if [ "$status" -ne 0 ] || [ -s "$tmp/verify.out" ]; then
    # a warning is a failure too: verify exits 0 on unknown keys
    fail "systemd-analyze verify (exit $status):"
    cat "$tmp/verify.out"
else
    echo "ok: systemd-analyze verify $man_option: no complaint"
fi
# For information: how exposed the service is (lower is better).
systemd-analyze security --offline=yes "$tmp/time-server.service" 2>/dev/null |
    sed -n 's/^→ Overall exposure level for /# exposure of /p'
exit "$failed"
