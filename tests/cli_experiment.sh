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
# table_ok FILE MODELS BUCKETS LO HI: the rows after the "model" header are exactly MODELS
# (space-separated), each with BUCKETS numbers in [LO, HI] and a training time >= 0
table_ok() {
    awk -v models="$2" -v nb="$3" -v lo="$4" -v hi="$5" '
        $1 == "model" { header = NR; if (NF != nb + 3) bad = 1; next }   # ... "train s"
        header && NF > 0 {
            got = got (got == "" ? "" : " ") $1
            if (NF != nb + 2) bad = 1
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
for e in parity evenpairs cyclenav modarith mqar; do
    run $e $e
    check "experiment_${e}_table" table_ok "$tmp/$e.txt" "$all" 4 -1 1
    # header + 3 models x 4 buckets, raw accuracy in [0, 1]
    check "experiment_${e}_csv" awk -F, 'NR > 1 && ($8 < 0 || $8 > 1 || $6 < 3) { bad = 1 }
        END { exit !(NR == 13 && !bad) }' "$tmp/$e/results.csv"
done
check experiment_mqar_buckets grep -q "ctx64/kv8 *ctx128/kv8 *ctx256/kv8 *ctx256/kv16" "$tmp/mqar.txt"

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
    "parity --lr nan" "parity --batch-size 0" "parity --seed -1" "parity --bogus" "parity --steps"; do
    # shellcheck disable=SC2086
    expect_error "experiment_refuses '$bad'" "^xlstm: experiment: " "$XLSTM" experiment $bad
done
expect_error "experiment_refuses_empty_out" "^xlstm: experiment: --out" "$XLSTM" experiment parity --out ""
touch "$tmp/file"
expect_error "experiment_refuses_out_file" "^xlstm: experiment: " "$XLSTM" experiment parity --steps 1 --out "$tmp/file/x"
exit 0
