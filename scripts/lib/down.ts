import type { Config } from "../../pipeline/config.ts";
import { listRecords, removeRecord, stopProcess } from "./procs.ts";
import { components } from "./stack.ts";

export interface DownResult {
  name: string;
  pid: number;
  outcome: "stopped" | "killed" | "not running";
}

/**
 * Stops exactly what `up` recorded, pipeline before infrastructure, by pid. The nodes of a
 * Kafka cluster are stopped together: one stopped last would wait in vain for a quorum.
 */
export async function down(cfg: Config, names?: string[]): Promise<DownResult[]> {
  const all = components(cfg);
  const order = all.map((c) => c.name);
  const groupOf = (n: string) => all.find((c) => c.name === n)?.group ?? n;
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i === -1 ? order.length : i;
  };
  const records = listRecords(cfg.local.stateDir)
    .filter((r) => !names || names.includes(r.name))
    .sort((a, b) => rank(b.name) - rank(a.name));
  const results: DownResult[] = [];
  for (const group of [...new Set(records.map((r) => groupOf(r.name)))]) {
    const members = records.filter((r) => groupOf(r.name) === group);
    const outcomes = await Promise.all(members.map((rec) => stopProcess(rec)));
    members.forEach((rec, i) => {
      removeRecord(cfg.local.stateDir, rec.name);
      results.push({ name: rec.name, pid: rec.pid, outcome: outcomes[i] ?? "stopped" });
    });
  }
  return results;
}
