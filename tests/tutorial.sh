#!/bin/bash
# tutorial.sh - every C block of docs/tutorial.md compiles, and the
# programs in it behave as the tutorial says.
#
# The tutorial marks each ```c block on the line just before its fence:
#
#   <!-- snippet: NAME.c -->     a complete program, compiled and linked
#                                as is (against libnetbasics when it
#                                includes <netbasics.h>);
#   <!-- fragment -->            statements, compiled inside a function
#                                body (see fragment_body below for what
#                                they may take as given);
#   <!-- fragment: toplevel -->  declarations and functions, compiled at
#                                file scope.
#   <!-- file: NAME -->          (before a fence of any other language)
#                                a file this test uses, e.g. blackhole.py.
#
# and names the example programs it discusses without copying them (the
# file is the code; a fence right after the marker is an error):
#
#   <!-- example: examples/NAME.c -->  a program of the source tree,
#                                compiled and linked as a snippet is.
#
# A ```c block without a marker, a marker not followed by a fence, and a
# fence without a language are errors: no C block can be skipped
# silently, and the count of compiled blocks must equal the count of
# ```c fences.  Every block is compiled with $CC -std=c11 -pedantic -Wall
# -Wextra -Werror (plus the sanitizer flags of a --enable-sanitizers
# build) and no -D: a snippet that needs _GNU_SOURCE or _POSIX_C_SOURCE
# defines it itself, as a reader's copy must.
#
# Then the programs run, on loopback and ephemeral ports only (the
# examples of section 0 against each other and the tutorial's own): each
# server started with "0" as its port announces "listening on ...:PORT".
# Every client must print one daytime line (CRLF-terminated) from every
# server, over 127.0.0.1 and ::1, and the messages the tutorial quotes
# where it cannot: the textbook server has no IPv6, a busy port, a
# closed port (TCP and UDP), a bad port, nb_error field by field, the
# accept loops under EMFILE (ulimit -n 4), and both correct clients
# giving up on blackhole.py within their 5 s deadline.
#
# Exit 0 when everything passed, 1 otherwise.  Each check prints one
# "ok" or "FAIL" line; a part that cannot run here (::1 without IPv6, the
# timeouts without python3) one "skip:" line.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
DOC=$top_srcdir/docs/tutorial.md
CFLAGS_TUT="-std=c11 -pedantic -Wall -Wextra -Werror"
# With ./configure --enable-sanitizers the library needs the sanitizer
# runtime in the program too; the tutorial's programs then run under
# ASan and UBSan as well.
CFLAGS_TUT="$CFLAGS_TUT ${NB_SANITIZER_FLAGS:-}"

# $tmp, $pids, ok, fail, skip (its own start_server below).
# shellcheck source=tests/lib.sh
. "$top_srcdir/tests/lib.sh"

[ -r "$DOC" ] || { echo "FAIL: $DOC not found"; exit 1; }

