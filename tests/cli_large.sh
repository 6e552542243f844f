#!/bin/sh
# tests/cli_large.sh — xLSTM Large (the architecture of xLSTM-7B) through the verbs: every
# check of `xlstm verify` on the official reference vectors (tests/data/ref/large), then a
# tiny byte-level model trained for a few steps from a config that names the architecture,
# sampled from, and evaluated. Prints PASS/FAIL lines.
. tests/lib.sh
export OMP_NUM_THREADS=1

for f in large_tiny large_7bshape; do
    "$XLSTM" verify "tests/data/ref/large/$f.safetensors" > "$tmp/out" 2>&1
    rc=$?
    # every check, states and greedy generation among them
    if [ $rc -eq 0 ] && grep -q 'state.0.c' "$tmp/out" && grep -q '^ok.*output.generated' "$tmp/out"; then
        pass "verify_large_$f ($(tail -1 "$tmp/out" | sed 's/.*: //'))"
    else
        fail "verify_large_$f"; grep -v '^ok' "$tmp/out"
    fi
done

head -c 20000 data/moby_dick.txt > "$tmp/text.txt"
for mode in single fused; do
    cat > "$tmp/large_$mode.json" <<JSON
{"architecture": "xlstm_large", "vocab_size": 256, "embedding_dim": 32, "num_heads": 2, "num_blocks": 2,
 "chunk_size": 16, "weight_mode": "$mode"}
JSON
    "$XLSTM" train --data "$tmp/text.txt" --config "$tmp/large_$mode.json" --out "$tmp/run_$mode" --steps 30 \
        --batch-size 4 --context 32 --lr 1e-2 --warmup 5 --eval-every 10 --seed 3 --sample 0 > /dev/null 2> "$tmp/err"
    [ $? -eq 0 ] && [ -s "$tmp/run_$mode/model.safetensors" ] && pass "train_large_$mode" ||
        { fail "train_large_$mode"; cat "$tmp/err"; }
done
# the loss goes down: validation bits per byte (column 7) at step 30 below step 10's
bpb10=$(grep '^10,' "$tmp/run_single/metrics.csv" | cut -d, -f7)
bpb30=$(grep '^30,' "$tmp/run_single/metrics.csv" | cut -d, -f7)
if [ -n "$bpb10" ] && [ -n "$bpb30" ] && awk "BEGIN { exit !($bpb30 < $bpb10) }"; then
    pass "train_large_loss_goes_down ($bpb10 -> $bpb30 bits per byte)"
else
    fail train_large_loss_goes_down; echo "  val bpb at 10: '$bpb10', at 30: '$bpb30'"
fi
# the two weight modes name the same numbers differently: the same run, metric for metric
cut -d, -f1-7 "$tmp/run_single/metrics.csv" > "$tmp/single.csv"
cut -d, -f1-7 "$tmp/run_fused/metrics.csv" > "$tmp/fused.csv"
cmp -s "$tmp/single.csv" "$tmp/fused.csv" && pass train_large_fused_equals_single || fail train_large_fused_equals_single
grep -q 'qkv_opreact' "$tmp/run_fused/model.safetensors" && grep -q '"q.weight\|mlstm_layer.q.weight' "$tmp/run_single/model.safetensors" &&
    pass train_large_official_names || fail train_large_official_names

"$XLSTM" generate --model "$tmp/run_single" --prompt "Call me" --max-tokens 40 --seed 5 > "$tmp/gen" 2> "$tmp/err"
[ $? -eq 0 ] && [ "$(wc -c < "$tmp/gen")" -ge 40 ] && pass generate_large || { fail generate_large; cat "$tmp/err"; }
"$XLSTM" generate --model "$tmp/run_single" --prompt "Call me" --max-tokens 40 --temperature 0 > "$tmp/g1" 2> /dev/null
"$XLSTM" generate --model "$tmp/run_fused" --prompt "Call me" --max-tokens 40 --temperature 0 > "$tmp/g2" 2> /dev/null
[ -s "$tmp/g1" ] && cmp -s "$tmp/g1" "$tmp/g2" && pass generate_large_greedy_both_modes || fail generate_large_greedy_both_modes
"$XLSTM" eval --model "$tmp/run_single" --data "$tmp/text.txt" > "$tmp/out" 2>&1
[ $? -eq 0 ] && grep -qi 'loss\|bits' "$tmp/out" && pass eval_large || { fail eval_large; cat "$tmp/out"; }
exit 0
