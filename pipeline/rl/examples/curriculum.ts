#!/usr/bin/env bun
/**
 * A curriculum over the folder's documents: difficulty from the failure rate of each one's
 * nearest labelled neighbours (in the folder, or with `--backend` in the live index), novelty
 * from what was scheduled; prints the first items scheduled and why.
 */
import { CurriculumSampler, indexDifficulty, KnnClient, readVectorFolder } from "../index.ts";
import {
  BACKEND_OPTION,
  backendToken,
  backendUrl,
  DIR_OPTION,
  defaultParquetDir,
  fmt,
  intOption,
  numOption,
  parseCli,
  runExample,
} from "./cli.ts";

const { values } = parseCli({
  usage: "bun pipeline/rl/examples/curriculum.ts [--dir DIR] [--take 10] [--backend URL] [--seed 1]",
  description:
    "Schedules the folder's documents as training items: priority = floor + w_novelty × novelty +\n" +
    "w_difficulty × difficulty (0.05, 0.5, 0.5), difficulty = smoothed failure rate of the k nearest\n" +
    "labelled neighbours. With --backend the neighbours come from the live index (one query per item).",
  options: {
    dir: DIR_OPTION,
    take: { type: "string", help: "items to schedule", default: "10" },
    k: { type: "string", help: "labelled neighbours per item", default: "10" },
    backend: {
      ...BACKEND_OPTION,
      help: `difficulty from the live index instead of the folder; ${BACKEND_OPTION.help}`,
    },
    "w-novelty": { type: "string", help: "weight of novelty", default: "0.5" },
    "w-difficulty": { type: "string", help: "weight of difficulty", default: "0.5" },
    seed: { type: "string", help: "seed of the schedule", default: "1" },
    model: { type: "string", help: "model of the vectors (when the folder holds several)" },
  },
});

await runExample(async () => {
  const dir = (values.dir as string | undefined) ?? defaultParquetDir();
  const { records } = await readVectorFolder(dir, values.model ? { model: values.model as string } : {});
  if (records.length === 0) throw new Error(`no vectors in ${dir}`);
  const k = intOption(values, "k", 10);
  const items = records.map((r) => ({
    doc_id: r.doc_id,
    vector: r.vector,
    text: r.text,
    difficulty: undefined as number | undefined,
  }));
  if (values.backend !== undefined) {
    const client = new KnnClient({
      baseUrl: (values.backend as string) || backendUrl(),
      token: backendToken(),
    });
    for (const it of items)
      it.difficulty = (await indexDifficulty(client, { doc_id: it.doc_id }, k)).difficulty;
  }
  const c = new CurriculumSampler(
    items.map(({ difficulty, ...it }) => (difficulty === undefined ? it : { ...it, difficulty })),
    {
      pool: values.backend !== undefined ? [] : records,
      k,
      seed: values.seed as string,
      weights: {
        novelty: numOption(values, "w-novelty", 0.5),
        difficulty: numOption(values, "w-difficulty", 0.5),
      },
    },
  );
  console.log("  #  p(pick)  novelty  difficulty  doc_id: text");
  c.take(intOption(values, "take", 10)).forEach((s, i) => {
    const text = (s.item.text ?? "").slice(0, 60).replace(/\s+/g, " ");
    console.log(
      `${String(i + 1).padStart(3)}  ${fmt(s.probability).padStart(7)}  ${fmt(s.novelty).padStart(7)}  ${fmt(s.difficulty).padStart(10)}  ${s.doc_id}: ${text}`,
    );
  });
});
