/** Reading and validating `POST /embed` bodies within the server's limits. */
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
  if (model !== undefined && model !== null && typeof model !== "string") {
    throw new HttpError(400, '"model" must be a string');
  }
  let texts: unknown[];
  if (Array.isArray(inputs)) texts = inputs;
  else if (inputs === undefined && typeof input === "string") texts = [input];
  else throw new HttpError(400, '"inputs" must be an array of strings');
  if (texts.length > limits.maxInputs) {
    throw new HttpError(413, `${texts.length} inputs exceed the limit of ${limits.maxInputs} per request`, {
      max_inputs: limits.maxInputs,
    });
  }
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (typeof t !== "string") {
      throw new HttpError(400, `inputs[${i}] must be a string, got ${t === null ? "null" : typeof t}`, {
        index: i,
      });
    }
    if (t.length > limits.maxTextChars) {
      throw new HttpError(400, `inputs[${i}] has ${t.length} characters, more than ${limits.maxTextChars}`, {
        index: i,
        max_text_chars: limits.maxTextChars,
      });
    }
  }
  return { model: typeof model === "string" ? model : undefined, inputs: texts as string[] };
}
