#!/usr/bin/env bun
import { runScript } from "./lib/cli.ts";
import { down } from "./lib/down.ts";
import { stackConfig } from "./lib/stack.ts";

await runScript(
  {
    usage: "bun run down [COMPONENT...]",
    description:
      "Stops what `up` started, by recorded pid (pipeline first, then Kafka and Redis).\n" +
      "Services that were already running when `up` found them are left alone. Data is kept.",
  },
  async (args) => {
    const cfg = stackConfig();
    const names = args._.length ? args._.map(String) : undefined;
    const results = await down(cfg, names);
    if (results.length === 0) console.log("down: nothing recorded as started by up");
    for (const r of results) console.log(`${r.name} (pid ${r.pid}): ${r.outcome}`);
    return 0;
  },
);
