import { describe, expect, test } from "bun:test";
import { basicTokenize, createWordPieceTokenizer } from "../../pipeline/models/wordpiece-tokenizer.ts";

const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "test",
  "##s",
  "pass",
  "##ed",
  "!",
  "cafe",
  "日",
  "本",
  "a",
].join("\n");
const ids = Object.fromEntries(VOCAB.split("\n").map((t, i) => [t, i]));

function words(text: string): string[] {
  const out: string[] = [];
  basicTokenize(text, (w) => {
    out.push(w);
    return true;
  });
  return out;
}

describe("BERT basic tokenization", () => {
  test("lowercases, strips accents, splits punctuation and CJK ideographs, drops control characters", () => {
    expect(words("Café TESTS passed!")).toEqual(["cafe", "tests", "passed", "!"]);
    expect(words("日本語\u0000x\u200by")).toEqual(["日", "本", "語", "xy"]);
    expect(words("a\tb\nc\u00a0d")).toEqual(["a", "b", "c", "d"]);
    expect(words("   ")).toEqual([]);
  });
});

describe("WordPiece", () => {
  const tok = createWordPieceTokenizer(VOCAB, { maxTokens: 8 });

  test("greedy longest match with ## continuations, [CLS] … [SEP]", () => {
    expect(tok.encode("Tests passed!")).toEqual([
      ids["[CLS]"],
      ids.test,
      ids["##s"],
      ids.pass,
      ids["##ed"],
      ids["!"],
      ids["[SEP]"],
    ]);
    expect(tok.encode("")).toEqual([ids["[CLS]"], ids["[SEP]"]]);
  });

  test("a word it cannot cover, or longer than 100 characters, is one [UNK]", () => {
    expect(tok.encode("testx")).toEqual([ids["[CLS]"], ids["[UNK]"], ids["[SEP]"]]);
    expect(tok.encode("a".repeat(101))).toEqual([ids["[CLS]"], ids["[UNK]"], ids["[SEP]"]]);
  });

  test("truncation keeps maxTokens − 2 pieces and the final [SEP], even inside a word", () => {
    const out = tok.encode("tests tests tests tests");
    expect(out).toHaveLength(8);
    expect(out.at(-1)).toBe(ids["[SEP]"]);
    expect(out.slice(1, -1)).toEqual([ids.test, ids["##s"], ids.test, ids["##s"], ids.test, ids["##s"]]);
  });
});
