/**
 * The models themselves, in this process (no HTTP): paraphrase precision@5 of every served
 * model on `fixtures/paraphrases.jsonl`, and sentences/s of each at 1 and 2 onnxruntime
 * threads, for ~30-token sentences (agent results cut to 28–36 tokens) and ~9-word ones (the
 * paraphrases). The ONNX models get their texts as 4 concurrent requests of 64, as an embed
 * worker with requests in flight sends them, so dynamic batching and length bucketing are in
 * the figure.
 */
import { join } from "node:path";
import { loadConfig } from "../../pipeline/config.ts";
import type { Embedder } from "../../pipeline/models/embedder.ts";
import type { OnnxEmbedder } from "../../pipeline/models/onnx-embedder.ts";
import { loadParaphraseGroups, paraphrasePrecisionAtK } from "../../pipeline/models/paraphrase-eval.ts";
import {
  createEmbedder,
  MINILM_INT8_MODEL,
  MINILM_MODEL,
  SIF_MODEL,
} from "../../pipeline/models/registry.ts";
import { readFixture } from "./fixture-format.ts";
import { step } from "./progress.ts";

const root = join(import.meta.dir, "..", "..");

export interface ModelFigure {
  name: string;
  value: number;
  unit: string;
}

/** Agent-result texts cut to 28–36 word pieces (whole words), made unique. */
function thirtyTokenTexts(tokenize: (t: string) => number[]): string[] {
  const out: string[] = [];
  for (const r of readFixture(join(root, "fixtures", "agent-results.jsonl"))) {
    let text = "";
    try {
      const o = JSON.parse(String(r.value));
      text = o.text ?? o.message ?? o.content ?? o.prompt ?? o.body ?? "";
    } catch {}
    if (typeof text !== "string" || !text.trim()) continue;
    const words = text.split(/\s+/);
    let cut = "";
    for (const w of words) {
      const next = cut ? `${cut} ${w}` : w;
      if (tokenize(next).length > 36) break;
      cut = next;
    }
    const n = tokenize(cut).length;
    if (n >= 28) out.push(cut);
  }
  return out;
}

/** Sentences/s over about `seconds` of work, `concurrent` requests of `batch` texts at a time. */
async function rate(
  e: Embedder,
  texts: string[],
  seconds: number,
  batch = 64,
  concurrent = 4,
): Promise<number> {
  let i = 0;
  const take = () => Array.from({ length: batch }, () => `${texts[i % texts.length]} #${i++}`);
  await e.embed(take()); // warm-up
  const started = performance.now();
  let done = 0;
  while (performance.now() - started < seconds * 1000) {
    const round = Array.from({ length: concurrent }, take);
    await Promise.all(round.map((r) => e.embed(r)));
    done += batch * concurrent;
  }
  return done / ((performance.now() - started) / 1000);
}

export async function benchModels(o: { quick: boolean }): Promise<ModelFigure[]> {
  const cacheDir = loadConfig().local.cacheDir;
  const figures: ModelFigure[] = [];
  const add = (name: string, value: number, unit: string) => figures.push({ name, value, unit });
  const groups = loadParaphraseGroups(join(root, "fixtures", "paraphrases.jsonl"));
  const short = groups.flatMap((g) => g.sentences);
  const seconds = o.quick ? 1.5 : 5;
  let long: string[] = [];
  for (const model of [MINILM_MODEL, MINILM_INT8_MODEL]) {
    for (const threads of [1, 2]) {
      await step(`${model}, ${threads} thread${threads > 1 ? "s" : ""}`, async (p) => {
        const e = (await createEmbedder(model, { cacheDir, threads })) as OnnxEmbedder;
        try {
          if (long.length === 0) long = thirtyTokenTexts(e.tokenize);
          if (threads === 2) {
            const score = await paraphrasePrecisionAtK(e, groups, 5);
            add(`paraphrase precision@5, ${model}`, score.precision, "");
          }
          const avg = long.reduce((n, t) => n + e.tokenize(t).length, 0) / long.length;
          p.update(`~${avg.toFixed(0)}-token sentences`);
          add(
            `${model}, ${threads} thread(s), ~${avg.toFixed(0)}-token sentences`,
            await rate(e, long, seconds),
            "sentences/s",
          );
          const words = short.reduce((n, t) => n + t.split(/\s+/).length, 0) / short.length;
          p.update(`~${words.toFixed(0)}-word sentences`);
          add(
            `${model}, ${threads} thread(s), ~${words.toFixed(0)}-word sentences`,
            await rate(e, short, seconds),
            "sentences/s",
          );
        } finally {
          await e.close();
        }
      });
    }
  }
  for (const model of [SIF_MODEL, "hash-384"]) {
    await step(model, async () => {
      const e = await createEmbedder(model, { cacheDir });
      add(`paraphrase precision@5, ${model}`, (await paraphrasePrecisionAtK(e, groups, 5)).precision, "");
      add(`${model}, ~30-token sentences (one thread)`, await rate(e, long, seconds), "sentences/s");
    });
  }
  return figures;
}
