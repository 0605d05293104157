/** The shared golden parse cases (fixtures/golden) against the Bun parse rules. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { readGoldenCases } from "../../scripts/lib/fixture-format.ts";
import { repoRoot } from "../helpers/run.ts";

const cases = readGoldenCases(join(repoRoot, "fixtures", "golden", "parse-cases.jsonl"));

describe("golden parse cases", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = parseAgentResult(c.record.value, c.record.key === null ? null : Buffer.from(c.record.key), {
      ...(c.fields ? { fields: c.fields } : {}),
      ...(c.max_chars ? { maxChars: c.max_chars } : {}),
      ...(c.label_fields ? { labelFields: c.label_fields } : {}),
    });
    if (c.expect.outcome === "ok") {
      if (!r.ok) throw new Error(`expected ok, got ${r.reason}`);
      const { labels, success, ...rest } = r;
      expect(rest).toEqual({
        ok: true,
        text: c.expect.text,
        doc_id: c.expect.doc_id,
        truncated: c.expect.truncated,
      });
      if (c.expect.labels !== undefined) expect(labels ?? {}).toEqual(c.expect.labels);
      if (c.expect.success !== undefined) expect(success ?? null).toBe(c.expect.success);
    } else {
      expect(r).toMatchObject({ ok: false, reason: c.expect.reason });
      if (c.expect.doc_id !== undefined) expect(r).toMatchObject({ doc_id: c.expect.doc_id });
    }
  });
});
