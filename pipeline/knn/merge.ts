/**
 * Merging the answers of backends that own disjoint (or overlapping) sets of shards into the
 * answer one backend holding every shard would give: each owner returns its own exact top k,
 * so the global top k is among their union; ranked as the engine ranks ({@link byRank}).
 */
import type { Neighbor } from "../contracts/knn.ts";
import { byRank } from "./topk.ts";

/**
 * The best `k` neighbours of the given lists (each an owner's top k, in any order), ranked by
 * score then doc_id; a doc_id found in several lists (an overlap of owners) counts once, and
 * `exclude` (the document a doc_id query searches from) not at all.
 */
export function mergeTopK(lists: readonly (readonly Neighbor[])[], k: number, exclude?: string): Neighbor[] {
  const seen = new Set<string>();
  const all: Neighbor[] = [];
  for (const list of lists) {
    for (const n of list) {
      if (n.doc_id === exclude || seen.has(n.doc_id)) continue;
      seen.add(n.doc_id);
      all.push(n);
    }
  }
  return all.sort(byRank).slice(0, k);
}