# ------------------------------------------------------------- extraction
# Writes each marked block to $tmp/blocks/NNN.src and one line per block
# to the manifest: "NNN KIND NAME LINE" (LINE: the block's first line in
# the .md).  Problems go to $tmp/problems, one per line.
mkdir -p "$tmp/blocks" "$tmp/bin" "$tmp/files"
awk -v dir="$tmp/blocks" -v manifest="$tmp/manifest" \
    -v problems="$tmp/problems" -v counts="$tmp/counts" '
    function problem(msg) { print "docs/tutorial.md:" NR ": " msg > problems }
    BEGIN { inblock = 0; pending = ""; example = ""; cfences = 0; extracted = 0 }
    inblock {
        if ($0 ~ /^```[ \t]*$/) { inblock = 0; close(out); next }
        if (capture) print > out
        next
    }
    /^<!-- snippet: [A-Za-z0-9_.-]+\.c -->$/ {
        name = $3; kind = "program"
        if (name in seen) problem("snippet name " name " used twice")
        seen[name] = 1
        pending = NR; next
    }
    /^<!-- fragment -->$/ { kind = "fragment"; name = "-"; pending = NR; next }
    /^<!-- fragment: toplevel -->$/ { kind = "toplevel"; name = "-"; pending = NR; next }
    /^<!-- file: [A-Za-z0-9_.-]+ -->$/ { kind = "file"; name = $3; pending = NR; next }
    /^<!-- example: examples\/[A-Za-z0-9_.-]+\.c -->$/ {
        n++
        print sprintf("%03d", n), "example", $3, NR > manifest
        example = NR; next
    }
    /^<!-- *(snippet|fragment|file|example)/ { problem("malformed marker: " $0); next }
    /^```/ {
        if (example != "" && example == NR - 1)
            problem("a code block right after the example marker on line " example ": the file is the code, do not copy it")
        info = substr($0, 4); sub(/[ \t].*/, "", info)
        inblock = 1; capture = 0
        if (info == "") problem("a code fence without a language")
        if (info == "c") cfences++
        marked = pending != "" && pending == NR - 1
        if (pending != "" && !marked)
            problem("the marker on line " pending " is not right before a fence")
        if (info == "c" && !marked)
            problem("a ```c block without a snippet or fragment marker")
        if (marked && info != "c" && kind != "file")
            problem("a " kind " marker before a ```" info " block")
        if (marked && info == "c" && kind == "file")
            problem("a file marker before a ```c block")
        if (marked) {
            n++
            out = sprintf("%s/%03d.src", dir, n)
            printf "" > out
            capture = 1
            if (info == "c") extracted++
            print sprintf("%03d", n), kind, name, NR + 1 > manifest
        }
        pending = ""
        next
    }
    pending != "" && pending == NR - 1 { problem("the marker on line " pending " is not right before a fence"); pending = "" }
    END {
        if (inblock) problem("a code fence is never closed")
        print cfences, extracted > counts
    }
' "$DOC"
touch "$tmp/problems" "$tmp/manifest"
read -r cfences extracted < "$tmp/counts"
if [ -s "$tmp/problems" ]; then
    while read -r line; do fail "extract" "$line"; done < "$tmp/problems"
fi
if [ "$extracted" -eq "$cfences" ] && [ "$cfences" -gt 0 ]; then
    ok "extract: $extracted C blocks of $cfences \`\`\`c fences"
else
    fail "extract" "$extracted C blocks extracted, but $cfences \`\`\`c fences"
fi

# ------------------------------------------------------------ compilation
# What a fragment may use without declaring it: the includes below and
# the variables of fragment_body.  A fragment declares everything else.
prelude() {
    cat <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netbasics.h>
EOF
}

# $1: the fragment, $2: its line in the .md.
fragment_body() {
    prelude
    cat <<EOF
int tutorial_fragment(int argc, char **argv);
int tutorial_fragment(int argc, char **argv)
{
    int lfd = -1, fd = -1;   /* a listener, a connection */
    nb_addr peer;            /* a client's address */
    nb_error err;
    nb_error_clear(&err);
    memset(&peer, 0, sizeof(peer));
    (void)argc; (void)argv; (void)lfd; (void)fd;
    {
#line $2 "docs/tutorial.md"
EOF
    cat "$1"
    printf '    }\n    return 0;\n}\n'
}

# -no-install: a real executable (no libtool wrapper script), with the
# build tree's library found through its run path.
link_with_library() {
    "$top_builddir/libtool" --mode=link --tag=CC $CC $CFLAGS_TUT \
        -I"$top_srcdir/include" -no-install -o "$1" "$2" \
        "$top_builddir/lib/libnetbasics.la"
}

# compile_block ID KIND NAME LINE: builds one block; its compiler output
# goes to $tmp/blocks/ID.log, and "ok" to $tmp/blocks/ID.status.
compile_block() {
    local id=$1 kind=$2 name=$3 line=$4 src=$tmp/blocks/$1.src c
    case $kind in
    program)
        c=$tmp/blocks/$name
        { echo "#line $line \"docs/tutorial.md\""; cat "$src"; } > "$c"
        if grep -q '^#include <netbasics.h>' "$c"; then
            link_with_library "$tmp/bin/${name%.c}" "$c"
        else
            $CC $CFLAGS_TUT -o "$tmp/bin/${name%.c}" "$c"
        fi ;;
    fragment)
        c=$tmp/blocks/$id-fragment.c
        fragment_body "$src" "$line" > "$c"
        $CC $CFLAGS_TUT -I"$top_srcdir/include" -c -o "$tmp/blocks/$id.o" "$c" ;;
    example)
        # the file itself, as a reader compiles it
        [ -r "$top_srcdir/$name" ] || { echo "$name: no such file"; return 1; }
        c=$tmp/blocks/$(basename "$name")
        cp "$top_srcdir/$name" "$c"
        link_with_library "$tmp/bin/$(basename "$name" .c)" "$c" ;;
    toplevel)
        c=$tmp/blocks/$id-toplevel.c
        { prelude; echo "#line $line \"docs/tutorial.md\""; cat "$src"; } > "$c"
        # static functions shown alone are, of course, unused here
        $CC $CFLAGS_TUT -Wno-unused-function -I"$top_srcdir/include" \
            -c -o "$tmp/blocks/$id.o" "$c" ;;
    esac && echo ok > "$tmp/blocks/$id.status"
}

