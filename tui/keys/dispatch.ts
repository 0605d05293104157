/** From a key press to a binding, and the footer and help contents derived from the table. */
import type { Key } from "ink";
import { oneLine } from "../format.ts";
import type { State } from "../state/types.ts";
import { BINDINGS, type Binding, type Group, type KeyContext } from "./bindings.ts";

/**
 * The normalised name of a key press: "up", "down", "pageup", "pagedown", "return",
 * "escape", "tab", "shift+tab", "backspace", "delete", "ctrl+<letter>", or the typed text.
 */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return "up";
  if (key.downArrow) return "down";
  if (key.leftArrow) return "left";
  if (key.rightArrow) return "right";
  if (key.pageUp) return "pageup";
  if (key.pageDown) return "pagedown";
  if (key.return) return "return";
  if (key.escape) return "escape";
  if (key.tab) return key.shift ? "shift+tab" : "tab";
  if (key.backspace) return "backspace";
  if (key.delete) return "delete";
  if (key.ctrl && input.length === 1) return `ctrl+${input.toLowerCase()}`;
  return input;
}

/** Text that can go into the prompt: typed or pasted, no modifier keys, not an escape sequence. */
export function isPrintable(input: string, key: Key): boolean {
  if (key.ctrl || key.meta || input === "" || input.startsWith("\u001b")) return false;
  return oneLine(input).trim() !== "" || input === " ";
}

/** The binding a key press triggers in `state`, if any. */
export function resolveBinding(
  state: State,
  name: string,
  printable: boolean,
  table: Binding[] = BINDINGS,
): Binding | undefined {
  return table.find(
    (b) => b.when(state) && (b.keys.includes(name) || (printable && b.keys.includes("printable"))),
  );
}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One character of a chunk as the key press it stands for. */
function charKey(ch: string): Key {
  if (ch === "\r" || ch === "\n") return { ...NO_KEY, return: true };
  if (ch === "\t") return { ...NO_KEY, tab: true };
  if (ch === "\u007f" || ch === "\b") return { ...NO_KEY, backspace: true };
  return NO_KEY;
}

/** What handling a key needs: the current state is read afresh for every key of a chunk. */
export type KeyInput = Omit<KeyContext, "state"> & { getState(): KeyContext["state"] };

function handleOne(ctx: KeyInput, input: string, key: Key, table: Binding[]): boolean {
  const state = ctx.getState();
  const name = keyName(input, key);
  const b = resolveBinding(state, name, isPrintable(input, key), table);
  if (!b) return false;
  b.run({ ...ctx, state }, name, input);
  return true;
}

/**
 * Handles a key press; returns whether a binding took it. Several characters arriving as
 * one input (keys typed ahead over a slow link, or a paste) are handled one by one, each
 * against the state the previous one left: "/retry⏎2" focuses the prompt, types "retry",
 * searches, then switches to view 2.
 */
export function handleKey(ctx: KeyInput, input: string, key: Key, table: Binding[] = BINDINGS): boolean {
  const chunk = input.length > 1 && !key.ctrl && !key.meta && !input.startsWith("\u001b");
  if (!chunk) return handleOne(ctx, input, key, table);
  let handled = false;
  for (const { segment } of new Intl.Segmenter().segment(input)) {
    handled = handleOne(ctx, segment, charKey(segment), table) || handled;
  }
  return handled;
}

/** Footer entries: the enabled bindings marked for the footer, contextual ones first. */
export function footerBindings(state: State, table: Binding[] = BINDINGS): { key: string; label: string }[] {
  const enabled = table.filter((b) => b.footer && b.when(state));
  const contextual = enabled.filter((b) => b.group !== "Global");
  const global = enabled.filter((b) => b.group === "Global");
  return [...contextual, ...global].map((b) => ({ key: b.display, label: b.label }));
}

/** The order of the groups in the help overlay and the docs. */
export const GROUP_ORDER: Group[] = [
  "Global",
  "Prompt",
  "kNN",
  "DLQ",
  "DLQ entry",
  "DLQ replay",
  "Index",
  "Help",
];

/** Every binding by group, for the help overlay; `enabled` says whether it applies right now. */
export function helpGroups(
  state: State,
  table: Binding[] = BINDINGS,
): { group: Group; entries: { key: string; description: string; enabled: boolean }[] }[] {
  return GROUP_ORDER.map((group) => ({
    group,
    entries: table
      .filter((b) => b.group === group)
      .map((b) => ({ key: b.display, description: b.description, enabled: b.when(state) })),
  })).filter((g) => g.entries.length > 0);
}
