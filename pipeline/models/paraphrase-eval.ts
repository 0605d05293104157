/**
 * Paraphrase retrieval check: groups of same-meaning sentences (`fixtures/paraphrases.jsonl`,
 * one `{"group", "sentences"}` object per line); a good embedder puts each sentence's
 * nearest neighbours in its own group.
 */
import { readFileSync } from "node:fs";
import { cosine, type Embedder } from "./embedder.ts";

export interface ParaphraseGroup {
  group: string;
  sentences: string[];
}

export interface ParaphraseScore {
  /** Mean over sentences of the share of their k' nearest neighbours in their own group. */
  precision: number;
  k: number;
  sentences: number;
  groups: number;
}

/** Reads a paraphrase fixture (JSON lines); blank lines are skipped, bad lines throw with their number. */
export function loadParaphraseGroups(path: string): ParaphraseGroup[] {
  const groups: ParaphraseGroup[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (!line.trim()) return;
      const g = JSON.parse(line) as ParaphraseGroup;
      if (typeof g.group !== "string" || !Array.isArray(g.sentences) || g.sentences.length < 2) {
        throw new Error(`${path}:${i + 1}: expected {"group": string, "sentences": [at least 2 strings]}`);
      }
      groups.push(g);
    });
  return groups;
}

/**
 * precision@k: for each sentence, rank every other sentence by cosine similarity (itself
 * excluded; ties broken by position) and take k' = min(k, group size − 1) nearest; the score
 * is the fraction of those k' in the sentence's group, averaged over all sentences. With
 * k' capped this way a perfect embedder scores 1 whatever the group sizes.
 */
export async function paraphrasePrecisionAtK(
  embedder: Embedder,
  groups: ParaphraseGroup[],
  k = 5,
): Promise<ParaphraseScore> {
  const small = groups.find((g) => g.sentences.length < 2);
  if (small) throw new Error(`paraphrase group ${JSON.stringify(small.group)} needs at least 2 sentences`);
  const texts = groups.flatMap((g) => g.sentences);
  const owner = groups.flatMap((g, gi) => g.sentences.map(() => gi));
  const vectors = await embedder.embed(texts);
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const size = groups[owner[i] as number]?.sentences.length ?? 0;
    const kk = Math.min(k, size - 1);
    const others: [number, number][] = [];
    for (let j = 0; j < texts.length; j++) {
      if (j !== i) others.push([cosine(vectors[i] as Float32Array, vectors[j] as Float32Array), j]);
    }
    others.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    let hits = 0;
    for (let r = 0; r < kk; r++) if (owner[(others[r] as [number, number])[1]] === owner[i]) hits++;
    total += hits / kk;
  }
  return { precision: total / texts.length, k, sentences: texts.length, groups: groups.length };
}
