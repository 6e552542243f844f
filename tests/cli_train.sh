#!/bin/sh
# tests/cli_train.sh — tests of `xlstm train` on a tiny model (D 32, 2 blocks) and a small
# text: the loss goes down, a run killed with SIGKILL and resumed equals an uninterrupted
# run bit for bit, SIGINT stops after a checkpoint, and bad input is refused with a one-line
# message. Prints PASS/FAIL lines.
. tests/lib.sh

# the data: the first 40 kB of the bundled corpus; the model: D 32, 2 blocks, sLSTM at 1
tiny_fixture 40000
# a fixed thread count (the numbers of a run depend on it); one thread is fastest for a model this small
export OMP_NUM_THREADS=1
ARGS="--data $tmp/text.txt --config $tmp/tiny.json --batch-size 4 --context 32 --lr 1e-2 --warmup 10 --seed 7 --sample 0"

# ---- a short run: the loss goes down, and the run directory holds what it should
"$XLSTM" train $ARGS --out "$tmp/short" --steps 60 --eval-every 20 --save-every 20 > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc -eq 0 ] && pass train_short_run || { fail train_short_run; cat "$tmp/err"; }
# every loss says its unit
grep -q "^step 60/60  loss [0-9.]* nats/byte ([0-9.]* bits/byte)  lr " "$tmp/err" &&
    grep -q "^step 60  validation loss [0-9.]* nats/byte ([0-9.]* bits/byte)\$" "$tmp/err" &&
    grep -q "^done: step 60, validation loss [0-9.]* nats/byte ([0-9.]* bits/byte); " "$tmp/err" &&
    grep -q ">loss (bits per byte)</text>" "$tmp/short/loss.svg" && pass train_loss_units || { fail train_loss_units; cat "$tmp/err"; }
# validation's progress: none in a log of short work; on a terminal, a line rewritten in place
grep -q "validation:" "$tmp/err" && fail train_validation_quiet_in_log || pass train_validation_quiet_in_log
"$(dirname "$XLSTM")/tests/test_terminal" --run --stderr "" "$XLSTM" train $ARGS --out "$tmp/tty" --steps 2 > "$tmp/tty.out"
grep -q "$(printf '\r\033\\[K')validation: 0% (0 of [0-9]* batches, 0s)" "$tmp/tty.out" && pass train_validation_progress_on_terminal ||
    { fail train_validation_progress_on_terminal; cat -v "$tmp/tty.out"; }
# validation bits per byte at steps 20 and 60 (column 7 of metrics.csv): must fall by 0.5
bpb20=$(grep '^20,' "$tmp/short/metrics.csv" | cut -d, -f7)
bpb60=$(grep '^60,' "$tmp/short/metrics.csv" | cut -d, -f7)
if [ -n "$bpb20" ] && [ -n "$bpb60" ] && awk "BEGIN { exit !($bpb60 < $bpb20 - 0.5 && $bpb20 < 8) }"; then
    pass train_loss_goes_down
else
    fail train_loss_goes_down; echo "  val bpb at 20: '$bpb20', at 60: '$bpb60'"
fi
for f in model.safetensors optimizer.safetensors metrics.csv loss.svg; do
    [ -s "$tmp/short/$f" ] || { fail "train_writes_$f"; continue; }
    pass "train_writes_$f"
done
[ "$(grep -c '^[0-9]' "$tmp/short/metrics.csv")" -eq 60 ] && pass train_metrics_every_step || fail train_metrics_every_step
grep -q '<polyline' "$tmp/short/loss.svg" && grep -q 'validation' "$tmp/short/loss.svg" && grep -q '</svg>' "$tmp/short/loss.svg" &&
    pass train_plot || fail train_plot
ls "$tmp/short" | grep -q 'tmp\|prev' && fail train_no_leftover_files || pass train_no_leftover_files
# the checkpoint is a model the other verbs can read: eval on the training text, by default
# its validation split (the run's checkpoint says which data it trained on)
if "$XLSTM" eval --model "$tmp/short" --data "$tmp/text.txt" > "$tmp/out" 2>&1; then
    pass train_checkpoint_loads
