/**
 * `bun tui/main.tsx` as a process: --help, refusals, and a real terminal session (a pseudo-
 * terminal from util-linux `script`) against a stand-in backend: it renders at 80×24 in the
 * alternate screen, switches views, and `q` exits 0 and restores the terminal.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeDlq, decodeKnn, decodeShards, WorkerDecoder } from "../../tui/sources/decode.ts";
import { last } from "./expected.ts";
import { type FakeBackend, startFakeBackend } from "./fake-backend.ts";
import { fixture, stripAnsi } from "./helpers.tsx";

const ROOT = join(import.meta.dir, "../..");
const MAIN = join(ROOT, "tui/main.tsx");
const bun = process.execPath;

function run(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([bun, MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("command line", () => {
  test("--help describes options, environment and keys", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const s of [
      "BACKEND_URL",
      "BACKEND_TOKEN",
      "TUI_SAVE_DIR",
      "NO_COLOR",
      "--backend",
      "q or Ctrl-C quit",
    ]) {
      expect(r.out).toContain(s);
    }
  });

  test("a bad BACKEND_URL or argument is refused naming it", () => {
    expect(run([], { BACKEND_URL: "not a url" })).toMatchObject({
      code: 2,
      err: "tui: BACKEND_URL is not a URL: not a url\n",
    });
    expect(run(["--backend", "ftp://x"]).err).toContain("--backend must be an http(s) URL");
    expect(run(["--frobnicate"]).err).toContain("unknown argument: --frobnicate");
  });

  test("without a terminal it says so instead of failing in raw mode", () => {
    const r = run([], { BACKEND_URL: "http://127.0.0.1:9" });
    expect(r.code).toBe(2);
    expect(r.err).toContain("needs an interactive terminal");
  });
});

const hasScript = Bun.spawnSync(["script", "--version"]).exitCode === 0;

describe.if(hasScript)("in a real terminal", () => {
  let backend: FakeBackend;
  beforeAll(() => {
    backend = startFakeBackend("tok3n");
  });
  afterAll(() => backend.stop());

  test("renders 80×24 in the alternate screen, switches views, q exits 0 and restores the terminal", async () => {
    const proc = Bun.spawn(["script", "-qfec", `stty cols 80 rows 24; exec ${bun} ${MAIN}`, "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, BACKEND_URL: backend.url, BACKEND_TOKEN: "tok3n", TERM: "xterm-256color" },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    let out = "";
    const reader = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout) out += dec.decode(chunk);
    })();
    const until = async (what: string, cond: () => boolean, ms = 8000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}; output tail:\n${stripAnsi(out).slice(-2000)}`);
        await Bun.sleep(20);
      }
    };
    try {
      await until("the first frame", () => stripAnsi(out).includes("● connected to"));
      expect(out).toContain("\u001b[?1049h");
      await until("data", () => stripAnsi(out).includes("via workers (3/3 ok)"));
      proc.stdin.write("2");
      const spark = last("spark");
      const app = spark.status === "running" ? String(spark.applicationName) : "no Spark application";
      await until("view 2", () => stripAnsi(out).includes(app));
      proc.stdin.write("q");
      const code = await Promise.race([proc.exited, Bun.sleep(5000).then(() => "timeout")]);
      expect(code).toBe(0);
      await reader;
      // Left the alternate screen and showed the cursor again.
      expect(out.lastIndexOf("\u001b[?1049l")).toBeGreaterThan(out.lastIndexOf("\u001b[?1049h"));
      expect(out).toContain("\u001b[?25h");
      expect(backend.requests.every((r) => r.auth === "Bearer tok3n")).toBe(true);
      expect(new Set(backend.requests.map((r) => r.path))).toContain("/api/spark/stream");
    } finally {
      proc.kill();
    }
  }, 20_000);
});

describe("record-tui", () => {
  let backend: FakeBackend;
  let out = "";
  beforeAll(async () => {
    // Spark is down during this recording: its stream file must not be replaced by that.
    backend = startFakeBackend("rec", 50, { spark: [JSON.stringify(fixture("spark.unreachable.json"))] });
    out = await mkdtemp(join(tmpdir(), "tui-rec-"));
  });
  afterAll(async () => {
    backend.stop();
    await rm(out, { recursive: true, force: true });
  });

  test("captures N events per stream and the JSON endpoints into files the tests can read", async () => {
    const r = Bun.spawn(
      [bun, join(ROOT, "scripts/record-tui.ts"), "--out", out, "--events", "3", "--timeout", "10"],
      {
        cwd: ROOT,
        env: { ...process.env, BACKEND_URL: backend.url, BACKEND_TOKEN: "rec" },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await r.exited).toBe(0);
    const files = (await readdir(out)).sort();
    for (const f of [
      "dlq.json",
      "embed-worker.stream.jsonl",
      "health.json",
      "indexer.stream.jsonl",
      "infermesh.stream.jsonl",
      "knn-query.doc.json",
      "knn-query.json",
      "parse.stream.jsonl",
      "shards.json",
      "spark.unreachable.json",
      "vectorizer.stream.jsonl",
    ]) {
      expect(files).toContain(f);
    }
    expect(files).not.toContain("spark.stream.jsonl");
    const read = async (f: string) => readFile(join(out, f), "utf8");
    const lines = (await read("embed-worker.stream.jsonl")).trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(new WorkerDecoder().decode(JSON.parse(lines[0] as string), 0).reachable).toBe(true);
    expect(decodeShards(JSON.parse(await read("shards.json"))).shards).toHaveLength(32);
    expect(decodeDlq(JSON.parse(await read("dlq.json"))).items).toEqual(decodeDlq(fixture("dlq.json")).items);
    expect(decodeKnn(JSON.parse(await read("knn-query.json"))).neighbors.length).toBeGreaterThan(0);
    const said = await new Response(r.stdout).text();
    // The stand-in answers 200 where the real backend answers 404: the script says so.
    expect(said).toContain("not recorded: knn-query.404.json kept: HTTP 200, expected 404");
    expect(said).toContain("not recorded: spark.stream.jsonl kept: the stream showed unreachable");
  }, 20_000);

  test("--help, and a clear failure when the backend does not answer", () => {
    const help = Bun.spawnSync([bun, join(ROOT, "scripts/record-tui.ts"), "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("Usage: bun scripts/record-tui.ts");
    const down = Bun.spawnSync([bun, join(ROOT, "scripts/record-tui.ts"), "--out", out], {
      env: { ...process.env, BACKEND_URL: "http://127.0.0.1:9" },
    });
    expect(down.exitCode).toBe(1);
    expect(down.stderr.toString()).toContain("the backend at http://127.0.0.1:9 did not answer");
  });
});
