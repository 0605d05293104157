/** Bearer-token check for the InferMesh API key, in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * True when `authorization` is `Bearer <apiKey>` (scheme case-insensitive). Both tokens are
 * hashed first so the comparison takes the same time whatever their lengths and contents.
 */
export function bearerMatches(authorization: string | null, apiKey: string): boolean {
  const m = /^bearer[ \t]+(\S.*?)[ \t]*$/i.exec(authorization ?? "");
  const given = m?.[1] ?? "";
  const same = timingSafeEqual(digest(given), digest(apiKey));
  return same && m !== null;
}
