/**
 * docs/keybindings.md, generated from the bindings table like the footer and the help
 * overlay: one table per group (key, action, when it applies). `bun scripts/gen-docs.ts --keys`
 * writes it; test/tui/keybindings-doc.test.ts fails when the committed file is stale.
 */
import { BINDINGS, type Binding } from "./bindings.ts";
import { GROUP_ORDER } from "./dispatch.ts";

/** Where the generated file lives, relative to the repository root. */
export const KEYBINDINGS_DOC = "docs/keybindings.md";
/** The command that regenerates it. */
export const KEYBINDINGS_COMMAND = "bun scripts/gen-docs.ts --keys";

/** Key names as the dispatcher sees them (see `keyName`); "printable" is any typed text. */
const keyNames = (keys: string[]): string =>
  keys.map((k) => (k === "printable" ? "any text" : `\`${k}\``)).join(" ");

const cell = (s: string): string => s.replaceAll("|", "\\|");

/** The Markdown of docs/keybindings.md for `table`. */
export function keybindingsMarkdown(table: Binding[] = BINDINGS): string {
  const out = [
    `<!-- Generated from tui/keys/bindings.ts by \`${KEYBINDINGS_COMMAND}\`: do not edit by hand. -->`,
    "",
    "# Console key bindings",
    "",
    "Every key of the operator console (`npm run tui`), by context. A key press triggers the first",
    "binding of the table in `tui/keys/bindings.ts` that matches the key and applies at that moment;",
    "within a context the rows below are in that order. *Key* is how the footer and the `?`",
    "overlay show it, *Keys* the names the dispatcher matches (`keyName` in `tui/keys/dispatch.ts`);",
    "*Footer* says whether the footer lists the binding while it applies.",
    "",
    "Actions that change the pipeline (`R` and `A`, DLQ replay) act only when the console was started",
    "with `--allow-actions` (or `TUI_ALLOW_ACTIONS=1`) and the backend with `BACKEND_ALLOW_DLQ_REPLAY=1`;",
    "otherwise the console says how to allow them. They ask for confirmation first (group *DLQ replay*).",
  ];
  for (const group of GROUP_ORDER) {
    const rows = table.filter((b) => b.group === group);
    if (rows.length === 0) continue;
    out.push(
      "",
      `## ${group}`,
      "",
      "| Key | Keys | Action | Description | When it applies | Footer |",
      "|---|---|---|---|---|---|",
      ...rows.map(
        (b) =>
          `| \`${cell(b.display)}\` | ${cell(keyNames(b.keys))} | ${cell(b.label)} | ${cell(b.description)} | ${cell(b.when.text)} | ${b.footer ? "yes" : ""} |`,
      ),
    );
  }
  return `${out.join("\n")}\n`;
}
