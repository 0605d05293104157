/** Key bindings through the whole app: help overlay, kNN prompt flow, DLQ detail and save, quitting. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detailLines } from "../../tui/dlq-entry.ts";
import { count, fit, ms, oneLine } from "../../tui/format.ts";
import { BINDINGS } from "../../tui/keys/bindings.ts";
import { footerBindings } from "../../tui/keys/dispatch.ts";
import { decodeKnn } from "../../tui/sources/decode.ts";
import type { KnnRequest } from "../../tui/sources/knn.ts";
import { initialState } from "../../tui/state/reducer.ts";
import type { KnnResult } from "../../tui/state/types.ts";
import { dlq, knn as knnFixture } from "./expected.ts";
import { fixture, type Harness, KEYS, renderConsole } from "./helpers.tsx";

let h: Harness | undefined;
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tui-keys-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  h?.unmount();
  h = undefined;
});

/** A kNN backend stand-in answering from the recorded fixtures, recording the requests. */
function fakeKnn() {
  const requests: KnnRequest[] = [];
  const query = async (req: KnnRequest): Promise<KnnResult> => {
    requests.push(req);
    if (req.doc_id === "nope") throw new Error("HTTP 404: unknown doc_id: nope");
    return fixture(req.doc_id ? "knn-query.doc.json" : "knn-query.json") as KnnResult;
  };
  return { requests, query };
}

const type = async (text: string) => {
  for (const ch of text) await h?.press(ch);
};

describe("help and footer", () => {
  test("? lists every binding of the table (key and description) at 80×24; Esc closes it", async () => {
    h = await renderConsole();
    h.replayStreams();
    await h.press("?");
    const f = await h.waitFor((x) => x.includes("Keys — Esc or ? closes"), "help overlay");
    const lines = f.split("\n");
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const b of BINDINGS) {
      const row = lines.find((l) => l.includes(`${b.display} `) && l.includes(b.description));
      expect(row, `${b.id}: "${b.display}" "${b.description}"`).toBeDefined();
    }
    for (const group of ["Global", "Prompt", "kNN", "DLQ", "DLQ entry", "Index", "Help"])
      expect(f).toContain(group);
    await h.press(KEYS.escape);
    await h.waitFor((x) => !x.includes("Keys — Esc or ? closes") && x.includes("Throughput"), "help closed");
  });

  test("the footer is generated from the enabled bindings", () => {
    const s = initialState({ backendUrl: "x", now: 0, view: "dlq" });
    const withItems = { ...s, dlq: { ...s.dlq, data: fixture("dlq.json") as never } };
    expect(footerBindings(withItems).map((e) => `${e.key} ${e.label}`)).toEqual([
      "↑/↓ select",
      "Enter open",
      "s save",
      "R replay",
      "/ search",
      "1-7 views",
      "? help",
      "q quit",
    ]);
    const typing = { ...s, ui: { ...s.ui, focus: "prompt" as const } };
    expect(footerBindings(typing).map((e) => e.key)).toEqual(["Enter", "Esc", "↑/↓", "Ctrl-U"]);
  });
});

