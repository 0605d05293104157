/** Reading and validating `POST /embed` bodies within the server's limits. */
import { HttpError } from "./http-error.ts";

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

/**
 * The request body, refused with 413 as soon as it is known to exceed `maxBytes`: from
 * Content-Length when present, else (or if it lies) while reading.
 */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    new HttpError(413, `request body of ${size} bytes exceeds the limit of ${maxBytes}`, {
      max_body_bytes: maxBytes,
    });
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(declared);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes}`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/**
 * Parses `{model?, inputs: string[]}` (or `{model?, input: string}` for one text) and checks
 * the limits: 400 for malformed JSON or shapes (naming the offending index), 413 for more
 * than `maxInputs` inputs, 400 for a text longer than `maxTextChars` UTF-16 code units.
 */
export function parseEmbedRequest(body: Uint8Array, limits: EmbedLimits): EmbedRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw new HttpError(400, `request body is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'request body must be a JSON object {"model": string, "inputs": string[]}');
  }
  const { model, inputs, input } = parsed as Record<string, unknown>;
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
