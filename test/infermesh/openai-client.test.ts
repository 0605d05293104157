/**
 * InferMesh's OpenAI endpoint with the real `openai` Python package (from PyPI) pointed at the
 * InferMesh worker process, serving the default model.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cosine } from "../../pipeline/models/embedder.ts";
import { MINILM_MODEL } from "../../pipeline/models/registry.ts";
import { OPENAI_PY, pythonWith } from "../helpers/python-client.ts";
import { repoRoot, run } from "../helpers/run.ts";
import { startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(300_000); // the first run installs the openai package

const reference = JSON.parse(readFileSync(join(repoRoot, "fixtures", "minilm-reference.json"), "utf8")) as {
  sentences: string[];
  vectors: number[][];
};

const SCRIPT = `
import json, sys, openai
client = openai.OpenAI(base_url=sys.argv[1], api_key="k3y", max_retries=0)
texts = json.loads(sys.argv[3])
default = client.embeddings.create(model=sys.argv[2], input=texts)
floats = client.embeddings.create(model=sys.argv[2], input=texts[0], encoding_format="float")
try:
    client.embeddings.create(model="text-embedding-3-small", input="x")
    missing = None
except openai.NotFoundError as e:
    missing = e.status_code
try:
    openai.OpenAI(base_url=sys.argv[1], api_key="wrong", max_retries=0).embeddings.create(model=sys.argv[2], input="x")
    unauthorized = None
except openai.AuthenticationError as e:
    unauthorized = e.status_code
print(json.dumps({
    "version": openai.__version__,
    "model": default.model,
    "vectors": [d.embedding for d in default.data],
    "indexes": [d.index for d in default.data],
    "float": floats.data[0].embedding,
    "usage": default.usage.prompt_tokens,
    "models": [m.id for m in client.models.list()],
    "missing": missing,
    "unauthorized": unauthorized,
}))
`;

let infermesh: WorkerHandle;
let python: string;
beforeAll(async () => {
  [python, infermesh] = await Promise.all([
    pythonWith("openai", OPENAI_PY),
    startWorker(
      "infermesh",
      { INFERMESH_MODELS: `${MINILM_MODEL},hash-384`, INFERMESH_API_KEY: "k3y" },
      { portVar: "INFERMESH_PORT", timeoutSec: 240 },
    ),
  ]);
});
afterAll(() => infermesh?.stop());

describe("the openai Python client against InferMesh /v1", () => {
  test("embeddings.create gives sentence-transformers' vectors (default base64 and float)", async () => {
    const texts = reference.sentences.slice(0, 3);
    const r = await run([python, "-c", SCRIPT, `${infermesh.url}/v1`, MINILM_MODEL, JSON.stringify(texts)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      version: string;
      model: string;
      vectors: number[][];
      indexes: number[];
      float: number[];
      usage: number;
      models: string[];
      missing: number | null;
      unauthorized: number | null;
    };
    expect(out.version).toBe(OPENAI_PY.split("==")[1] as string);
    expect(out.model).toBe(MINILM_MODEL);
    expect(out.indexes).toEqual([0, 1, 2]);
    out.vectors.forEach((v, i) => {
      expect(v).toHaveLength(384);
      expect(1 - cosine(v, reference.vectors[i] as number[])).toBeLessThanOrEqual(1e-5);
    });
    expect(1 - cosine(out.float, reference.vectors[0] as number[])).toBeLessThanOrEqual(1e-5);
    expect(out.usage).toBe(10 + 11 + 10); // token ids of the three sentences, [CLS] and [SEP] included
    expect(out.models).toEqual([MINILM_MODEL, "hash-384"]);
    expect(out.missing).toBe(404);
    expect(out.unauthorized).toBe(401);
  });
});
