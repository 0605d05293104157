/** `/health` and `/metrics` for a worker, on its own small Bun.serve. */
export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface StatusServerOptions {
  host: string;
  port: number;
  health: () => Promise<HealthReport>;
  metrics: () => Record<string, unknown>;
}

export function serveStatus(opts: StatusServerOptions) {
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    async fetch(req) {
      const { pathname } = new URL(req.url);
      if (req.method !== "GET") return Response.json({ error: "method not allowed" }, { status: 405 });
      if (pathname === "/health") {
        const h = await opts.health();
        return Response.json(
          { status: h.ok ? "ok" : "degraded", timestamp: Date.now() / 1000, checks: h.checks },
          { status: h.ok ? 200 : 503 },
        );
      }
      if (pathname === "/metrics") return Response.json(opts.metrics());
      return Response.json({ error: "not found", endpoints: ["/health", "/metrics"] }, { status: 404 });
    },
  });
}
