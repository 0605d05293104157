#!/usr/bin/env bun
import { numberFlag, runScript } from "./lib/cli.ts";
import { info } from "./lib/progress.ts";
import { stackConfig } from "./lib/stack.ts";
import { formatStatus, status } from "./lib/status.ts";
import { up } from "./lib/up.ts";

await runScript(
  {
    usage: "bun run up [--infra] [--spark] [--brokers N]",
    description:
      "Brings the stack up on 127.0.0.1, reusing whatever already answers (idempotent).\n" +
      "Kafka (KRaft, jars from Maven Central) and Redis start locally unless KAFKA_BOOTSTRAP_SERVERS /\n" +
      "REDDB_URL point at another host; project topics are created. Then the pipeline processes start.\n" +
      "With --spark, parse runs as a Spark Structured Streaming job (pyspark from PyPI and the Kafka\n" +
      "connector from Maven, cached on first use) instead of the Bun parse worker; the stack stays on\n" +
      "Spark until `down`.\n" +
      "With --brokers 3 (KAFKA_BROKERS=3), Kafka is a 3-node KRaft cluster (each node broker and\n" +
      "controller, one static quorum): client ports from the KAFKA_BOOTSTRAP_SERVERS port up (9092-9094),\n" +
      "controllers after them (9095-9097), topics with replication factor 3 and min.insync.replicas 2,\n" +
      "so one node may be lost without losing a write; the stack stays a cluster until `down`.",
    options: [
      ["--infra", "start the infrastructure only (Kafka, Redis, topics)"],
      ["--spark", "parse with the Spark job instead of the Bun worker (same as PARSE_ENGINE=spark)"],
      ["--brokers N", "start N local Kafka nodes as one KRaft cluster (same as KAFKA_BROKERS=N)"],
    ],
    boolean: ["infra", "spark"],
    string: ["brokers"],
  },
  async (args) => {
    const brokers = numberFlag("brokers", args.brokers, { integer: true, min: 1 });
    // Set for the workers up starts too: they must bootstrap from every node.
    if (brokers !== undefined) process.env.KAFKA_BROKERS = String(brokers);
    const cfg = stackConfig(args.spark ? { ...process.env, PARSE_ENGINE: "spark" } : process.env);
    const r = await up(cfg, args.infra ? ["infra"] : ["infra", "pipeline"]);
    info(
      `\nup: started ${r.started.join(", ") || "nothing"}; reused ${r.reused.join(", ") || "nothing"}` +
        (r.topicsCreated.length ? `; created topics ${r.topicsCreated.join(", ")}` : ""),
    );
    console.log(formatStatus(await status(cfg)));
    return 0;
  },
);
