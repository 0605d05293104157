#!/usr/bin/env bun
import { runScript } from "./lib/cli.ts";
import { info } from "./lib/progress.ts";
import { stackConfig } from "./lib/stack.ts";
import { formatStatus, status } from "./lib/status.ts";
import { up } from "./lib/up.ts";

await runScript(
  {
    usage: "bun run up [--infra] [--spark]",
    description:
      "Brings the stack up on 127.0.0.1, reusing whatever already answers (idempotent).\n" +
      "Kafka (KRaft, jars from Maven Central) and Redis start locally unless KAFKA_BOOTSTRAP_SERVERS /\n" +
      "REDDB_URL point at another host; project topics are created. Then the pipeline processes start.\n" +
      "With --spark, parse runs as a Spark Structured Streaming job (pyspark from PyPI and the Kafka\n" +
      "connector from Maven, cached on first use) instead of the Bun parse worker; the stack stays on\n" +
      "Spark until `down`.",
    options: [
      ["--infra", "start the infrastructure only (Kafka, Redis, topics)"],
      ["--spark", "parse with the Spark job instead of the Bun worker (same as PARSE_ENGINE=spark)"],
    ],
    boolean: ["infra", "spark"],
  },
  async (args) => {
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
