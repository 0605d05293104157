#!/usr/bin/env bun
/**
 * Vector context from the embed worker's Parquet folder: prints each batch (rows, dim, how
 * many successes and failures) and ends when the files are read; `--follow` keeps watching
 * for new files until Ctrl-C or `--seconds`. `--attach` wraps a toy environment with
 * attachVectorContext and prints the context of a few steps.
 */
import { attachVectorContext, batchRow, type Env, vectorBatches } from "../index.ts";
import { DIR_OPTION, defaultParquetDir, fmt, intOption, numOption, parseCli, runExample } from "./cli.ts";

const { values } = parseCli({
  usage: "bun pipeline/rl/examples/context.ts [--dir DIR] [--batch N] [--follow [--seconds S]] [--attach]",
  description:
    "Streams the vectors of a Parquet folder in batches (a Float32Array matrix with doc_ids, labels and\n" +
    "success), as an RL environment reads its context. Ends when the files are read unless --follow.",
  options: {
    dir: DIR_OPTION,
    batch: { type: "string", help: "rows per batch", default: "128" },
    follow: { type: "boolean", help: "keep watching for new files (Ctrl-C or --seconds stops)" },
    seconds: { type: "string", help: "with --follow: stop after this many seconds" },
    attach: { type: "boolean", help: "wrap a toy environment and print its observations' context" },
    k: { type: "string", help: "with --attach: context vectors per observation", default: "3" },
  },
});

await runExample(async () => {
  const dir = (values.dir as string | undefined) ?? defaultParquetDir();
  const batchSize = intOption(values, "batch", 128);
  if (values.attach) {
    // A toy environment whose observation is a stored vector: the i-th of the folder.
    const vectors: Float32Array[] = [];
    for await (const b of vectorBatches(dir, { batchSize })) {
      for (let i = 0; i < b.rows && vectors.length < 4; i++) vectors.push(Float32Array.from(batchRow(b, i)));
    }
    const toy = (): Env<Float32Array, number> => ({
      reset: () => vectors[0] as Float32Array,
      step: (a: number) => ({
        observation: vectors[a % vectors.length] as Float32Array,
        reward: 0,
        done: false,
      }),
    });
    const k = intOption(values, "k", 3);
    const env = await attachVectorContext(toy, dir, batchSize, { k, query: (obs) => obs })();
    const show = (t: string, o: Awaited<ReturnType<typeof env.reset>>) =>
      console.log(
        `${t}: context ${o.context.length} floats (${k} × ${o.context.length / k}); nearest ${o.context_doc_ids
          .map((id, i) => `${id ?? "-"} (${fmt(o.context_scores[i])})`)
          .join(", ")}`,
      );
    show("reset", await env.reset());
    for (let a = 1; a < 3; a++) show(`step ${a}`, (await env.step(a)).observation);
    await env.close?.();
    return;
  }
  const ctl = new AbortController();
  process.once("SIGINT", () => ctl.abort());
  if (values.follow && values.seconds !== undefined)
    setTimeout(() => ctl.abort(), numOption(values, "seconds", 0) * 1000).unref();
  const reader = vectorBatches(dir, { batchSize, follow: values.follow === true, signal: ctl.signal });
  for await (const b of reader) {
    const ok = b.success.filter((s) => s === true).length;
    const failed = b.success.filter((s) => s === false).length;
    console.log(
      `batch ${reader.stats.batches}: ${b.rows} × ${b.dim} (${b.model}), success ${ok}, failure ${failed}, unknown ${b.rows - ok - failed}; first ${b.doc_ids[0]}`,
    );
  }
  const skipped = Object.entries(reader.stats.skipped).map(([m, n]) => `${n} of ${m}`);
  console.log(
    `done: ${reader.stats.rows} vectors in ${reader.stats.files} files, ${reader.stats.batches} batches${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}`,
  );
});
