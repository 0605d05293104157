import { describe, expect, test } from "bun:test";
import { createVocabTokenizer } from "../../pipeline/models/vocab-tokenizer.ts";

const vocab = [
  "the",
  ".",
  ",",
  "do",
  "not",
  "can",
  "will",
  "it",
  "run",
  "get",
  "user",
  "by",
  "id",
  "src",
  "utils",
  "ts",
  "type",
  "check",
  "failed",
  "lint",
  "refactoring",
  "node",
  "js",
  "beta",
  "stack",
  "trace",
  "tests",
  "e-mail",
];
const index = new Map(vocab.map((w, i) => [w, i]));
const words = (ids: number[]) => ids.map((i) => vocab[i]);
const tokenize = createVocabTokenizer(index);

describe("vocabulary tokenizer", () => {
  test("lowercases, keeps punctuation tokens and known hyphenated words", () => {
    expect(words(tokenize("The Tests, e-mail."))).toEqual(["the", "tests", ",", "e-mail", "."]);
  });

  test("contractions become their words", () => {
    expect(words(tokenize("Don't, can't, won't; it's"))).toEqual([
      "do",
      "not",
      ",",
      "can",
      "not",
      ",",
      "will",
      "not",
      "it",
    ]);
  });

  test("identifiers and paths split into known parts", () => {
    expect(words(tokenize("getUserById src/utils.ts node.js v2beta snake_case_id"))).toEqual([
      "get",
      "user",
      "by",
      "id",
      "src",
      "utils",
      "ts",
      "node",
      "js",
      "beta",
      "id",
    ]);
  });

  test("inflections and joined words map onto known words; the rest is dropped", () => {
    expect(words(tokenize("linting refactored typecheck stacktrace kubernetes"))).toEqual([
      "lint",
      "refactoring",
      "type",
      "check",
      "stack",
      "trace",
    ]);
  });

  test("is deterministic and handles empty text", () => {
    expect(tokenize("")).toEqual([]);
    expect(tokenize("run it. run it.")).toEqual(tokenize("run it. run it."));
  });
});
