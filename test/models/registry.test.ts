import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  availableModels,
  createEmbedder,
  loadModels,
  parseModelName,
} from "../../pipeline/models/registry.ts";

describe("model registry", () => {
  test("knows both MiniLM variants, glove-100d-sif and hash-<dim> for dims 8..4096", () => {
    expect(parseModelName("sentence-transformers/all-MiniLM-L6-v2")).toEqual({
      kind: "minilm",
      variant: "fp32",
    });
    expect(parseModelName("sentence-transformers/all-MiniLM-L6-v2-int8")).toEqual({
      kind: "minilm",
      variant: "int8",
    });
    expect(parseModelName("glove-100d-sif")).toEqual({ kind: "sif" });
    expect(parseModelName("hash-384")).toEqual({ kind: "hash", dim: 384 });
    expect(parseModelName("hash-8")).toEqual({ kind: "hash", dim: 8 });
    expect(parseModelName("hash-4096")).toEqual({ kind: "hash", dim: 4096 });
  });

  test.each([
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "hash-7",
    "hash-4097",
    "hash-",
    "HASH-384",
    "glove",
  ])("%p is refused with the list of available models", (name) => {
    expect(() => parseModelName(name)).toThrow(`unknown model ${JSON.stringify(name)}; available: `);
    expect(() => parseModelName(name)).toThrow(availableModels());
  });

  test("availableModels names every family", () => {
    expect(availableModels()).toContain(
      "sentence-transformers/all-MiniLM-L6-v2, sentence-transformers/all-MiniLM-L6-v2-int8",
    );
    expect(availableModels()).toContain("glove-100d-sif");
    expect(availableModels()).toContain("hash-<dim>");
  });

  test("createEmbedder builds hash models without touching the cache folder", async () => {
    const cacheDir = join(tmpdir(), `never-created-${process.pid}`);
    const e = await createEmbedder("hash-384", { cacheDir });
    expect(e.dim).toBe(384);
    expect(existsSync(cacheDir)).toBe(false);
  });

  test("loadModels checks every name before loading anything, keeps order, drops duplicates", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "registry-"));
    try {
      await expect(loadModels(["hash-32", "glove-100d-sif", "bogus"], { cacheDir })).rejects.toThrow(
        /unknown model "bogus"; available: sentence-transformers\/all-MiniLM-L6-v2, .*glove-100d-sif, hash-<dim>/,
      );
      expect(existsSync(join(cacheDir, "models"))).toBe(false);
      await expect(loadModels([], { cacheDir })).rejects.toThrow(/no models/);
      const models = await loadModels(["hash-64", "hash-32", "hash-64"], { cacheDir });
      expect(models.map((m) => m.name)).toEqual(["hash-64", "hash-32"]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
