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
const id = (token: string): number => VOCAB.split("\n").indexOf(token);

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
      id("[CLS]"),
      id("test"),
      id("##s"),
      id("pass"),
      id("##ed"),
      id("!"),
      id("[SEP]"),
    ]);
    expect(tok.encode("")).toEqual([id("[CLS]"), id("[SEP]")]);
  });

  test("a word it cannot cover, or longer than 100 characters, is one [UNK]", () => {
    expect(tok.encode("testx")).toEqual([id("[CLS]"), id("[UNK]"), id("[SEP]")]);
    expect(tok.encode("a".repeat(101))).toEqual([id("[CLS]"), id("[UNK]"), id("[SEP]")]);
  });

  test("truncation keeps maxTokens − 2 pieces and the final [SEP], even inside a word", () => {
    const out = tok.encode("tests tests tests tests");
    expect(out).toHaveLength(8);
    expect(out.at(-1)).toBe(id("[SEP]"));
    expect(out.slice(1, -1)).toEqual([id("test"), id("##s"), id("test"), id("##s"), id("test"), id("##s")]);
  });
});
