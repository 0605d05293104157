#!/usr/bin/env bun
/**
 * Skill recommendation: the nearest past successful actions for a context, from the live index,
 * and what they used (agent, kind, task, ... by similarity weight).
 */
import { KnnClient, recommendSkills } from "../index.ts";
import {
  BACKEND_OPTION,
  backendToken,
  backendUrl,
  fmt,
  intOption,
  numOption,
  parseCli,
  runExample,
  UsageError,
} from "./cli.ts";

const { values, positionals } = parseCli({
  usage: 'bun pipeline/rl/examples/skills.ts [--backend URL] [--k 10] [--field agent ...] "context text"',
  description:
    "Asks the backend for the k nearest successful documents (kNN, filter {success: true}) to the context\n" +
    "and prints them and, per label field, the values they used with their share of the similarity.",
  positionals: true,
  options: {
    backend: BACKEND_OPTION,
    k: { type: "string", help: "successful neighbours consulted", default: "10" },
    field: {
      type: "string",
      multiple: true,
      help: "label field to summarise (repeatable; default agent, kind, task)",
    },
    "min-score": { type: "string", help: "ignore neighbours below this similarity", default: "0" },
  },
});

await runExample(async () => {
  const text = positionals.join(" ").trim();
  if (text === "") throw new UsageError("give the context as text");
  const client = new KnnClient({
    baseUrl: (values.backend as string | undefined) ?? backendUrl(),
    token: backendToken(),
  });
  const fields = values.field as string[] | undefined;
  const rec = await recommendSkills(
    client,
    { text },
    {
      k: intOption(values, "k", 10),
      minScore: numOption(values, "min-score", 0),
      ...(fields?.length ? { fields } : {}),
    },
  );
  if (rec.neighbors.length === 0) {
    console.log("no successful document in the index is near this context");
    return;
  }
  console.log("nearest successful actions:");
  for (const n of rec.neighbors)
    console.log(
      `  ${fmt(n.score)} ${n.doc_id} ${JSON.stringify(n.labels)}\n        ${n.text.slice(0, 90).replace(/\s+/g, " ")}`,
    );
  for (const [field, vals] of Object.entries(rec.by)) {
    const top = vals.slice(0, 5).map((v) => `${JSON.stringify(v.value)} ${fmt(v.share, 2)} (${v.count})`);
    console.log(`${field}: ${top.length ? top.join(", ") : "-"}`);
  }
});
