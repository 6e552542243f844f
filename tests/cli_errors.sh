#!/bin/sh
# tests/cli_errors.sh — the error messages of docs/errors.md that need a damaged file, an
# unusual path or a failing system call to happen: damaged run directories for --resume and
# malformed reference files for verify (made by the helper test_errors --rewrite from real
# ones), paths beyond PATH_MAX, read errors, the bundled corpus missing, and allocation
# failures under `ulimit -v`. Each must be one line on stderr and a non-zero exit (not a
# signal). Prints PASS/FAIL lines (SKIP where this build or system cannot set the case up).
. tests/lib.sh
HELPER=$(dirname "$XLSTM")/tests/test_errors
REF=tests/data/ref
export OMP_NUM_THREADS=1

# rewrite SRC DST EDIT...: a copy of a safetensors file with the helper's edits
rewrite() {
    "$HELPER" --rewrite "$@" || { fail "cli_errors_helper ($*)"; exit 0; }
}
# long_path N: a path of exactly N characters under $tmp/long (components of 200 characters)
long_path() {
    p=$tmp/long
    while [ $((${#p} + 202)) -lt "$1" ]; do p=$p/$(printf '%0200d' 0); done
    printf "%s/%0$(($1 - ${#p} - 1))d" "$p" 0
}

# a tiny model trained for 2 steps: the run directory the --resume cases damage
tiny_fixture 40000
RUN="--data $tmp/text.txt --config $tmp/tiny.json --batch-size 4 --context 32 --sample 0"
if ! "$XLSTM" train $RUN --steps 2 --out "$tmp/run" > /dev/null 2> "$tmp/err"; then
    fail cli_errors_setup; cat "$tmp/err"; exit 0
fi

# ---- damaged run directories: each a copy of the run with one thing wrong
# damaged NAME EDIT...: $tmp/NAME, the run with its optimizer.safetensors edited
damaged() {
    d=$tmp/$1; shift
    cp -r "$tmp/run" "$d"
    [ $# -eq 0 ] || rewrite "$d/optimizer.safetensors" "$d/optimizer.safetensors" "$@"
}
resume() { "$XLSTM" train --resume --out "$tmp/$1" --steps 4; }
damaged step_negative set=train.step=0=-1
expect_error train_resume_bad_step_counters "step_negative/optimizer.safetensors: bad step counters (step -1, AdamW updates 2)" \
    resume step_negative
damaged updates_beyond_step set=adamw.t=0=3
expect_error train_resume_more_updates_than_steps "bad step counters (step 2, AdamW updates 3)" resume updates_beyond_step
damaged no_exp_avg drop=adamw.exp_avg
expect_error train_resume_first_moments_missing "no_exp_avg/optimizer.safetensors: tensor 'adamw.exp_avg' is missing" \
    resume no_exp_avg
damaged no_exp_avg_sq drop=adamw.exp_avg_sq
expect_error train_resume_second_moments_missing "tensor 'adamw.exp_avg_sq' is missing" resume no_exp_avg_sq
damaged no_rng drop=train.rng
expect_error train_resume_rng_missing "tensor 'train.rng' is missing" resume no_rng
damaged short_exp_avg_sq shape=adamw.exp_avg_sq=100
expect_error train_resume_moments_wrong_size "tensor 'adamw.exp_avg_sq' has 100 elements but the model has [0-9]* parameters" \
    resume short_exp_avg_sq
damaged nan_exp_avg set=adamw.exp_avg=7=nan
expect_error train_resume_moments_not_finite "tensor 'adamw.exp_avg' holds non-finite values" resume nan_exp_avg
damaged other_size shape=adamw.exp_avg=100 shape=adamw.exp_avg_sq=100
expect_error train_resume_optimizer_of_another_model "other_size: the optimizer state has 100 elements but the model [0-9]* parameters" \
    resume other_size
damaged bad_args 'meta=train_args={"data": '
expect_error train_resume_bad_train_args "bad_args: bad train_args in optimizer.safetensors: json: unexpected end of input" \
    resume bad_args
damaged empty_args 'meta=train_args={}'
expect_error train_resume_train_args_incomplete "empty_args: optimizer.safetensors: train_args has no valid \"" resume empty_args
# the model file cut short (a disk that filled up, a copy cut off), or gone
damaged truncated_model
head -c 1000 "$tmp/run/model.safetensors" > "$tmp/truncated_model/model.safetensors"
expect_error train_resume_model_damaged "truncated_model/model.safetensors is damaged: safetensors: .*truncated_model/model.safetensors: header length" \
    resume truncated_model
damaged no_model
rm "$tmp/no_model/model.safetensors"
expect_error train_resume_model_missing "no_model: model.safetensors is missing (the optimizer state is at step 2)" resume no_model
# a model of vocabulary 64 (the reference state_dict) with an optimizer state of its size
damaged vocab64
rewrite $REF/lm_mixed_small.state_dict.safetensors "$tmp/vocab64/model.safetensors" meta=step=2
n=$("$HELPER" --num-params "$tmp/vocab64/model.safetensors")
rewrite "$tmp/vocab64/optimizer.safetensors" "$tmp/vocab64/optimizer.safetensors" shape=adamw.exp_avg=$n shape=adamw.exp_avg_sq=$n
expect_error train_resume_vocab_not_bytes "vocab64: the model's vocab_size 64 differs from the data's vocabulary 256 (bytes: 256)" resume vocab64
# what --resume reads or removes is in the way (as root, permissions cannot be used here)
damaged csv_loop
rm "$tmp/csv_loop/metrics.csv" && ln -s metrics.csv "$tmp/csv_loop/metrics.csv"
expect_error train_resume_metrics_unreadable "cannot read .*csv_loop/metrics.csv: Too many levels of symbolic links" resume csv_loop
damaged prev_dir
mkdir "$tmp/prev_dir/model.prev.safetensors"
expect_error train_resume_cannot_remove_prev "cannot remove .*prev_dir/model.prev.safetensors: Is a directory" resume prev_dir
damaged model_dir # as if killed between the two renames, with a directory where the model goes
mv "$tmp/model_dir/model.safetensors" "$tmp/model_dir/model.prev.safetensors" && mkdir "$tmp/model_dir/model.safetensors"
expect_error train_resume_cannot_rename_prev "cannot rename .*model_dir/model.prev.safetensors to .*model_dir/model.safetensors: Is a directory" \
    resume model_dir
# a new run: a leftover temporary file of a dead process (pid beyond any pid_max) that cannot
# be removed; a directory where the first checkpoint keeps the previous model
mkdir -p "$tmp/dead_tmp/loss.svg.tmp.4194305"
expect_error train_cannot_remove_dead_temporary "cannot remove .*dead_tmp/loss.svg.tmp.4194305: Is a directory" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/dead_tmp"
mkdir -p "$tmp/new_prev/model.prev.safetensors"
last_line_error train_checkpoint_cannot_remove_prev "^xlstm: train: cannot remove .*new_prev/model.prev.safetensors: Is a directory" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/new_prev"
ln -s loop "$tmp/loop"
expect_error train_cannot_list_out "train: cannot list .*loop: Too many levels of symbolic links" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/loop"

# ---- paths at PATH_MAX (4096 bytes with the NUL): the messages keep their end
expect_error train_out_path_too_long "^xlstm: train: cannot list $tmp/long/0000.*\.\.\..*0000: File name too long\$" \
    "$XLSTM" train $RUN --steps 1 --out "$(long_path 5000)"
# an --out that fits, but not with the names of the files inside it
expect_error train_out_files_path_too_long "^xlstm: train: $tmp/long/.*\.\.\..*0000/metrics.csv: path too long\$" \
    "$XLSTM" train $RUN --steps 1 --out "$(long_path 4085)"
dir=$(long_path 4079) # with "/model.safetensors", 4097 bytes
mkdir -p "$dir"
expect_error generate_model_path_too_long "^xlstm: $dir: path too long\$" "$XLSTM" generate --model "$dir"
# a --data directory that fits, holding a file whose path does not
(cd "$dir" && echo "some text" > 0123456789abcdefghijklmn.txt)
expect_error train_data_file_path_too_long "\.\.\..*0000/0123456789abcdefghijklmn.txt: path too long\$" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/bad" --data "$dir"
rm -rf "$tmp/long"

# ---- text data
awk 'BEGIN { for (i = 0; i < 97; i++) printf "a"; printf "\001\002\033" }' > "$tmp/control.txt"
expect_error train_control_bytes "control.txt: binary data (3 control bytes in 100); expected text" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/bad" --data "$tmp/control.txt"
expect_error eval_control_bytes "control.txt: binary data (3 control bytes in 100); expected text" \
    "$XLSTM" eval --model "$tmp/run" --data "$tmp/control.txt"
# reading /proc/self/mem at offset 0 (never mapped) fails with EIO
expect_error train_data_read_error "^xlstm: train: --data /proc/self/mem: read error\$" \
    "$XLSTM" train $RUN --steps 1 --out "$tmp/bad" --data /proc/self/mem
expect_error eval_data_read_error "^xlstm: /proc/self/mem: read error\$" "$XLSTM" eval --model "$tmp/run" --data /proc/self/mem
# a write-only file, which root cannot read either
if [ -e /proc/sys/vm/drop_caches ]; then
    expect_error eval_data_cannot_open "^xlstm: /proc/sys/vm/drop_caches: cannot open (Permission denied)\$" \
        "$XLSTM" eval --model "$tmp/run" --data /proc/sys/vm/drop_caches
else
    skip eval_data_cannot_open "no /proc/sys/vm/drop_caches"
fi
expect_error generate_stdin_read_error "^xlstm: generate: cannot read the prompt from standard input\$" \
    sh -c 'exec "$0" generate --model "$1" < /' "$XLSTM" "$tmp/run"
# the program run outside the repository, away from data/moby_dick.txt
mkdir -p "$tmp/away/bin/xlstm.d"
cp "$XLSTM" "$tmp/away/bin/xlstm.d/xlstm"
expect_error train_no_bundled_corpus "train: the bundled corpus data/moby_dick.txt was not found; give --data PATH" \
    sh -c 'cd "$0" && exec bin/xlstm.d/xlstm train --config "$1" --out run' "$tmp/away" "$tmp/tiny.json"
expect_error eval_no_bundled_corpus "eval: no --data given and the bundled corpus was not found" \
    sh -c 'cd "$0" && exec bin/xlstm.d/xlstm eval --model "$1"' "$tmp/away" "$tmp/run"
# an official config without context_length (-1) and no --context
expect_error eval_no_context_length "eval: the model's config sets no context_length; give --context N" \
    "$XLSTM" eval --model "$tmp/run" --config "$tmp/tiny.json" --data "$tmp/text.txt"

# ---- verify: reference files with one thing wrong
SL=$REF/slstm_layer.safetensors
LM=$REF/lm_mixed_small.safetensors
rewrite $SL "$tmp/kind.st" meta=kind=rnn
expect_error verify_unknown_kind "kind.st: unknown kind 'rnn' (expected lm, slstm_layer or mlstm_layer)" "$XLSTM" verify "$tmp/kind.st"
rewrite $SL "$tmp/no_y.st" drop=output.y
expect_error verify_reference_tensor_missing "no_y.st: reference tensor 'output.y' is missing" "$XLSTM" verify "$tmp/no_y.st"
rewrite $SL "$tmp/no_dy.st" drop=input.dy
expect_error verify_input_missing "no_dy.st: tensor 'input.dy' is missing" "$XLSTM" verify "$tmp/no_dy.st"
rewrite $SL "$tmp/short_dy.st" shape=input.dy=100
expect_error verify_input_wrong_size "short_dy.st: tensor 'input.dy' has 100 elements, expected 1024" "$XLSTM" verify "$tmp/short_dy.st"
rewrite $SL "$tmp/x2d.st" shape=input.x=32,32
expect_error verify_x_not_3d "x2d.st: 'input.x' must be a \[B, T, D\] tensor" "$XLSTM" verify "$tmp/x2d.st"
rewrite $SL "$tmp/xwidth.st" shape=input.x=2,32,16
expect_error verify_x_width "xwidth.st: 'input.x' has width 16, the config says 32" "$XLSTM" verify "$tmp/xwidth.st"
rewrite $SL "$tmp/no_dim.st" 'meta=config={"num_heads": 4}'
expect_error verify_layer_config_no_embedding_dim "no_dim.st: config: embedding_dim (an integer) is required" \
    "$XLSTM" verify "$tmp/no_dim.st"
rewrite $SL "$tmp/bad_json.st" 'meta=config={"embedding_dim": 32,'
expect_error verify_layer_config_not_json "bad_json.st: config: json: unexpected end of input" "$XLSTM" verify "$tmp/bad_json.st"
rewrite $SL "$tmp/bad_heads.st" 'meta=config={"embedding_dim": 32, "num_heads": 5}'
expect_error verify_layer_config_invalid "bad_heads.st: config: slstm_block.slstm.num_heads 5 does not divide embedding_dim 32" \
    "$XLSTM" verify "$tmp/bad_heads.st"
rewrite $LM "$tmp/ids1d.st" shape=input.ids=64
expect_error verify_ids_not_2d "ids1d.st: 'input.ids' must be a \[B, T\] tensor" "$XLSTM" verify "$tmp/ids1d.st"
rewrite $LM "$tmp/no_targets.st" drop=input.targets
expect_error verify_targets_missing "no_targets.st: 'input.targets' is missing" "$XLSTM" verify "$tmp/no_targets.st"
rewrite $LM "$tmp/token64.st" set=input.ids=5=64
expect_error verify_token_outside_vocabulary "token64.st: token 64 in input.ids is outside the vocabulary" "$XLSTM" verify "$tmp/token64.st"
rewrite $LM "$tmp/lm_config.st" 'meta=config={"vocab_size": 64, "embedding_dim": 64}'
expect_error verify_lm_config_invalid "lm_config.st: config: neither mlstm_block nor slstm_block is given" "$XLSTM" verify "$tmp/lm_config.st"

# ---- a system that refuses: descriptors and memory
# bench's measurements report through a pipe; with 4 descriptors (after stdin, stdout and
# stderr only one is free) it cannot be made
if (ulimit -n 4 && exec "$XLSTM" --help) > /dev/null 2>&1; then
    expect_error bench_pipe_failed "^xlstm: bench: pipe failed\$" sh -c 'ulimit -n 4 && exec "$0" bench micro --seconds 0.1' "$XLSTM"
else
    skip bench_pipe_failed "this build cannot start with 4 file descriptors"
fi
# An address-space limit of 1 GB: enough for the program and its BLAS (which hangs in a retry
# loop when its own buffers cannot be mapped: hence the timeout) but not for the requests
# below. AddressSanitizer cannot run under it: then they are skipped.
LIMIT=1000000
# (not the subshell's last command: the subshell, not this shell, reports a probe killed by a
# signal, to /dev/null)
if (ulimit -v $LIMIT && timeout 20 "$XLSTM" generate --model "$tmp/run" --prompt a --max-tokens 1; exit $?) > /dev/null 2>&1; then
    # a prompt on stdin without end
    expect_error generate_out_of_memory "^xlstm: generate: out of memory\$" \
        sh -c 'ulimit -v $2 && exec timeout 60 "$0" generate --model "$1" --max-tokens 1 < /dev/zero' "$XLSTM" "$tmp/run" $LIMIT
    # text without end
    expect_error data_out_of_memory "^xlstm: /dev/stdin: out of memory\$" \
        sh -c 'yes 2> /dev/null | { ulimit -v $2 && exec timeout 60 "$0" eval --model "$1" --data /dev/stdin; }' \
        "$XLSTM" "$tmp/run" $LIMIT
    # one window of 60 M tokens: 480 MB of tokens and targets, 480 MB of loss sums
    yes 'It was the best of times, it was the worst of times' 2> /dev/null | head -c 60000000 > "$tmp/60mb.txt"
    expect_error eval_out_of_memory "^xlstm: eval: out of memory for 1 x 59999999 tokens\$" \
        sh -c 'ulimit -v $3 && exec timeout 60 "$0" eval --model "$1" --data "$2" --context 59999999' \
        "$XLSTM" "$tmp/run" "$tmp/60mb.txt" $LIMIT
    rm -f "$tmp/60mb.txt"
    # a model of 1.6 GB of parameters (the machine has the memory; the process may not use it)
    echo '{"vocab_size": 256, "embedding_dim": 2048, "num_blocks": 12, "mlstm_block": {}}' > "$tmp/big.json"
    expect_error train_model_out_of_memory "^xlstm: train: --config [^ ]*big.json: model parameters: out of memory allocating [0-9]* bytes\$" \
        sh -c 'ulimit -v $3 && exec timeout 60 "$0" train --config "$1" --data "$2" --out "$2.run"' \
        "$XLSTM" "$tmp/big.json" "$tmp/text.txt" $LIMIT
else
    for t in generate_out_of_memory data_out_of_memory eval_out_of_memory train_model_out_of_memory; do
        skip $t "this build cannot run under ulimit -v $LIMIT (e.g. AddressSanitizer)"
    done
fi
# an endless stream of binary data is refused at its first NUL byte, not read until memory runs out
expect_error train_data_endless_binary "/dev/zero: binary data (a NUL byte at offset 0)" "$XLSTM" train --data /dev/zero --out "$tmp/zero"
exit 0
