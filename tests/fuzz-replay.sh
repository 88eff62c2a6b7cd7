#!/bin/sh
# The fuzz targets' regression run: every file of the seed corpus
# tests/fuzz/corpus/<target>/ (typical inputs, edge cases and the inputs of
# past findings) goes once through the target's checks, built without
# libFuzzer as tests/fuzz/replay_<target>.  A failed invariant aborts the
# program and fails this test; the output names the target.
set -eu

failures=0
for target in split addr_format resolve_args timeproto; do
    prog="$top_builddir/tests/fuzz/replay_$target"
    corpus="$top_srcdir/tests/fuzz/corpus/$target"
    if [ ! -x "$prog" ]; then
        echo "$prog is not built"
        exit 1
    fi
    count=$(find "$corpus" -type f | wc -l)
    if [ "$count" -eq 0 ]; then
        echo "$target: no corpus in $corpus"
        failures=$((failures + 1))
        continue
    fi
    if "$prog" "$corpus"; then
        echo "$target: $count inputs passed"
    else
        echo "FAIL: $target: a corpus input broke an invariant (see above);"
        echo "  replay one file with: $prog FILE"
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ]
