#!/bin/sh
# tests/cli.sh — tests of the xlstm program itself: parity with the official reference
# vectors through `xlstm verify`, and clear errors on bad input. Prints PASS/FAIL lines.
. tests/lib.sh

for f in lm_mixed_small slstm_layer mlstm_layer; do
    expect_ok "verify_$f" "$XLSTM" verify "tests/data/ref/$f.safetensors"
done
# the same LM vectors in the official default sLSTM layout (backend cuda: the recurrent kernel
# and bias, parameters and gradients alike, stored transposed): every check the vanilla file
# makes, all within tolerance
"$XLSTM" verify tests/data/ref/lm_mixed_small.safetensors 2>&1 | tail -1 | sed 's/.*: //' > "$tmp/vanilla"
"$XLSTM" verify tests/data/ref/lm_mixed_small.cuda_layout.safetensors > "$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && tail -1 "$tmp/out" | sed 's/.*: //' | cmp -s - "$tmp/vanilla" &&
    grep -q '^\([0-9]*\) of \1 checks within tolerance$' "$tmp/vanilla"; then
    pass verify_lm_mixed_small_cuda_layout
else
    fail verify_lm_mixed_small_cuda_layout; grep -v '^ok ' "$tmp/out" | sed 's/^/  /'
fi
expect_ok "verify_dump" "$XLSTM" verify tests/data/ref/mlstm_layer.safetensors --dump "$tmp/dump.safetensors"
[ -s "$tmp/dump.safetensors" ] && pass verify_dump_written || fail verify_dump_written

# a reference file whose expected output was altered must fail verification: overwrite
# 4 bytes inside output.y (its offsets read from the header)
ref=tests/data/ref/slstm_layer.safetensors
hlen=$(od -An -t u4 -N 4 "$ref" | tr -d ' ')
begin=$(head -c $((8 + hlen)) "$ref" | tail -c +9 | grep -a -o '"output.y":{[^}]*}' | sed 's/.*data_offsets":\[\([0-9]*\),.*/\1/')
cp "$ref" "$tmp/bad.safetensors"
printf '\0\0\200\77' | dd of="$tmp/bad.safetensors" bs=1 seek=$((8 + hlen + begin + 40)) conv=notrunc 2>/dev/null
"$XLSTM" verify "$tmp/bad.safetensors" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q '^FAIL.*output.y' "$tmp/out" && pass verify_detects_wrong_values || fail verify_detects_wrong_values

expect_error verify_missing_file "nope.safetensors" "$XLSTM" verify "$tmp/nope.safetensors"
head -c 5 tests/data/ref/slstm_layer.safetensors > "$tmp/short.safetensors"
expect_error verify_truncated_file "short.safetensors" "$XLSTM" verify "$tmp/short.safetensors"
expect_error verify_no_kind "kind" "$XLSTM" verify tests/data/ref/lm_mixed_small.state_dict.safetensors
expect_error verify_unknown_flag "unknown flag" "$XLSTM" verify --bogus
expect_error verify_no_file "no FILE given" "$XLSTM" verify
expect_error verify_two_files "'b.safetensors' is extra" "$XLSTM" verify a.safetensors b.safetensors
expect_error verify_dump_needs_value "dump needs a file name" "$XLSTM" verify a.safetensors --dump
expect_error unknown_verb "unknown verb" "$XLSTM" frobnicate
exit 0
