#!/bin/sh
# tests/cli_generate.sh — tests of `xlstm generate` and `xlstm eval`: reproducible sampling,
# greedy decoding against step-by-step argmax, the two sLSTM checkpoint layouts, the eval
# loss against a direct computation with the library, the position table, and clear errors
# on bad input. Prints PASS/FAIL lines.
#
# Models: the reference state_dict tests/data/ref/lm_mixed_small (vocabulary 64, prompted with
# --tokens) and a seeded byte-level model written by the unit test program
# test_generate_eval, which also computes the reference greedy tokens and eval loss.
. tests/lib.sh
HELPER=$(dirname "$XLSTM")/tests/test_generate_eval

# check NAME CONDITION-COMMAND...: PASS if the command succeeds
check() {
    name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
# gen OUT ARGS...: run generate into $tmp/OUT; a failure shows its stderr
gen() {
    out=$1; shift
    "$XLSTM" generate "$@" > "$tmp/$out" 2> "$tmp/gen.err" || { echo "  generate $*:"; cat "$tmp/gen.err"; }
}
# differs A B: file A is not empty and differs from B
differs() { [ -s "$1" ] && ! cmp -s "$1" "$2"; }
# near A B TOL: |A - B| <= TOL
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t) }'; }

REF=tests/data/ref/lm_mixed_small.state_dict.safetensors
CUDA=tests/data/ref/lm_mixed_small.cuda_layout.state_dict.safetensors
M=$tmp/byte.safetensors
if ! "$HELPER" --write-model "$M" || ! "$HELPER" --write-config "$tmp/byte.json" || ! "$HELPER" --write-bare "$tmp/bare.safetensors"; then
    fail cli_generate_helper; echo "  $HELPER could not write the byte-level model"; exit 0
fi
mkdir "$tmp/run" && cp "$M" "$tmp/run/model.safetensors"

# ---------------------------------------------------------------- generate
sampling="--temperature 0.9 --top-k 40 --top-p 0.95 --max-tokens 64"
gen a --model "$M" --prompt "Call me Ishmael." $sampling --seed 7
gen b --model "$M" --prompt "Call me Ishmael." $sampling --seed 7
gen c --model "$M" --prompt "Call me Ishmael." $sampling --seed 8
check generate_writes_max_tokens_bytes [ "$(wc -c < "$tmp/a")" -eq 64 ]
check generate_same_seed_same_output cmp -s "$tmp/a" "$tmp/b"
check generate_other_seed_other_output differs "$tmp/a" "$tmp/c"
printf 'Call me Ishmael.' | "$XLSTM" generate --model "$M" $sampling --seed 7 > "$tmp/stdin" 2> "$tmp/gen.err"
check generate_prompt_from_stdin cmp -s "$tmp/a" "$tmp/stdin"
# on a terminal: it says where the prompt comes from, and one Ctrl-D ends the prompt (a
# second read would wait forever for another: the runner kills it after a minute)
TERMINAL=$(dirname "$XLSTM")/tests/test_terminal
"$TERMINAL" --run "$(printf 'Call me Ishmael.\n\004')" "$XLSTM" generate --model "$M" $sampling --seed 7 \
    > "$tmp/tty" 2> "$tmp/tty.err"
check generate_stdin_terminal_one_eof [ $? -eq 0 ]
check generate_stdin_terminal_says_so grep -q "reading the prompt from standard input" "$tmp/tty.err"
check generate_stdin_pipe_quiet sh -c '! grep -q "reading the prompt" "$1"' sh "$tmp/gen.err"
check generate_summary grep -q "^generate: 64 tokens in [0-9.]* s ([0-9]* tokens/s) after a prompt of 16 tokens" "$tmp/gen.err"
# on a terminal the model's bytes (a seeded model's: anything) are shown safely: valid UTF-8,
# no control bytes but newline and tab, a newline at the end; to a file, exactly
"$TERMINAL" --run "" "$XLSTM" generate --model "$M" --prompt "Call me Ishmael." --temperature 3 --max-tokens 300 --seed 5 \
    > "$tmp/tty_out" 2> /dev/null
