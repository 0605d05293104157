/** Nothing wider or taller than the window, at 80×24 and other sizes, and after a resize. */
import { afterEach, describe, expect, test } from "bun:test";
import { cellWidth } from "../../tui/format.ts";
import { fixture, frameLines, type Harness, KEYS, renderConsole } from "./helpers.tsx";

let h: Harness | undefined;
afterEach(() => {
  h?.unmount();
  h = undefined;
});

/** DLQ entries with wide characters, emoji and control bytes in every text field. */
function awkwardDlq() {
  const base = (fixture("dlq.json") as { items: Record<string, unknown>[] }).items;
  const wide = {
    ...base[0],
    doc_id: "文書-🚀-0001-with-a-rather-long-identifier",
    text: "日本語のテキスト 🚀🚀🚀 mixed with\ttabs\nnewlines and \u001b[31mescapes\u001b[0m ".repeat(5),
    error: "エラー: 失敗しました ".repeat(10),
    source: { topic: "agent.results", partition: 1, offset: "99", key: "鍵", timestamp: 0 },
  };
  return { items: [wide, ...base], count: base.length + 1 };
}

function assertFits(frame: string, columns: number, rows: number, what: string) {
  const lines = frameLines(frame);
  expect(lines.length, `${what}: ${lines.length} lines > ${rows}`).toBeLessThanOrEqual(rows);
  for (const l of lines) {
    expect(cellWidth(l), `${what}: line wider than ${columns}: «${l}»`).toBeLessThanOrEqual(columns);
  }
}

async function everyScreen(columns: number, rows: number): Promise<number> {
  const knn = async () => fixture("knn-query.json") as never;
  h = await renderConsole({
    columns,
    rows,
    knnQuery: knn,
    setup: (t) => t.respond("/api/embed-worker/dlq", awkwardDlq()),
  });
  h.replayStreams();
  await h.waitFor((f) => f.includes("connected"), "connected");
  let checked = 0;
  const check = async (what: string, settle: (f: string) => boolean) => {
    const f = await (h as Harness).waitFor(settle, what);
    assertFits(f, columns, rows, `${columns}×${rows} ${what}`);
    checked += 1;
  };
  for (const key of ["1", "2", "3", "4", "5", "6", "7"]) {
    await h.press(key);
    await check(`view ${key}`, (f) => f.includes("search"));
  }
  await h.press("?");
  await check("help", (f) => f.includes("Keys"));
  await h.press(KEYS.escape, "6", KEYS.enter);
  await check("DLQ detail", (f) => f.includes("DLQ entry"));
  await h.press(KEYS.pageDown);
  await check("DLQ detail scrolled", (f) => f.includes("DLQ entry"));
  await h.press(KEYS.escape, "1", "/");
  for (const ch of "a very long query that certainly does not fit on one line of the terminal 日本語")
    await h.press(ch);
  await check("prompt with a long query", (f) => f.includes("日本語"));
  await h.press(KEYS.enter);
  await check("overview results", (f) => f.includes("neighbours"));
  await h.press("7");
  await check("kNN results", (f) => f.includes("neighbours"));
  return checked;
}

describe("frame size", () => {
  test("80×24: every view, overlay and prompt fits exactly", async () => {
    expect(await everyScreen(80, 24)).toBe(13);
    expect(frameLines(h?.lastFrame() ?? "")).toHaveLength(24);
  });

  for (const [c, r] of [
    [60, 20],
    [120, 40],
    [50, 15],
  ] as const) {
    test(`${c}×${r}: nothing wider or taller than the window`, async () => {
      expect(await everyScreen(c, r)).toBe(13);
    });
  }

  test("a resize re-lays out to the new size", async () => {
    h = await renderConsole({ columns: 80, rows: 24 });
    h.replayStreams();
    await h.press("2");
    await h.waitFor((f) => f.includes("executor"), "spark");
    h.stdout.resize(60, 18);
    let f = await h.waitFor((x) => frameLines(x).length === 18, "18 rows");
    assertFits(f, 60, 18, "after shrinking");
    h.stdout.resize(132, 40);
    f = await h.waitFor((x) => frameLines(x).length === 40, "40 rows");
    assertFits(f, 132, 40, "after growing");
    expect(frameLines(f).some((l) => cellWidth(l) > 100)).toBe(true);
  });

  test("the backend-down screens fit too", async () => {
    h = await renderConsole({
      setup: (t) => {
        t.down = true;
      },
    });
    for (const key of ["1", "2", "3", "4", "5", "6", "7"]) {
      await h.press(key);
      const f = await h.waitFor((x) => x.includes("disconnected since"), `view ${key} down`);
      assertFits(f, 80, 24, `down view ${key}`);
    }
  });
});
