/** Bearer-token check of the backend (`BACKEND_TOKEN`), in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * True when `authorization` is `Bearer <token>` (scheme case-insensitive). Both values are
 * hashed first, so the comparison takes the same time whatever their lengths and contents.
 */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  const same = timingSafeEqual(digest(m?.[1] ?? ""), digest(token));
  return same && m !== null;
}