# Blocks are compiled four at a time (libtool is slow to start), then
# reported in the order of the tutorial.
jobs_running=0
while read -r id kind name line; do
    if [ "$kind" = file ]; then
        cp "$tmp/blocks/$id.src" "$tmp/files/$name"
        continue
    fi
    compile_block "$id" "$kind" "$name" "$line" >"$tmp/blocks/$id.log" 2>&1 &
    jobs_running=$((jobs_running + 1))
    if [ "$jobs_running" -ge 4 ]; then
        wait -n
        jobs_running=$((jobs_running - 1))
    fi
done < "$tmp/manifest"
wait
compiled=0 examples=0
while read -r id kind name line; do
    case $kind in
    example)  what="$name (named at line $line)"; examples=$((examples + 1)) ;;
    program)  what="$name (line $line)" ;;
    fragment) what="fragment at line $line" ;;
    toplevel) what="top-level fragment at line $line" ;;
    *) continue ;;
    esac
    if [ -f "$tmp/blocks/$id.status" ]; then
        [ "$kind" = example ] || compiled=$((compiled + 1))
        ok "compile: $what"
    else
        fail "compile" "$what does not compile:"
        cat "$tmp/blocks/$id.log"
    fi
done < "$tmp/manifest"
[ "$compiled" -eq "$cfences" ] ||
    fail "compile" "$compiled of $cfences C blocks compiled"

