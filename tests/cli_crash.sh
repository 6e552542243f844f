#!/bin/sh
# tests/cli_crash.sh — crash safety of `xlstm train`. A small run (a checkpoint every 2
# steps, so that writing checkpoints takes much of its time) is killed with SIGKILL at 20
# random moments and resumed after each (started afresh while it has no checkpoint). After
# every kill: each file in the run directory is whole (the models load, metrics.csv holds
# whole lines equal to an uninterrupted run's), the checkpoint is the last one the run had
# completed, and the resumed run continues from it. At the end the checkpoint and
# metrics.csv equal the uninterrupted run's byte for byte, and nothing is left over. Then a
# SIGINT stops the run cleanly, and hand-made leftovers of crashes are cleaned up on the
# next start. Linux only (/proc, date +%N). Prints PASS/FAIL lines and how the kills landed.
#
# The kill times: before each start, a delay drawn (seeded LCG, CRASH_SEED) uniformly below
# 1.2 x the estimated time left / (kills left + 1), the time estimated from the speed of the
# uninterrupted run in this invocation, so the kills spread over the whole run at any
# machine speed (ASan included). Every 4th kill is aimed at a checkpoint write: from its
# random moment on, the process is stopped (SIGSTOP), the directory looked at, and it is
# continued and stopped again a little later until it is inside a write; then SIGKILL. How
# each kill landed is read from what it left: a temporary file (model.safetensors.tmp.PID:
# writing the model, ...), model.prev.safetensors (a checkpoint between its first and last
# step), or nothing (training or evaluating).
. tests/lib.sh

tiny_fixture 40000
# bit-exactness needs a fixed thread count
export OMP_NUM_THREADS=1
STEPS=240
SAVE=2
KILLS=20
ARGS="--data $tmp/text.txt --config $tmp/tiny.json --batch-size 4 --context 32 --lr 1e-2 --warmup 10 --seed 7
      --eval-every 40 --save-every $SAVE"
# options of one invocation only: a progress line every step tells where each start began
LOCAL="--sample 0 --threads 1 --log-every 1"

