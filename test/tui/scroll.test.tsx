/**
 * Scrolling stops where the drawing ends: the keys clamp with the same layout numbers the DLQ
 * entry and the help overlay are drawn with, and the index selection stays on a shard.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { helpGroups } from "../../tui/keys/dispatch.ts";
import { bodyRows, detailLayout, helpLayout, scrollLimits } from "../../tui/layout.ts";
import { initialState, reduce } from "../../tui/state/reducer.ts";
import { dlq, shards } from "./expected.ts";
import { type Harness, KEYS, renderConsole } from "./helpers.tsx";

let h: Harness | undefined;
afterEach(() => {
  h?.unmount();
  h = undefined;
});

describe("scroll limits", () => {
  test("the DLQ entry scrolls exactly until its last line is on screen", () => {
    const entry = dlq().items[0];
    if (!entry) throw new Error("dlq.json has no entry");
    for (const height of [1, 2, 9, 60]) {
      const { lines, visible, maxScroll } = detailLayout(entry, 80, height);
      const shown = lines.slice(maxScroll, maxScroll + visible);
      expect(shown.at(-1), `height ${height}`).toBe(lines.at(-1));
      if (maxScroll > 0)
        expect(lines.slice(maxScroll - 1, maxScroll - 1 + visible).at(-1)).not.toBe(lines.at(-1));
      expect(scrollLimits({ entry, help: [], width: 80, height }).detail).toBe(maxScroll);
    }
    expect(scrollLimits({ entry: undefined, help: [], width: 80, height: 9 }).detail).toBe(0);
  });

  test("help at 80×12: PgDn stops at the last line, one ↑ moves back at once", async () => {
    h = await renderConsole({ rows: 12 });
    await h.press("?");
    await h.waitFor((x) => x.includes("Keys — Esc or ? closes — ↑/↓ scroll"), "scrollable help");
    const store = h.store;
    const { cols, maxScroll } = helpLayout(helpGroups(store.getState()), 80, bodyRows(12));
    expect(maxScroll).toBeGreaterThan(0);
    for (let i = 0; i < maxScroll; i++) await h.press(KEYS.pageDown);
    await h.waitFor(() => store.getState().ui.help.scroll === maxScroll, "scrolled to the end");
    const lastLines = cols.map((c) => c.at(-1)?.text.trim() ?? "");
    const f = await h.waitFor((x) => lastLines.some((l) => x.includes(l)), "last help line shown");
    expect(f).toContain("Keys — Esc or ? closes");
    await h.press(KEYS.pageDown);
    expect(store.getState().ui.help.scroll).toBe(maxScroll);
    await h.press(KEYS.up);
    await h.waitFor(() => store.getState().ui.help.scroll === maxScroll - 1, "one line up");
  });

  test("the index selection stays within the shards", () => {
    const s0 = initialState({ backendUrl: "x", now: 0, view: "index" });
    const s = reduce(s0, { type: "shards/ok", at: 1, data: shards() });
    const n = shards().shards.length;
    expect(n).toBeGreaterThan(1);
    expect(reduce(s, { type: "index/select", delta: n + 10 }).ui.index.selected).toBe(n - 1);
    expect(reduce(s, { type: "index/select", delta: -5 }).ui.index.selected).toBe(0);
  });
});
