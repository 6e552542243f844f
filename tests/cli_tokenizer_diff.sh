#!/bin/sh
# tests/cli_tokenizer_diff.sh — xlstm.c's tokenizer against the real thing: Hugging Face
# `tokenizers` (the npm package of the Rust library, installed by .ci/run) encodes and decodes
# the same texts with GPT-NeoX-20B, GPT-2 and a tokenizer trained here, and every id and every
# byte of text must agree. The texts: the bundled corpus, C headers, license texts, random
# Unicode text and random bytes (mostly ill-formed UTF-8), about 5.5 MB; and random ids to decode.
# The random texts pass through test_tokenizer --portable, which masks the code points on which
# Unicode versions disagree (see docs/tokenizer.md). Says SKIP without node, the package, the
# third-party files in ../shared/tokenizer, or utf8proc.
. tests/lib.sh
HELPER=$(dirname "$XLSTM")/tests/test_tokenizer
SHARED=../shared/tokenizer
HF="node tests/tokenizer/hf.js"
export OMP_NUM_THREADS=1

if ! command -v node > /dev/null 2>&1; then echo "SKIP tokenizer_diff: node is not installed"; exit 0; fi
if ! (cd tests/tokenizer && node -e "require('tokenizers')" > /dev/null 2>&1); then
    echo "SKIP tokenizer_diff: the npm package tokenizers is not installed (see .ci/run)"; exit 0
fi
if ! "$XLSTM" tokenizer train --data data/moby_dick.txt --vocab-size 3000 --out "$tmp/trained.json" 2> "$tmp/err"; then
    if grep -q "built without utf8proc" "$tmp/err"; then echo "SKIP tokenizer_diff: $(cat "$tmp/err")"; exit 0; fi
    fail tokenizer_diff_train; cat "$tmp/err"; exit 0
fi

# the texts (headers and licenses: whatever this machine has, sorted, so a failure repeats)
cp data/moby_dick.txt "$tmp/moby"
find /usr/include -name '*.h' -type f 2> /dev/null | LC_ALL=C sort | xargs cat 2> /dev/null | head -c 2000000 > "$tmp/headers"
find /usr/share/common-licenses -type f 2> /dev/null | LC_ALL=C sort | xargs cat 2> /dev/null | head -c 1000000 > "$tmp/licenses"
$HF text 1 1000000 | "$HELPER" --portable > "$tmp/unicode"
$HF bytes 2 300000 | "$HELPER" --portable > "$tmp/bytes"

compared=0
# same NAME A B: pass if files A and B are equal, else fail and say where they first differ
same() {
    if cmp -s "$2" "$3"; then pass "$1"; else fail "$1"; cmp "$2" "$3" | head -1; fi
}
for entry in neox:$SHARED/neox-20b/tokenizer.json gpt2:$SHARED/gpt2/tokenizer.json trained:$tmp/trained.json; do
    name=${entry%%:*}
    file=${entry#*:}
    if [ ! -f "$file" ]; then echo "SKIP tokenizer_diff_$name: $file is absent"; continue; fi
    for text in moby headers licenses unicode bytes; do
        [ -s "$tmp/$text" ] || { echo "SKIP tokenizer_diff_${name}_$text: no such text on this machine"; continue; }
        "$XLSTM" tokenize --tokenizer "$file" < "$tmp/$text" > "$tmp/c.ids"
        $HF encode "$file" "$tmp/$text" > "$tmp/hf.ids"
        same "tokenizer_diff_${name}_${text}_encode" "$tmp/hf.ids" "$tmp/c.ids"
        "$XLSTM" tokenize --tokenizer "$file" --decode < "$tmp/hf.ids" > "$tmp/c.txt"
        $HF decode "$file" < "$tmp/hf.ids" > "$tmp/hf.txt"
        same "tokenizer_diff_${name}_${text}_decode" "$tmp/hf.txt" "$tmp/c.txt"
        compared=$((compared + $(wc -c < "$tmp/$text")))
    done
    # random ids: characters split between tokens, special tokens among them
    $HF ids "$file" 3 20000 > "$tmp/random.ids"
    for skip in "" skip; do
        "$XLSTM" tokenize --tokenizer "$file" --decode ${skip:+--skip-special} < "$tmp/random.ids" > "$tmp/c.txt"
        $HF decode "$file" $skip < "$tmp/random.ids" > "$tmp/hf.txt"
        same "tokenizer_diff_${name}_random_ids${skip:+_skip_special}" "$tmp/hf.txt" "$tmp/c.txt"
    done
done
echo "  tokenizer_diff: $compared bytes of text encoded and decoded by both"
