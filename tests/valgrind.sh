#!/bin/sh
# tests/valgrind.sh — a short train, a resume, generate, eval, a train stopped by SIGINT and a
# refused command, on a tiny model, under valgrind (memcheck, full leak check); PASS/FAIL
# lines, one per run. Slow (about a minute), so not part of `make test`. Valgrind does not
# know AVX-512: the program is built for x86-64-v3 into $BUILD (default /tmp/xlstm-valgrind)
# and OpenBLAS is told to use its Haswell kernels.
# Run from the repository root: sh tests/valgrind.sh
BUILD=${BUILD:-/tmp/xlstm-valgrind}
make -s BUILD="$BUILD" OPT="-O1" EXTRA_CFLAGS="-march=x86-64-v3" "$BUILD/xlstm" > /dev/null || exit 1
XLSTM=$BUILD/xlstm
. tests/lib.sh
export OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

tiny_fixture 20000

# vg NAME STATUS ARGS...: the program under memcheck exits with STATUS (not valgrind's 99:
# no memory errors, nothing definitely lost)
vg() {
    name=$1; want=$2; shift 2
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        "$XLSTM" "$@" > "$tmp/out" 2> "$tmp/vg.log"
    rc=$?
    summary="$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/vg.log"); $(grep -o 'definitely lost: [0-9,]* bytes' "$tmp/vg.log")"
    if [ $rc -eq "$want" ]; then
        pass "$name ($summary)"
    else
        fail "$name (exit $rc, $summary)"; grep -A 20 '^==[0-9]*== [A-Z]' "$tmp/vg.log" | head -60
    fi
}

ARGS="--data $tmp/text.txt --config $tmp/tiny.json --batch-size 2 --context 16 --seed 3"
vg valgrind_train 0 train $ARGS --out "$tmp/run" --steps 4 --eval-every 2 --save-every 2 --sample 20
vg valgrind_resume 0 train --resume --out "$tmp/run" --steps 6 --sample 0
vg valgrind_generate 0 generate --model "$tmp/run" --prompt "Call me" --max-tokens 20
vg valgrind_eval 0 eval --model "$tmp/run" --data "$tmp/text.txt" --context 16 --max-bytes 2000
# SIGINT: the stop after a step, its checkpoint and the teardown (exit 130)
sigint_after "$tmp/int/metrics.csv" 2 "ERROR SUMMARY" "$tmp/vg.log" 300 \
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    "$XLSTM" train $ARGS --out "$tmp/int" --steps 100000 --save-every 0 --eval-every 0
summary="$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/vg.log"); $(grep -o 'definitely lost: [0-9,]* bytes' "$tmp/vg.log")"
[ $rc -eq 130 ] && pass "valgrind_sigint ($summary)" || { fail "valgrind_sigint (exit $rc, $summary)"; tail -40 "$tmp/vg.log"; }
# a refused input exits through die(): still no errors (what is reachable at exit is not a leak)
vg valgrind_refusal 1 train --resume --out "$tmp/run" --batch-size 8
[ "$failures" -eq 0 ]
