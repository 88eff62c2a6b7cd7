#!/bin/sh
# After `make check-valgrind-memcheck`: every test program must end with no
# descriptor open but those it inherited (valgrind --track-fds=yes lists
# them).  Only each log's main process counts: children that a test forks
# and that exit on purpose mid-test may hold descriptors of their parent.
# Usage: tests/valgrind-fds.sh LOG...
status=0
for log in "$@"; do
    awk -v logname="$log" '
        /^==[0-9]+== / && main == "" { main = $1 }
        $1 != main { next }
        /Open file descriptor/ { fd = $0; getline; if ($0 !~ /inherited from parent/) { print logname ": " fd; bad = 1 } }
        END { exit bad }' "$log" || status=1
done
[ "$status" -eq 0 ] && echo "valgrind: no descriptor left open in $# test logs"
exit "$status"
