import { connect } from "node:net";

/** True for addresses that name this machine (managed locally when nothing answers there). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Resolves true when a TCP connection to host:port opens within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * A free TCP port on 127.0.0.1. With `pair`, the next port is free too (Kafka's controller);
 * with a number n, the n consecutive ports from it (a Kafka cluster's client and controller ports).
 */
export function freePort(pair: boolean | number = false): number {
  const span = pair === true ? 2 : pair === false ? 1 : pair;
  for (let attempt = 0; attempt < 50; attempt++) {
    const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = s.port;
    s.stop(true);
    if (port + span - 1 > 65535) continue;
    try {
      for (let i = 1; i < span; i++) {
        Bun.listen({ hostname: "127.0.0.1", port: port + i, socket: { data() {} } }).stop(true);
      }
      return port;
    } catch {}
  }
  throw new Error("no free port found");
}
