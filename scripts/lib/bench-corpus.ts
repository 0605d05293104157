/** The benchmark's texts: every agent result and paraphrase of the fixtures (under 2000 characters). */
import { join } from "node:path";
import { readFixture } from "./fixture-format.ts";

const root = join(import.meta.dir, "..", "..");

/** The fixtures' texts, in file order. */
export function corpus(): string[] {
  const texts: string[] = [];
  for (const f of ["agent-results.jsonl", "paraphrase-stream.jsonl"]) {
    for (const r of readFixture(join(root, "fixtures", f))) {
      try {
        const o = JSON.parse(String(r.value));
        const t = o.text ?? o.message ?? o.content ?? o.prompt ?? o.body;
        if (typeof t === "string" && t.trim() && t.length < 2000) texts.push(t);
      } catch {}
    }
  }
  return texts;
}
