import { describe, expect, test } from "bun:test";
import { join } from "node:path";

/** SGR parameters that set a colour: 30–37, 38;…, 39, 40–47, 48;…, 49, 90–97, 100–107. */
function colourCodes(s: string): string[] {
  const out: string[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
  for (const m of s.matchAll(/\u001b\[([0-9;]*)m/g)) {
    const params = (m[1] ?? "").split(";").map(Number);
    if (params.some((p) => (p >= 30 && p <= 49) || (p >= 90 && p <= 97) || (p >= 100 && p <= 107)))
      out.push(m[0]);
  }
  return out;
}

function frames(env: Record<string, string>): string {
  const { NO_COLOR: _, ...base } = process.env;
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "color-probe.tsx")], {
    env: { ...base, FORCE_COLOR: "3", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`probe failed: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString()) as string[]).join("\n");
}

describe("NO_COLOR", () => {
  test("with colours available the console uses them", () => {
    expect(colourCodes(frames({})).length).toBeGreaterThan(10);
  }, 20_000);

  test("with NO_COLOR set, no colour codes at all (bold, dim and inverse remain)", () => {
    const out = frames({ NO_COLOR: "1" });
    expect(colourCodes(out)).toEqual([]);
    expect(out).toContain("Throughput");
    // Selection and headings are still marked without colour.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
    expect(out).toMatch(/\u001b\[(1|7)m/);
  }, 20_000);
});
