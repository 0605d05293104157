/**
 * A small seeded pseudo-random generator for the samplers, so that a seed gives the same
 * batches on every machine and run (Math.random cannot be seeded).
 */
import { createHash } from "node:crypto";

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: 32-bit state, period 2^32, uniform in [0, 1). Fast and good enough for
 * shuffling and weighted picks; not for cryptography. A string seed is hashed (sha256) first.
 */
export function seededRandom(seed: number | string): Random {
  let a =
    typeof seed === "number" && Number.isFinite(seed)
      ? seed >>> 0
      : createHash("sha256").update(String(seed)).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place (Fisher–Yates) with `random`; returns it. */
export function shuffleInPlace<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
  return items;
}

/**
 * A number in [0, 1) from a string, the same everywhere: the first 48 bits of
 * sha256(`salt` + "\0" + `key`). The samplers split train/validation by it.
 */
export function hashUnit(key: string, salt = ""): number {
  const d = createHash("sha256").update(`${salt}\0${key}`, "utf8").digest();
  return d.readUIntBE(0, 6) / 2 ** 48;
}
