/**
 * An in-process stand-in for the backend's kNN API (Bun.serve on a free port) for the RL
 * library's unit tests: answers `POST /api/knn/query` by an exact cosine scan over given
 * documents, applying `filter` the way the engine does (labels, topic, success; arrays = any),
 * and records every request body.
 */
import type { Labels, LabelValue } from "../../pipeline/contracts/extract.ts";
import type { KnnResult, Neighbor } from "../../pipeline/contracts/knn.ts";
import { cosineSimilarity } from "../../pipeline/rl/vectors.ts";

export interface FakeDoc {
  doc_id: string;
  vector: number[];
  text?: string;
  labels?: Labels;
  success?: boolean | null;
}

export interface FakeBackend {
  url: string;
  requests: Record<string, unknown>[];
  /** Embeds a `text` query: the vector of the document whose text it equals, or of `texts`. */
  texts: Map<string, number[]>;
  stop(): void;
}

function matches(doc: FakeDoc, filter: Record<string, LabelValue | LabelValue[]> | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([k, want]) => {
    const have = k === "success" ? (doc.success ?? null) : k === "topic" ? "agent.results" : doc.labels?.[k];
    return (Array.isArray(want) ? want : [want]).some((w) => w === have);
  });
}

export function fakeBackend(docs: FakeDoc[], extra?: (req: Request) => Response | undefined): FakeBackend {
  const requests: Record<string, unknown>[] = [];
  const texts = new Map<string, number[]>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const special = extra?.(req);
      if (special) return special;
      const url = new URL(req.url);
      if (url.pathname === "/health") return Response.json({ status: "ok", timestamp: Date.now() / 1000 });
      if (url.pathname !== "/api/knn/query" || req.method !== "POST")
        return Response.json({ error: "no such endpoint" }, { status: 404 });
      const body = (await req.json()) as Record<string, unknown>;
      requests.push(body);
      let q = body.vector as number[] | undefined;
      if (typeof body.text === "string")
        q = texts.get(body.text) ?? docs.find((d) => d.text === body.text)?.vector;
      if (typeof body.doc_id === "string") q = docs.find((d) => d.doc_id === body.doc_id)?.vector;
      if (!q) return Response.json({ error: "nothing to query by" }, { status: 400 });
      const k = typeof body.k === "number" ? body.k : 5;
      const filter = body.filter as Record<string, LabelValue | LabelValue[]> | undefined;
      const neighbors: Neighbor[] = docs
        .filter((d) => d.doc_id !== body.doc_id && matches(d, filter))
        .map((d) => ({
          doc_id: d.doc_id,
          score: cosineSimilarity(q as number[], d.vector),
          model: "fake",
          topic: "agent.results",
          text: d.text ?? d.doc_id,
          labels: d.labels ?? {},
          success: d.success ?? null,
        }))
        .sort((a, b) => b.score - a.score || a.doc_id.localeCompare(b.doc_id))
        .slice(0, k);
      const res: KnnResult = { neighbors, count_scored: docs.length, took_ms: 0.1, model: "fake" };
      return Response.json(res);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, requests, texts, stop: () => server.stop(true) };
}

/** A URL where nothing listens (a server started on a free port and stopped). */
export function closedUrl(): string {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const url = `http://127.0.0.1:${s.port}`;
  s.stop(true);
  return url;
}
