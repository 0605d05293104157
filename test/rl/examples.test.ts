/**
 * The runnable examples of `pipeline/rl/examples/`: each answers --help, runs on a Parquet
 * folder as the embed worker writes it or against a backend, and says clearly what is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { axis, cleanup, row, tempDir, writeFile } from "../helpers/rl-data.ts";
import { closedUrl, type FakeBackend, fakeBackend } from "../helpers/rl-fake-backend.ts";

const EXAMPLES = ["context", "sampler", "reward", "curriculum", "skills", "telemetry"];
const dirOf = (name: string) => join(import.meta.dir, "..", "..", "pipeline", "rl", "examples", `${name}.ts`);

async function run(name: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, dirOf(name), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, BACKEND_URL: "", EMBED_PARQUET_DIR: "", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

let dir: string;
let be: FakeBackend;

beforeAll(async () => {
  dir = await tempDir("rl-examples");
  await writeFile(
    dir,
    Array.from({ length: 24 }, (_, i) =>
      row(`d${i}`, axis(8, i % 4, (i % 5) / 10), {
        status: i % 4 === 0 ? "failed" : "ok",
        agent: `a${i % 2}`,
      }),
    ),
  );
  be = fakeBackend([
    {
      doc_id: "good",
      vector: axis(8, 0),
      text: "fixed the import",
      success: true,
      labels: { agent: "coder", kind: "diff" },
    },
    {
      doc_id: "bad",
      vector: axis(8, 1),
      text: "the build broke",
      success: false,
      labels: { agent: "intern" },
    },
  ]);
  be.texts.set("import fixed", axis(8, 0, 0.2));
  be.texts.set("weather report", axis(8, 5));
});
afterAll(() => {
  be?.stop();
  cleanup();
});

describe("examples", () => {
  test("each answers --help (exit 0, a usage line)", async () => {
    const all = await Promise.all(EXAMPLES.map((e) => run(e, ["--help"])));
    all.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`usage: bun pipeline/rl/examples/${EXAMPLES[i]}.ts`);
    });
  });

  test("context, sampler and curriculum run on the folder; context ends when the files are read", async () => {
    const [ctx, attach, smp, cur] = await Promise.all([
      run("context", ["--batch", "10"], { EMBED_PARQUET_DIR: dir }),
      run("context", ["--dir", dir, "--attach", "--k", "2"]),
      run("sampler", ["--dir", dir, "--batch", "8", "--steps", "20"]),
      run("curriculum", ["--dir", dir, "--take", "3"]),
    ]);
    expect(ctx.code).toBe(0);
    expect(ctx.stdout).toContain("batch 1: 10 × 8 (test-model)");
    expect(ctx.stdout).toContain("done: 24 vectors in 1 files, 3 batches");
    expect(attach.stdout).toContain("reset: context 16 floats (2 × 8)");
    expect(smp.code).toBe(0);
    expect(smp.stdout).toContain("batch of 8: false 4, true 4");
    expect(smp.stdout).toMatch(/probe: balanced validation accuracy/);
    expect(cur.code).toBe(0);
    expect(cur.stdout.trim().split("\n")).toHaveLength(4);
  });

  test("reward and skills ask the backend", async () => {
    const [rw, sk] = await Promise.all([
      run("reward", ["--backend", be.url, "--k", "1", "import fixed", "weather report"]),
      run("skills", ["import fixed"], { BACKEND_URL: be.url }),
    ]);
    expect(rw.code).toBe(0);
    const [a, , b] = rw.stdout.split("\n");
    expect(Number(a?.split(" ")[0])).toBeGreaterThan(0.9);
    expect(b).toStartWith("0.000");
    expect(sk.code).toBe(0);
    expect(sk.stdout).toContain("good");
    expect(sk.stdout).toContain('agent: "coder" 1.00 (1)');
  });

  test("a missing folder or backend is one clear error (exit 1); telemetry reports the backend down", async () => {
    const gone = closedUrl();
    const [noDir, noBackend, tel, usage] = await Promise.all([
      run("sampler", ["--dir", join(dir, "missing")]),
      run("skills", ["--backend", gone, "anything"]),
      run("telemetry", ["--backend", gone]),
      run("reward", []),
    ]);
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toContain("no Parquet folder at");
    expect(noDir.stderr).toContain("EMBED_PARQUET_DIR");
    expect(noBackend.code).toBe(1);
    expect(noBackend.stderr).toContain("Is the backend running");
    expect(tel.code).toBe(0);
    expect(tel.stdout).toContain("load: outage → wait");
    expect(tel.stdout).toMatch(/backend +down: /);
    expect(usage.code).toBe(2);
  });
});