ms() { echo $(($(date +%s%N) / 1000000)); }
rng=${CRASH_SEED:-2024}
# r = the next random number in [0, $1) (a 31-bit LCG, its high bits)
rand() { rng=$(((rng * 1103515245 + 12345) % 2147483648)); r=$((rng / 1024 % $1)); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
# the "step" in a safetensors file's metadata (empty if the file is absent)
step_of() { [ -e "$1" ] && grep -a -o '"step": *"[0-9]*"' "$1" | head -n 1 | tr -dc 0-9; }
# first / last progress line's step in a stderr log (empty if none)
first_step() { grep '^step [0-9]*/' "$1" | head -n 1 | sed 's|^step \([0-9]*\)/.*|\1|'; }
last_step() { grep '^step [0-9]*/' "$1" | tail -n 1 | sed 's|^step \([0-9]*\)/.*|\1|'; }

# ---- the uninterrupted run, timed
t0=$(ms)
"$XLSTM" train $ARGS $LOCAL --steps $STEPS --out "$tmp/ref" 2> "$tmp/ref.err"
rc=$?
ref_ms=$(($(ms) - t0))
[ $rc -eq 0 ] && pass crash_reference_run || { fail crash_reference_run; cat "$tmp/ref.err"; exit 0; }
cut -d, -f1-7 "$tmp/ref/metrics.csv" > "$tmp/ref.csv"

# check_files DIR NAME: every file is whole: the models load, metrics.csv has whole lines of
# 8 fields equal (but for tokens/s) to the first lines of the uninterrupted run's, loss.svg
# is complete
check_files() {
    for f in model model.prev; do
        [ -e "$1/$f.safetensors" ] || continue
        "$XLSTM" eval --model "$1/$f.safetensors" --data "$tmp/text.txt" --max-bytes 200 > "$tmp/eval.out" 2>&1 ||
            { fail "$2: $f.safetensors does not load"; cat "$tmp/eval.out"; }
    done
    if [ -e "$1/metrics.csv" ]; then
        head -n "$(wc -l < "$1/metrics.csv")" "$tmp/ref.csv" > "$tmp/ref_prefix.csv"
        { [ -z "$(tail -c 1 "$1/metrics.csv")" ] && awk -F, 'NF != 8 { exit 1 }' "$1/metrics.csv" &&
            cut -d, -f1-7 "$1/metrics.csv" | cmp -s - "$tmp/ref_prefix.csv"; } ||
            { fail "$2: metrics.csv is not a prefix of the uninterrupted run's"; tail -n 2 "$1/metrics.csv"; }
    fi
    [ ! -e "$1/loss.svg" ] || [ "$(tail -n 1 "$1/loss.svg")" = "</svg>" ] || fail "$2: loss.svg is cut off"
}

# compare_final DIR NAME: the finished run equals the uninterrupted one, nothing left over
compare_final() {
    for f in model.safetensors optimizer.safetensors; do
        cmp -s "$tmp/ref/$f" "$1/$f" && pass "$2_${f%%.*}_byte_identical" || fail "$2_${f%%.*}_byte_identical"
    done
    cut -d, -f1-7 "$1/metrics.csv" | cmp -s - "$tmp/ref.csv" && pass "$2_metrics_identical" ||
        { fail "$2_metrics_identical"; cut -d, -f1-7 "$1/metrics.csv" | diff - "$tmp/ref.csv" | head -5; }
    [ "$(tail -n 1 "$1/loss.svg")" = "</svg>" ] && pass "$2_plot_whole" || fail "$2_plot_whole"
    left=$(ls "$1" | grep '\.tmp\.\|prev')
    [ -z "$left" ] && pass "$2_no_leftover_files" || { fail "$2_no_leftover_files"; echo "  left:" $left; }
}

# stop_in_write PID DIR: SIGSTOP the process; while it is not inside a checkpoint write,
# continue it and stop it again 0-9 ms later (at most 500 times)
state() { cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null; }
stop_in_write() {
    tries=0
    while kill -STOP "$1" 2> /dev/null; do
        # wait (at most 1 s) until it has stopped: a pending fsync finishes first
        i=0
        while [ $i -lt 100 ] && [ "$(state "$1")" != T ]; do
            case $(state "$1") in Z | "") return ;; esac
            sleep 0.01; i=$((i + 1))
        done
        ls "$2" | grep -q "^model\.prev\.\|^model\.safetensors\.tmp\.$1\$\|^optimizer\.safetensors\.tmp\.$1\$" && return
        [ $tries -ge 500 ] && return
        tries=$((tries + 1))
        kill -CONT "$1"
        rand 10; sleep_ms $r
    done
}

