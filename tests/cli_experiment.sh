#!/bin/sh
# tests/cli_experiment.sh — `xlstm experiment`: a tiny run of each experiment (2 steps, a few
# test samples) prints a table of the right shape with accuracies in range and writes
# results.csv (extrapolation: losses and loss_by_position.svg); the same seed gives the same
# table and CSV, whether the models are trained one at a time or together (--jobs); --models
# picks rows; bad flags are refused with one line. (Whether the models learn is measured by
# the full runs of docs/experiments.md, not here.)
. tests/lib.sh

check() {
    name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
# run NAME OUTDIR ARGS...: a tiny run of experiment NAME into $tmp/OUTDIR, table in $tmp/OUTDIR.txt
run() {
    name=$1; dir=$2; shift 2
    "$XLSTM" experiment "$name" --steps 2 --batch-size 4 --eval-samples 3 --threads 1 --out "$tmp/$dir" "$@" \
        > "$tmp/$dir.txt" 2> "$tmp/$dir.err" || { echo "  experiment $name $*:"; cat "$tmp/$dir.err"; }
}
# table_ok FILE MODELS BUCKETS LO HI [EXTRA]: the rows after the "model" header are exactly
# MODELS (space-separated), each with BUCKETS numbers in [LO, HI], EXTRA more columns (default
# 0; a sweep's chosen learning rate) and a training time >= 0
table_ok() {
    awk -v models="$2" -v nb="$3" -v lo="$4" -v hi="$5" -v extra="${6:-0}" '
        $1 == "model" { header = NR; if (NF != nb + extra + 3) bad = 1; next }   # ... "train s"
        header && NF > 0 {
            got = got (got == "" ? "" : " ") $1
            if (NF != nb + extra + 2) bad = 1
            for (i = 2; i <= NF; i++) {
                if ($i !~ /^-?[0-9]+\.[0-9]+$/) bad = 1
                if (i <= nb + 1 && ($i < lo || $i > hi)) bad = 1
                if (i == NF && $i < 0) bad = 1
            }
        }
        END { exit !(header && !bad && got == models) }' "$1"
}
# the table without its training-time column, and results.csv without its time columns
accuracies() { awk '{ $NF = ""; print }' "$tmp/$1.txt"; }
csv_no_time() { cut -d, -f1-9 "$tmp/$1/results.csv"; }

all="xlstm01 xlstm10 xlstm11"
# csv_ok DIR LRS: header + 3 models x LRS learning rates x 4 buckets, raw accuracy in [0, 1],
# exactly one chosen learning rate per model
csv_ok() {
    awk -F, -v lrs="$2" 'NR > 1 && ($8 < 0 || $8 > 1 || $6 < 3) { bad = 1 }
        NR > 1 && $14 == 1 { chosen[$1]++ }
        END { for (m in chosen) if (chosen[m] != 4) bad = 1
              exit !(NR == 1 + 12 * lrs && length(chosen) == 3 && !bad) }' "$tmp/$1/results.csv"
}
for e in parity evenpairs cyclenav modarith; do
    run $e $e
    check "experiment_${e}_table" table_ok "$tmp/$e.txt" "$all" 4 -1 1
    check "experiment_${e}_csv" csv_ok $e 1
done
# mqar sweeps three learning rates: the table has the chosen one, results.csv all of them
run mqar mqar
check experiment_mqar_table table_ok "$tmp/mqar.txt" "$all" 4 -1 1 1
check experiment_mqar_csv csv_ok mqar 3
check experiment_mqar_buckets grep -q "ctx64/kv8 *ctx128/kv8 *ctx256/kv8 *ctx256/kv16 *lr" "$tmp/mqar.txt"
check experiment_mqar_chosen_lr awk -F, 'NR > 1 && $14 == 1 && $13 == "" { bad = 1 } END { exit bad }' \
    "$tmp/mqar/results.csv"
# the chosen rate's row in the table is that rate's row of results.csv
check experiment_mqar_table_is_chosen [ "$(awk '$1 == "xlstm10" { print $2 }' "$tmp/mqar.txt")" = \
    "$(awk -F, '$1 == "xlstm10" && $14 == 1 && $2 == 65 { printf "%.3f", $9 }' "$tmp/mqar/results.csv")" ]
# a sweep given on the command line; one rate of it alone gives that rate's rows
run parity parity_sweep --lr 0.01,0.003
check experiment_lr_sweep_table table_ok "$tmp/parity_sweep.txt" "$all" 4 -1 1 1
check experiment_lr_sweep_csv csv_ok parity_sweep 2
check experiment_lr_sweep_same_rows [ "$(awk -F, '$12 == 0.003' "$tmp/parity_sweep/results.csv" | cut -d, -f1-9)" = \
    "$(csv_no_time parity | tail -n +2)" ]

run parity parity2
check experiment_same_seed_same_table [ "$(accuracies parity)" = "$(accuracies parity2)" ]
check experiment_same_seed_same_csv [ "$(csv_no_time parity)" = "$(csv_no_time parity2)" ]
run parity parity3 --models xlstm11,xlstm01
check experiment_models_subset table_ok "$tmp/parity3.txt" "xlstm01 xlstm11" 4 -1 1
check experiment_models_subset_same_rows [ "$(accuracies parity | grep xlstm11)" = "$(accuracies parity3 | grep xlstm11)" ]
# models trained one at a time or all at once (the default: one per core) give the same results
run parity parity_jobs1 --jobs 1
check experiment_jobs1_same_csv [ "$(csv_no_time parity)" = "$(csv_no_time parity_jobs1)" ]
run parity parity_jobs3 --jobs 3
check experiment_jobs3_same_csv [ "$(csv_no_time parity)" = "$(csv_no_time parity_jobs3)" ]

# extrapolation: one window of 4096 bytes; 7 position buckets of bits per byte
run extrapolation extra --eval-samples 1
check experiment_extrapolation_table table_ok "$tmp/extra.txt" "$all" 7 0 20
check experiment_extrapolation_csv awk -F, 'NR > 1 && !($6 > 0) { bad = 1 } END { exit !(NR == 22 && !bad) }' \
    "$tmp/extra/results.csv"
check experiment_extrapolation_svg [ "$(grep -c '<polyline' "$tmp/extra/loss_by_position.svg" 2> /dev/null)" = 3 ]
run extrapolation extra_jobs1 --eval-samples 1 --jobs 1
check experiment_extrapolation_jobs1_same [ "$(cut -d, -f1-6 "$tmp/extra/results.csv")" = \
    "$(cut -d, -f1-6 "$tmp/extra_jobs1/results.csv")" ]

for bad in "" "nosuch" "parity mqar" "parity --steps 0" "parity --steps x" "parity --models foo" \
    "parity --models xlstm01,,xlstm10" "parity --eval-samples 0" "parity --threads 0" "parity --jobs 0" "parity --lr -1" \
    "parity --lr 0.1,,0.2" "parity --lr 0.1,0.2,0.3,0.4,0.5" "parity --lr 0.1," "extrapolation --lr 0.1,0.2" \
    "parity --lr nan" "parity --batch-size 0" "parity --seed -1" "parity --bogus" "parity --steps"; do
    # shellcheck disable=SC2086
    expect_error "experiment_refuses '$bad'" "^xlstm: experiment: " "$XLSTM" experiment $bad
done
expect_error "experiment_refuses_empty_out" "^xlstm: experiment: --out" "$XLSTM" experiment parity --out ""
touch "$tmp/file"
expect_error "experiment_refuses_out_file" "^xlstm: experiment: " "$XLSTM" experiment parity --steps 1 --out "$tmp/file/x"
exit 0
