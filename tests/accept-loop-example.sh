#!/bin/sh
# accept-loop-example.sh - the poll-loop echo server of nb_tcp_accept(3)
# (the second EXAMPLES block of man/man3/nb_tcp_listen.3) is built and
# run, as a reader would: tests/man-examples.sh only compiles the
# examples, and this one makes claims that need running:
#
#  - one thread serves several clients at once: a second client is echoed
#    while the first is connected and silent, and a larger message comes
#    back whole, however nb_recv splits it;
#  - accepting from the non-blocking listener stops at EAGAIN without a
#    word (nothing pending is not an error);
#  - out of descriptors (ulimit -n 6: 0-2, the listener and two clients),
#    the server reports EMFILE, stops polling the listener for a while
#    instead of spinning (a handful of messages a second, not thousands),
#    keeps serving the clients it has, and accepts the waiting client as
#    soon as one leaves.
#
# Loopback and ephemeral ports only.  Needs python3 for the clients
# (skipped, 77, without it).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
page=$top_srcdir/man/man3/nb_tcp_listen.3
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed: skipped"; exit 77; }

tmp=$(mktemp -d) || exit 1
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

# The example blocks, extracted as tests/man-examples.sh does; the one
# with the poll loop is the program.
n=$(grep -c '^\.\\" example-begin$' "$page")
i=0 found=""
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    awk -v want="$i" '
        /^\.\\" example-begin$/ { k++; inside = (k == want); next }
        /^\.\\" example-end$/ { inside = 0; next }
        inside && !/^[.\047]/
    ' "$page" |
    sed -e 's/\\e/@NB_BACKSLASH@/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" \
        -e 's/\\(dq/"/g' -e 's/\\&//g' -e 's/@NB_BACKSLASH@/\\/g' > "$tmp/ex$i.c"
    if grep -q 'NB_NONBLOCK' "$tmp/ex$i.c" && grep -q 'poll(' "$tmp/ex$i.c"; then
        found=$tmp/ex$i.c
    fi
done
[ -n "$found" ] || { echo "FAIL: no poll-loop example with NB_NONBLOCK in $page"; exit 1; }
cp "$found" "$tmp/echo.c"

# -no-install: a real executable that finds the build tree's library.
# shellcheck disable=SC2086 # the sanitizer flags are words
if "$top_builddir/libtool" --mode=link --tag=CC $CC -std=c11 -pedantic \
       -Wall -Wextra -Werror ${NB_SANITIZER_FLAGS:-} -I"$top_srcdir/include" \
       -no-install -o "$tmp/echo" "$tmp/echo.c" \
       "$top_builddir/lib/libnetbasics.la" >"$tmp/build.log" 2>&1; then
    ok "the poll-loop example builds"
else
    cat "$tmp/build.log"
    echo "FAIL: the poll-loop example does not build"
    exit 1
fi

# start LOG [ULIMIT]: the server on port 0; sets $port and $spid.
start() {
    log=$1 limit=${2:-}
    if [ -n "$limit" ]; then
        (ulimit -n "$limit" && exec "$tmp/echo" 0) >"$tmp/$log.out" 2>"$tmp/$log.err" &
    else
        "$tmp/echo" 0 >"$tmp/$log.out" 2>"$tmp/$log.err" &
    fi
    spid=$!
    pids="$pids $spid"
    port=""
    k=0
    while [ "$k" -lt 100 ]; do
        port=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$log.out")
        [ -n "$port" ] && return 0
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
        k=$((k + 1))
    done
    fail "$log: no 'listening on ...:PORT' line: $(head -c 300 "$tmp/$log.err")"
    return 1
}

cat > "$tmp/clients.py" <<'EOF'
import socket, sys, time

port = int(sys.argv[2])
mode = sys.argv[1]
err = sys.argv[3]

def client():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s

def echo(s, data, what):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("%s: the server closed the connection" % what)
        got += chunk
    if got != data:
        sys.exit("%s: %d bytes came back different" % (what, len(data)))

def no_echo(s, what, seconds):
    s.settimeout(seconds)
    try:
        data = s.recv(100)
        sys.exit("%s: answered %r while the server was out of descriptors"
                 % (what, data))
    except socket.timeout:
        pass
    s.settimeout(5)

if mode == "serve":
    a = client()
    b = client()
    echo(b, b"two\n", "the second client, the first silent")
    echo(a, b"one\n", "the first client")
    big = bytes(range(256)) * 800           # 200 KiB, in many pieces
    echo(a, big, "200 KiB")
    c = client()
    echo(c, b"three\n", "a third client")
    b.close()
    echo(c, b"still\n", "after another left")
    a.close()
    c.close()
elif mode == "emfile":
    a = client()
    b = client()
    echo(a, b"a\n", "client 1")
    echo(b, b"b\n", "client 2")
    c = client()                            # queued: no descriptor left
    c.sendall(b"c\n")
    no_echo(c, "client 3", 1.0)
    echo(a, b"a again\n", "client 1 while the server is out of descriptors")
    with open(err) as f:
        lines = [l for l in f if "Too many open files" in l]
    if not lines:
        sys.exit("no EMFILE message from the server")
    if len(lines) > 40:
        sys.exit("%d EMFILE messages in about a second: the loop spins"
                 % len(lines))
    print("%d EMFILE messages in about a second" % len(lines))
    a.close()
    c.settimeout(5)
    got = c.recv(100)
    if got != b"c\n":
        sys.exit("client 3 after client 1 left: got %r" % got)
    b.close()
    c.close()
EOF

if start serve; then
    if python3 "$tmp/clients.py" serve "$port" "$tmp/serve.err" >"$tmp/py.out" 2>&1; then
        ok "several clients at once in one thread, 200 KiB echoed whole"
    else
        fail "serving: $(cat "$tmp/py.out")"
    fi
    sleep 0.2
    if [ "$(grep -c ' connected$' "$tmp/serve.out")" -eq 3 ]; then
        ok "three 'connected' lines"
    else
        fail "want three 'connected' lines, got: $(cat "$tmp/serve.out")"
    fi
    # EAGAIN after the last pending connection: not a word about it
    if [ -s "$tmp/serve.err" ]; then
        fail "stderr not empty: $(head -c 300 "$tmp/serve.err")"
    else
        ok "nothing on stderr (EAGAIN is no error)"
    fi
    kill -0 "$spid" 2>/dev/null && ok "still running" || fail "the server died"
    kill "$spid" 2>/dev/null
fi

if start emfile 6; then
    if python3 "$tmp/clients.py" emfile "$port" "$tmp/emfile.err" >"$tmp/py.out" 2>&1; then
        ok "out of descriptors: $(cat "$tmp/py.out"); the others served, the waiting client accepted after one left"
    else
        fail "out of descriptors: $(cat "$tmp/py.out"); server: $(head -c 300 "$tmp/emfile.err")"
    fi
    if grep -Eq '^accept .*: Too many open files$' "$tmp/emfile.err"; then
        ok "the message: $(grep -m 1 'Too many' "$tmp/emfile.err")"
    else
        fail "no 'accept ...: Too many open files' line: $(head -c 300 "$tmp/emfile.err")"
    fi
    kill -0 "$spid" 2>/dev/null && ok "still running" || fail "the server died"
    kill "$spid" 2>/dev/null
fi

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
