#!/usr/bin/env bun
import { runScript } from "./lib/cli.ts";
import { stackConfig } from "./lib/stack.ts";
import { formatStatus, status } from "./lib/status.ts";

await runScript(
  {
    usage: "bun run status [--json]",
    description:
      "Shows each component's health, pid (when started by up), address and log.\nExits 1 when any is down.",
    options: [["--json", "print the same as JSON"]],
    boolean: ["json"],
  },
  async (args) => {
    const s = await status(stackConfig());
    console.log(args.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return s.components.every((c) => c.healthy) ? 0 : 1;
  },
);