else
    fail train_checkpoint_loads; cat "$tmp/out"
fi
grep -q "^eval: .*short on .*text.txt, the validation split (bytes \[38000, 40000) of 40000; validation: the last 5%; the default for the run's training data): 62 windows of 32 tokens" \
    "$tmp/out" && pass eval_run_training_data_validation_split || { fail eval_run_training_data_validation_split; head -1 "$tmp/out"; }
"$XLSTM" train $ARGS --out "$tmp/sample" --steps 2 --sample 30 > "$tmp/out" 2> /dev/null
[ "$(head -c 20 "$tmp/out")" = "CHAPTER 1. Loomings." ] && [ "$(wc -c < "$tmp/out")" -ge 51 ] && pass train_sample ||
    { fail train_sample; cat "$tmp/out"; }
# the sample of a model 2 steps old is mostly random bytes: on a terminal, shown safely
"$(dirname "$XLSTM")/tests/test_terminal" --run "" "$XLSTM" train $ARGS --out "$tmp/sample_tty" --steps 2 --sample 200 \
    > "$tmp/out" 2> /dev/null
iconv -f UTF-8 -t UTF-8 "$tmp/out" > /dev/null 2>&1 && ! tr -d '\n\t' < "$tmp/out" | LC_ALL=C grep -q '[[:cntrl:]]' &&
    pass train_sample_terminal_safe || { fail train_sample_terminal_safe; od -c "$tmp/out" | head; }

# ---- gradient accumulation: 2 micro-batches of 2 take the same 4 windows as one batch of 4,
# so loss and gradient norm agree up to float rounding (1e-4 relative, over 10 steps)
"$XLSTM" train $ARGS --out "$tmp/b4" --steps 10 --save-every 0 2> /dev/null
"$XLSTM" train $ARGS --out "$tmp/b2x2" --steps 10 --save-every 0 --batch-size 2 --grad-accum 2 2> /dev/null
if paste -d, "$tmp/b4/metrics.csv" "$tmp/b2x2/metrics.csv" | awk -F, 'NR > 1 {
        for (c = 4; c <= 5; c++) { d = $c - $(c + 8); if (d < 0) d = -d; if (d > 1e-4 * $c) bad = 1 } n++ }
        END { exit bad || n != 10 }'; then
    pass train_grad_accum
else
    fail train_grad_accum; paste -d, "$tmp/b4/metrics.csv" "$tmp/b2x2/metrics.csv" | head -4
fi

# ---- kill -9 and --resume equal an uninterrupted run, bit for bit
RUN="$ARGS --steps 400 --eval-every 50 --save-every 25"
"$XLSTM" train $RUN --out "$tmp/whole" 2> /dev/null
"$XLSTM" train $RUN --out "$tmp/killed" 2> /dev/null &
pid=$!
# wait for step 110 (the last checkpoint is at 100), then kill at once
wait_until 30 grep -qs "^110," "$tmp/killed/metrics.csv"
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
killed_at=$(tail -n 1 "$tmp/killed/metrics.csv" | cut -d, -f1)
if [ "$killed_at" -ge 110 ] 2> /dev/null && [ "$killed_at" -lt 400 ]; then
    pass "train_killed_midway (at step $killed_at)"
else
    fail train_killed_midway; echo "  last metrics step: '$killed_at'"
fi
# and as if it had also died between the two renames of a checkpoint: the model already
# replaced by a later one, the matching model still in model.prev.safetensors
cp "$tmp/killed/model.safetensors" "$tmp/killed/model.prev.safetensors"
cp "$tmp/whole/model.safetensors" "$tmp/killed/model.safetensors"
"$XLSTM" train --resume --out "$tmp/killed" --sample 0 2> "$tmp/err"
[ $? -eq 0 ] && pass train_resume_runs || { fail train_resume_runs; cat "$tmp/err"; }
# every column but tokens/s (timing) of every step, the steps redone after the resume included
cut -d, -f1-7 "$tmp/whole/metrics.csv" > "$tmp/whole.csv"
cut -d, -f1-7 "$tmp/killed/metrics.csv" > "$tmp/killed.csv"
[ "$(grep -c '^[0-9]' "$tmp/whole.csv")" -eq 400 ] && cmp -s "$tmp/whole.csv" "$tmp/killed.csv" &&
    pass train_resume_metrics_bit_identical || { fail train_resume_metrics_bit_identical; diff "$tmp/whole.csv" "$tmp/killed.csv" | head -5; }
