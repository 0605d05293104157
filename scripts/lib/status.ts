import type { Config } from "../../pipeline/config.ts";
import { parquetDirs } from "../../pipeline/config.ts";
import { isRunning, readRecord } from "./procs.ts";
import { components } from "./stack.ts";

export interface ComponentStatus {
  name: string;
  healthy: boolean;
  /** "managed": started by up and running; "external": answers but not ours; "down". */
  state: "managed" | "external" | "down";
  pid: number | null;
  address: string;
  log: string | null;
}

export interface StackStatus {
  stateDir: string;
  components: ComponentStatus[];
  /** Where Parquet output lands, by producer (keys end in `_parquet`). */
  parquet_dirs: Record<string, string>;
}

export async function status(cfg: Config): Promise<StackStatus> {
  const rows = await Promise.all(
    components(cfg).map(async (c): Promise<ComponentStatus> => {
      const rec = readRecord(cfg.local.stateDir, c.name);
      const running = rec !== undefined && isRunning(rec);
      const healthy = await c.healthy();
      return {
        name: c.name,
        healthy,
        state: running ? "managed" : healthy ? "external" : "down",
        pid: running ? rec.pid : null,
        address: c.address,
        log: rec?.log ?? null,
      };
    }),
  );
  return { stateDir: cfg.local.stateDir, components: rows, parquet_dirs: parquetDirs(cfg) };
}

export function formatStatus(s: StackStatus): string {
  const header = ["COMPONENT", "HEALTH", "STATE", "PID", "ADDRESS", "LOG"];
  const rows = s.components.map((c) => [
    c.name,
    c.healthy ? "healthy" : "DOWN",
    c.state,
    c.pid === null ? "-" : String(c.pid),
    c.address,
    c.log ?? "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const parquet = Object.entries(s.parquet_dirs).map(([k, v]) => `${k}: ${v}`);
  return [line(header), ...rows.map(line), "", `state: ${s.stateDir}`, ...parquet].join("\n");
}