gen raw --model "$M" --prompt "Call me Ishmael." --temperature 3 --max-tokens 300 --seed 5
check generate_raw_has_what_a_terminal_must_not_see sh -c '! iconv -f UTF-8 -t UTF-8 "$1" > /dev/null 2>&1 && tr -d "\n\t" < "$1" | LC_ALL=C grep -q "[[:cntrl:]]"' sh "$tmp/raw"
check generate_terminal_valid_utf8 iconv -f UTF-8 -t UTF-8 "$tmp/tty_out" -o /dev/null
check generate_terminal_no_control_bytes sh -c '! tr -d "\n\t" < "$1" | LC_ALL=C grep -q "[[:cntrl:]]"' sh "$tmp/tty_out"
check generate_terminal_escapes grep -q '\\x[01][0-9a-f]' "$tmp/tty_out"
check generate_terminal_ends_with_newline [ -z "$(tail -c 1 "$tmp/tty_out")" ]
check generate_file_no_newline_added [ "$(wc -c < "$tmp/raw")" -eq 300 ]
gen rundir --model "$tmp/run" --prompt "Call me Ishmael." $sampling --seed 7
check generate_run_directory cmp -s "$tmp/a" "$tmp/rundir"
gen cfg --model "$M" --config "$tmp/byte.json" --prompt "Call me Ishmael." $sampling --seed 7
check generate_config_file cmp -s "$tmp/a" "$tmp/cfg"
gen t1 --model "$M" --prompt "Call me Ishmael." $sampling --seed 7 --threads 1
if "$XLSTM" version | grep -q ', OpenMP$'; then
    gen t3 --model "$M" --prompt "Call me Ishmael." $sampling --seed 7 --threads 3
    check generate_threads_same_output sh -c 'cmp -s "$1/a" "$1/t1" && cmp -s "$1/a" "$1/t3"' sh "$tmp"
    skip generate_threads_without_openmp "this build has OpenMP"
else # a build without OpenMP runs one thread and refuses more
    skip generate_threads_same_output "this build has no OpenMP"
    expect_error generate_threads_without_openmp "this build has no OpenMP" "$XLSTM" generate --model "$M" --threads 3
fi
gen bare --model "$tmp/bare.safetensors" --config "$tmp/byte.json" --prompt "Call me Ishmael." $sampling --seed 7
check generate_state_dict_without_config cmp -s "$tmp/a" "$tmp/bare"

# greedy = argmax of the logits of recurrent steps alone (the CLI prefills the prompt)
prompt_ids=67,97,108,108,32,109,101,32,73,115,104,109,97,101,108,46 # "Call me Ishmael."
gen greedy --model "$M" --prompt "Call me Ishmael." --temperature 0 --max-tokens 40
"$HELPER" --greedy "$M" 40 $prompt_ids > "$tmp/greedy_ref"
check generate_greedy_equals_argmax_steps cmp -s "$tmp/greedy" "$tmp/greedy_ref"
gen topk1 --model "$M" --prompt "Call me Ishmael." --top-k 1 --max-tokens 40 --seed 3
check generate_top_k_1_is_greedy cmp -s "$tmp/greedy" "$tmp/topk1"
gen tokens --model "$M" --tokens $prompt_ids --temperature 0 --max-tokens 40
check generate_tokens_equal_prompt_bytes cmp -s "$tmp/greedy" "$tmp/tokens"
gen empty --model "$M" --prompt "" --temperature 0 --max-tokens 20
gen newline --model "$M" --tokens 10 --temperature 0 --max-tokens 20
check generate_empty_prompt_starts_at_newline cmp -s "$tmp/empty" "$tmp/newline"
gen zero --model "$M" --prompt "x" --max-tokens 0
check generate_zero_tokens [ "$(wc -c < "$tmp/zero")" -eq 0 ]