describe("kNN prompt", () => {
  test("quick search on the Overview, results in view 7, Enter on a result searches from it, k and history", async () => {
    const knn = fakeKnn();
    h = await renderConsole({ knnQuery: knn.query });
    h.replayStreams();
    await h.press("/");
    await type("retry after timeout");
    let f = await h.waitFor((x) => x.includes("kNN / retry after timeout"), "typed text");
    // While typing, digits and q are text, not view switches or quit.
    await type(" 2q");
    await h.press(KEYS.backspace, KEYS.backspace, KEYS.backspace);
    await h.press(KEYS.enter);
    const first = knnFixture();
    const n0 = first.neighbors[0];
    const n1 = first.neighbors[1];
    if (!n0 || !n1) throw new Error("knn-query.json needs at least two neighbours");
    f = await h.waitFor(
      (x) => x.includes(`${first.neighbors.length} neighbours of “retry after timeout”`),
      "overview results",
    );
    expect(knn.requests).toEqual([{ text: "retry after timeout", k: 5 }]);
    expect(h.quits).toBe(0);
    expect(f).toContain(`  1 ${n0.score.toFixed(3)} ${fit(n0.doc_id, 16)} ${oneLine(n0.text).slice(0, 20)}`);

    await h.press("7");
    const status = `${first.neighbors.length} neighbours · ${count(first.count_scored)} scored in ${ms(first.took_ms)}`;
    f = await h.waitFor((x) => x.includes(status), "view 7 results");
    expect(f).toMatch(
      new RegExp(
        ` {2}2 +${n1.score.toFixed(3)} ${fit(n1.doc_id, 16).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`,
      ),
    );
    await h.press(KEYS.down, KEYS.enter);
    const doc = knnFixture("knn-query.doc.json");
    f = await h.waitFor(
      (x) =>
        x.includes(
          `${doc.neighbors.length} neighbours · ${count(doc.count_scored)} scored in ${ms(doc.took_ms)}`,
        ),
      "doc: search",
    );
    expect(knn.requests[1]).toEqual({ doc_id: n1.doc_id, k: 5 });
    expect(h.store.getState().ui.prompt).toBe(`doc:${n1.doc_id}`);
    expect(f).toContain(n1.doc_id.slice(-8));

    await h.press("+", "+", "-", "+");
    await h.waitFor((x) => x.includes("k=7 (+/-)"), "k adjusted");

    await h.press("/", KEYS.up);
    expect(h.store.getState().ui.prompt).toBe(`doc:${n1.doc_id}`);
    await h.press(KEYS.up);
    await h.waitFor((x) => x.includes("query / retry after timeout"), "history 2");
    await h.press(KEYS.down, KEYS.down);
    await h.waitFor(
      (x) => x.includes(n1.doc_id.slice(-8)) && !x.includes("retry after timeout"),
      "back to the draft",
    );
    expect(h.store.getState().ui.prompt).toBe(`doc:${n1.doc_id}`);
    expect(h.store.getState().ui.historyIndex).toBeNull();
    await h.press(KEYS.escape);
    await h.waitFor((x) => x.includes("Enter more like this"), "prompt left, results selectable again");
    expect(h.store.getState().ui.focus).toBe("none");
  });

  test("errors are shown, and @file reads a vector", async () => {
    const knn = fakeKnn();
    const vec = join(dir, "vec.json");
    await writeFile(vec, JSON.stringify({ vector: [0.25, -0.5, 0.125] }));
    h = await renderConsole({ knnQuery: knn.query, view: "knn" });
    await h.press("/");
    await type("doc:nope");
    await h.press(KEYS.enter);
    await h.waitFor((x) => x.includes("error: HTTP 404: unknown doc_id: nope"), "404 shown");
    await h.press("/", KEYS.ctrlU);
    await type(`@${vec}`);
    await h.press(KEYS.enter);
    await h.waitFor(
      (x) => x.includes(`${knnFixture().neighbors.length} neighbours ·`) && x.includes(`query / @${vec}`),
      "vector search",
    );
    expect(knn.requests.at(-1)).toEqual({ vector: [0.25, -0.5, 0.125], k: 5 });
    await h.press("/", KEYS.ctrlU);
    await type("@missing.json");
    await h.press(KEYS.enter);
    await h.waitFor((x) => x.includes("error: cannot read a vector from"), "missing file");
  });
});

describe("kNN through a router", () => {
  test("a partial answer says which shards were not searched, in view 7 and on the Overview", async () => {
    const raw = { ...(fixture("knn-query.json") as object), partial: true, missing_shards: [2, 3, 7] };
    const decoded = decodeKnn(raw);
    expect(decoded.partial).toBe(true);
    expect(decoded.missing_shards).toEqual([2, 3, 7]);
    expect(decodeKnn(fixture("knn-query.json")).partial).toBeUndefined();
    h = await renderConsole({ knnQuery: async () => decoded, view: "knn" });
    await h.press("/");
    await type("flaky");
    await h.press(KEYS.enter);
    await h.waitFor((x) => x.includes("partial: shards 2-3,7 not searched"), "partial note in view 7");
    await h.press(KEYS.escape, "1");
    await h.waitFor((x) => x.includes("partial: shards 2-3,7"), "partial note on the Overview");
  });
});

