/** The console's settings from the environment and argv (validated; errors name the variable). */

export interface ConsoleConfig {
  backendUrl: string;
  token: string;
  saveDir: string;
  color: boolean;
  dlqLimit: number;
  /** Actions that change the pipeline (the DLQ view's replay) are offered; else they are refused. */
  allowActions: boolean;
}

/** The console's environment variables, declared once (for HELP and the README's table). */
export const CONSOLE_VARIABLES: readonly { name: string; default: string; help: string }[] = [
  { name: "BACKEND_URL", default: "`http://127.0.0.1:8080`", help: "the backend the console talks to" },
  { name: "BACKEND_TOKEN", default: "_(empty)_", help: 'sent as "Authorization: Bearer <token>" when set' },
  { name: "TUI_SAVE_DIR", default: "_(the working directory)_", help: 'folder for DLQ files saved with "s"' },
  { name: "TUI_DLQ_LIMIT", default: "`200`", help: "DLQ entries fetched for view 6 (at most 10000)" },
  {
    name: "TUI_ALLOW_ACTIONS",
    default: "`0`",
    help: "1: offer actions that change the pipeline (DLQ replay in view 6), as `--allow-actions` does",
  },
  { name: "NO_COLOR", default: "_(unset)_", help: "when set (non-empty), no colours" },
];

const plain = (s: string) => s.replace(/`/g, "").replace(/^_\((.*)\)_$/, "$1");
const nameWidth = Math.max(...CONSOLE_VARIABLES.map((v) => v.name.length));

export const HELP = `Usage: bun tui/main.tsx [--backend URL] [--allow-actions]

The operator console: health, throughput, Spark, Parquet, embedding, index, DLQ and kNN
search of the pipeline, read from the backend only. Read-only except for saving DLQ
files, unless started with --allow-actions: then the DLQ view replays entries (R, A)
after a confirmation, through the backend (which must allow it: BACKEND_ALLOW_DLQ_REPLAY=1).
Works over SSH and in tmux; needs an interactive terminal (80×24 or larger).

Options:
  --backend URL     backend address (overrides BACKEND_URL)
  --allow-actions   offer actions that change the pipeline (overrides TUI_ALLOW_ACTIONS)
  -h, --help        this text

Environment:
${CONSOLE_VARIABLES.map((v) => `  ${v.name.padEnd(nameWidth)}  ${v.help} (default ${plain(v.default)})`).join("\n")}

Keys: 1-7 views, / search, ? all keys, q or Ctrl-C quit.`;

export class ConfigError extends Error {}

export function parseConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): ConsoleConfig | "help" {
  let backend = env.BACKEND_URL?.trim() || "http://127.0.0.1:8080";
  let source = "BACKEND_URL";
  const allowRaw = env.TUI_ALLOW_ACTIONS?.trim().toLowerCase() ?? "";
  if (!["", "0", "1", "true", "false", "yes", "no"].includes(allowRaw)) {
    throw new ConfigError(`TUI_ALLOW_ACTIONS must be 1 or 0: ${env.TUI_ALLOW_ACTIONS}`);
  }
  let allowActions = ["1", "true", "yes"].includes(allowRaw);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "-h" || a === "--help") return "help";
    if (a === "--allow-actions") {
      allowActions = true;
    } else if (a === "--backend") {
      const v = argv[++i];
      if (!v) throw new ConfigError("--backend needs a URL");
      backend = v;
      source = "--backend";
    } else if (a.startsWith("--backend=")) {
      backend = a.slice("--backend=".length);
      source = "--backend";
    } else {
      throw new ConfigError(`unknown argument: ${a} (see --help)`);
    }
  }
  let url: URL;
  try {
    url = new URL(backend);
  } catch {
    throw new ConfigError(`${source} is not a URL: ${backend}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${source} must be an http(s) URL: ${backend}`);
  }
  const limitRaw = env.TUI_DLQ_LIMIT?.trim();
  const dlqLimit = limitRaw ? Number(limitRaw) : 200;
  if (!Number.isInteger(dlqLimit) || dlqLimit < 1 || dlqLimit > 10_000) {
    throw new ConfigError(`TUI_DLQ_LIMIT must be an integer from 1 to 10000: ${limitRaw}`);
  }
  return {
    backendUrl: backend.replace(/\/+$/, ""),
    token: env.BACKEND_TOKEN ?? "",
    saveDir: env.TUI_SAVE_DIR?.trim() || cwd,
    color: !env.NO_COLOR,
    dlqLimit,
    allowActions,
  };
}
