/**
 * What the examples share: options with `--help`, the defaults the stack uses (read from the
 * environment directly, not through the configuration module), and errors that say what to do.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KnnClientError } from "../knn-client.ts";
import { MissingFolderError } from "../rows.ts";

type OptionSpec = {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  help: string;
  default?: string;
};

export interface CliSpec {
  usage: string;
  description: string;
  options: Record<string, OptionSpec>;
  /** Accepts positional arguments. */
  positionals?: boolean;
}

/** The folder the embed worker writes under `up`: EMBED_PARQUET_DIR, else `<state>/parquet/embeddings`. */
export function defaultParquetDir(env = process.env): string {
  if (env.EMBED_PARQUET_DIR) return env.EMBED_PARQUET_DIR;
  const state =
    env.EMBED_STATE_DIR || join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "rl-embeddings");
  return join(state, "parquet", "embeddings");
}

export const backendUrl = (env = process.env): string => env.BACKEND_URL?.trim() || "http://127.0.0.1:8080";
export const backendToken = (env = process.env): string | undefined => env.BACKEND_TOKEN || undefined;

/** Options every example takes about where the data is. */
export const DIR_OPTION: OptionSpec = {
  type: "string",
  help: "Parquet folder of the embed worker (EMBED_PARQUET_DIR; default <state>/parquet/embeddings)",
};
export const BACKEND_OPTION: OptionSpec = {
  type: "string",
  help: "backend URL (BACKEND_URL; default http://127.0.0.1:8080); BACKEND_TOKEN is sent as bearer",
};

export class UsageError extends Error {}

function help(spec: CliSpec): string {
  const lines = [`usage: ${spec.usage}`, "", spec.description, "", "options:"];
  const all = { ...spec.options, help: { type: "boolean", help: "this help" } as OptionSpec };
  for (const [name, o] of Object.entries(all)) {
    const flag = `--${name}${o.type === "string" ? " VALUE" : ""}`;
    lines.push(`  ${flag.padEnd(22)} ${o.help}${o.default !== undefined ? ` (default ${o.default})` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Parsed options; prints the help and exits 0 on `--help`, exits 2 on a bad option. */
export function parseCli(spec: CliSpec, argv = process.argv.slice(2)) {
  const options: Record<
    string,
    { type: "string" | "boolean"; multiple?: boolean; short?: string; default?: string }
  > = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
    };
  }
  try {
    const parsed = parseArgs({
      args: argv,
      options,
      allowPositionals: spec.positionals ?? false,
      strict: true,
    });
    if (parsed.values.help) {
      process.stdout.write(help(spec));
      process.exit(0);
    }
    return {
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${help(spec)}`);
    process.exit(2);
  }
}

/** A positive integer option. */
export function intOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got ${String(raw)}`);
  return n;
}

/** A number option. */
export function numOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${String(raw)}`);
  return n;
}

/** Runs an example's main; turns the usual failures into one clear line and exit code 1 (2 for usage). */
export async function runExample(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message} (see --help)\n`);
      process.exit(2);
    }
    if (err instanceof MissingFolderError) {
      process.stderr.write(`error: ${err.message}\n  Start the stack with \`bun run up\`, or pass --dir.\n`);
    } else if (err instanceof KnnClientError && (err.kind === "unreachable" || err.kind === "timeout")) {
      process.stderr.write(
        `error: ${err.message}\n  Is the backend running (\`bun run up\`)? Pass --backend or set BACKEND_URL.\n`,
      );
    } else {
      process.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    }
    process.exit(1);
  }
}

/** A number with fixed decimals, for tables. */
export const fmt = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);