describe("DLQ", () => {
  test("↓ selects, Enter opens the entry in full, ↓ scrolls, Esc closes, s saves the tail and shows the path", async () => {
    h = await renderConsole({ view: "dlq", saveDir: dir, rows: 12 });
    const items = dlq().items;
    const i = Math.min(2, items.length - 1);
    const e = items[i] as Record<string, unknown>;
    const src = e.source as Record<string, unknown>;
    await h.waitFor((x) => x.includes("preview"), "DLQ table");
    for (let n = 0; n < i; n++) await h.press(KEYS.down);
    await h.press(KEYS.enter);
    let f = await h.waitFor((x) => x.includes("DLQ entry — Esc closes"), "detail");
    expect(f).toContain(`reason     ${e.reason}`);
    expect(f).toContain(`doc_id     ${e.doc_id ?? "–"}`);
    expect(f).toContain(`source     ${src.topic} partition ${src.partition} offset ${src.offset}`);
    // 12 rows: tab bar, status line, title and footer leave 8 lines of the entry.
    const lines = detailLines(e, 80);
    expect(f).toContain(`lines 1-8/${lines.length}`);
    await h.press(KEYS.pageDown, KEYS.pageDown, KEYS.pageDown, KEYS.pageDown, KEYS.pageDown);
    f = await h.waitFor((x) => x.includes(`-${lines.length}/${lines.length}`), "scrolled to the end");
    expect(f).not.toContain(`reason     ${e.reason}`);
    // Scrolling stops at the end: one page up moves back at once.
    await h.press(KEYS.pageUp);
    await h.waitFor((x) => !x.includes(`-${lines.length}/${lines.length}`), "one page up");
    expect(f).toMatch(/lines \d+-\d+\//);
    expect(f).toContain(lines[lines.length - 1]?.trim().slice(0, 20) ?? "");
    await h.press(KEYS.escape);
    await h.waitFor((x) => x.includes("preview") && !x.includes("DLQ entry"), "closed");

    await h.press("s");
    f = await h.waitFor((x) => x.includes(`saved ${items.length} entries to`), "saved notice");
    await h.effects.pending();
    const path = /saved \d+ entries to (\S+\.ndjson)/.exec(f)?.[1] ?? "";
    expect(path.startsWith(dir)).toBe(true);
    const saved = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(saved.map((l) => JSON.parse(l))).toEqual((fixture("dlq.json") as { items: unknown[] }).items);
  });

  test("a failed save is reported", async () => {
    h = await renderConsole({ view: "dlq", saveDir: join(dir, "no", "such", "dir") });
    await h.waitFor((x) => x.includes("preview"), "DLQ table");
    await h.press("s");
    await h.waitFor((x) => x.includes("save failed:"), "save failure");
  });
});

describe("paste", () => {
  test("a pasted block lands in the prompt as one line, without control characters", async () => {
    h = await renderConsole({ view: "knn" });
    await h.press("/", "pasted\ttext \u001b[31mwith\u0007 bytes");
    await h.waitFor((x) => x.includes("query / pasted text with bytes"), "pasted");
    expect(h.store.getState().ui.prompt).toBe("pasted text with bytes");
  });
});

describe("keys typed ahead", () => {
  test("a chunk of keys is handled key by key: focus, text, Enter, then a view switch", async () => {
    const knn = fakeKnn();
    h = await renderConsole({ knnQuery: knn.query });
    await h.press("/retry after timeout\r7");
    await h.waitFor(
      (x) => x.includes("query / retry after timeout") && x.includes("neighbours ·"),
      "searched in view 7",
    );
    expect(knn.requests).toEqual([{ text: "retry after timeout", k: 5 }]);
    expect(h.store.getState().ui.view).toBe("knn");
    await h.press("23");
    await h.waitFor(() => h?.store.getState().ui.view === "vectorizer", "view 3");
  });
});

describe("quitting", () => {
  test("q quits; Ctrl-C quits even while typing", async () => {
    h = await renderConsole();
    await h.press("q");
    expect(h.quits).toBe(1);
    await h.press("/", "x", KEYS.ctrlC);
    expect(h.quits).toBe(2);
  });
});
