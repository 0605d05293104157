/** What a failed embedding of a kNN query text becomes for the caller. */
import { expect, test } from "bun:test";
import { TransientError } from "../../pipeline/core/retry.ts";
import { RejectedError } from "../../pipeline/io/infermesh-client.ts";
import { embedFailure } from "../../pipeline/knn/service.ts";
import type { KnnError } from "../../pipeline/knn/types.ts";

test("InferMesh's answers map to what the caller can act on, with InferMesh's reason", () => {
  const status = (err: unknown) => (embedFailure(err, "some text") as KnnError).status;
  const refused = (s: number) =>
    new RejectedError(s, JSON.stringify({ error: "inputs[0] has 40000 characters" }));
  expect(status(refused(400))).toBe(400); // the caller's text
  expect(status(refused(422))).toBe(400);
  expect(status(refused(413))).toBe(413);
  expect(status(refused(401))).toBe(502); // the backend's key
  expect(status(refused(404))).toBe(502); // the backend's INFERMESH_URL
  expect(status(refused(408))).toBe(503);
  expect(status(new TransientError("connect ECONNREFUSED", "connect"))).toBe(503);
  expect((embedFailure(refused(400), "some text") as KnnError).message).toContain(
    "inputs[0] has 40000 characters",
  );
  const other = new Error("bug");
  expect(embedFailure(other, "t")).toBe(other); // anything else stays an internal error
});
