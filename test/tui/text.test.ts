import { describe, expect, test } from "bun:test";
import {
  bar,
  chartLines,
  columnWidths,
  footerEntries,
  scrollTop,
  shortNumber,
  sparkline,
  tabLine,
  tableRow,
  wrapText,
} from "../../tui/components/text.ts";
import { detailLines, preview } from "../../tui/dlq-entry.ts";
import {
  bytes,
  cellWidth,
  count,
  duration,
  fit,
  oneLine,
  percent,
  rate,
  truncate,
} from "../../tui/format.ts";
import { helpColumns } from "../../tui/layout.ts";

describe("format", () => {
  test("cell widths count wide characters twice", () => {
    expect(cellWidth("abc")).toBe(3);
    expect(cellWidth("日本")).toBe(4);
  });

  test("truncate and fit never exceed the width, also with wide characters", () => {
    for (const s of ["hello world", "日本語のテキストです", "mixed 日本 text", ""]) {
      for (let w = 0; w <= 14; w++) {
        expect(cellWidth(truncate(s, w))).toBeLessThanOrEqual(w);
        expect(cellWidth(fit(s, w))).toBe(w);
      }
    }
    expect(truncate("hello world", 6)).toBe("hello…");
    expect(fit("42", 5, "right")).toBe("   42");
  });

  test("oneLine removes escape sequences and control characters", () => {
    expect(oneLine("a\u001b[31mred\u001b[0m\nb\tc\u0007")).toBe("ared b c");
    expect(oneLine("x\u001b]0;title\u0007y")).toBe("xy");
    expect(oneLine("bad\u009bbyte")).toBe("badbyte");
  });

  test("numbers, rates, bytes, percentages, durations", () => {
    expect(count(20000)).toBe("20,000");
    expect(count(null)).toBe("–");
    expect(rate(199.33)).toBe("199/s");
    expect(rate(3.333)).toBe("3.33/s");
    expect(rate(null)).toBe("–");
    expect(bytes(8421952)).toBe("8.0 MiB");
    expect(bytes(512)).toBe("512 B");
    expect(percent(0.25)).toBe("25.0%");
    expect(percent(null)).toBe("–");
    expect(duration(192)).toBe("3m12s");
    expect(duration(7500)).toBe("2h05m");
  });
});

