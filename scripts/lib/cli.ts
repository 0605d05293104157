/** Shared entry-point handling for the zx scripts: flags, --help, errors, exit codes. */
import { minimist } from "zx";
import { ConfigError } from "../../pipeline/config.ts";
import { ScriptError } from "./progress.ts";

export interface ScriptSpec {
  usage: string;
  description: string;
  options?: [flag: string, text: string][];
  boolean?: string[];
  string?: string[];
  default?: Record<string, unknown>;
}

export function helpText(spec: ScriptSpec): string {
  const opts = [...(spec.options ?? []), ["-h, --help", "show this help"] as [string, string]];
  const w = Math.max(...opts.map(([f]) => f.length));
  return [
    `Usage: ${spec.usage}`,
    "",
    spec.description,
    "",
    "Options:",
    ...opts.map(([f, t]) => `  ${f.padEnd(w)}  ${t}`),
    "",
    "Environment: see README.md (Configuration). Defaults start everything on 127.0.0.1.",
  ].join("\n");
}

/** Parses argv, prints help on -h/--help, runs main, turns known errors into messages. */
export async function runScript(
  spec: ScriptSpec,
  main: (args: minimist.ParsedArgs) => Promise<number | undefined>,
): Promise<void> {
  const args = minimist(process.argv.slice(2), {
    boolean: ["help", ...(spec.boolean ?? [])],
    string: spec.string ?? [],
    alias: { h: "help" },
    default: spec.default ?? {},
  });
  if (args.help) {
    console.log(helpText(spec));
    process.exit(0);
  }
  const known = new Set(["_", "help", "h", ...(spec.boolean ?? []), ...(spec.string ?? [])]);
  const unknown = Object.keys(args).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    console.error(`unknown option: --${unknown[0]}\n\n${helpText(spec)}`);
    process.exit(2);
  }
  try {
    process.exit((await main(args)) ?? 0);
  } catch (err) {
    if (err instanceof ScriptError || err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      process.exit(err instanceof ScriptError ? err.exitCode : 2);
    }
    throw err;
  }
}

/** A numeric flag's value (undefined when absent); exits 2 with a message when it is not a number ≥ min. */
export function numberFlag(
  name: string,
  raw: unknown,
  { integer = false, min = 0 } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new ScriptError(
      `--${name} expects ${integer ? "an integer" : "a number"} ≥ ${min}, got ${JSON.stringify(raw)}`,
      2,
    );
  }
  return n;
}
