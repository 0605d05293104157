/**
 * Splits text into the tokens of a word-vector vocabulary (GloVe's: lowercase words,
 * hyphenated words, punctuation; the wink copy has no bare numbers or single letters), and
 * maps words the vocabulary lacks onto ones it has, since coding text is full of identifiers
 * and jargon:
 * - contractions: `don't` → do not, `it's` → it;
 * - compounds: `node.js`, `src/utils.ts`, `snake_case`, `camelCase`, `v2beta` → their parts;
 * - inflections: `linting` → lint, `refactored` → refactoring (the stem or a sibling form it knows);
 * - joined words: `typecheck` → type check, when both halves are common words.
 * Anything still unknown is dropped.
 */

const RAW_TOKEN = /[\p{L}\p{M}\p{N}_]+(?:[-./'’:@+#][\p{L}\p{M}\p{N}_]+)*|[^\s\p{L}\p{M}\p{N}_]/gu;
const SEPARATORS = /[-./:@+#_]+/;
const CASE_OR_DIGIT_BOUNDARY =
  /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u;
const NEGATION_BASES: Record<string, string> = { ca: "can", wo: "will", sha: "shall", ai: "is" };
const SUFFIXES = ["ing", "ed", "es", "s", "ly", "er"];
/** Halves of a joined word must both be at least this frequent (rank). */
const COMPOUND_MAX_RANK = 50_000;
const MEMO_LIMIT = 100_000;

export type Tokenizer = (text: string) => number[];

/** A tokenizer returning the vocabulary ids (row numbers of `index`) of a text's words. */
export function createVocabTokenizer(index: ReadonlyMap<string, number>): Tokenizer {
  const memo = new Map<string, number[]>();

  const known = (w: string): number | undefined => index.get(w);

  const inflection = (w: string): number[] => {
    for (const suffix of SUFFIXES) {
      if (!w.endsWith(suffix) || w.length - suffix.length < 3) continue;
      const stem = w.slice(0, -suffix.length);
      const stems = [stem];
      if (suffix === "ing" || suffix === "ed" || suffix === "er") stems.push(`${stem}e`);
      if (stem.length >= 4 && stem.at(-1) === stem.at(-2)) stems.push(stem.slice(0, -1));
      const candidates = [...stems, ...stems.flatMap((s) => SUFFIXES.map((x) => s + x))];
      for (const c of candidates) {
        const id = known(c);
        if (id !== undefined) return [id];
      }
    }
    return [];
  };

  const joined = (w: string): number[] => {
    if (w.length < 6 || !/^\p{L}+$/u.test(w)) return [];
    let best: number[] = [];
    let bestRank = COMPOUND_MAX_RANK;
    for (let i = 3; i <= w.length - 3; i++) {
      const a = known(w.slice(0, i));
      const b = known(w.slice(i));
      if (a === undefined || b === undefined) continue;
      const rank = Math.max(a, b);
      if (rank < bestRank) {
        bestRank = rank;
        best = [a, b];
      }
    }
    return best;
  };

  const resolve = (token: string): number[] => {
    const lower = token.toLowerCase().replaceAll("’", "'");
    const id = known(lower);
    if (id !== undefined) return [id];
    if (lower.includes("'")) {
      const neg = /^(.+)n't$/.exec(lower);
      if (neg) return [...resolve(NEGATION_BASES[neg[1] as string] ?? (neg[1] as string)), ...resolve("not")];
      const clitic = /^(.+)'(?:s|re|ve|ll|d|m)$/.exec(lower);
      if (clitic) return resolve(clitic[1] as string);
      return lower.split("'").flatMap((p) => (p ? resolve(p) : []));
    }
    if (SEPARATORS.test(token)) {
      return token.split(SEPARATORS).flatMap((p) => (p ? resolve(p) : []));
    }
    const parts = token.split(CASE_OR_DIGIT_BOUNDARY);
    if (parts.length > 1) return parts.flatMap(resolve);
    const stemmed = inflection(lower);
    return stemmed.length > 0 ? stemmed : joined(lower);
  };

  return (text) => {
    const ids: number[] = [];
    for (const m of text.matchAll(RAW_TOKEN)) {
      const token = m[0];
      let resolved = memo.get(token);
      if (!resolved) {
        resolved = resolve(token);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(token, resolved);
      }
      for (const id of resolved) ids.push(id);
    }
    return ids;
  };
}
