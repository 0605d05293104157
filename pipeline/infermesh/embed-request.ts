/**
 * Reading and validating embedding requests within the server's limits, in the three
 * protocols the server answers: its own `POST /embed`, Hugging Face TEI's and OpenAI's.
 */
import { HttpError, parseJsonObject } from "../core/http-edge.ts";

export interface EmbedLimits {
  maxInputs: number;
  maxBodyBytes: number;
  maxTextChars: number;
}

export interface EmbedRequest {
  /** Undefined when the body names no model (the server then uses its first). */
  model: string | undefined;
  inputs: string[];
}

export { readBodyLimited } from "../core/http-edge.ts";

/** 413 for more than `maxInputs` texts, 400 for a non-string or a text over `maxTextChars`. */
function checkTexts(texts: unknown[], limits: EmbedLimits, field: string): string[] {
  if (texts.length > limits.maxInputs) {
    throw new HttpError(413, `${texts.length} inputs exceed the limit of ${limits.maxInputs} per request`, {
      max_inputs: limits.maxInputs,
    });
  }
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (typeof t !== "string") {
      throw new HttpError(400, `${field}[${i}] must be a string, got ${t === null ? "null" : typeof t}`, {
        index: i,
      });
    }
    if (t.length > limits.maxTextChars) {
      throw new HttpError(
        400,
        `${field}[${i}] has ${t.length} characters, more than ${limits.maxTextChars}`,
        {
          index: i,
          max_text_chars: limits.maxTextChars,
        },
      );
    }
  }
  return texts as string[];
}

function optionalModel(model: unknown): string | undefined {
  if (model !== undefined && model !== null && typeof model !== "string") {
    throw new HttpError(400, '"model" must be a string');
  }
  return typeof model === "string" ? model : undefined;
}

/**
 * Parses `{model?, inputs: string[]}` (or `{model?, input: string}` for one text) and checks
 * the limits: 400 for malformed JSON or shapes (naming the offending index), 413 for more
 * than `maxInputs` inputs, 400 for a text longer than `maxTextChars` UTF-16 code units.
 */
export function parseEmbedRequest(body: Uint8Array, limits: EmbedLimits): EmbedRequest {
  const { model, inputs, input } = parseJsonObject(
    body,
    'a JSON object {"model": string, "inputs": string[]}',
  );
  const name = optionalModel(model);
  let texts: unknown[];
  if (Array.isArray(inputs)) texts = inputs;
  else if (inputs === undefined && typeof input === "string") texts = [input];
  else throw new HttpError(400, '"inputs" must be an array of strings');
  return { model: name, inputs: checkTexts(texts, limits, "inputs") };
}

/**
 * Hugging Face text-embeddings-inference's `POST /embed`: `{inputs: string | string[],
 * normalize?, truncate?, ...}`, no model (the server's default model answers). Vectors are
 * always unit length and long inputs always truncated to the model's window, so `normalize:
 * false` and `truncate: false` are refused rather than ignored.
 */
export function parseTeiRequest(body: Uint8Array, limits: EmbedLimits): EmbedRequest {
  const o = parseJsonObject(body, 'a JSON object {"inputs": string | string[]}');
  if (o.normalize === false)
    throw new HttpError(400, '"normalize": false is not supported: vectors are unit length');
  if (o.truncate === false)
    throw new HttpError(400, '"truncate": false is not supported: inputs are truncated');
  const texts = typeof o.inputs === "string" ? [o.inputs] : o.inputs;
  if (!Array.isArray(texts)) throw new HttpError(400, '"inputs" must be a string or an array of strings');
  return { model: optionalModel(o.model), inputs: checkTexts(texts, limits, "inputs") };
}

export interface OpenAiEmbedRequest {
  model: string;
  inputs: string[];
  encoding: "float" | "base64";
  /** Whether `input` was one string (the answer is the same list of one either way). */
  single: boolean;
}

/**
 * OpenAI's `POST /v1/embeddings`: `{input: string | string[], model, encoding_format?:
 * "float" | "base64", dimensions?, user?}`. Token-id inputs and `dimensions` other than the
 * model's are refused (400).
 */
export function parseOpenAiRequest(
  body: Uint8Array,
  limits: EmbedLimits,
): OpenAiEmbedRequest & { dimensions?: number } {
  const o = parseJsonObject(body, 'a JSON object {"input": string | string[], "model": string}');
  if (typeof o.model !== "string" || !o.model) throw new HttpError(400, '"model" must be a non-empty string');
  const encoding = o.encoding_format ?? "float";
  if (encoding !== "float" && encoding !== "base64") {
    throw new HttpError(400, '"encoding_format" must be "float" or "base64"');
  }
  const single = typeof o.input === "string";
  const texts = single ? [o.input] : o.input;
  if (!Array.isArray(texts)) throw new HttpError(400, '"input" must be a string or an array of strings');
  if (texts.some((t) => typeof t === "number" || Array.isArray(t))) {
    throw new HttpError(400, '"input" as token ids is not supported: send text');
  }
  const dimensions = o.dimensions;
  if (
    dimensions !== undefined &&
    dimensions !== null &&
    (typeof dimensions !== "number" || !Number.isInteger(dimensions))
  ) {
    throw new HttpError(400, '"dimensions" must be an integer');
  }
  return {
    model: o.model,
    inputs: checkTexts(texts, limits, "input"),
    encoding,
    single,
    ...(typeof dimensions === "number" ? { dimensions } : {}),
  };
}
