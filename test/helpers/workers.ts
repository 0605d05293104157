/** Worker processes for integration tests (the same launcher the benchmark uses). */
export { type Collected, collect, startWorker, type WorkerHandle } from "../../scripts/lib/worker-process.ts";
