#!/bin/sh
# tools/bench_tokenizer.sh — encoding speed of xlstm.c's BPE tokenizer beside Hugging Face
# `tokenizers` (the npm package) on the same text in the same run, both on one thread, in MB/s
# of UTF-8 text: xlstm.c encodes the text as one input; `tokenizers` as one input, and paragraph
# by paragraph (its speed on one long input is far lower). Each figure is timed for SECONDS
# (default 3) after one encoding that fills the word caches. Tokenizers: GPT-NeoX-20B and GPT-2
# from ../shared/tokenizer where present, and one trained here on the text (vocabulary 8192).
# Usage: sh tools/bench_tokenizer.sh [TEXT]   (default data/moby_dick.txt; run by make bench)
XLSTM=${XLSTM:-build/xlstm}
TEXT=${1:-data/moby_dick.txt}
SECONDS_EACH=${SECONDS_EACH:-3}
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$XLSTM" tokenizer train --data "$TEXT" --vocab-size 8192 --out "$tmp/trained.json" 2> "$tmp/err"; then
    echo "bench_tokenizer: $(cat "$tmp/err")"; exit 0
fi
hf=1
command -v node > /dev/null 2>&1 && (cd tests/tokenizer && node -e "require('tokenizers')" > /dev/null 2>&1) || hf=0
echo "tokenizer encoding, MB/s on one thread, $(wc -c < "$TEXT") bytes of $TEXT:"
printf "  %-9s %9s %16s %18s\n" tokenizer xlstm.c "HF (one text)" "HF (paragraphs)"
for entry in neox:../shared/tokenizer/neox-20b/tokenizer.json gpt2:../shared/tokenizer/gpt2/tokenizer.json \
    trained:$tmp/trained.json; do
    file=${entry#*:}
    [ -f "$file" ] || continue
    c=$("$XLSTM" tokenize --tokenizer "$file" --bench "$SECONDS_EACH" < "$TEXT")
    one=- paragraphs=-
    if [ $hf = 1 ]; then
        one=$(node tests/tokenizer/hf.js bench "$file" "$TEXT" "$SECONDS_EACH")
        paragraphs=$(node tests/tokenizer/hf.js bench "$file" "$TEXT" "$SECONDS_EACH" paragraphs)
    fi
    printf "  %-9s %9s %16s %18s\n" "${entry%%:*}" "$c" "$one" "$paragraphs"
done
[ $hf = 1 ] || echo "  (HF tokenizers not installed: npm install --no-save tokenizers@0.23.2)"
