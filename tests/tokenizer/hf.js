// hf.js — Hugging Face `tokenizers` (the npm package, the Rust library) beside xlstm.c's
// tokenizer, for the differential test and the benchmark. Files are read as bytes and decoded
// as UTF-8 with U+FFFD for ill-formed sequences (the WHATWG decoder, the same rule as xlstm.c).
//   node hf.js encode TOKENIZER FILE         ids of the file's text, one line
//   node hf.js decode TOKENIZER [skip]       ids on standard input -> text on standard output
//   node hf.js text SEED BYTES               random Unicode text (deterministic in SEED)
//   node hf.js bytes SEED BYTES              random bytes, mostly ill-formed UTF-8 between pieces of text
//   node hf.js ids TOKENIZER SEED N          N random ids of the tokenizer
//   node hf.js bench TOKENIZER FILE SECONDS [paragraphs]
//                                            MB/s of encoding FILE (one thread): as one text, or
//                                            paragraph by paragraph (split at blank lines)
'use strict';
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

const readText = (path) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(fs.readFileSync(path));

// xorshift64*: the same sequence on every machine
function rng(seed) {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const mask = (1n << 64n) - 1n;
  return (n) => {
    s ^= s >> 12n; s ^= (s << 25n) & mask; s ^= s >> 27n;
    return Number(((s * 0x2545f4914f6cdd1dn) & mask) >> 11n) % n;
  };
}

// Code points that the pattern, the normalizer and the decoder treat differently: ASCII,
// every White_Space character and the near misses (U+001C-U+001F, U+0085, U+180E, U+200B,
// U+FEFF), letters and numbers of many scripts, combining marks (NFC), Hangul, emoji,
// apostrophes before contraction letters, and the added tokens' text.
const pieces = [
  ' ', ' ', ' ', '  ', '\n', '\t', '\r\n', "'", "'s", "'S", "'ll", "'re", "'ve", "'d", "'m", "'t", 'a', 'Z', '0', '9',
  '.', ',', '!', '?', '-', '_', '<|endoftext|>', '<|padding|>', '<|', '|>', ' the', ' and', 'ing', '123', '٣',
  '\u001c', '\u001d', '\u001e', '\u001f', '\u0085', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028',
  '\u2029', '\u202f', '\u205f', '\u3000', '\u180e', '\u200b', '\ufeff', '\u000b', '\u000c', '\u0000',
  'é', 'e\u0301', 'A\u030a', '\u212b', '\u00c5', 'ñ', 'n\u0303', '\u1100\u1161', '\u1100\u1161\u11a8', '가',
  'ﬁ', 'Ⅻ', '½', '²', '①', 'Ω', 'ω', 'Я', 'я', 'ß', 'ǅ', 'ا', 'ب', 'א', 'ש', 'क', '\u093f', 'ก', '\u0e31',
  '中', '文', '日本', 'ｱ', '😀', '👍🏽', '👨‍👩‍👧', '🇩🇪', '\u{10400}', '\u{1d400}', '\u{e0001}', '\ufffd',
  '\u0300', '\u0327\u0301', '\u0344', '\u0958', '\u2126', '\ufb01',
];

function randomText(seed, bytes) {
  const r = rng(seed);
  const out = [];
  let n = 0;
  while (n < bytes) {
    let s;
    const k = r(10);
    if (k < 6) s = pieces[r(pieces.length)];
    else if (k < 8) { // any assigned-or-not scalar value of the BMP and beyond, no surrogates
      let cp = r(3) ? r(0x3000) : r(0x110000);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      s = String.fromCodePoint(cp);
    } else s = 'abcdefghijklmnopqrstuvwxyz'.slice(r(20), 20 + r(6)); // a plain word
    out.push(s);
    n += Buffer.byteLength(s);
  }
  return out.join('');
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'text') {
    process.stdout.write(Buffer.from(randomText(Number(args[0]), Number(args[1])), 'utf8'));
    return;
  }
  if (cmd === 'bytes') {
    const r = rng(Number(args[0])), out = Buffer.alloc(Number(args[1]));
    for (let i = 0; i < out.length;) {
      if (r(4) === 0) { // a stretch of text, to be cut anywhere by the bytes around it
        const text = Buffer.from(randomText(r(1 << 30), 1 + r(40)), 'utf8');
        i += text.copy(out, i);
      } else out[i++] = r(4) ? 0x80 + r(0x80) : r(0x100); // continuation bytes and leads most
    }
    process.stdout.write(out);
    return;
  }
  const tok = Tokenizer.fromFile(args[0]);
  if (cmd === 'encode') {
    const enc = await tok.encode(readText(args[1]), null, { addSpecialTokens: false });
    process.stdout.write(enc.getIds().join(' ') + '\n');
  } else if (cmd === 'decode') {
    const ids = fs.readFileSync(0, 'utf8').split(/\s+/).filter((s) => s.length).map(Number);
    process.stdout.write(Buffer.from(await tok.decode(ids, args[1] === 'skip'), 'utf8'));
  } else if (cmd === 'ids') {
    const r = rng(Number(args[1])), V = tok.getVocabSize(true), ids = [];
    for (let i = 0; i < Number(args[2]); i++) ids.push(r(V));
    process.stdout.write(ids.join(' ') + '\n');
  } else if (cmd === 'bench') {
    const text = readText(args[1]), bytes = Buffer.byteLength(text), seconds = Number(args[2]);
    const inputs = args[3] === 'paragraphs' ? text.split(/(?<=\n\n)/) : [text];
    const encodeAll = async () => {
      for (const s of inputs) await tok.encode(s, null, { addSpecialTokens: false });
    };
    await encodeAll(); // warm the cache as xlstm.c's run does
    let runs = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      await encodeAll();
      runs++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < seconds);
    process.stdout.write(`${((runs * bytes) / elapsed / 1e6).toFixed(2)}\n`);
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e) => { process.stderr.write(`hf.js: ${e.message}\n`); process.exit(1); });
