#!/usr/bin/env bun
/**
 * Supervised pre-training with VectorLabelSampler: balanced (or stratified) batches of a label
 * from the Parquet folder, a train/validation split by doc_id, and a linear probe (logistic
 * regression / softmax) trained on the batches and measured on the validation split.
 */
import { VectorLabelSampler } from "../index.ts";
import {
  DIR_OPTION,
  defaultParquetDir,
  fmt,
  intOption,
  numOption,
  parseCli,
  runExample,
  UsageError,
} from "./cli.ts";

const { values } = parseCli({
  usage: "bun pipeline/rl/examples/sampler.ts [--dir DIR] [--label success] [--mode balanced|stratified] ...",
  description:
    "Prints the classes of a label per split, a few balanced batches, and the validation accuracy of a\n" +
    "linear probe trained on them (a check that the vectors carry the label).",
  options: {
    dir: DIR_OPTION,
    label: {
      type: "string",
      help: "label to predict: success, agent, kind, task, status, ...",
      default: "success",
    },
    mode: { type: "string", help: "balanced or stratified", default: "balanced" },
    batch: { type: "string", help: "rows per batch", default: "32" },
    steps: { type: "string", help: "training batches for the probe", default: "200" },
    validation: { type: "string", help: "share of doc_ids held out", default: "0.2" },
    seed: { type: "string", help: "seed of the batches", default: "1" },
    model: { type: "string", help: "model of the vectors (when the folder holds several)" },
  },
});

await runExample(async () => {
  const mode = values.mode as string;
  if (mode !== "balanced" && mode !== "stratified")
    throw new UsageError("--mode must be balanced or stratified");
  const dir = (values.dir as string | undefined) ?? defaultParquetDir();
  const sampler = await VectorLabelSampler.fromParquet(dir, {
    label: values.label as string,
    mode,
    validationFraction: numOption(values, "validation", 0.2),
    seed: values.seed as string,
    ...(values.model ? { model: values.model as string } : {}),
  });
  const size = intOption(values, "batch", 32);
  for (const split of ["train", "validation"] as const) {
    const c = sampler.counts(split).map((x) => `${JSON.stringify(x.value)}: ${x.rows}`);
    console.log(`${split}: ${c.join(", ")}`);
  }
  console.log(
    `classes ${JSON.stringify(sampler.classes)}; ${sampler.unlabelled} documents without the label left out`,
  );
  for (const b of sampler.batches(size, { count: 3 })) {
    const per = sampler.classes.map(
      (v, c) => `${JSON.stringify(v)} ${Array.from(b.y).filter((y) => y === c).length}`,
    );
    console.log(`batch of ${b.rows}: ${per.join(", ")}`);
  }

  // A linear softmax probe, trained by SGD on the sampler's batches.
  const C = sampler.classes.length;
  const D = sampler.dim;
  const W = new Float64Array(C * (D + 1));
  const logits = (m: Float32Array, r: number) =>
    Array.from({ length: C }, (_, c) => {
      let s = W[c * (D + 1) + D] as number;
      for (let j = 0; j < D; j++) s += (W[c * (D + 1) + j] as number) * (m[r * D + j] as number);
      return s;
    });
  const steps = intOption(values, "steps", 200);
  for (const b of sampler.batches(size, { count: steps })) {
    for (let r = 0; r < b.rows; r++) {
      const z = logits(b.matrix, r);
      const max = Math.max(...z);
      const e = z.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, x) => a + x, 0);
      for (let c = 0; c < C; c++) {
        const g = (e[c] as number) / sum - (b.y[r] === c ? 1 : 0);
        for (let j = 0; j < D; j++)
          W[c * (D + 1) + j] = (W[c * (D + 1) + j] as number) - 0.5 * g * (b.matrix[r * D + j] as number);
        W[c * (D + 1) + D] = (W[c * (D + 1) + D] as number) - 0.5 * g;
      }
    }
  }
  const val = sampler.counts("validation").reduce((a, c) => a + c.rows, 0);
  if (val === 0 || C < 2) {
    console.log("probe: not measured (the validation split is empty or there is one class)");
    return;
  }
  // Balanced accuracy on the validation split (each class counts the same).
  const hits = new Array<number>(C).fill(0);
  const seen = new Array<number>(C).fill(0);
  const evalBatch = sampler.sample(Math.max(val, 1) * 2, "validation");
  for (let r = 0; r < evalBatch.rows; r++) {
    const z = logits(evalBatch.matrix, r);
    const y = evalBatch.y[r] as number;
    seen[y] = (seen[y] as number) + 1;
    if (z.indexOf(Math.max(...z)) === y) hits[y] = (hits[y] as number) + 1;
  }
  const perClass = hits.map((h, c) => ((seen[c] as number) > 0 ? h / (seen[c] as number) : Number.NaN));
  const present = perClass.filter((x) => !Number.isNaN(x));
  console.log(
    `probe: balanced validation accuracy ${fmt(present.reduce((a, x) => a + x, 0) / present.length)} (chance ${fmt(1 / C)}) over ${val} held-out documents`,
  );
});
