/**
 * The console in a real terminal: a private stack fed with fixtures, `bun run tui` inside an
 * 80×24 tmux pane, keys sent with send-keys and the screen read with capture-pane. Every view
 * must show live data, a free-text kNN query must return same-meaning neighbours, nothing may
 * overflow the pane, and `q` must quit.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { repoRoot, run } from "../helpers/run.ts";
import { type PrivateStack, startPrivateStack } from "../helpers/stack.ts";

setDefaultTimeout(180_000); // real Kafka, Redis, worker processes and a terminal

let s: TestScope;
let stack: PrivateStack;
const socket = `rl-embeddings-test-${process.pid}`;
const session = "console";
const tmux = (...args: string[]) => run(["tmux", "-L", socket, ...args]);

async function screen(): Promise<string> {
  return (await tmux("capture-pane", "-p", "-t", session)).stdout;
}

/** Waits until the screen contains every `needle`; returns it. */
async function showing(what: string, needles: (string | RegExp)[], timeoutMs = 20_000): Promise<string> {
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
}

function fitsPane(text: string): void {
  const lines = text.replace(/\n$/, "").split("\n");
  expect(lines.length).toBeLessThanOrEqual(24);
  for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
}

async function key(k: string): Promise<void> {
  await tmux("send-keys", "-t", session, k);
  await Bun.sleep(150); // a person's pace: a bare Esc followed at once by a key reads as Alt+key
}

beforeAll(async () => {
  s = await scope();
  stack = await startPrivateStack(s);
  for (const f of ["paraphrase-stream.jsonl", "malformed.jsonl"]) {
    await replayFixture({
      brokers: s.cfg.kafka.brokers,
      topic: stack.topics.src,
      records: readFixture(join(repoRoot, "fixtures", f)),
    });
  }
  await eventually(
    "60 indexed",
    async () => Number((await stack.workers.indexer.metrics()).indexed) >= 60,
    60_000,
  );
  const cmd = `cd ${repoRoot} && BACKEND_URL=${stack.workers.backend.url} exec ${process.execPath} run tui`;
  const r = await tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await tmux("kill-server");
  await stack?.stop();
  await s?.cleanup();
});

test("every view renders live data at 80×24, a kNN query finds neighbours, q quits", async () => {
  fitsPane(
    await showing("the overview", ["1 Overview", "connected to", /InferMesh\s+healthy/, /indexed [1-9]\d*/]),
  );
  await key("2");
  fitsPane(await showing("the Spark view", [/Spark unreachable since \d\d:\d\d:\d\d/]));
  await key("3");
  fitsPane(
    await showing("the vectorizer view", [/parse in .* records \d/, /drops \(DLQ\) \d+: .*empty_text/]),
  );
  await key("4");
  fitsPane(await showing("the embed view", ["model glove-100d-sif", /InferMesh rtt [\d.]+ ms/]));
  await key("5");
  fitsPane(await showing("the index view", [/ids \d+/, "glove-100d-sif:100"]));
  await key("6");
  fitsPane(await showing("the DLQ view", ["empty_text", "null_value"]));
  await key("Enter");
  fitsPane(await showing("a DLQ entry", ["DLQ entry", "reason", "source"]));
  await key("Escape");
  await key("7");
  await key("/");
  await tmux("send-keys", "-t", session, "-l", "all of the unit tests passed without failures");
  await key("Enter");
  const knn = await showing("kNN results", [/5 neighbours · \d+ scored/, "para-01-"]);
  fitsPane(knn);
  await key("?");
  fitsPane(await showing("the help overlay", ["Keys", "quit"]));
  await key("Escape");
  await key("q");
  await eventually(
    "the console to exit",
    async () => (await tmux("has-session", "-t", session)).code !== 0,
    10_000,
  );
});
