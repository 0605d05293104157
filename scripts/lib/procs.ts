/**
 * Records of the processes `up` started, one JSON file per component under
 * `<state>/run/`. `down` stops exactly these, by recorded pid, after checking that the
 * pid still runs the recorded command (a reused pid is never signalled).
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export interface ProcRecord {
  name: string;
  pid: number;
  /** argv[0] and a marker argument, compared against /proc/<pid>/cmdline. */
  command: string[];
  address: string;
  log: string;
  startedAt: string;
}

const runDir = (stateDir: string) => join(stateDir, "run");
const recordPath = (stateDir: string, name: string) => join(runDir(stateDir), `${name}.json`);

export function readRecord(stateDir: string, name: string): ProcRecord | undefined {
  const file = recordPath(stateDir, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ProcRecord;
  } catch {
    return undefined;
  }
}

export function listRecords(stateDir: string): ProcRecord[] {
  if (!existsSync(runDir(stateDir))) return [];
  return readdirSync(runDir(stateDir))
    .filter((f) => f.endsWith(".json"))
    .map((f) => readRecord(stateDir, f.slice(0, -5)))
    .filter((r): r is ProcRecord => r !== undefined);
}

export function removeRecord(stateDir: string, name: string): void {
  rmSync(recordPath(stateDir, name), { force: true });
}

function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
}

/** True when the recorded pid is alive and still runs the recorded command. */
export function isRunning(rec: ProcRecord): boolean {
  const argv = cmdline(rec.pid);
  if (!argv) return false;
  // A zombie has an empty cmdline. Some servers rewrite their title (redis-server shows
  // "redis-server 127.0.0.1:6379"), so match the recorded parts as substrings.
  if (argv.length === 0) return false;
  const line = argv.join(" ");
  return rec.command.every((part) => line.includes(part));
}

export interface DaemonSpec {
  name: string;
  cmd: string;
  args: string[];
  /** Arguments that identify this process in /proc/<pid>/cmdline. */
  marker: string[];
  /** What its cmdline starts with when `cmd` execs another program (Spark's `spark-class` runs `java`). */
  execs?: string;
  address: string;
  log: string;
  cwd?: string;
  env?: Record<string, string>;
}

export interface Started {
  record: ProcRecord;
  /** True once the child has exited (known from the exit event, not from /proc). */
  exited(): boolean;
}

/**
 * Starts a detached process with stdout/stderr appended to its log, and records it.
 * (Right after fork, /proc/<pid>/cmdline still shows the parent until exec, so callers
 * watching a fresh start use `exited()` rather than `isRunning`.)
 */
export function startDaemon(stateDir: string, spec: DaemonSpec): Started {
  mkdirSync(runDir(stateDir), { recursive: true });
  const fd = openSync(spec.log, "a");
  const child = spawn(spec.cmd, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.cmd})`);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.unref();
  const rec: ProcRecord = {
    name: spec.name,
    pid: child.pid,
    command: [spec.execs ?? spec.cmd.split("/").pop() ?? spec.cmd, ...spec.marker],
    address: spec.address,
    log: spec.log,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(recordPath(stateDir, spec.name), `${JSON.stringify(rec, null, 2)}\n`);
  return { record: rec, exited: () => exited };
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Returns once the process is gone. */
export async function stopProcess(
  rec: ProcRecord,
  graceMs = 20_000,
): Promise<"stopped" | "killed" | "not running"> {
  if (!isRunning(rec)) return "not running";
  process.kill(rec.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(rec)) return "stopped";
    await Bun.sleep(100);
  }
  try {
    process.kill(rec.pid, "SIGKILL");
  } catch {
    return "stopped";
  }
  while (isRunning(rec)) await Bun.sleep(50);
  return "killed";
}

/** Last `lines` lines of a log file, for failure messages. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .slice(-lines - 1)
    .join("\n");
}
