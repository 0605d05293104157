import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";

setDefaultTimeout(120_000);

const worker = join(import.meta.dir, "..", "..", "pipeline", "workers", "infermesh.ts");

function spawnWorker(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, worker, ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Reads stdout until `pattern` matches (→ the match) or the stream ends (→ throws with what was read). */
async function readUntil(
  proc: Subprocess<"ignore", "pipe", "pipe">,
  pattern: RegExp,
): Promise<RegExpExecArray> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const m = pattern.exec(text);
      if (m) return m;
      const { done, value } = await reader.read();
      if (done) throw new Error(`stdout ended without ${pattern}: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
}

async function output(proc: Subprocess<"ignore", "pipe", "pipe">) {
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

describe("infermesh worker process", () => {
  test("--help shows usage and every variable it reads", async () => {
    const { stdout, code } = await output(spawnWorker(["--help"]));
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: bun pipeline/workers/infermesh.ts");
    for (const name of [
      "INFERMESH_HOST",
      "INFERMESH_PORT",
      "INFERMESH_MODELS",
      "INFERMESH_API_KEY",
      "INFERMESH_MAX_INPUTS",
      "INFERMESH_MAX_BODY_BYTES",
      "INFERMESH_MAX_TEXT_CHARS",
      "INFERMESH_PROCESSES",
      "INFERMESH_THREADS",
      "INFERMESH_MAX_BATCH",
      "INFERMESH_MAX_BATCH_TOKENS",
      "EMBED_CACHE_DIR",
    ]) {
      expect(stdout).toContain(name);
    }
  });

  test("serves, logs one line when listening, and stops cleanly on SIGTERM", async () => {
    const proc = spawnWorker([], {
      INFERMESH_PORT: "0",
      INFERMESH_MODELS: "hash-32,hash-16",
      INFERMESH_API_KEY: "",
    });
    const stderr = new Response(proc.stderr).text();
    try {
      const m = await readUntil(
        proc,
        /infermesh listening on (http:\/\/127\.0\.0\.1:(\d+)) \(models: hash-32, hash-16;.*\)\n/,
      );
      const url = m[1] as string;
      const health = (await (await fetch(`${url}/health`)).json()) as { models: string[] };
      expect(health.models).toEqual(["hash-32", "hash-16"]);
      const res = await fetch(`${url}/embed`, {
        method: "POST",
        body: JSON.stringify({ inputs: ["a", "b"] }),
      });
      expect(((await res.json()) as { vectors: number[][] }).vectors.map((v) => v.length)).toEqual([32, 32]);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(await stderr).toContain("SIGTERM: finishing in-flight requests and stopping");
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("INFERMESH_PROCESSES=3: three processes share the port; SIGTERM or SIGKILL of the first stops all", async () => {
    const pids = (text: string) => [...text.matchAll(/process (\d+)\) listening/g)].map((m) => Number(m[1]));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const proc = spawnWorker([], {
        INFERMESH_PORT: "0",
        INFERMESH_MODELS: "hash-16",
        INFERMESH_PROCESSES: "3",
      });
      try {
        const m = await readUntil(
          proc,
          /infermesh listening on (http:\/\/127\.0\.0\.1:\d+) .*3 processes on this port/,
        );
        const url = m[1] as string;
        const siblings = pids((await readUntil(proc, /(process \d+\) listening[\s\S]*){2}/))[0]);
        expect(siblings).toHaveLength(2);
        const served = new Set<number>();
        for (let i = 0; i < 60 && served.size < 2; i++) {
          // A new connection each time: the kernel picks the process per connection.
          const res = await fetch(`${url}/metrics`, { headers: { connection: "close" }, keepalive: false });
          const r = (await res.json()) as { started_ts: number };
          served.add(r.started_ts);
        }
        expect(served.size).toBeGreaterThanOrEqual(2); // answered by more than one process
        proc.kill(signal);
        await proc.exited;
        const deadline = Date.now() + 10_000;
        while (siblings.some(alive) && Date.now() < deadline) await Bun.sleep(50);
        expect(siblings.filter(alive)).toEqual([]);
      } finally {
        proc.kill("SIGKILL");
      }
    }
  });

  test("an unknown model fails at once, listing what is available", async () => {
    const { code, stderr } = await output(
      spawnWorker([], { INFERMESH_PORT: "0", INFERMESH_MODELS: "minilm" }),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /INFERMESH_MODELS: unknown model "minilm"; available: sentence-transformers\/all-MiniLM-L6-v2, sentence-transformers\/all-MiniLM-L6-v2-int8, glove-100d-sif, hash-<dim>/,
    );
  });

  test("a busy port fails at once with exit code 1", async () => {
    const busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    try {
      const { code, stderr } = await output(
        spawnWorker([], { INFERMESH_PORT: String(busy.port), INFERMESH_MODELS: "hash-16" }),
      );
      expect(code).toBe(1);
      expect(stderr).toContain("infermesh: cannot start:");
    } finally {
      busy.stop(true);
    }
  });

  test("--prepare builds or confirms the model cache and exits", async () => {
    const { code, stderr } = await output(spawnWorker(["--prepare"], { INFERMESH_MODELS: "glove-100d-sif" }));
    expect(code).toBe(0);
    expect(stderr).toMatch(/infermesh: (built|up to date:) .*glove-100d-v1\.bin/);
  });
});
