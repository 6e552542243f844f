#!/bin/sh
# tests/cli_bench.sh — the benchmark keeps working: the micro configuration runs and prints
# its figures; bad flags are refused. (Speed itself is measured by `make bench`, not here.)
. tests/lib.sh
"$XLSTM" bench micro --seconds 0.05 --busy > "$tmp/out" 2>&1
rc=$?
for fig in train forward generate; do
    if [ $rc -eq 0 ] && grep -q "^micro *$fig .*tok/s" "$tmp/out"; then echo "PASS bench_micro_$fig"; else echo "FAIL bench_micro_$fig"; cat "$tmp/out"; fi
done
grep -q "GFLOP/s" "$tmp/out" && grep -q "peak RSS" "$tmp/out" && grep -q "% of sgemm" "$tmp/out" \
    && echo "PASS bench_reports_rates" || echo "FAIL bench_reports_rates"
# the machine is probed over each figure's own minutes (sgemm for training and the forward,
# reads for generation), and each figure gives its mean beside its best
grep -q "^micro *machine *sgemm [0-9.]* GFLOP/s while training, [0-9.]* in the forward.*memory reads [0-9.]* GB/s while generating" "$tmp/out" \
    && [ "$(grep -c "tok/s (mean *[0-9]*)" "$tmp/out")" -eq 3 ] \
    && echo "PASS bench_probes_and_means" || echo "FAIL bench_probes_and_means"
# generation against two bounds: the weights read per token (the issue's), and those plus the
# recurrent state read and rewritten, which is the lower of the two
sed -n 's/^micro *generate .*bandwidth bound \([0-9]*\) tok\/s ([0-9]*%); with the [0-9.]* MB state read and written: \([0-9]*\) tok\/s ([0-9]*%).*/\1 \2/p' "$tmp/out" \
    | awk 'NF == 2 && $2 > 0 && $2 < $1 { ok = 1 } END { exit !ok }' \
    && echo "PASS bench_generation_bounds" || echo "FAIL bench_generation_bounds"
# --busy: generation beside a busy process, the default threads against one, and the ratio
if [ $rc -eq 0 ] && grep -q "^micro *busy *[0-9]* tok/s with the default [0-9]* threads\{0,1\}, *[0-9]* with 1: [0-9]*%" "$tmp/out"; then
    echo "PASS bench_busy"; else echo "FAIL bench_busy"; cat "$tmp/out"; fi
for bad in "nosuchconfig" "--seconds 0" "--seconds x" "--threads 0" "--bogus"; do
    # shellcheck disable=SC2086
    "$XLSTM" bench $bad > /dev/null 2> "$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ]; then echo "PASS bench_refuses '$bad'"; else echo "FAIL bench_refuses '$bad'"; cat "$tmp/err"; fi
done
