import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { unitTestFiles } from "../../scripts/lib/test-lanes.ts";

describe("the unit lane", () => {
  const unit = unitTestFiles(join(import.meta.dir, "..", ".."));

  test("holds the in-process tests", () => {
    for (const f of [
      "test/core/runner.test.ts",
      "test/architecture/imports.test.ts",
      "test/tui/views.test.tsx",
    ]) {
      expect(unit).toContain(f);
    }
  });

  test("leaves out every test that needs Kafka, Redis, Spark, tmux, a venv or the prepared model", () => {
    for (const f of [
      "test/pipeline/e2e.test.ts", // Kafka + Redis (test/helpers/infra.ts)
      "test/spark/spark-job.test.ts", // Java
      "test/tui/terminal.test.ts", // tmux
      "test/io/parquet-pyarrow.test.ts", // a Python venv
      "test/models/minilm.test.ts", // the prepared model
      "test/scripts/up-down.test.ts", // kcat, redis-cli
    ]) {
      expect(unit).not.toContain(f);
    }
  });
});
