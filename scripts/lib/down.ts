import type { Config } from "../../pipeline/config.ts";
import { listRecords, removeRecord, stopProcess } from "./procs.ts";
import { components } from "./stack.ts";

export interface DownResult {
  name: string;
  pid: number;
  outcome: "stopped" | "killed" | "not running";
}

/** Stops exactly what `up` recorded, pipeline before infrastructure, by pid. */
export async function down(cfg: Config, names?: string[]): Promise<DownResult[]> {
  const order = components(cfg).map((c) => c.name);
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i === -1 ? order.length : i;
  };
  const records = listRecords(cfg.local.stateDir)
    .filter((r) => !names || names.includes(r.name))
    .sort((a, b) => rank(b.name) - rank(a.name));
  const results: DownResult[] = [];
  for (const rec of records) {
    const outcome = await stopProcess(rec);
    removeRecord(cfg.local.stateDir, rec.name);
    results.push({ name: rec.name, pid: rec.pid, outcome });
  }
  return results;
}