cmp -s "$tmp/whole/model.safetensors" "$tmp/killed/model.safetensors" && pass train_resume_model_byte_identical ||
    fail train_resume_model_byte_identical
cmp -s "$tmp/whole/optimizer.safetensors" "$tmp/killed/optimizer.safetensors" &&
    pass train_resume_optimizer_byte_identical || fail train_resume_optimizer_byte_identical

# ---- SIGINT: the step under way is finished and checkpointed (--save-every 0: no other
# checkpoint before the end), the exit status is 130, and --resume continues from there
sigint_after "$tmp/sigint/metrics.csv" 3 "interrupted" "$tmp/sigint.err" 30 \
    "$XLSTM" train $ARGS --out "$tmp/sigint" --steps 100000 --save-every 0 --eval-every 0
last=$(tail -n 1 "$tmp/sigint/metrics.csv" | cut -d, -f1)
# the checkpoint's step, from the model file's metadata
saved=$(grep -a -o '"step": *"[0-9]*"' "$tmp/sigint/model.safetensors" | head -n 1 | grep -o '[0-9][0-9]*')
if [ $rc -eq 130 ] && [ "$last" -ge 3 ] 2> /dev/null && [ "$saved" = "$last" ] && [ -s "$tmp/sigint/optimizer.safetensors" ] &&
    grep -q "interrupted: stopped at step $last" "$tmp/sigint.err"; then
    pass "train_sigint_checkpoints (at step $last)"
else
    fail train_sigint_checkpoints; echo "  exit $rc, last metrics step '$last', checkpoint step '$saved'"; cat "$tmp/sigint.err"
fi
ls "$tmp/sigint" | grep -q 'tmp\|prev' && fail train_sigint_no_leftover_files || pass train_sigint_no_leftover_files
expect_ok train_sigint_checkpoint_loads "$XLSTM" eval --model "$tmp/sigint" --data "$tmp/text.txt"
"$XLSTM" train --resume --out "$tmp/sigint" --steps $((last + 2)) --sample 0 > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ "$(tail -n 1 "$tmp/sigint/metrics.csv" | cut -d, -f1)" = $((last + 2)) ] && pass train_sigint_resume ||
    { fail train_sigint_resume; echo "  exit $rc"; cat "$tmp/err"; }

# ---- a write error while checkpointing (a file size limit) fails cleanly, the checkpoint intact
cp "$tmp/short/model.safetensors" "$tmp/model.before"
cp "$tmp/short/optimizer.safetensors" "$tmp/optimizer.before"
(trap '' XFSZ; ulimit -f 64; exec "$XLSTM" train --resume --out "$tmp/short" --steps 80 --sample 0) > /dev/null 2> "$tmp/err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q 'cannot write' "$tmp/err" &&
    cmp -s "$tmp/model.before" "$tmp/short/model.safetensors" && cmp -s "$tmp/optimizer.before" "$tmp/short/optimizer.safetensors"; then
    pass train_write_error_keeps_checkpoint
else
    fail train_write_error_keeps_checkpoint; echo "  exit $rc"; cat "$tmp/err"
fi
ls "$tmp/short" | grep -q 'tmp' && fail train_write_error_no_temp_files || pass train_write_error_no_temp_files
"$XLSTM" train --resume --out "$tmp/short" --steps 80 --sample 0 2> /dev/null && pass train_resume_after_write_error ||
    fail train_resume_after_write_error

