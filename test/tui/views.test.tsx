/**
 * Every view rendered by the whole app from the recorded fixtures (expected figures come
 * from the same files, see expected.ts), plus empty and down states.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { preview } from "../../tui/dlq-entry.ts";
import { bytes, clock, count, ms, rate } from "../../tui/format.ts";
import { dlq, last, metrics, shards } from "./expected.ts";
import { fixture, type Harness, renderConsole, streamFixture } from "./helpers.tsx";

const REPLAY = "no records yet — replay a fixture: bun run replay fixtures/agent-results.jsonl";
let h: Harness | undefined;
afterEach(() => {
  h?.unmount();
  h = undefined;
});

async function live(): Promise<Harness> {
  h = await renderConsole();
  h.replayStreams();
  await h.waitFor((f) => f.includes("● connected"), "connected");
  return h;
}

async function view(key: string, expectText: string): Promise<string> {
  if (!h) throw new Error("no console");
  await h.press(key);
  return h.waitFor((f) => f.includes(expectText), expectText);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("views from the recorded fixtures", () => {
  test("1 Overview: health, throughput, lag, records, DLQ, quick search", async () => {
    await live();
    const f = await view("1", "Throughput");
    const [parse, embed, indexer] = [metrics("parse"), metrics("embed-worker"), metrics("indexer")];
    const im = last("infermesh");
    expect(f).toContain("● Kafka        via workers (3/3 ok)");
    expect(f).toContain("● Redis        via workers (2/2 ok)");
    expect(f).toContain(`● InferMesh    healthy · ${im.rtt_ms?.toFixed(1)} ms`);
    expect(f).toMatch(/● backend +ok · \d+ ms/);
    const spark = last("spark");
    expect(f).toContain(
      spark.status === "running" ? `● Spark        running · ${spark.executors.length} exec` : "Spark",
    );
    expect(f).toMatch(
      new RegExp(`Throughput +[▁▂▃▄▅▆▇█]+ ${esc(rate(embed.rates.records_out_per_sec))} embedded`),
    );
    const lag = (v: unknown) => (typeof v === "number" ? count(v) : "n/a");
    expect(f).toContain(
      `Lag         parse ${lag(parse.lag)} · embed-worker ${lag(embed.lag)} · indexer ${lag(indexer.lag)}`,
    );
    expect(f).toContain(
      `parsed ${count(parse.records_out)} · embedded ${count(embed.records_out)} · indexed ${count(indexer.indexed ?? indexer.records_out)}`,
    );
    const total = [parse, embed, indexer].reduce((s, m) => s + Number(m.dlq_records), 0);
    expect(f).toContain(`DLQ         ${count(total)} records`);
    expect(f).toContain("kNN / press / to search");
  });

  test("2 Spark: application, cores and memory, jobs, rate charts, executors", async () => {
    await live();
    const s = last("spark");
    if (s.status !== "running") throw new Error("spark.stream.jsonl must hold a running application");
    const f = await view("2", "executor");
    expect(f).toContain(`app ${s.applicationName} (${s.applicationId})`);
    expect(f).toMatch(
      new RegExp(
        `cores ${s.cluster.cores_total} · memory [█░▏▎▍▌▋▊▉]+ ${esc(bytes(s.cluster.memory_used))} / ${esc(bytes(s.cluster.memory_max))} · executors ${s.executors.length}`,
      ),
    );
    expect(f).toContain(`jobs ${s.jobs.length}`);
    expect(f).toContain(`stages ${s.stages} · batch ${ms(s.streaming.batch_duration_ms)}`);
    expect(f).toContain(`input rows/s  ${rate(s.streaming.input_rate)}`);
    expect(f).toContain(`processing rows/s  ${rate(s.streaming.processing_rate)}`);
    for (const e of s.executors.slice(0, 5)) {
      const row = f.split("\n").find((l) => l.startsWith(`${e.id} `) && l.includes(e.hostPort.slice(0, 8)));
      expect(row, `executor ${e.id}`).toBeDefined();
      expect(row).toContain(` ${count(e.totalCores)} `);
    }
  });

  test("3 Vectorizer: parse in/out, drops by reason, Parquet charts and folders", async () => {
    await live();
    const f = await view("3", "Parquet rows/s");
    const p = metrics("parse");
    const v = last("vectorizer");
    expect(f).toContain(
      `parse in ${rate(p.rates.records_in_per_sec)} · out ${rate(p.rates.records_out_per_sec)} · records ${count(p.records_in)} → ${count(p.records_out)}`,
    );
    expect(f).toContain(`drops (DLQ) ${count(p.dlq_records)}: `);
    for (const [reason, n] of Object.entries(p.dlq_by_reason as Record<string, number>)) {
      if (n > 0) expect(f).toContain(`${reason} ${count(n)}`);
    }
    expect(f).toContain(`Parquet rows/s  ${rate(v.rate_rows_per_sec)}`);
    if (v.stats.enabled && !v.stats.error) {
      expect(f).toContain(`Parquet files ${count(v.stats.files)} · rows ${count(v.stats.rows_est)}`);
    }
    for (const [name, folder] of Object.entries(v.folders).slice(0, 4)) {
      if (!folder.enabled) continue;
      expect(f).toMatch(new RegExp(`${esc(name)} +${count(folder.files)} +${esc(count(folder.rows_est))}`));
    }
  });

  test("4 Embed: rates, InferMesh, cache, Parquet, DLQ by reason, charts", async () => {
    await live();
    const f = await view("4", "InferMesh round trip");
    const m = metrics("embed-worker");
    expect(f).toContain(`in ${rate(m.rates.records_in_per_sec)} · out ${rate(m.rates.records_out_per_sec)}`);
    expect(f).toContain(
      `InferMesh rtt ${ms(m.last_infermesh_rtt_ms)} · calls ${count(m.total_infermesh_calls)} · failures ${count(m.infermesh_failures)}`,
    );
    expect(f).toMatch(/cache hit (\d+(\.\d)?%|–) now, (\d+(\.\d)?%|–) total/);
    expect(f).toContain(`model ${m.model}`);
    expect(f).toContain(`DLQ ${count(m.dlq_records)}: `);
    expect(f).toContain(`records in/s  ${rate(m.rates.records_in_per_sec)}`);
  });

  test("5 Index: totals, dims, memory, indexer, shard table with bars", async () => {
    await live();
    const f = await view("5", "sample doc_ids");
    const s = shards();
    const idx = metrics("indexer");
    expect(f).toContain(
      `ids ${count(s.total_ids)} · shards ${count(s.nonempty)}/${s.shards.length} non-empty`,
    );
    for (const [model, dim] of Object.entries(s.dims_by_model)) expect(f).toContain(`${model}:${dim}`);
    expect(f).toContain(`memory: index ${bytes(s.memory.index_bytes)}`);
    expect(f).toContain(`indexer in ${rate(idx.rates.records_in_per_sec)} · indexed ${count(idx.indexed)}`);
    const biggest = s.shards.reduce((a, b) => (b.count > a.count ? b : a));
    if (biggest.id < 10) expect(f).toMatch(new RegExp(` +${biggest.id} +${esc(count(biggest.count))} █+ `));
    await h?.press("\u001b[6~", "\u001b[6~", "\u001b[6~");
    const lastShard = s.shards[s.shards.length - 1];
    await h?.waitFor(
      (x) => x.includes(` ${lastShard?.id} `) && x.includes(count(lastShard?.count)),
      "last shard",
    );
  });

  test("6 DLQ: newest entries with time, stage, reason, doc_id, preview; control bytes never reach the terminal", async () => {
    await live();
    const d = dlq();
    const f = await view("6", "preview");
    expect(f).toContain(`DLQ: ${d.items.length} newest entries`);
    for (const e of d.items.slice(0, 10)) {
      const time = clock(Number(e.ts) * 1000);
      const row = f
        .split("\n")
        .find(
          (l) =>
            l.startsWith(time) &&
            l.includes(` ${e.stage} `) &&
            l.includes(` ${e.reason} `) &&
            l.includes(preview(e).slice(0, 10)),
        );
      expect(row, `${time} ${e.stage} ${e.reason} ${preview(e).slice(0, 10)}`).toBeDefined();
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for raw escape bytes
    expect(f).not.toMatch(/\u001b/);
  });

  test("7 kNN: the prompt and its syntax before any query", async () => {
    await live();
    const f = await view("7", "no query yet");
    expect(f).toContain("free text, doc:<id> or @path/to/vector.json");
    expect(f).toContain("k=5 (+/-)");
  });
});

describe("the backend cannot read Redis", () => {
  test("5 Index keeps the last figures, marked stale, with the backend's reason", async () => {
    await live();
    await view("5", "sample doc_ids");
    const error = "Redis is unavailable for shard statistics (connection reconnecting)";
    h?.transport.respond("/api/knn/shards", { error }, 503);
    h?.scheduler.advance(10_000);
    const f = await (h as Harness).waitFor((x) => x.includes("stale: shard statistics failing"), "stale");
    expect(f).toContain(`HTTP 503: ${error}`);
    expect(f).toContain(`ids ${count(shards().total_ids)}`); // the last figures, not zeros
  });
});

describe("an index with the int8 prefilter", () => {
  test("5 Index shows the bytes per vector (float32 row + int8 copy) when the backend reports them", async () => {
    await live();
    let f = await view("5", "sample doc_ids");
    expect(f).not.toContain("per vector");
    const s = fixture("shards.json") as { memory: Record<string, number> };
    h?.transport.respond("/api/knn/shards", { ...s, memory: { ...s.memory, bytes_per_vector: 1936 } });
    h?.scheduler.advance(10_000);
    f = await (h as Harness).waitFor((x) => x.includes("per vector"), "bytes per vector");
    expect(f).toContain(`per vector ${bytes(1936)}`);
  });
});

describe("empty states explain themselves", () => {
  test("no records yet: the replay hint on the Overview, Embed and Index", async () => {
    h = await renderConsole({
      setup: (t) => {
        t.respond("/api/knn/shards", fixture("shards.empty.json"));
        t.respond("/api/embed-worker/dlq", fixture("dlq.empty.json"));
      },
    });
    for (const s of ["parse", "embed-worker", "indexer"] as const) {
      const e = JSON.parse(streamFixture(s)[0] as string);
      for (const k of ["records_in", "records_out", "batches", "dlq_records", "indexed"]) {
        if (k in e.metrics) e.metrics[k] = 0;
      }
      e.metrics.dlq_by_reason = {};
      h.transport.emit(s, e);
    }
    h.scheduler.advance(3000);
    let f = await h.waitFor((x) => x.includes(REPLAY), "replay hint on the Overview");
    expect(f).toContain("Records     none yet");
    f = await view("4", REPLAY);
    f = await view("5", "the index is empty");
    expect(f).toContain(`the index is empty\n${REPLAY}`);
    f = await view("6", "the DLQ is empty");
    expect(f).toContain("DLQ: 0 newest entries");
  });

  test("Spark with no application says it is not running", async () => {
    h = await renderConsole({ view: "spark" });
    h.transport.emit("spark", fixture("spark.no-application.json"));
    const f = await h.waitFor((x) => x.includes("not running"), "not running");
    expect(f).toContain("Spark: not running — no application is running on the Spark UI");
    expect(f).toMatch(/applications listed: \d+ \(none running\)/);
  });
});

describe("down states", () => {
  test("backend down from the start: disconnected since HH:MM:SS, every view explains, then it reconnects", async () => {
    h = await renderConsole({
      setup: (t) => {
        t.down = true;
      },
    });
    let f = await h.waitFor((x) => x.includes("disconnected since"), "disconnected");
    expect(f).toMatch(
      /✕ disconnected since \d\d:\d\d:\d\d · retry in \d+s — http:\/\/127\.0\.0\.1:8080: Unable to/,
    );
    expect(f).toContain("○ Kafka        no worker reporting");
    expect(f).toMatch(/○ parse +no data since \d\d:\d\d:\d\d/);
    expect(f).toMatch(/✕ backend +down since \d\d:\d\d:\d\d\n/);
    const explanations: [string, string][] = [
      ["2", "no data from the spark stream"],
      ["3", "parse: no data, stream down since"],
      ["4", "embed-worker: no data, stream down since"],
      ["5", "shard statistics unavailable: Unable to connect"],
      ["6", "DLQ tail unavailable: Unable to connect"],
    ];
    for (const [key, text] of explanations) {
      f = await view(key, text);
      expect(f).toContain("disconnected since");
    }
    // The backend comes back: streams reopen after their backoff and data flows again.
    h.transport.down = false;
    h.scheduler.advance(60_000);
    await new Promise((r) => setTimeout(r, 0));
    h.replayStreams();
    await h.press("1");
    f = await h.waitFor((x) => x.includes("● connected to http://127.0.0.1:8080"), "reconnected");
    expect(f).toContain("● Kafka        via workers (3/3 ok)");
  });

  test("a worker that goes away shows down since, and its last data is not presented as live", async () => {
    await live();
    h?.transport.emit("embed-worker", fixture("embed-worker.unreachable.json"));
    h?.scheduler.advance(3000);
    let f = await (h as Harness).waitFor(
      (x) => /✕ embed-worker down since \d\d:\d\d:\d\d/.test(x) && x.includes("embedded –"),
      "embed-worker down",
    );
    // The sparkline keeps its history; the figure says the worker is not reporting.
    expect(f).toMatch(/Throughput +[▁▂▃▄▅▆▇█]* ?– \(embed-worker not reporting\)/);
    expect(f).toMatch(/Lag +parse \S+ · embed-worker – · indexer/);
    expect(f).toContain("● Kafka        via workers (2/3 ok)");
    f = await view("4", "embed-worker unreachable since");
  });

  test("Spark unreachable while parse runs on Bun: not in use, in a neutral colour, no ✕", async () => {
    await live(); // the recorded parse stream is the Bun worker's
    h?.transport.emit("spark", fixture("spark.unreachable.json"));
    h?.scheduler.advance(3000);
    let f = await (h as Harness).waitFor((x) => x.includes("Spark        not in use"), "Spark not in use");
    expect(f).toContain("– Spark        not in use (Bun parse)");
    expect(f).not.toMatch(/✕ Spark/);
    f = await view("2", "Spark: not in use (Bun parse)");
    expect(f).toContain("The parse stage runs on the Bun worker; `npm run up -- --spark`");
    expect(f).not.toContain("Spark unreachable");
  });

  test("Spark unreachable and InferMesh unreachable are shown as down", async () => {
    await live();
    // Parse says it runs on Spark, so Spark should be there.
    const parse = JSON.parse(streamFixture("parse").at(-1) as string) as { metrics: Record<string, unknown> };
    h?.transport.emit("parse", { ...parse, metrics: { ...parse.metrics, engine: "spark" } });
    h?.transport.emit("spark", fixture("spark.unreachable.json"));
    h?.transport.emit("infermesh", fixture("infermesh.unreachable.json"));
    h?.scheduler.advance(3000);
    let f = await (h as Harness).waitFor(
      (x) => x.includes("✕ Spark        down since") && x.includes("✕ InferMesh    down since"),
      "spark and InferMesh down",
    );
    expect(f).toMatch(/✕ InferMesh +down since \d\d:\d\d:\d\d/);
    f = await view("2", "Spark unreachable since");
    expect(f).toContain(
      `error: ${(fixture("spark.unreachable.json") as { error: string }).error.slice(0, 40)}`,
    );
  });

  test("a paused embed worker is degraded, with its outage start", async () => {
    await live();
    h?.transport.emit("embed-worker", fixture("embed-worker.paused.json"));
    h?.scheduler.advance(3000);
    const since = (fixture("embed-worker.paused.json") as { metrics: { outage_since: number } }).metrics
      .outage_since;
    await (h as Harness).waitFor(
      (x) => x.includes(`◐ embed-worker paused since ${clock(since * 1000)}`),
      "paused",
    );
    const g = await view("4", "paused: outage");
    expect(g).toContain("nothing is dropped");
  });
});