# ---- the killed run
dir="$tmp/killed"
kills=0 starts=0 runs=1 done=0
n_startup=0 n_compute=0 n_model=0 n_between=0 n_opt=0 n_link=0 n_log=0
ckpt=0            # the step of the last complete checkpoint (0: none)
spms=$((ref_ms * 1000 / STEPS)) # microseconds per step of the timed run
t_series=$(ms)
while [ $done -eq 0 ]; do
    starts=$((starts + 1))
    if [ -e "$dir/optimizer.safetensors" ]; then resume=--resume; else resume=; fi
    "$XLSTM" train $resume $ARGS $LOCAL --steps $STEPS --out "$dir" 2> "$tmp/start.err" &
    pid=$!
    t_start=$(ms)
    if [ $kills -lt $KILLS ]; then
        left=$((KILLS - kills))
        max=$(((STEPS - ckpt) * spms * 6 / (5000 * (left + 1)) + 1))
        rand $max; sleep_ms $r
        [ $(((kills + 1) % 4)) -eq 0 ] && stop_in_write $pid "$dir"
        kill -KILL $pid 2> /dev/null
    else
        # after the kills: SIGINT once it trains (its handler is set), then a last start to the end
        if [ $kills -eq $KILLS ] && wait_until 60 grep -q '^step [0-9]*/' "$tmp/start.err"; then
            rand $(((STEPS - ckpt) * spms / 2000 + 1)); sleep_ms $r
            kill -INT $pid
        fi
    fi
    wait $pid 2> /dev/null
    rc=$?
    elapsed=$(($(ms) - t_start))
    first=$(first_step "$tmp/start.err")
    last=$(last_step "$tmp/start.err")
    name="crash start $starts"
    # it began at the checkpoint: its first step is the one after
    [ -z "$first" ] || [ "$first" -eq $((ckpt + 1)) ] ||
        fail "$name: began at step $first, the last checkpoint was at step $ckpt"
    if [ $rc -eq 0 ]; then
        if [ $kills -le $KILLS ]; then
            # it finished before its kill (a machine faster now than when timed): check it
            # and go on with a new run
            compare_final "$dir" "crash_run_$runs"
            rm -rf "$dir"
            ckpt=0 runs=$((runs + 1))
            continue
        fi
        done=1
        continue
    fi
    if [ $rc -eq 130 ]; then
        # SIGINT: the step under way finished and checkpointed, nothing left over
        kills=$((kills + 1))
        saved=$(step_of "$dir/optimizer.safetensors")
        if [ "$saved" = "$last" ] && [ "$(step_of "$dir/model.safetensors")" = "$last" ] &&
            ! ls "$dir" | grep -q '\.tmp\.\|prev' && grep -q "interrupted: stopped at step $last" "$tmp/start.err"; then
            pass "crash_sigint_checkpoints (at step $last)"
        else
            fail crash_sigint_checkpoints; echo "  last step '$last', checkpoint '$saved'"; ls "$dir"; cat "$tmp/start.err"
        fi
        check_files "$dir" "$name"
        ckpt=$saved
        continue
    fi
    if [ $rc -ne 137 ]; then
        fail "$name: exit $rc (not killed)"; cat "$tmp/start.err"; break
    fi
    kills=$((kills + 1))
    # where the kill landed, from what it left
    opt=$(step_of "$dir/optimizer.safetensors")
    model=$(step_of "$dir/model.safetensors")
    if [ -e "$dir/model.safetensors.tmp.$pid" ]; then n_model=$((n_model + 1)) at="writing the model"
    elif [ -e "$dir/optimizer.safetensors.tmp.$pid" ]; then n_opt=$((n_opt + 1)) at="writing the optimizer state"
    elif [ -z "$last" ]; then n_startup=$((n_startup + 1)) at="starting"
    elif [ -n "$model" ] && [ "$model" != "$opt" ]; then n_between=$((n_between + 1)) at="between model and optimizer state"
    elif [ -e "$dir/model.prev.safetensors" ]; then n_link=$((n_link + 1)) at="in a checkpoint, no temporary file"
    elif ls "$dir" | grep -q "\.tmp\.$pid\$"; then n_log=$((n_log + 1)) at="writing metrics.csv or loss.svg"
    else n_compute=$((n_compute + 1)) at="training or evaluating"
    fi
    echo "  kill $kills after $elapsed ms: last step ${last:-none}, checkpoint ${opt:-none}: $at"
    check_files "$dir" "$name"
    # the checkpoint is the last one completed: that of the last step that is a multiple of
    # $SAVE, or the one before if the kill came before or during that step's checkpoint
    l=${last:-$ckpt}
    s=${opt:-0} a=$((l / SAVE * SAVE)) b=$((l - SAVE))
    [ $a -lt $ckpt ] && a=$ckpt
    [ $((l % SAVE)) -ne 0 ] || [ $b -lt $ckpt ] && b=$a
    [ "$s" -eq $a ] || [ "$s" -eq $b ] ||
        fail "$name: checkpoint at step $s after a kill at step $l (the one before at $ckpt)"
    ckpt=$s
