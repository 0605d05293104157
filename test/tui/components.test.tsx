/** Components on their own, rendered with ink-testing-library (its terminal is 100 columns wide). */
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { Footer } from "../../tui/components/Footer.tsx";
import { Table } from "../../tui/components/Table.tsx";
import { ThemeProvider } from "../../tui/components/theme.tsx";
import { cellWidth } from "../../tui/format.ts";
import { frameLines } from "./helpers.tsx";

afterEach(() => cleanup());

const columns = [
  { header: "#", width: 3, align: "right" as const },
  { header: "doc_id", width: 10 },
  { header: "text", flex: 1, min: 6 },
];
const rows = Array.from({ length: 30 }, (_, i) => [String(i + 1), `doc-${i}`, `text number ${i} `.repeat(8)]);

describe("Table", () => {
  test("fits its width and height and scrolls to keep the selection visible", () => {
    const { lastFrame } = render(
      <ThemeProvider color={false}>
        <Table columns={columns} rows={rows} width={48} height={8} selected={20} />
      </ThemeProvider>,
    );
    const lines = frameLines(lastFrame() ?? "");
    expect(lines).toHaveLength(8);
    for (const l of lines) expect(cellWidth(l)).toBeLessThanOrEqual(48);
    expect(lines[0]).toMatch(/^ {2}# doc_id +text +… 18-24\/30$/);
    expect(lines.some((l) => l.startsWith(" 21 doc-20"))).toBe(true);
  });

  test("drops columns from the right on a narrow width instead of overflowing", () => {
    const { lastFrame } = render(<Table columns={columns} rows={rows.slice(0, 2)} width={14} height={3} />);
    const lines = frameLines(lastFrame() ?? "");
    expect(lines.map((l) => l.trimEnd())).toEqual(["  # doc_id", "  1 doc-0", "  2 doc-1"]);
  });
});

describe("Footer", () => {
  test("shows the entries that fit, in order", () => {
    const entries = [
      { key: "↑/↓", label: "select" },
      { key: "Enter", label: "open" },
      { key: "q", label: "quit" },
    ];
    expect(frameLines(render(<Footer entries={entries} width={100} />).lastFrame() ?? "")[0]).toBe(
      "↑/↓ select  Enter open  q quit",
    );
    expect(frameLines(render(<Footer entries={entries} width={22} />).lastFrame() ?? "")[0]).toBe(
      "↑/↓ select  Enter open",
    );
  });
});