# ---- bad input: one line, non-zero exit, nothing written
printf '' > "$tmp/empty.txt"
printf 'ab\0cd' > "$tmp/binary.txt"
mkdir "$tmp/emptydir"
touch "$tmp/afile"
T="$XLSTM train --out $tmp/bad --config $tmp/tiny.json --steps 1"
# --tokens: 300 tokens of 4 x 32 per step -> 3 steps
"$XLSTM" train $ARGS --out "$tmp/tokens" --tokens 300 --eval-every 0 > /dev/null 2>&1 \
    && [ "$(grep -c '^[0-9]' "$tmp/tokens/metrics.csv")" -eq 3 ] && pass train_tokens_sets_steps || fail train_tokens_sets_steps
expect_error train_tokens_and_steps "give --steps or --tokens, not both" $T --tokens 100 --steps 3
expect_error train_missing_data "nope.txt" $T --data "$tmp/nope.txt"
expect_error train_empty_data "empty" $T --data "$tmp/empty.txt"
expect_error train_binary_data "binary" $T --data "$tmp/binary.txt"
expect_error train_empty_dir "no data" $T --data "$tmp/emptydir"
# a folder of folders: their files are read, in name order, and the log says what it read
mkdir -p "$tmp/folders/b" "$tmp/folders/a/sub" "$tmp/folders/.git" "$tmp/nofiles/x/y"
head -c 20000 "$tmp/text.txt" > "$tmp/folders/b/two.txt"
tail -c 20000 "$tmp/text.txt" > "$tmp/folders/a/sub/one.txt"
touch "$tmp/folders/.hidden" "$tmp/nofiles/x/y/empty.txt" "$tmp/nofiles/.hidden"
"$XLSTM" train $ARGS --data "$tmp/folders" --out "$tmp/folders_run" --steps 1 --eval-every 0 > /dev/null 2> "$tmp/err"
check_data_line() {
    grep -q "^train: data $1\$" "$tmp/err" || { echo "  expected 'train: data $1', got:"; head -2 "$tmp/err"; return 1; }
}
check_data_line ".*/folders: 40000 bytes in 2 files (a/sub/one.txt, b/two.txt; left out: 2 hidden); training split 38000 bytes, validation split 2000 bytes (5.0%: the last 5%)" &&
    pass train_data_subdirectories || fail train_data_subdirectories
"$XLSTM" train $ARGS --out "$tmp/file_run" --steps 1 --eval-every 0 > /dev/null 2> "$tmp/err"
check_data_line ".*/text.txt: 40000 bytes; training split 38000 bytes, validation split 2000 bytes (5.0%: the last 5%)" &&
    pass train_data_logged || fail train_data_logged
mkdir -p "$tmp/loop/d" && ln -s .. "$tmp/loop/d/up"
expect_error train_data_link_loop "nested more than 32 deep (a symbolic link loop?)" $T --data "$tmp/loop"
expect_error train_dir_of_empty_dirs "nofiles: no data (no file in it or its subdirectories holds any; left out: 1 hidden)" \
    $T --data "$tmp/nofiles"
expect_error train_data_too_small "too few" $T --data "$tmp/text.txt" --context 39000
expect_error train_batch_zero "batch-size 0 is out of range" $T --batch-size 0
expect_error train_batch_negative "batch-size -4 is out of range" $T --batch-size -4
expect_error train_batch_not_number "'four' is not a whole number" $T --batch-size four
expect_error train_context_zero "context 0 is out of range" $T --context 0
expect_error train_steps_trailing "'10x' is not a whole number" $T --steps 10x
expect_error train_lr_zero "lr 0 is out of range" $T --lr 0
expect_error train_lr_negative "lr -1 is out of range" $T --lr -1
expect_error train_lr_nan "'nan' is not a finite number" $T --lr nan
expect_error train_lr_inf "'inf' is not a finite number" $T --lr inf
expect_error train_seed_negative "seed '-1' is not a whole number" $T --seed -1
expect_error train_missing_value "steps needs a value" $T --steps
expect_error train_unknown_flag "unknown flag '--bogus'" $T --bogus
expect_error train_unknown_model "'huge' is not a preset" "$XLSTM" train --out "$tmp/bad" --model huge
expect_error train_model_and_config "not both" $T --model tiny
echo '{"vocab_size": 256, "num_blocks": 2, "slstm_at": [5]}' > "$tmp/badcfg.json"
expect_error train_bad_config "slstm_at" "$XLSTM" train --out "$tmp/bad" --config "$tmp/badcfg.json"
echo '{"vocab_size": 100, "embedding_dim": 32, "mlstm_block": {}}' > "$tmp/smallvocab.json"
expect_error train_config_vocab "the model's vocab_size 100 differs from the data's vocabulary 256 (bytes: 256)" \
    "$XLSTM" train --out "$tmp/bad" --config "$tmp/smallvocab.json"
