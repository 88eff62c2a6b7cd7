#!/bin/sh
# nodiscard.sh - a result that must be checked cannot be ignored silently
# (NB_NODISCARD, netbasics(7)), and the header stays clean with every
# warning on.  For gcc and clang, each when installed:
#
#  1. a program that ignores nb_tcp_connect's result (the descriptor
#     leaks) does not compile with -Werror, and the compiler says
#     "ignoring return value";
#  2. so does one that ignores nb_send_all's (a failed send unnoticed);
#  3. the way netbasics(7) gives to ignore a result on purpose,
#     `if (f(...) < 0) { ... }`, compiles without a warning;
#  4. (void) is reported as netbasics(7) says: clang accepts it, gcc still
#     warns (GCC bug 66425), which is why the page does not recommend it;
#  5. a program that calls every function and uses every result compiles
#     as C11 and (with g++/clang++) as C++11 under a long list of
#     warnings, all errors (tests/header.sh does the plain -Wall -Wextra).
#
# Exit 0 when every check passed, 77 when no compiler could be run.
set -u
top_srcdir=${top_srcdir:-.}
inc="$top_srcdir/include"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 ran=0

ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ -s "$tmp/out" ] && sed 's/^/    /' "$tmp/out"; }

cat > "$tmp/ignore-connect.c" <<'EOF'
#include <netbasics.h>
int main(void)
{
    nb_tcp_connect("127.0.0.1", "9", 1000, 0, NULL);
    return 0;
}
EOF
cat > "$tmp/ignore-send.c" <<'EOF'
#include <netbasics.h>
int main(void)
{
    nb_send_all(1, "x", 1, 1000, NULL);
    return 0;
}
EOF
cat > "$tmp/if-send.c" <<'EOF'
#include <netbasics.h>
int main(void)
{
    if (nb_send_all(1, "x", 1, 1000, NULL) < 0) {
        /* the peer is gone: nothing to do */
    }
    return 0;
}
EOF
cat > "$tmp/void-send.c" <<'EOF'
#include <netbasics.h>
int main(void)
{
    (void)nb_send_all(1, "x", 1, 1000, NULL);
    return 0;
}
EOF
# Every function, every result used.
cat > "$tmp/all.c" <<'EOF'
#include <netbasics.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
#define NONE nullptr
#else
#define NONE NULL
#endif

static int use(long v, const nb_error *err)
{
    if (v < 0)
        return fprintf(stderr, "%s (%s)\n", nb_error_message(err),
                       nb_code_name(err->code)) < 0;
    return 0;
}

int main(void)
{
    nb_error err;
    nb_addr a, list[4];
    nb_connector *c;
    char buf[NB_ADDRSTRLEN], host[64], port[8];
    int fds[2], fd, r = 0;

    nb_error_clear(&err);
    memset(&a, 0, sizeof(a));
    r |= use(nb_tcp_listen(NONE, "0", 0, 0, &err), &err);
    r |= use(nb_tcp_accept(3, &a, 0, &err), &err);
    r |= use(nb_tcp_connect("127.0.0.1", "9", 10, 0, &err), &err);
    r |= use(nb_tcp_keepalive(3, 60, 10, 5, &err), &err);
    r |= use(nb_tcp_user_timeout(3, 1000, &err), &err);
    r |= use(nb_resolve("localhost", "9", 0, list, 4, 10, 0, &err), &err);
    c = nb_connector_start("127.0.0.1", "9", 10, 0, &err);
    if (c != NONE) {
        r |= use(nb_connector_step(c, &fd, &err), &err);
        r |= use(nb_connector_fd(c), &err);
        nb_connector_free(c);
    }
    r |= use(nb_udp_bind(NONE, "0", 0, &err), &err);
    r |= use(nb_udp_connect("127.0.0.1", "9", 0, &err), &err);
    r |= use(nb_udp_sendto(3, "x", 1, &a, &err), &err);
    r |= use(nb_udp_recvfrom(3, buf, sizeof(buf), &a, 10, &err), &err);
    r |= use(nb_send_all(3, "x", 1, 10, &err), &err);
    r |= use(nb_recv_all(3, buf, 1, 10, &err), &err);
    r |= use(nb_recv(3, buf, sizeof(buf), 10, &err), &err);
    r |= use(nb_unix_listen("@x", 0, 0, &err), &err);
    r |= use(nb_unix_connect("@x", 10, 0, &err), &err);
    r |= use(nb_unix_bind("@y", 0, &err), &err);
    r |= use(nb_listen_fds(fds, 2, &err), &err);
    r |= use(nb_local_addr(3, &a, &err), &err);
    r |= use(nb_peer_addr(3, &a, &err), &err);
    r |= use(nb_addr_port(&a), &err);
    r |= use(nb_split_hostport("h:1", host, sizeof(host), port, sizeof(port),
                               &err), &err);
    r |= nb_error_is_temporary(&err);
    r |= puts(nb_addr_format(&a, buf, sizeof(buf))) < 0;
    r |= puts(nb_version()) < 0;
    return r;
}
EOF
cp "$tmp/all.c" "$tmp/all.cc"

