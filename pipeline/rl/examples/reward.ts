#!/usr/bin/env bun
/**
 * Reward shaping: scores texts (an agent's candidate solutions) by their similarity to the
 * nearest known-good results of the live index (SimilarityVerifier), and, with `--dir`, walks
 * the folder's vectors as one episode and prints the novelty, repetition and drift terms.
 */
import { batchRow, KnnClient, SimilarityVerifier, StateWindow, vectorBatches } from "../index.ts";
import {
  BACKEND_OPTION,
  backendToken,
  backendUrl,
  DIR_OPTION,
  fmt,
  intOption,
  parseCli,
  runExample,
  UsageError,
} from "./cli.ts";

const { values, positionals } = parseCli({
  usage:
    'bun pipeline/rl/examples/reward.ts [--backend URL] [--k 3] "candidate text" ... [--dir DIR [--steps N]]',
  description:
    "Prints, for each text, its verifier score in [0, 1] (similarity to the k nearest known-good documents,\n" +
    "kNN with filter {success: true}) and the documents it was measured against. With --dir, the shaping\n" +
    "terms (novelty [0,1], repetition [-1,0], drift [-1,0]) of the folder's first vectors as an episode.",
  positionals: true,
  options: {
    backend: BACKEND_OPTION,
    k: { type: "string", help: "known-good neighbours averaged", default: "3" },
    task: { type: "string", help: "only known-good documents of this task" },
    dir: DIR_OPTION,
    steps: { type: "string", help: "with --dir: vectors walked as an episode", default: "12" },
  },
});

await runExample(async () => {
  if (positionals.length === 0 && values.dir === undefined)
    throw new UsageError("give a text to score, or --dir");
  if (positionals.length > 0) {
    const client = new KnnClient({
      baseUrl: (values.backend as string | undefined) ?? backendUrl(),
      token: backendToken(),
    });
    const verifier = new SimilarityVerifier(client, {
      k: intOption(values, "k", 3),
      ...(values.task ? { filter: { task: values.task as string } } : {}),
    });
    for (const text of positionals) {
      const { score, neighbors } = await verifier.score({ text });
      console.log(`${fmt(score)}  ${JSON.stringify(text)}`);
      for (const n of neighbors)
        console.log(`       ${fmt(n.score)} ${n.doc_id}: ${n.text.slice(0, 70).replace(/\s+/g, " ")}`);
    }
  }
  if (values.dir !== undefined) {
    const steps = intOption(values, "steps", 12);
    const window = new StateWindow({ size: 8 });
    let t = 0;
    console.log("step  novelty  repetition  drift    doc_id");
    outer: for await (const b of vectorBatches(values.dir as string, { batchSize: 64 })) {
      for (let i = 0; i < b.rows; i++) {
        if (t >= steps) break outer;
        const s = window.observe(batchRow(b, i));
        console.log(
          `${String(t++).padStart(4)}  ${fmt(s.novelty).padStart(7)}  ${fmt(s.repetition).padStart(10)}  ${fmt(s.drift).padStart(6)}   ${b.doc_ids[i]}`,
        );
      }
    }
  }
});