# the vocabulary-64 reference model: token ids in and out; both sLSTM layouts agree
gen ref_a --model "$REF" --tokens 1,2,3,60 $sampling --seed 11
gen ref_cuda --model "$CUDA" --tokens 1,2,3,60 $sampling --seed 11
check generate_ids_output [ "$(wc -w < "$tmp/ref_a")" -eq 64 ]
check generate_cuda_layout_same_tokens cmp -s "$tmp/ref_a" "$tmp/ref_cuda"
gen ref_greedy --model "$CUDA" --tokens 1,2,3,60 --temperature 0 --max-tokens 30
"$HELPER" --greedy "$REF" 30 1,2,3,60 > "$tmp/ref_greedy_ref"
check generate_ref_greedy_equals_argmax_steps cmp -s "$tmp/ref_greedy" "$tmp/ref_greedy_ref"

# ---------------------------------------------------------------- eval
head -c 4001 data/moby_dick.txt > "$tmp/text.txt"
"$XLSTM" eval --model "$M" --data "$tmp/text.txt" --context 200 --csv "$tmp/buckets.csv" > "$tmp/eval" 2>&1 || cat "$tmp/eval"
loss=$(awk '$1 == "loss" { print $2 }' "$tmp/eval")
bpb=$(awk '$1 == "loss" { print substr($4, 2) }' "$tmp/eval")
ref_loss=$("$HELPER" --loss "$M" "$tmp/text.txt" 200)
check eval_units_labelled grep -q "^loss [0-9.]* nats/byte ([0-9.]* bits/byte)  perplexity [0-9.]*\$" "$tmp/eval"
check eval_loss_finite awk -v l="$loss" 'BEGIN { exit !(l > 0 && l < 100) }'
check eval_bpb_is_loss_over_ln2 near "$bpb" "$(awk -v l="$loss" 'BEGIN { printf "%.9f", l / log(2) }')" 1e-7
check eval_loss_matches_library near "$loss" "$ref_loss" 1e-6
# the context 200 exceeds the config's context_length 48: buckets [0,64) [64,128) [128,200)
check eval_buckets_partition_positions [ "$(awk -F, 'NR > 1 { printf "%s-%s ", $1, $2 }' "$tmp/buckets.csv")" = "0-64 64-128 128-200 " ]
check eval_bucket_tokens_sum_to_total [ "$(awk -F, 'NR > 1 { n += $3 } END { print n }' "$tmp/buckets.csv")" -eq 4000 ]
mean=$(awk -F, 'NR > 1 { s += $3 * $4; n += $3 } END { printf "%.9f", s / n }' "$tmp/buckets.csv")
check eval_bucket_losses_average_to_loss near "$mean" "$loss" 1e-6
check eval_table_on_stdout grep -q '^\[128, 200) *1440 ' "$tmp/eval"
loss_b1=$("$XLSTM" eval --model "$tmp/run" --data "$tmp/text.txt" --context 200 --batch-size 1 | awk '$1 == "loss" { print $2 }')
check eval_batch_size_invariant near "$loss_b1" "$loss" 1e-6
loss_cap=$("$XLSTM" eval --model "$M" --data data/moby_dick.txt --split all --context 200 --max-bytes 4001 | awk '$1 == "loss" { print $2 }')
check eval_max_bytes near "$loss_cap" "$loss" 0
loss_t1=$("$XLSTM" eval --model "$M" --data "$tmp/text.txt" --context 200 --threads 1 | awk '$1 == "loss" { print $2 }')
check eval_threads_invariant near "$loss_t1" "$loss" 1e-6
"$XLSTM" eval --model "$M" --data "$tmp/text.txt" > "$tmp/eval48" 2>&1
check eval_default_context_from_config grep -q '83 windows of 48 tokens' "$tmp/eval48"
# the split: all of data that is not the training data; the bundled corpus' validation split
check eval_other_data_all grep -q "^eval: .* on .*text.txt, all of it (4001 bytes; the default for data other than" "$tmp/eval48"
"$XLSTM" eval --model "$M" --max-bytes 2000 > "$tmp/eval_bundled" 2>&1
check eval_bundled_validation_split grep -q "^eval: .* on .*moby_dick.txt, the validation split (bytes \[[0-9]*, [0-9]*) of [0-9]*; validation: chapters 131 to the end; the default for the bundled corpus), its first 2000 bytes (--max-bytes): 41 windows" "$tmp/eval_bundled"
"$XLSTM" eval --model "$M" --data "$tmp/text.txt" --split train --context 200 > "$tmp/eval_train" 2>&1
check eval_split_train grep -q "the training split (bytes \[0, 3801) of 4001; validation: the last 5%; chosen by --split): 19 windows" "$tmp/eval_train"
expect_error eval_split_unknown "eval: --split 'test' is not one of val, train, all" "$XLSTM" eval --model "$M" --split test
expect_error eval_split_shorter_than_context "the validation split (bytes \[3801, 4001) .*: 200 bytes hold no window of --context 200" \
    "$XLSTM" eval --model "$M" --data "$tmp/text.txt" --split val --context 200