C_WARNINGS="-std=c11 -pedantic -Wall -Wextra -Wconversion -Wsign-conversion
 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition
 -Wcast-qual -Wcast-align -Wundef -Wredundant-decls -Wwrite-strings
 -Wpointer-arith -Wfloat-equal -Wswitch-enum -Werror"
CXX_WARNINGS="-std=c++11 -pedantic -Wall -Wextra -Wconversion
 -Wsign-conversion -Wshadow -Wold-style-cast -Wcast-qual -Wcast-align
 -Wundef -Wredundant-decls -Wpointer-arith -Wfloat-equal -Wswitch-enum
 -Wzero-as-null-pointer-constant -Wuseless-cast -Werror"

# compile CC FILE FLAGS...: 0 when it compiles; output in $tmp/out.
# Not -fsyntax-only: gcc warns about an unused result in a later pass.
compile() {
    cc=$1 file=$2
    shift 2
    "$cc" "$@" -I"$inc" -c -o "$tmp/out.o" "$tmp/$file" >"$tmp/out" 2>&1
}

for cc in gcc clang; do
    command -v "$cc" >/dev/null 2>&1 || { echo "# $cc not installed: skipped"; continue; }
    ran=$((ran + 1))
    for f in ignore-connect ignore-send; do
        if compile "$cc" "$f.c" -std=c11 -Wall -Werror; then
            fail "$cc: a program ignoring a result ($f.c) compiles"
        elif grep -q 'ignoring return value' "$tmp/out"; then
            ok "$cc: $f.c: $(grep -o "ignoring return value[^[]*" "$tmp/out" | head -n 1)"
        else
            fail "$cc: $f.c fails, but not with 'ignoring return value'"
        fi
    done
    # -Wall is not needed: the warning is on by default.
    if compile "$cc" ignore-connect.c -std=c11 -Werror; then
        fail "$cc: without -Wall the ignored result goes unnoticed"
    else
        ok "$cc: the warning needs no -Wall"
    fi
    if compile "$cc" if-send.c -std=c11 -pedantic -Wall -Wextra -Werror; then
        ok "$cc: if (f(...) < 0) { } compiles silently"
    else
        fail "$cc: if (f(...) < 0) { } does not compile silently"
    fi
    if compile "$cc" void-send.c -std=c11 -Wall -Werror; then
        void_ok=yes
    else
        void_ok=no
    fi
    case $cc:$void_ok in
    clang:yes) ok "clang: (void) silences the warning" ;;
    gcc:no)    ok "gcc: (void) does not silence the warning, as netbasics(7) says" ;;
    gcc:yes)   echo "# note: this gcc accepts (void); netbasics(7) still advises if (...) for the others" ;;
    *)         fail "$cc: (void) gives '$void_ok', not what netbasics(7) says" ;;
    esac
    # shellcheck disable=SC2086 # one word per flag
    if compile "$cc" all.c $C_WARNINGS; then
        ok "$cc: every function, C11 with every warning"
    else
        fail "$cc: every function, C11 with every warning"
    fi
done

for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null 2>&1 || { echo "# $cxx not installed: skipped"; continue; }
    flags=$CXX_WARNINGS
    # clang++ has no -Wuseless-cast
    [ "$cxx" = clang++ ] && flags=$(echo "$flags" | sed 's/ *-Wuseless-cast//')
    # shellcheck disable=SC2086 # one word per flag
    if compile "$cxx" all.cc -x c++ $flags; then
        ok "$cxx: every function, C++11 with every warning"
    else
        fail "$cxx: every function, C++11 with every warning"
    fi
done

[ "$ran" -gt 0 ] || { echo "no C compiler to try: skipped"; exit 77; }
echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
