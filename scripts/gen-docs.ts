#!/usr/bin/env bun
/**
 * Writes the docs generated from code: docs/keybindings.md from the console's bindings table,
 * and the README's configuration table from pipeline/config.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { KEYBINDINGS_DOC, keybindingsMarkdown } from "../tui/keys/doc.ts";
import { runScript } from "./lib/cli.ts";
import { withConfigTable } from "./lib/config-docs.ts";
import { info } from "./lib/progress.ts";

const ROOT = join(import.meta.dir, "..");

/** Each generated file: its path and what writes it. */
const DOCS: Record<string, { path: string; text: () => string }> = {
  keys: { path: KEYBINDINGS_DOC, text: () => keybindingsMarkdown() },
  config: {
    path: "README.md",
    text: () => withConfigTable(readFileSync(join(ROOT, "README.md"), "utf8")),
  },
};

await runScript(
  {
    usage: "bun scripts/gen-docs.ts [--keys] [--config]",
    description:
      "Regenerates the documentation that is derived from code, so it cannot drift from it.\n" +
      "With no option, writes every generated file. Commit the result; the tests fail while a\n" +
      "committed file differs from what this writes.",
    options: [
      ["--keys", `${KEYBINDINGS_DOC} from tui/keys/bindings.ts`],
      ["--config", "the configuration table in README.md from pipeline/config.ts"],
    ],
    boolean: ["keys", "config"],
  },
  async (args) => {
    const chosen = Object.keys(DOCS).filter((k) => args[k]);
    for (const key of chosen.length > 0 ? chosen : Object.keys(DOCS)) {
      const doc = DOCS[key];
      if (!doc) continue;
      const path = join(ROOT, doc.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, doc.text());
      info(`wrote ${doc.path}`);
    }
    return 0;
  },
);
