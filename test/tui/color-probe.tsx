/**
 * Run by color.test.ts in a child process (colour support is decided when chalk loads, so
 * FORCE_COLOR / NO_COLOR must be set before): renders every view from the fixtures with the
 * colour setting `tui/config.ts` derives from the environment, and prints the frames as JSON.
 */
import { parseConfig } from "../../tui/config.ts";
import { KEYS, renderConsole } from "./helpers.tsx";

const cfg = parseConfig([], process.env, process.cwd());
if (cfg === "help") throw new Error("unexpected");
const h = await renderConsole({ color: cfg.color });
h.replayStreams();
await h.waitFor((f) => f.includes("connected"), "connected");
const frames: string[] = [];
const settled: [string, string][] = [
  ["1", "Throughput"],
  ["2", "executor"],
  ["3", "Parquet rows/s"],
  ["4", "InferMesh round trip"],
  ["6", "preview"],
  ["7", "no query yet"],
  ["?", "Keys — Esc or ? closes"],
];
for (const [key, text] of settled) {
  await h.press(key);
  frames.push(await h.waitFor((f) => f.includes(text), text));
  if (key === "?") await h.press(KEYS.escape);
}
h.unmount();
process.stdout.write(JSON.stringify(frames));
process.exit(0);