# the official default vocabulary would train on bytes and sample ids that are no byte
echo '{"vocab_size": 50304, "embedding_dim": 32, "mlstm_block": {}}' > "$tmp/gptvocab.json"
expect_error train_config_vocab_larger "the model's vocab_size 50304 differs from the data's vocabulary 256 (bytes: 256)" \
    "$XLSTM" train --out "$tmp/bad" --config "$tmp/gptvocab.json"
head -c 20 "$tmp/text.txt" > "$tmp/20bytes.txt"
expect_error train_no_validation_split "validation split" $T --data "$tmp/20bytes.txt" --context 8
expect_error train_empty_value "data needs a non-empty value" $T --data ""
expect_error train_missing_config "train: --config .*nope.json" "$XLSTM" train --out "$tmp/bad" --config "$tmp/nope.json"
expect_error train_too_many_tokens "more than 1e9 steps" "$XLSTM" train --out "$tmp/bad" --config "$tmp/tiny.json" --tokens 1000000000000000
expect_error train_batch_times_context "is too large" $T --batch-size 65536 --context 65536
[ -e "$tmp/bad/model.safetensors" ] && fail train_bad_input_writes_nothing || pass train_bad_input_writes_nothing
expect_error train_out_is_file "exists and is not a directory" $T --data "$tmp/text.txt" --out "$tmp/afile"
expect_error train_out_not_creatable "cannot create .*afile/sub" $T --data "$tmp/text.txt" --out "$tmp/afile/sub"
expect_error train_resume_no_checkpoint "holds no checkpoint" "$XLSTM" train --resume --out "$tmp/emptydir"
expect_error train_resume_missing_dir "does not exist" "$XLSTM" train --resume --out "$tmp/nowhere"
expect_error train_existing_checkpoint "already holds a checkpoint" $T --data "$tmp/text.txt" --out "$tmp/short"
expect_error train_resume_other_model "differs from the model" "$XLSTM" train --resume --out "$tmp/short" --model tiny
expect_error train_resume_other_batch "batch-size differs" "$XLSTM" train --resume --out "$tmp/short" --batch-size 8
# the checkpoint keeps --data as JSON text, so a path that is not UTF-8 could not be read
# back by --resume: refused up front (found by fuzz_cli_train)
expect_error train_data_not_utf8 "is not valid UTF-8" $T --data "$(printf 't\377.txt')"
mkdir "$tmp/notrain"
cp "$tmp/whole/model.safetensors" "$tmp/notrain/model.safetensors"
cp "$tmp/whole/model.safetensors" "$tmp/notrain/optimizer.safetensors"
expect_error train_resume_not_train_state "not a training state" "$XLSTM" train --resume --out "$tmp/notrain"
cp "$tmp/whole/model.safetensors" "$tmp/short/model.safetensors"
expect_error train_resume_mismatched_files "no model file at the optimizer state's step" \
    "$XLSTM" train --resume --out "$tmp/short" --steps 100
# ---- non-finite numbers: lr 10 with weight decay 10 multiplies the decayed weights by -99 a
# step, so within a few steps the forward overflows and the loss is NaN. Those updates are
# skipped and reported; no checkpoint ever holds a non-finite value (they load: the loader
# refuses non-finite tensors); --stop-on-nonfinite stops at the first one instead.
DIVERGE="--data $tmp/text.txt --config $tmp/tiny.json --batch-size 4 --context 32 --lr 10 --weight-decay 10 --warmup 0
 --seed 7 --sample 0 --steps 12 --save-every 2 --eval-every 0"
