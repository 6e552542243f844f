#!/bin/sh
# tests/cli_example.sh — examples/train_and_sample.c, a program that sees only include/xlstm.h
# and links only libxlstm, trains a byte-level model on the bundled corpus and samples from it.
. tests/lib.sh
EXAMPLE=$(dirname "$XLSTM")/examples/train_and_sample

if OMP_NUM_THREADS=1 "$EXAMPLE" data/moby_dick.txt 60 > "$tmp/out" 2>&1 && grep -q "^step 50 loss" "$tmp/out" &&
    grep -q "^CHAPTER 1. Loomings." "$tmp/out"; then
    pass example_trains_and_samples
else
    fail example_trains_and_samples; cat "$tmp/out"
fi
# 60 steps reach below the unigram model of the corpus (4.53 bits = 3.14 nats per byte); an
# untrained model is at ln 256 = 5.55
loss=$(sed -n 's/^final training loss \([0-9.]*\) nats\/byte$/\1/p' "$tmp/out")
if [ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 3.0) }'; then
    pass example_learns
else
    fail example_learns; echo "  final loss '$loss'"
fi
"$EXAMPLE" "$tmp/none.txt" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "at least 1000 bytes" "$tmp/out" && pass example_no_text || fail example_no_text
