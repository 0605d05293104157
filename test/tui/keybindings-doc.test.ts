/** docs/keybindings.md is generated from the bindings table and must match it. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BINDINGS } from "../../tui/keys/bindings.ts";
import { KEYBINDINGS_COMMAND, KEYBINDINGS_DOC, keybindingsMarkdown } from "../../tui/keys/doc.ts";

const ROOT = join(import.meta.dir, "../..");

describe("docs/keybindings.md", () => {
  test("is what the bindings table generates", () => {
    const committed = readFileSync(join(ROOT, KEYBINDINGS_DOC), "utf8");
    const generated = keybindingsMarkdown();
    expect(committed === generated, `${KEYBINDINGS_DOC} is stale: run ${KEYBINDINGS_COMMAND}`).toBe(true);
  });

  test("lists every binding with its key, label and when it applies", () => {
    const doc = keybindingsMarkdown();
    const lines = doc.split("\n");
    for (const b of BINDINGS) {
      const tail = ` | ${b.label} | ${b.description} | ${b.when.text} |`;
      const row = lines.find((l) => l.startsWith(`| \`${b.display}\` |`) && l.includes(tail));
      expect(row, `${b.id}: no row "${b.display} …${tail}"`).toBeDefined();
    }
  });
});
