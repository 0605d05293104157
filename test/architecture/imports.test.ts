/**
 * The layers' import rules (docs/architecture.md), checked on the source: a test that fails
 * with the offending import, so a seam cannot be crossed by accident.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "..", "..");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|tsx)$/.test(f) ? [p] : [];
  });
}

interface Import {
  file: string;
  /** Project path of a relative import, or the package name. */
  target: string;
  relative: boolean;
}

function imports(): Import[] {
  const out: Import[] = [];
  for (const abs of [...walk(join(root, "pipeline")), ...walk(join(root, "tui"))]) {
    const file = relative(root, abs);
    const src = readFileSync(abs, "utf8");
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?from\s+["']([^"']+)["']/g)) {
      const spec = m[1] as string;
      if (spec.startsWith("."))
        out.push({ file, target: relative(root, resolve(dirname(abs), spec)), relative: true });
      else out.push({ file, target: spec, relative: false });
    }
  }
  return out;
}

const ALL = imports();
const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Each layer and the project folders it may import (besides itself). */
const RULES: { layer: string; may: string[]; packages?: RegExp }[] = [
  { layer: "pipeline/contracts", may: [], packages: /^node:/ },
  { layer: "pipeline/core", may: ["pipeline/contracts"], packages: /^node:/ },
  { layer: "pipeline/io", may: ["pipeline/contracts", "pipeline/core"] },
  // The RL library (and its examples): Parquet readers and wire shapes, never the workers,
  // the configuration, the backend or the console; it reaches the services over HTTP only.
  { layer: "pipeline/rl", may: ["pipeline/contracts", "pipeline/core", "pipeline/io"], packages: /^node:/ },
  { layer: "tui", may: ["pipeline/contracts"] },
];

describe("import rules", () => {
  test("the scan sees the project's imports", () => {
    expect(ALL.length).toBeGreaterThan(200);
    expect(ALL.some((i) => i.file.startsWith("tui/") && under(i.target, "pipeline/contracts"))).toBe(true);
  });

  for (const rule of RULES) {
    test(`${rule.layer} imports only ${[rule.layer, ...rule.may].join(", ")}${rule.packages ? " and built-ins" : ""}`, () => {
      const bad = ALL.filter((i) => under(i.file, rule.layer)).filter((i) =>
        i.relative
          ? !under(i.target, rule.layer) && !rule.may.some((m) => under(i.target, m))
          : rule.packages !== undefined && !rule.packages.test(i.target),
      );
      expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
    });
  }

  test("nothing in pipeline/ imports the entry points (workers), the console or the scripts", () => {
    const bad = ALL.filter(
      (i) => i.relative && under(i.file, "pipeline") && !under(i.file, "pipeline/workers"),
    ).filter(
      (i) => under(i.target, "pipeline/workers") || under(i.target, "tui") || under(i.target, "scripts"),
    );
    expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  test("the configuration is read by entry points only, never by the layers below them", () => {
    const bad = ALL.filter((i) => i.relative && i.target === "pipeline/config.ts").filter(
      (i) => !under(i.file, "pipeline/workers"),
    );
    expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  test("console components render only: no sources, no keys, no views", () => {
    const bad = ALL.filter((i) => i.relative && under(i.file, "tui/components")).filter((i) =>
      ["tui/sources", "tui/keys", "tui/views"].some((d) => under(i.target, d)),
    );
    expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });
});
