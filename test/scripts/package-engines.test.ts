/** package.json declares what really runs the project: the pinned Bun, installed by npm ci. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/run.ts";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  engines: Record<string, string>;
  devDependencies: Record<string, string>;
};

test("engines name the Bun that npm ci installs, and the Node/npm that only install it", () => {
  expect(pkg.engines.bun).toBe(pkg.devDependencies.bun as string);
  expect(pkg.engines.bun).toBe(Bun.version);
  expect(Object.keys(pkg.engines).sort()).toEqual(["bun", "node", "npm"]);
});
