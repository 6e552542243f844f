#!/bin/sh
# tests/run.sh — run every test program and the CLI tests; count PASS/FAIL/SKIP lines and
# end with "N passed, N failed, N skipped" (a skipped test could not run in this build or on
# this system: it neither passes nor fails). Run from the repository root (make test does).
BUILD=${BUILD:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $t"
    "$t" 2>&1 | tee -a "$log" || status=1
done
for t in tests/cli*.sh; do
    echo "== $t"
    XLSTM="$BUILD/xlstm" sh "$t" 2>&1 | tee -a "$log" || status=1
done
passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
skipped=$(grep -c '^SKIP ' "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && [ "$passed" -gt 0 ]
