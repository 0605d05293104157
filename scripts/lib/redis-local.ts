/**
 * The embedded Redis: a real `redis-server` bound to loopback, persistence (AOF) in the
 * state folder. Installed with apt-get when missing and running as root.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import type { Config } from "../../pipeline/config.ts";
import type { DaemonSpec } from "./procs.ts";
import type { Progress } from "./progress.ts";
import { ScriptError } from "./progress.ts";

export async function findRedisServer(): Promise<string | undefined> {
  const r = await $`command -v redis-server`.nothrow().quiet();
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Returns the redis-server path, installing Debian's package when allowed. */
export async function ensureRedisServer(progress: Progress): Promise<string> {
  const found = await findRedisServer();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const apt = (await $`command -v apt-get`.nothrow().quiet()).exitCode === 0;
  if (!isRoot || !apt) {
    throw new ScriptError(
      "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; " +
        "macOS: brew install redis), or point REDDB_URL at a running Redis.",
    );
  }
  progress.update("apt-get update");
  const update = await $`apt-get update -qq`.nothrow().quiet();
  if (update.exitCode !== 0) throw new ScriptError(`apt-get update failed:\n${update.stderr}`);
  progress.update("apt-get install redis-server");
  const install = await $({
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  })`apt-get install -y -qq --no-install-recommends redis-server`
    .nothrow()
    .quiet();
  if (install.exitCode !== 0) {
    throw new ScriptError(
      `apt-get install redis-server failed:\n${install.stderr.split("\n").slice(-15).join("\n")}`,
    );
  }
  const path = await findRedisServer();
  if (!path) throw new ScriptError("redis-server still not found after apt-get install");
  return path;
}

export function redisDaemon(cfg: Config, bin: string, host: string, port: number): DaemonSpec {
  const dir = join(cfg.local.stateDir, `redis-${port}`);
  mkdirSync(dir, { recursive: true });
  const host0 = host === "localhost" ? "127.0.0.1" : host;
  return {
    name: "redis",
    cmd: bin,
    args: [
      "--bind",
      host0,
      "--port",
      String(port),
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "yes",
      "--logfile",
      "",
    ],
    // redis-server rewrites its title to "redis-server HOST:PORT"; the port matches both forms.
    marker: [String(port)],
    address: `${host0}:${port}`,
    log: join(dir, "redis.log"),
  };
}
