/**
 * The console in a real terminal: a private stack fed with fixtures, `bun run tui` inside an
 * 80×24 tmux pane, keys sent with send-keys and the screen read with capture-pane. Every view
 * must show live data, a free-text kNN query must return same-meaning neighbours, nothing may
 * overflow the pane, and `q` must quit.
 */
import { afterAll, beforeAll, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { repoRoot } from "../helpers/run.ts";
import { type PrivateStack, startPrivateStack } from "../helpers/stack.ts";
import { type Console, fitsPane, openConsole } from "../helpers/terminal.ts";

setDefaultTimeout(180_000); // real Kafka, Redis, worker processes and a terminal

let s: TestScope;
let stack: PrivateStack;
let tui: Console;

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
  tui = await openConsole(stack.workers.backend.url);
});

afterAll(async () => {
  await tui?.close();
  await stack?.stop();
  await s?.cleanup();
});

test("every view renders live data at 80×24, a kNN query finds neighbours, q quits", async () => {
  fitsPane(
    await tui.showing("the overview", [
      "1 Overview",
      "connected to",
      /InferMesh\s+healthy/,
      /indexed [1-9]\d*/,
    ]),
  );
  await tui.key("2");
  // parse runs on Bun here, so Spark is not in use (not a failure)
  fitsPane(await tui.showing("the Spark view", ["Spark: not in use (Bun parse)"]));
  await tui.key("3");
  fitsPane(
    await tui.showing("the vectorizer view", [/parse in .* records \d/, /drops \(DLQ\) \d+: .*empty_text/]),
  );
  await tui.key("4");
  fitsPane(await tui.showing("the embed view", ["model glove-100d-sif", /InferMesh rtt [\d.]+ ms/]));
  await tui.key("5");
  fitsPane(await tui.showing("the index view", [/ids \d+/, "glove-100d-sif:100"]));
  await tui.key("6");
  fitsPane(await tui.showing("the DLQ view", ["empty_text", "null_value"]));
  await tui.key("Enter");
  fitsPane(await tui.showing("a DLQ entry", ["DLQ entry", "reason", "source"]));
  await tui.key("Escape");
  await tui.key("7");
  await tui.key("/");
  await tui.type("all of the unit tests passed without failures");
  await tui.key("Enter");
  const knn = await tui.showing("kNN results", [/5 neighbours · \d+ scored/, "para-01-"]);
  fitsPane(knn);
  await tui.key("?");
  fitsPane(await tui.showing("the help overlay", ["Keys", "quit"]));
  await tui.key("Escape");
  await tui.key("q");
  await eventually("the console to exit", async () => !(await tui.running()), 10_000);
});
