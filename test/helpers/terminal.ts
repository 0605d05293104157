/**
 * The console in a real terminal for tests: `bun run tui` in a detached tmux pane (a private
 * tmux server), keys sent with send-keys, the screen read with capture-pane.
 */
import { expect } from "bun:test";
import { repoRoot, run } from "./run.ts";
import { eventually } from "./wait.ts";

export interface Console {
  /** Waits until the screen contains every needle; returns the screen. */
  showing(what: string, needles: (string | RegExp)[], timeoutMs?: number): Promise<string>;
  /** Sends one key (tmux key name), at a person's pace. */
  key(k: string): Promise<void>;
  /** Types text literally. */
  type(text: string): Promise<void>;
  /** True while the console runs. */
  running(): Promise<boolean>;
  close(): Promise<void>;
}

/** Asserts that a captured screen fits a `cols`×`rows` pane. */
export function fitsPane(text: string, cols = 80, rows = 24): void {
  const lines = text.replace(/\n$/, "").split("\n");
  expect(lines.length).toBeLessThanOrEqual(rows);
  for (const l of lines) expect([...l].length).toBeLessThanOrEqual(cols);
}

/** Starts the console against `backendUrl` in a `cols`×`rows` pane. */
export async function openConsole(backendUrl: string, cols = 80, rows = 24): Promise<Console> {
  const socket = `rl-embeddings-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const session = "console";
  const tmux = (...args: string[]) => run(["tmux", "-L", socket, ...args]);
  const screen = async () => (await tmux("capture-pane", "-p", "-t", session)).stdout;
  const cmd = `cd ${repoRoot} && BACKEND_URL=${backendUrl} exec ${process.execPath} run tui`;
  const r = await tmux("new-session", "-d", "-s", session, "-x", String(cols), "-y", String(rows), cmd);
  if (r.code !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  return {
    async showing(what, needles, timeoutMs = 20_000) {
      let last = "";
      try {
        return await eventually(
          what,
          async () => {
            last = await screen();
            return needles.every((n) => (typeof n === "string" ? last.includes(n) : n.test(last)))
              ? last
              : undefined;
          },
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- screen ---\n${last}`);
      }
    },
    async key(k) {
      await tmux("send-keys", "-t", session, k);
      await Bun.sleep(150); // a bare Esc followed at once by a key reads as Alt+key
    },
    async type(text) {
      await tmux("send-keys", "-t", session, "-l", text);
    },
    running: async () => (await tmux("has-session", "-t", session)).code === 0,
    async close() {
      await tmux("kill-server");
    },
  };
}