describe("line builders", () => {
  test("sparkline scales to the maximum and fits the width", () => {
    expect(sparkline([0, 1, 2, 4], 10)).toBe("▁▃▅█");
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toHaveLength(3);
    expect(sparkline([0, 0], 5)).toBe("▁▁");
    expect(sparkline([], 5)).toBe("");
  });

  test("bar is exactly the width", () => {
    expect(bar(0.5, 10)).toBe("█████░░░░░");
    expect(bar(1, 4)).toBe("████");
    expect(bar(0, 4)).toBe("░░░░");
    expect(bar(null, 4)).toBe("····");
    for (let r = 0; r <= 1; r += 0.07) expect(bar(r, 9)).toHaveLength(9);
  });

  test("chart is exactly width × height, starts at zero, and says when there is no data", () => {
    for (const [w, h] of [
      [40, 6],
      [20, 3],
      [80, 10],
    ] as const) {
      const lines = chartLines([1, 5, 3, 8, 2, 9, 4], w, h);
      expect(lines).toHaveLength(h);
      for (const l of lines) expect(cellWidth(l)).toBe(w);
    }
    const lines = chartLines([10, 20], 30, 5);
    expect(lines[lines.length - 1]?.trim().startsWith("0")).toBe(true);
    expect(chartLines([5], 30, 4).join("\n")).toContain("no data yet");
    expect(shortNumber(-0.00001)).toBe("0");
    expect(shortNumber(1234)).toBe("1.2k");
  });

  test("table columns share the width and drop from the right when short", () => {
    const cols = [
      { header: "a", width: 8 },
      { header: "b", flex: 1, min: 6 },
      { header: "c", width: 10 },
    ];
    expect(columnWidths(cols, 40)).toEqual([8, 20, 10]);
    expect(columnWidths(cols, 20)).toEqual([8, 11, 0]);
    const widths = columnWidths(cols, 40);
    const row = tableRow(["x".repeat(50), "日本語".repeat(10), "z"], cols, widths, 40);
    expect(cellWidth(row)).toBe(40);
    expect(cellWidth(tableRow(["a", "b", "c"], cols, columnWidths(cols, 5), 5))).toBe(5);
  });

  test("scrolling keeps the selection visible", () => {
    expect(scrollTop(0, 100, 10)).toBe(0);
    expect(scrollTop(50, 100, 10)).toBe(45);
    expect(scrollTop(99, 100, 10)).toBe(90);
    expect(scrollTop(5, 3, 10)).toBe(0);
  });

  test("tabs fall back to short labels, then to numbers", () => {
    const tabs = ["Overview", "Spark", "Vectorizer", "Embed", "Index", "DLQ", "kNN"].map((t, i) => ({
      key: String(i + 1),
      title: t,
      short: t.slice(0, 3),
      active: i === 2,
    }));
    const width = (w: number) => tabLine(tabs, w).reduce((s, t) => s + cellWidth(t.text), 0);
    expect(tabLine(tabs, 80).map((t) => t.text.trim())).toContain("3 Vectorizer");
    expect(tabLine(tabs, 50).map((t) => t.text.trim())).toContain("3 Vec");
    expect(tabLine(tabs, 35).map((t) => t.text.trim())).toEqual([
      "1",
      "2",
      "3 Vectorizer",
      "4",
      "5",
      "6",
      "7",
    ]);
    for (const w of [10, 20, 35, 50, 80]) expect(width(w)).toBeLessThanOrEqual(w);
  });

  test("footer keeps entries that fit", () => {
    const e = [
      { key: "q", label: "quit" },
      { key: "?", label: "help" },
      { key: "/", label: "search" },
    ];
    expect(footerEntries(e, 100)).toHaveLength(3);
    expect(footerEntries(e, 14)).toEqual([
      { key: "q", label: "quit" },
      { key: "?", label: "help" },
    ]);
  });

  test("wrapping never exceeds the width and keeps every word", () => {
    const text =
      "a DLQ error message with averyveryveryverylongwordthatmustbebroken and\nsecond line 日本語のテキスト";
    const lines = wrapText(text, 12);
    for (const l of lines) expect(cellWidth(l)).toBeLessThanOrEqual(12);
    expect(lines.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
  });

  test("a DLQ preview is never blank and never carries control bytes", () => {
    expect(preview({ text: "line one\nline \u001b[31mtwo", value: "x" })).toBe("line one line two");
    expect(preview({ text: null, value: "   " })).toBe('(blank value "   ")');
    expect(preview({ text: null, value: "\n\t" })).toBe('(blank value "\\n\\t")');
    expect(preview({ text: null, value: null, value_b64: "//79" })).toBe("(binary, 4 base64 chars)");
    expect(preview({ text: null, value: null, value_b64: null, error: "record value is null" })).toBe(
      "record value is null",
    );
  });

  test("a DLQ entry in full: fields, extra fields, visible blanks, every line within the width", () => {
    const lines = detailLines(
      {
        stream_id: "1795697169366-4",
        stage: "parse",
        reason: "empty_text",
        error: "extracted text is empty or blank",
        text: null,
        value: "\n\t  ",
        value_b64: "CgkgIA==",
        ts: 1795697169.3,
        source: { topic: "agent.results", partition: 1, offset: "6862", key: null },
      },
      40,
    );
    expect(lines).toContain("reason     empty_text");
    expect(lines).toContain("stream_id  1795697169366-4");
    expect(lines).toContain('"\\n\\t  " (blank)');
    expect(lines.some((l) => l.startsWith("text:"))).toBe(false);
    for (const l of lines) expect(cellWidth(l)).toBeLessThanOrEqual(40);
  });

  test("help columns: one when it fits, two side by side otherwise", () => {
    const groups = [
      {
        group: "A",
        entries: Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, description: `does ${i}` })),
      },
      {
        group: "B",
        entries: Array.from({ length: 8 }, (_, i) => ({ key: `j${i}`, description: `does ${i}` })),
      },
    ];
    expect(helpColumns(groups, 80, 30)).toHaveLength(1);
    const two = helpColumns(groups, 80, 12);
    expect(two).toHaveLength(2);
    for (const col of two) for (const l of col) expect(cellWidth(l.text)).toBeLessThanOrEqual(39);
  });
});