# ------------------------------------------------------------------ runs
bin=$tmp/bin
# TUTORIAL_BIN=DIR: keep the programs, to run the tutorial's commands
if [ -n "${TUTORIAL_BIN:-}" ]; then
    mkdir -p "$TUTORIAL_BIN" && cp "$bin"/* "$TUTORIAL_BIN"/ &&
        echo "# programs copied to $TUTORIAL_BIN"
fi
for p in tcp-server-naive tcp-client-naive tcp-server-raw tcp-client-raw \
         tcp-server-nb tcp-client-nb udp-server-raw udp-client-raw \
         udp-server-nb udp-client-nb connect-report line-client-nb \
         basic-time-server basic-time-client tcp-client-loop; do
    [ -x "$bin/$p" ] || fail "programs" "$p.c is not in the tutorial, or did not build"
done
if [ "$failed" -gt 0 ]; then
    echo "# $passed passed, $failed failed (programs not run)"
    exit 1
fi

CR=$(printf '\r')
DAYTIME_ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'
DAYTIME_CTIME='^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$'

# start_server NAME: NAME 0 in the background, its stderr in
# $tmp/NAME.log; waits (5 s at most) for "listening on ...PORT".  Sets
# $port[NAME], $where[NAME] (what follows "listening on", e.g. [::]:PORT)
# and $spid[NAME].
declare -A port where spid
start_server() {
    local log=$tmp/$1.log i
    "$bin/$1" 0 2>"$log" &
    spid[$1]=$!
    pids="$pids $!"
    for ((i = 0; i < 100; i++)); do
        port[$1]=$(sed -n '1s/^listening on .*[^0-9]\([0-9][0-9]*\)$/\1/p' "$log")
        where[$1]=$(sed -n '1s/^listening on //p' "$log")
        [ -n "${port[$1]}" ] && return 0
        kill -0 "${spid[$1]}" 2>/dev/null || break
        sleep 0.05
    done
    fail "$1" "no 'listening on ...PORT' line; it said: $(head -c 300 "$log")"
    return 1
}

# expect_time WHAT PATTERN CLIENT ARG...: the client prints exactly one
# line, ending in CRLF, that matches PATTERN (once the CR is removed),
# and exits 0.
expect_time() {
    local what=$1 pattern=$2 status=0
    shift 2
    timeout 10 "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
    if [ "$status" -ne 0 ]; then
        fail "$what" "exit $status: $(head -c 200 "$tmp/err")"
    elif [ "$(wc -l < "$tmp/out")" -ne 1 ] || ! grep -q "$CR\$" "$tmp/out" ||
         ! tr -d '\r' < "$tmp/out" | grep -Eq "$pattern"; then
        fail "$what" "want one daytime line ending in CRLF, got: $(od -c "$tmp/out" | head -n 3)"
    else
        ok "$what: $(tr -d '\r' < "$tmp/out")"
    fi
}

# expect_error [-s STATUS] WHAT MESSAGE PROGRAM ARG...: the program
# prints MESSAGE (the whole of stderr), nothing on stdout, and exits with
# STATUS (1 unless given).
expect_error() {
    local want_status=1 what want status=0
    if [ "$1" = -s ]; then want_status=$2; shift 2; fi
    what=$1 want=$2
    shift 2
    timeout 15 "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
    if [ "$status" -eq "$want_status" ] && [ "$(cat "$tmp/err")" = "$want" ] &&
       [ ! -s "$tmp/out" ]; then
        ok "$what: $want (exit $status)"
    else
        fail "$what" "want exit $want_status and '$want', got exit $status," \
             "stderr '$(head -c 200 "$tmp/err")', stdout '$(head -c 100 "$tmp/out")'"
    fi
}

# ::1 is tried when the loopback interface has it
have_ipv6=no
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null ||
   python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
       2>/dev/null; then
    have_ipv6=yes
fi
echo "# IPv6 loopback: $have_ipv6"
[ "$have_ipv6" = yes ] ||
    skip "clients over ::1" "no IPv6 loopback here"

# --- TCP: every client against every server
for s in tcp-server-naive tcp-server-raw tcp-server-nb; do
    start_server "$s" || continue
done
for s in tcp-server-naive tcp-server-raw tcp-server-nb; do
    [ -n "${port[$s]:-}" ] || continue
    P=${port[$s]}
    pattern=$DAYTIME_ISO
    [ "$s" = tcp-server-naive ] && pattern=$DAYTIME_CTIME
    for c in tcp-client-naive tcp-client-raw tcp-client-nb line-client-nb; do
        expect_time "$c 127.0.0.1 -> $s" "$pattern" "$bin/$c" 127.0.0.1 "$P"
    done
    [ "$have_ipv6" = yes ] || continue
    for c in tcp-client-raw tcp-client-nb; do
        if [ "$s" = tcp-server-naive ]; then
            # the textbook server listens on IPv4 only
            expect_error "$c ::1 -> $s" "connect [::1]:$P: Connection refused" \
                "$bin/$c" ::1 "$P"
        else
            expect_time "$c ::1 -> $s" "$pattern" "$bin/$c" ::1 "$P"
        fi
    done
done
expect_error "tcp-client-naive takes no names" "inet_pton error for localhost" \
    "$bin/tcp-client-naive" localhost 9

# --- section 0: the examples, against each other and the programs above
DAYTIME_US='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$'
[ -n "${port[tcp-server-nb]:-}" ] &&
    expect_time "basic-time-client 127.0.0.1 -> tcp-server-nb" "$DAYTIME_ISO" \
        "$bin/basic-time-client" 127.0.0.1 "${port[tcp-server-nb]}"
if start_server basic-time-server; then
    P=${port[basic-time-server]}
    W=${where[basic-time-server]}
    want_clients=2
    expect_time "basic-time-client 127.0.0.1 -> basic-time-server" "$DAYTIME_US" \
        "$bin/basic-time-client" 127.0.0.1 "$P"
    expect_time "tcp-client-nb 127.0.0.1 -> basic-time-server" "$DAYTIME_US" \
        "$bin/tcp-client-nb" 127.0.0.1 "$P"
    if [ "$have_ipv6" = yes ]; then
        expect_time "basic-time-client ::1 -> basic-time-server" "$DAYTIME_US" \
            "$bin/basic-time-client" ::1 "$P"
        want_clients=3
    fi
    # each client's address, once it has been served (5 s at most)
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -cE '^(127\.0\.0\.1|\[::1\]):[0-9]+$' "$tmp/basic-time-server.log")" \
            -ge "$want_clients" ] && break
        sleep 0.05
    done
    if [ "$i" -lt 100 ]; then
        ok "basic-time-server prints each client's address, as quoted"
    else
        fail "basic-time-server log" "want $want_clients lines ADDRESS:PORT, got:" \
             "$(head -c 300 "$tmp/basic-time-server.log")"
    fi
    expect_error "basic-time-server on a busy port" "bind $W: Address already in use" \
        "$bin/basic-time-server" "$P"
    kill "${spid[basic-time-server]}"; wait "${spid[basic-time-server]}" 2>/dev/null
    expect_error "basic-time-client, closed port" "connect 127.0.0.1:$P: Connection refused" \
        "$bin/basic-time-client" 127.0.0.1 "$P"
fi
expect_error -s 2 "basic-time-client, no HOST" "usage: $bin/basic-time-client HOST [PORT]" \
    "$bin/basic-time-client"
# The servers name their clients as the tutorial shows: the raw one as
# IPv4-mapped IPv6 addresses, the library's as plain IPv4.
if grep -Eq '^\[::ffff:127\.0\.0\.1\]:[0-9]+ connected$' "$tmp/tcp-server-raw.log"; then
    ok "tcp-server-raw logs [::ffff:127.0.0.1]:PORT connected"
else
    fail "tcp-server-raw log" "$(head -c 300 "$tmp/tcp-server-raw.log")"
fi
if grep -Eq '^127\.0\.0\.1:[0-9]+ connected$' "$tmp/tcp-server-nb.log"; then
    ok "tcp-server-nb logs 127.0.0.1:PORT connected"
else
    fail "tcp-server-nb log" "$(head -c 300 "$tmp/tcp-server-nb.log")"
fi
# A second server on a port in use: the message names step and address
# ([::]:PORT, or 0.0.0.0:PORT on a kernel without IPv6).
if [ -n "${port[tcp-server-nb]:-}" ]; then
    P=${port[tcp-server-nb]}
    W=${where[tcp-server-nb]}
    expect_error "tcp-server-nb on a busy port" "bind $W: Address already in use" \
        "$bin/tcp-server-nb" "$P"
    expect_error "tcp-server-raw on a busy port" "bind $W: Address already in use" \
        "$bin/tcp-server-raw" "$P"
fi
# A closed port: the port of a server that was stopped.
if [ -n "${port[tcp-server-nb]:-}" ]; then
    P=${port[tcp-server-nb]}
    kill "${spid[tcp-server-nb]}"; wait "${spid[tcp-server-nb]}" 2>/dev/null
    expect_error "tcp-client-raw, closed port" "connect 127.0.0.1:$P: Connection refused" \
        "$bin/tcp-client-raw" 127.0.0.1 "$P"
    expect_error "tcp-client-nb, closed port" "connect 127.0.0.1:$P: Connection refused" \
        "$bin/tcp-client-nb" 127.0.0.1 "$P"
    expect_error "tcp-client-naive, closed port" "connect: Connection refused" \
        "$bin/tcp-client-naive" 127.0.0.1 "$P"
fi
expect_error -s 2 "tcp-server-raw, port 65536" "invalid port '65536'" \
    "$bin/tcp-server-raw" 65536
expect_error "tcp-server-nb, port 65536" \
    'listen *:65536: invalid port "65536": not 0..65535 or a service name' \
    "$bin/tcp-server-nb" 65536

# --- UDP: every client against every server
for s in udp-server-raw udp-server-nb; do
    start_server "$s" || continue
    P=${port[$s]}
    for c in udp-client-raw udp-client-nb; do
        expect_time "$c 127.0.0.1 -> $s" "$DAYTIME_ISO" "$bin/$c" 127.0.0.1 "$P"
        [ "$have_ipv6" = yes ] &&
            expect_time "$c ::1 -> $s" "$DAYTIME_ISO" "$bin/$c" ::1 "$P"
    done
done
if [ -n "${port[udp-server-nb]:-}" ]; then
    P=${port[udp-server-nb]}
    kill "${spid[udp-server-nb]}"; wait "${spid[udp-server-nb]}" 2>/dev/null
    # a connected UDP socket hears the ICMP "port unreachable"
    expect_error "udp-client-raw, closed port" "recv 127.0.0.1:$P: Connection refused" \
        "$bin/udp-client-raw" 127.0.0.1 "$P"
    expect_error "udp-client-nb, closed port" "recvfrom 127.0.0.1:$P: Connection refused" \
        "$bin/udp-client-nb" 127.0.0.1 "$P"
fi

# --- nb_error, field by field
if [ -n "${port[tcp-server-raw]:-}" ]; then
    status=0
    "$bin/connect-report" 127.0.0.1 "${port[tcp-server-raw]}" >"$tmp/out" 2>&1 || status=$?
    [ "$status" -eq 0 ] && [ "$(cat "$tmp/out")" = connected ] &&
        ok "connect-report: connected" ||
        fail "connect-report" "want 'connected', exit 0; got exit $status: $(cat "$tmp/out")"
fi
if [ -n "${port[tcp-server-nb]:-}" ]; then
    status=0
    "$bin/connect-report" 127.0.0.1 "${port[tcp-server-nb]}" 2>"$tmp/err" || status=$?
    want="connect 127.0.0.1:${port[tcp-server-nb]}: Connection refused
  code NB_ERR_SYSTEM, op \"connect\", addr \"127.0.0.1:${port[tcp-server-nb]}\", attempts 1
  sys_errno 111: Connection refused
  temporary: no"
    [ "$status" -eq 69 ] && [ "$(cat "$tmp/err")" = "$want" ] &&
        ok "connect-report: refused, exit 69" ||
        fail "connect-report, refused" "exit $status: $(cat "$tmp/err")"
fi
status=0
"$bin/connect-report" 127.0.0.1 99999 2>"$tmp/err" || status=$?
[ "$status" -eq 64 ] && grep -q '^  code NB_ERR_ARG, op "connect"' "$tmp/err" &&
    ok "connect-report: bad port, exit 64" ||
    fail "connect-report, bad port" "exit $status: $(cat "$tmp/err")"

# --- one event loop, several servers (section 8): every reply, and the
# failures with nb_tcp_connect's messages (tcp-server-nb's port is closed
# by now); replies and failures come in any order.
if [ -n "${port[tcp-server-raw]:-}" ] && [ -n "${port[tcp-server-nb]:-}" ]; then
    R=${port[tcp-server-raw]} C=${port[tcp-server-nb]}
    targets="127.0.0.1:$R localhost:$R"
    [ "$have_ipv6" = yes ] && targets="$targets [::1]:$R"
    status=0
    # shellcheck disable=SC2086 # one word per target
    timeout 15 "$bin/tcp-client-loop" $targets "127.0.0.1:$C" localhost:dytime \
        >"$tmp/out" 2>"$tmp/err" || status=$?
    want_err="connect 127.0.0.1:$C: Connection refused
resolve localhost:dytime: unknown service 'dytime' for tcp"
    got_replies=$(sed -E "s/: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\$//" "$tmp/out" | sort)
    if [ "$status" -eq 1 ] && [ "$(sort "$tmp/err")" = "$want_err" ] &&
       [ "$got_replies" = "$(printf '%s\n' $targets | sort)" ]; then
        ok "tcp-client-loop: $(wc -l < "$tmp/out") replies, 2 failures, exit 1"
    else
        fail "tcp-client-loop" "exit $status; stdout '$(cat "$tmp/out")'; stderr '$(cat "$tmp/err")'"
    fi
fi

# --- out of descriptors: the accept loops back off and keep serving.
# With 4 descriptors (0-2 and the listener) every accept fails with
# EMFILE; the client waiting meanwhile is killed once the log shows it.
for s in tcp-server-nb tcp-server-raw; do
    log=$tmp/$s-emfile.log
    (ulimit -n 4 && exec "$bin/$s" 0) 2>"$log" &
    sp=$!
    pids="$pids $sp"
    for ((i = 0; i < 100; i++)); do
        P=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$log")
        W=$(sed -n '1s/^listening on //p' "$log")
        [ -n "$P" ] && break
        sleep 0.05
    done
    "$bin/tcp-client-nb" 127.0.0.1 "${P:-1}" >/dev/null 2>&1 &
    cp=$!
    pids="$pids $cp"
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c 'Too many open files' "$log")" -ge 2 ] && break
        sleep 0.05
    done
    kill -0 "$sp" 2>/dev/null && alive=yes || alive=no
    kill "$cp" "$sp" 2>/dev/null
    wait "$cp" "$sp" 2>/dev/null
    # the address as a regular expression: [::]:PORT -> \[::\]:PORT
    W_re=$(printf '%s\n' "$W" | sed 's/[].[]/\\&/g')
    case $s in
    tcp-server-nb) want="^accept $W_re: Too many open files \\(retrying in [0-9]+ ms\\)\$" ;;
    *) want="^accept $W_re: Too many open files\$" ;;
    esac
    if [ "$alive" = yes ] && [ "$(grep -cE "$want" "$log")" -ge 2 ]; then
        ok "$s under EMFILE: '$(sed -n 2p "$log")', still serving"
    else
        fail "$s under EMFILE" "alive: $alive; log: $(head -c 300 "$log")"
    fi
done

# --- timeouts: a port that never completes a connection (the tutorial's
# blackhole.py).  Both correct clients give up after their 5 s deadline.
if [ ! -r "$tmp/files/blackhole.py" ]; then
    fail "timeouts" "blackhole.py is not in the tutorial"
elif ! command -v python3 >/dev/null; then
    skip "timeouts" "no python3 to run blackhole.py"
else
    python3 "$tmp/files/blackhole.py" >"$tmp/bh.port" 2>"$tmp/bh.err" &
    pids="$pids $!"
    for ((i = 0; i < 200; i++)); do
        grep -Eq '^[0-9]+$' "$tmp/bh.port" && break
        sleep 0.05
    done
    P=$(head -n 1 "$tmp/bh.port")
    if [ -z "$P" ]; then
        fail "blackhole.py" "no port: $(head -c 300 "$tmp/bh.err")"
    else
        declare -A cpid
        start=$(date +%s)
        for c in tcp-client-raw tcp-client-nb; do
            timeout 15 "$bin/$c" 127.0.0.1 "$P" >/dev/null 2>"$tmp/$c.timeout" &
            cpid[$c]=$!
        done
        for c in tcp-client-raw tcp-client-nb; do
            status=0
            wait "${cpid[$c]}" || status=$?
            got=$(cat "$tmp/$c.timeout")
            # the raw client prints strerror(ETIMEDOUT); the library's
            # message says the deadline (netbasics(7))
            want="connect 127.0.0.1:$P: Connection timed out"
            [ $c = tcp-client-nb ] &&
                want="connect 127.0.0.1:$P: timed out after 5000 ms"
            if [ "$status" -eq 1 ] && [ "$got" = "$want" ]; then
                ok "$c, blackhole: $got"
            else
                fail "$c, blackhole" "want exit 1 and '$want'," \
                     "got exit $status: '$got'"
            fi
        done
        elapsed=$(($(date +%s) - start))
        [ "$elapsed" -le 8 ] && ok "both gave up within ${elapsed} s" ||
            fail "timeouts" "took $elapsed s, want about 5"
    fi
fi

echo "# $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
