#!/bin/sh
# tests/cli_tokenize.sh — `xlstm tokenizer train` and `xlstm tokenize` on a tokenizer trained
# here: text -> ids -> the same text, and the one-line refusals of bad flags, ids and files.
. tests/lib.sh
export OMP_NUM_THREADS=1
head -c 100000 data/moby_dick.txt > "$tmp/text.txt"
if ! "$XLSTM" tokenizer train --data "$tmp/text.txt" --vocab-size 600 --out "$tmp/tok.json" 2> "$tmp/err"; then
    if grep -q "built without utf8proc" "$tmp/err"; then echo "SKIP cli_tokenize: $(cat "$tmp/err")"; exit 0; fi
    fail tokenizer_train; cat "$tmp/err"; exit 0
fi
pass tokenizer_train
grep -q "tokenizer train: 600 ids from 100000 bytes" "$tmp/err" && pass tokenizer_train_summary || { fail tokenizer_train_summary; cat "$tmp/err"; }

"$XLSTM" tokenize --tokenizer "$tmp/tok.json" < "$tmp/text.txt" > "$tmp/ids"
[ "$(wc -l < "$tmp/ids")" -eq 1 ] && pass tokenize_one_line || fail tokenize_one_line
"$XLSTM" tokenize --tokenizer "$tmp/tok.json" --decode < "$tmp/ids" > "$tmp/back.txt"
cmp -s "$tmp/text.txt" "$tmp/back.txt" && pass tokenize_round_trip || fail tokenize_round_trip
printf 'a<|endoftext|>b' | "$XLSTM" tokenize --tokenizer "$tmp/tok.json" > "$tmp/ids2"
grep -q " 599 " "$tmp/ids2" && pass tokenize_special_token_in_text || { fail tokenize_special_token_in_text; cat "$tmp/ids2"; }
"$XLSTM" tokenize --tokenizer "$tmp/tok.json" --decode --skip-special < "$tmp/ids2" > "$tmp/skip.txt"
[ "$(cat "$tmp/skip.txt")" = ab ] && pass tokenize_skip_special || fail tokenize_skip_special
printf '' | "$XLSTM" tokenize --tokenizer "$tmp/tok.json" > "$tmp/empty"
[ "$(cat "$tmp/empty")" = "" ] && pass tokenize_empty_input || fail tokenize_empty_input

decode_ids() { printf '%s' "$1" | "$XLSTM" tokenize --tokenizer "$tmp/tok.json" --decode; }
expect_error tokenize_id_out_of_range "tokenize: id 600 (entry 2) is out of range \[0, 600)" decode_ids "1 600"
expect_error tokenize_id_not_a_number "tokenize: entry 2 'x1' is not an id" decode_ids "1 x1"
expect_error tokenize_id_negative "tokenize: entry 1 '-1' is not an id" decode_ids "-1"
expect_error tokenize_no_tokenizer "tokenize: --tokenizer FILE is required" "$XLSTM" tokenize
expect_error tokenize_unknown_flag "tokenize: unknown flag '--bogus'" "$XLSTM" tokenize --bogus
expect_error tokenize_skip_without_decode "tokenize: --skip-special goes with --decode" \
    "$XLSTM" tokenize --tokenizer "$tmp/tok.json" --skip-special
expect_error tokenize_missing_file "tokenize: $tmp/none.json: cannot open" "$XLSTM" tokenize --tokenizer "$tmp/none.json"
printf '{"model": {"type": "WordPiece", "vocab": {}}}' > "$tmp/wp.json"
expect_error tokenize_wordpiece "tokenize: $tmp/wp.json: model type 'WordPiece' is not supported (only BPE)" \
    "$XLSTM" tokenize --tokenizer "$tmp/wp.json"
printf '{"model": ' > "$tmp/cut.json"
expect_error tokenize_cut_json "tokenize: $tmp/cut.json: json: unexpected end of input at byte 10" \
    "$XLSTM" tokenize --tokenizer "$tmp/cut.json"
expect_error tokenizer_train_vocab_too_small "tokenizer train: --vocab-size 256 is out of range \[257, 1000000\]" \
    "$XLSTM" tokenizer train --data "$tmp/text.txt" --vocab-size 256 --out "$tmp/x.json"
expect_error tokenizer_train_no_data "tokenizer train: --data PATH, --vocab-size N and --out FILE are required" \
    "$XLSTM" tokenizer train --vocab-size 300 --out "$tmp/x.json"
expect_error tokenizer_unknown_command "tokenizer: unknown command 'fit'" "$XLSTM" tokenizer fit
expect_error tokenizer_train_unwritable "tokenizer train: cannot write $tmp/no/dir/x.json" \
    "$XLSTM" tokenizer train --data "$tmp/text.txt" --vocab-size 300 --out "$tmp/no/dir/x.json"
