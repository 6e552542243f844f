#!/bin/sh
# tests/run.sh — run every test program and the CLI tests; count PASS/FAIL/SKIP lines and
# end with "N passed, N failed, N skipped" (a skipped test could not run in this build or on
# this system: it neither passes nor fails). Run from the repository root (make test does).
# `sh tests/run.sh unit`: the test programs only.
BUILD=${BUILD:-build}
log=$(mktemp)
rcfile=$(mktemp)
trap 'rm -f "$log" "$rcfile"' EXIT
status=0
# run NAME CMD...: CMD's output to the terminal and the log; an exit status other than 0 (a
# failed test program, or one that crashed after its PASS lines) is a failure of its own
run() {
    name=$1; shift
    echo "== $name"
    { "$@" 2>&1; echo $? > "$rcfile"; } | tee -a "$log"
    rc=$(cat "$rcfile")
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $name: exit status $rc" | tee -a "$log"
        status=1
    fi
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run "$t" "$t"
done
export XLSTM="$BUILD/xlstm"
for t in tests/cli*.sh; do
    [ "$1" = unit ] && break
    run "$t" sh "$t"
done
passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
skipped=$(grep -c '^SKIP ' "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && [ "$passed" -gt 0 ]