grep -q 'batches' "$tmp/eval48" && fail eval_quiet_in_log || pass eval_quiet_in_log
"$TERMINAL" --run --stderr "" "$XLSTM" eval --model "$M" --data "$tmp/text.txt" --context 200 > "$tmp/eval_tty"
check eval_progress_on_terminal grep -q "$(printf '\r\033\\[K')eval: 0% (0 of 3 batches, 0s)" "$tmp/eval_tty"

# ---------------------------------------------------------------- bad input
: > "$tmp/empty.txt"
printf 'ab\0cd' > "$tmp/binary.txt"
head -c 1000 "$M" > "$tmp/truncated.safetensors"
printf '{"vocab_size": 256, "num_blocks": 1, "embedding_dim": 16, "mlstm_block": {}}' > "$tmp/other.json"
expect_error generate_no_model "no --model" "$XLSTM" generate --prompt hi
expect_error generate_missing_model "nope.safetensors" "$XLSTM" generate --model "$tmp/nope.safetensors"
expect_error generate_dir_without_model "not a run directory" "$XLSTM" generate --model "$tmp"
expect_error generate_not_a_checkpoint "text.txt" "$XLSTM" generate --model "$tmp/text.txt"
expect_error generate_truncated_checkpoint "truncated.safetensors" "$XLSTM" generate --model "$tmp/truncated.safetensors"
expect_error generate_state_dict_needs_config "no __metadata__ \"config\"" "$XLSTM" generate --model "$tmp/bare.safetensors" --prompt hi
expect_error generate_config_disagrees "has shape" "$XLSTM" generate --model "$M" --config "$tmp/other.json" --prompt hi
expect_error generate_text_prompt_vocab_64 "generate: the model's vocab_size 64 differs from the data's vocabulary 256 (bytes: 256): give the prompt as --tokens" "$XLSTM" generate --model "$REF" --prompt hi
expect_error generate_token_out_of_vocab "not a token id in \[0, 64)" "$XLSTM" generate --model "$REF" --tokens 1,64
expect_error generate_token_list_malformed "entry 2" "$XLSTM" generate --model "$REF" --tokens 1,,2
expect_error generate_prompt_and_tokens "not both" "$XLSTM" generate --model "$M" --prompt a --tokens 1
expect_error generate_negative_max_tokens "max-tokens -1 is out of range" "$XLSTM" generate --model "$M" --max-tokens -1
expect_error generate_max_tokens_not_number "max-tokens '12x' is not a whole number" "$XLSTM" generate --model "$M" --max-tokens 12x
expect_error generate_negative_temperature "temperature -0.5 must be" "$XLSTM" generate --model "$M" --temperature -0.5
expect_error generate_infinite_temperature "temperature 'inf' is not a finite number" "$XLSTM" generate --model "$M" --temperature inf
expect_error generate_nan_temperature "temperature 'nan' is not a finite number" "$XLSTM" generate --model "$M" --temperature nan
expect_error generate_top_p_zero "top-p 0 must be in (0, 1]" "$XLSTM" generate --model "$M" --top-p 0
expect_error generate_top_p_above_one "top-p 1.01 must be in (0, 1]" "$XLSTM" generate --model "$M" --top-p 1.01
expect_error generate_negative_top_k "top-k -2 is out of range" "$XLSTM" generate --model "$M" --top-k -2
expect_error generate_negative_seed "seed '-1' is not a whole number" "$XLSTM" generate --model "$M" --seed -1
expect_error generate_flag_without_value "top-k needs a value" "$XLSTM" generate --model "$M" --top-k
expect_error generate_unknown_flag "unknown flag '--bogus'" "$XLSTM" generate --model "$M" --bogus
expect_error generate_threads_zero "threads 0 is out of range" "$XLSTM" generate --model "$M" --threads 0
expect_error eval_threads_not_number "threads 'two' is not a whole number" "$XLSTM" eval --model "$M" --threads two
expect_error eval_no_model "no --model" "$XLSTM" eval --data "$tmp/text.txt"
expect_error eval_missing_data "nope.txt" "$XLSTM" eval --model "$M" --data "$tmp/nope.txt"
expect_error eval_empty_data "empty" "$XLSTM" eval --model "$M" --data "$tmp/empty.txt"
expect_error eval_binary_data "binary" "$XLSTM" eval --model "$M" --data "$tmp/binary.txt"
expect_error eval_data_shorter_than_context "no window of --context 5000" "$XLSTM" eval --model "$M" --data "$tmp/text.txt" --context 5000
expect_error eval_context_zero "context 0 is out of range" "$XLSTM" eval --model "$M" --data "$tmp/text.txt" --context 0
expect_error eval_context_not_number "context 'abc' is not a whole number" "$XLSTM" eval --model "$M" --context abc
expect_error eval_batch_size_zero "batch-size 0 is out of range" "$XLSTM" eval --model "$M" --batch-size 0
expect_error eval_negative_max_bytes "max-bytes -5 is out of range" "$XLSTM" eval --model "$M" --max-bytes -5
expect_error eval_vocab_64_model "eval: the model's vocab_size 64 differs from the data's vocabulary 256 (bytes: 256)" "$XLSTM" eval --model "$REF" --data "$tmp/text.txt"
expect_error eval_unwritable_csv "cannot write" "$XLSTM" eval --model "$M" --data "$tmp/text.txt" --csv "$tmp/no/such/dir.csv"
expect_error eval_unknown_flag "unknown flag '--bogus'" "$XLSTM" eval --model "$M" --bogus
expect_error generate_missing_config "nope.json" "$XLSTM" generate --model "$M" --config "$tmp/nope.json" --prompt hi
expect_error eval_missing_config "nope.json" "$XLSTM" eval --model "$M" --config "$tmp/nope.json" --data "$tmp/text.txt"
echo '{"vocab_size": 256,' > "$tmp/badjson.json"
expect_error generate_bad_config "config: not valid JSON" "$XLSTM" generate --model "$M" --config "$tmp/badjson.json" --prompt hi
expect_error generate_model_not_a_file "neither a run directory nor a checkpoint file" "$XLSTM" generate --model /dev/null --prompt hi
if [ -w /dev/full ]; then
    expect_error generate_stdout_full "cannot write to standard output" \
        sh -c '"$0" generate --model "$1" --prompt hi --max-tokens 8 > /dev/full' "$XLSTM" "$M"
else
    skip generate_stdout_full "no writable /dev/full"
fi
# a flag or path holding a newline or an escape byte is quoted with escapes: still one line
# (found by fuzz_cli_generate)
expect_error generate_newline_in_flag "unknown flag '--max\\\\ntokens'" "$XLSTM" generate --model "$M" "$(printf -- '--max\ntokens')"
expect_error generate_escape_in_path "a\\\\x1bb: No such file" "$XLSTM" generate --model "$(printf 'a\033b')"
exit 0
