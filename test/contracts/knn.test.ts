import { expect, test } from "bun:test";
import { formatShardList, parseShardList, shardsMissing } from "../../pipeline/contracts/knn.ts";

test("shard lists: ranges and numbers in, sorted without repeats out, and back", () => {
  expect(parseShardList("0-3,7")).toEqual([0, 1, 2, 3, 7]);
  expect(parseShardList(" 7 , 2-3,3, 0 - 1 ,")).toEqual([0, 1, 2, 3, 7]);
  expect(formatShardList([7, 3, 0, 1, 2, 3])).toBe("0-3,7");
  expect(formatShardList([5])).toBe("5");
  expect(formatShardList([])).toBe("");
  for (const bad of ["", ",", "a", "1-", "-1", "3-1", "1.5", "0-200000"])
    expect(() => parseShardList(bad)).toThrow();
  expect(shardsMissing([0, 1, 2, 3, 3], [2, 0])).toEqual([1, 3]);
  expect(shardsMissing([1], [1])).toEqual([]);
});