done
series_ms=$(($(ms) - t_series))
writes=$((n_model + n_between + n_opt + n_link))
echo "  $KILLS SIGKILLs and a SIGINT in $starts starts ($((series_ms / 1000)) s; the uninterrupted run took $ref_ms ms):" \
    "$writes in a checkpoint ($n_model writing the model, $n_between between model and optimizer state," \
    "$n_opt writing the optimizer state, $n_link with no temporary file), $n_log writing metrics.csv or loss.svg," \
    "$n_compute training or evaluating, $n_startup starting"
[ $kills -eq $((KILLS + 1)) ] && pass "crash_${KILLS}_kills_and_a_sigint" || fail "crash_${KILLS}_kills_and_a_sigint (got $kills)"
[ $writes -ge 3 ] && pass "crash_kills_in_checkpoint_writes ($writes)" || fail "crash_kills_in_checkpoint_writes (only $writes)"
compare_final "$dir" crash_resumed

# ---- leftovers of crashes, made by hand, are removed on the next start; the live ones and
# foreign files are not touched
sh -c : &
dead=$!
wait $dead
for f in model.safetensors optimizer.safetensors metrics.csv loss.svg; do touch "$dir/$f.tmp.$dead"; done
touch "$dir/model.safetensors.tmp.$$" "$dir/notes.txt.tmp.$dead" "$dir/model.safetensors.tmp.x$dead"
# after the renames of a checkpoint, before model.prev was removed
cp "$tmp/ref/model.safetensors" "$dir/model.prev.safetensors"
"$XLSTM" train --resume --out "$dir" > /dev/null 2> "$tmp/err" || { fail crash_resume_cleans_up; cat "$tmp/err"; }
left=$(ls "$dir" | grep '\.tmp\.\|prev' | tr '\n' ' ')
[ "$left" = "model.safetensors.tmp.$$ model.safetensors.tmp.x$dead notes.txt.tmp.$dead " ] &&
    pass crash_resume_cleans_up || { fail crash_resume_cleans_up; echo "  left: $left"; }

# a first checkpoint killed between its two files: a model, no optimizer state. Nothing can
# resume it; a new start replaces it (and ends equal to an uninterrupted run)
SHORT="$ARGS --steps 4 $LOCAL"
"$XLSTM" train $SHORT --out "$tmp/short" 2> /dev/null
mkdir "$tmp/orphan"
cp "$tmp/short/metrics.csv" "$tmp/orphan/"
cp "$tmp/ref/model.safetensors" "$tmp/orphan/"
expect_error crash_first_checkpoint_cut_resume "holds no checkpoint" "$XLSTM" train --resume --out "$tmp/orphan"
cp "$tmp/ref/model.safetensors" "$tmp/orphan/"
touch "$tmp/orphan/optimizer.safetensors.tmp.$dead"
"$XLSTM" train $SHORT --out "$tmp/orphan" 2> "$tmp/err" && cmp -s "$tmp/short/model.safetensors" "$tmp/orphan/model.safetensors" &&
    cmp -s "$tmp/short/optimizer.safetensors" "$tmp/orphan/optimizer.safetensors" && ! ls "$tmp/orphan" | grep -q '\.tmp\.' &&
    pass crash_first_checkpoint_cut_restarts || { fail crash_first_checkpoint_cut_restarts; cat "$tmp/err"; ls "$tmp/orphan"; }
# but a model that is not a run's (no metrics.csv beside it) is not removed
mkdir "$tmp/foreign"
cp "$tmp/ref/model.safetensors" "$tmp/foreign/"
expect_error crash_foreign_model_kept "already holds a checkpoint" "$XLSTM" train $SHORT --out "$tmp/foreign"
[ -e "$tmp/foreign/model.safetensors" ] && pass crash_foreign_model_not_removed || fail crash_foreign_model_not_removed
exit 0
