/**
 * Skill recommendation: for a context (a task description, the current state), the nearest
 * past **successful** actions in the index, and what they used — their labels such as
 * `agent`, `kind` and `task`, and their text.
 *
 * Weighting: each neighbour counts with its cosine similarity (negative → 0); a label value's
 * `weight` is the sum over the neighbours that have it, `share` its weight divided by the
 * weight of every neighbour (so the shares of one field add up to at most 1: neighbours
 * without that label count in the denominator only).
 */
import type { LabelValue } from "../contracts/extract.ts";
import type { KnnFilter, Neighbor } from "../contracts/knn.ts";
import type { KnnClient, KnnContext } from "./knn-client.ts";

/** Label fields summarised by default. */
export const DEFAULT_SKILL_FIELDS = ["agent", "kind", "task"] as const;

export interface SkillOptions {
  /** Successful neighbours consulted (default 10). */
  k?: number;
  /** Labels to summarise (default agent, kind, task). */
  fields?: readonly string[];
  /** Further conditions (e.g. `{repo: "tools/cli"}`); `success` is always true. */
  filter?: KnnFilter;
  /** Neighbours below this cosine similarity are ignored (default 0). */
  minScore?: number;
  model?: string;
}

/** One value of a label among the neighbours. */
export interface SkillValue {
  value: LabelValue;
  /** Neighbours with this value. */
  count: number;
  /** Sum of their similarities. */
  weight: number;
  /** weight / the weight of all neighbours, [0, 1]. */
  share: number;
  /** Their doc_ids, nearest first. */
  doc_ids: string[];
}

export interface SkillRecommendation {
  /** The successful neighbours used, nearest first (with text and labels). */
  neighbors: Neighbor[];
  /** Per field, its values by weight (highest first; ties by value). */
  by: Record<string, SkillValue[]>;
}

/** Summarises neighbours' labels (pure; {@link recommendSkills} uses it). */
export function aggregateSkills(
  neighbors: readonly Neighbor[],
  fields: readonly string[] = DEFAULT_SKILL_FIELDS,
): Record<string, SkillValue[]> {
  const total = neighbors.reduce((a, n) => a + Math.max(0, n.score), 0);
  const by: Record<string, SkillValue[]> = {};
  for (const field of fields) {
    const values = new Map<string, SkillValue>();
    for (const n of neighbors) {
      if (!Object.hasOwn(n.labels, field)) continue;
      const v = n.labels[field] as LabelValue;
      const key = JSON.stringify(v);
      let s = values.get(key);
      if (!s) {
        s = { value: v, count: 0, weight: 0, share: 0, doc_ids: [] };
        values.set(key, s);
      }
      s.count++;
      s.weight += Math.max(0, n.score);
      s.doc_ids.push(n.doc_id);
    }
    by[field] = [...values.values()]
      .map((s) => ({ ...s, share: total > 0 ? s.weight / total : 0 }))
      .sort((a, b) => b.weight - a.weight || String(a.value).localeCompare(String(b.value)));
  }
  return by;
}

/**
 * The nearest past successful actions for `context` (the backend's kNN with
 * `filter: {success: true}`) and their labels summarised ({@link aggregateSkills}).
 * Rejects with the client's error when the backend cannot answer.
 */
export async function recommendSkills(
  client: KnnClient,
  context: KnnContext,
  options: SkillOptions = {},
): Promise<SkillRecommendation> {
  const filter: KnnFilter = { ...options.filter, success: true };
  const res = await client.nearest(context, options.k ?? 10, filter, options.model);
  const min = options.minScore ?? 0;
  const neighbors = res.neighbors.filter((n) => n.success === true && n.score >= min);
  return { neighbors, by: aggregateSkills(neighbors, options.fields ?? DEFAULT_SKILL_FIELDS) };
}
