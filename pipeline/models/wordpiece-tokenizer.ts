/**
 * BERT's uncased WordPiece tokenizer, as Hugging Face `tokenizers` runs it for
 * all-MiniLM-L6-v2 (`BertNormalizer` with clean_text, Chinese characters, lowercase and accent
 * stripping; `BertPreTokenizer`; `WordPiece` with `##` continuations, `[UNK]` for a word it
 * cannot cover or longer than 100 characters), then `[CLS] … [SEP]`.
 *
 * Truncation keeps the first `maxTokens − 2` word pieces and the final `[SEP]`, as
 * sentence-transformers does with `max_seq_length` (256 for this model; the shipped
 * tokenizer.json says 128, which is not what the model is used with).
 */

export interface WordPieceOptions {
  /** Longest sequence, [CLS] and [SEP] included. */
  maxTokens: number;
}

export interface WordPieceTokenizer {
  readonly vocabSize: number;
  /** Token ids of one text: [CLS], at most maxTokens − 2 pieces, [SEP]. */
  encode(text: string): number[];
}

const MAX_WORD_CHARS = 100;
const MEMO_LIMIT = 200_000;

function isControl(cp: number): boolean {
  if (cp === 9 || cp === 10 || cp === 13) return false;
  return /^[\p{Cc}\p{Cf}]$/u.test(String.fromCodePoint(cp));
}

function isWhitespace(cp: number): boolean {
  return cp === 32 || cp === 9 || cp === 10 || cp === 13 || /^\p{Zs}$/u.test(String.fromCodePoint(cp));
}

function isPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return /^\p{P}$/u.test(String.fromCodePoint(cp));
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const COMBINING_MARK = /\p{Mn}/gu;

/**
 * BertNormalizer then BertPreTokenizer: control characters dropped, accents stripped (NFD
 * without combining marks), lowercase; then words split at whitespace, with each punctuation
 * character and CJK ideograph a word of its own. `onWord` returns false to stop early.
 */
export function basicTokenize(text: string, onWord: (word: string) => boolean): void {
  const norm = text.normalize("NFD").replace(COMBINING_MARK, "").toLowerCase();
  let word = "";
  const flush = (): boolean => {
    if (!word) return true;
    const w = word;
    word = "";
    return onWord(w);
  };
  for (const ch of norm) {
    const cp = ch.codePointAt(0) as number;
    if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
    if (isWhitespace(cp)) {
      if (!flush()) return;
    } else if (isPunctuation(cp) || isChinese(cp)) {
      if (!flush()) return;
      word = ch;
      if (!flush()) return;
    } else {
      word += ch;
    }
  }
  flush();
}

/** A tokenizer over vocab.txt's text: one token per line, id = line number. */
export function createWordPieceTokenizer(vocabText: string, opts: WordPieceOptions): WordPieceTokenizer {
  const vocab = new Map<string, number>();
  vocabText.split("\n").forEach((token, i) => {
    const t = token.replace(/\r$/, "");
    if (t && !vocab.has(t)) vocab.set(t, i);
  });
  const id = (t: string): number => {
    const v = vocab.get(t);
    if (v === undefined) throw new Error(`vocabulary has no ${t}`);
    return v;
  };
  const cls = id("[CLS]");
  const sep = id("[SEP]");
  const unk = id("[UNK]");
  if (opts.maxTokens < 2) throw new RangeError("maxTokens must be at least 2");
  const memo = new Map<string, number[]>();

  const pieces = (word: string): number[] => {
    const chars = [...word];
    if (chars.length > MAX_WORD_CHARS) return [unk];
    const out: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        found = vocab.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [unk];
      out.push(found);
      start = end;
    }
    return out;
  };

  const wordIds = (word: string): number[] => {
    let ids = memo.get(word);
    if (!ids) {
      ids = pieces(word);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(word, ids);
    }
    return ids;
  };

  return {
    vocabSize: vocab.size,
    encode(text) {
      const budget = opts.maxTokens - 2;
      const ids = [cls];
      basicTokenize(text, (word) => {
        for (const piece of wordIds(word)) {
          if (ids.length - 1 >= budget) return false;
          ids.push(piece);
        }
        return ids.length - 1 < budget;
      });
      ids.push(sep);
      return ids;
    },
  };
}