"$XLSTM" train $DIVERGE --out "$tmp/diverge" > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "not finite, update skipped" "$tmp/err" && grep -q "some updates skipped" "$tmp/err"; then
    pass train_nonfinite_skipped
else
    fail train_nonfinite_skipped; echo "  exit $rc"; cat "$tmp/err"
fi
expect_ok train_nonfinite_checkpoint_loads "$XLSTM" eval --model "$tmp/diverge" --data "$tmp/text.txt" --max-bytes 2000 --context 32
first_nan=$(grep -n "not finite" "$tmp/err" | head -1 | sed 's/.*step \([0-9]*\):.*/\1/')
"$XLSTM" train $DIVERGE --out "$tmp/stop" --stop-on-nonfinite > "$tmp/out" 2> "$tmp/err"
rc=$?
saved=$(($(tail -1 "$tmp/stop/metrics.csv" | cut -d, -f1) / 2 * 2))
if [ $rc -eq 1 ] && tail -1 "$tmp/err" | grep -q "^xlstm: train: step $first_nan: .*not finite; stopped (--stop-on-nonfinite), .*stop holds the checkpoint of step $saved\$" \
    && [ "$(grep -c '^[0-9]' "$tmp/stop/metrics.csv")" -eq $((first_nan - 1)) ]; then
    pass train_stop_on_nonfinite
else
    fail train_stop_on_nonfinite; echo "  exit $rc, first NaN at step '$first_nan', checkpoint step '$saved'"; cat "$tmp/err"
fi
expect_ok train_stop_on_nonfinite_checkpoint_loads "$XLSTM" eval --model "$tmp/stop" --data "$tmp/text.txt" --max-bytes 2000 --context 32
# ---- memory: a model or a batch beyond the machine's memory is refused before anything is
# allocated (a 6 TB model; a 120 GB batch on a machine with less); an allocation that fails
# (here under an address-space limit of 2 GB) is a one-line error, not a crash.
cat > "$tmp/huge.json" <<'EOF'
{"vocab_size": 256, "embedding_dim": 16000, "num_blocks": 1024, "slstm_at": [1], "mlstm_block": {}, "slstm_block": {}}
EOF
expect_error train_model_beyond_memory "model parameters and gradients: needs .* GB, more than this machine's memory" \
    "$XLSTM" train --config "$tmp/huge.json" --out "$tmp/huge"
# an 8 TB (sparse) data file is refused before reading it
if truncate -s 8T "$tmp/huge.txt" 2> /dev/null; then
    expect_error train_data_beyond_memory "huge.txt: needs .* GB, more than this machine's memory" \
        "$XLSTM" train --data "$tmp/huge.txt" --out "$tmp/hugedata"
    rm -f "$tmp/huge.txt"
else
    skip train_data_beyond_memory "this file system has no 8 TB sparse files"
fi
last_line_error train_batch_beyond_memory "activations: needs .* GB, more than this machine's memory" \
    "$XLSTM" train --data "$tmp/text.txt" --batch-size 4096 --context 8192 --out "$tmp/hugebatch"
# ~3 GB of activations under a 2 GB limit (a machine with less memory refuses it up front)
if (ulimit -v 2000000 && "$XLSTM" --help > /dev/null 2>&1); then
    (ulimit -v 2000000 && exec "$XLSTM" train --model small --data "$tmp/text.txt" --batch-size 64 --context 512 \
        --steps 1 --sample 0 --out "$tmp/oom") > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && tail -1 "$tmp/err" | grep -q "activations: \(out of memory allocating\|needs .* more than this machine's memory\)"; then
        pass train_allocation_failure
    else
        fail train_allocation_failure; echo "  exit $rc"; cat "$tmp/err"
    fi
else
    skip train_allocation_failure "this build cannot start under ulimit -v (e.g. AddressSanitizer)"
fi
exit 0
