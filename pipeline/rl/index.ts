/**
 * `pipeline/rl/`: what an RL loop imports to use the pipeline's embeddings — vector context
 * from the Parquet folder, a labelled sampler for supervised pre-training, reward shaping, a
 * curriculum, skill recommendation from the live index, and telemetry about the backend's
 * load. See the README section "Using the embeddings in RL" and `pipeline/rl/examples/`.
 */
export {
  type AttachOptions,
  attachVectorContext,
  batchRow,
  type ContextObservation,
  type Env,
  type StepResult,
  type VectorBatch,
  type VectorBatchOptions,
  VectorBatchReader,
  type VectorBatchStats,
  vectorBatches,
} from "./context.ts";
export {
  type CurriculumItem,
  type CurriculumOptions,
  CurriculumSampler,
  type CurriculumScore,
  type CurriculumWeights,
  indexDifficulty,
  neighbourPrior,
  type Scheduled,
} from "./curriculum.ts";
export {
  KnnClient,
  KnnClientError,
  type KnnClientOptions,
  type KnnContext,
  type KnnFailure,
  type KnnRequest,
} from "./knn-client.ts";
export { hashUnit, type Random, seededRandom, shuffleInPlace } from "./random.ts";
export {
  driftPenalty,
  noveltyBonus,
  type References,
  repetitionPenalty,
  type ShapingTerms,
  SimilarityVerifier,
  StateWindow,
  type StateWindowOptions,
  similarityReward,
  topKMean,
  type VerifierOptions,
  type VerifierScore,
  vectorDrift,
} from "./reward.ts";
export {
  checkFolder,
  type FolderRecords,
  labelOf,
  labelsOf,
  MissingFolderError,
  type ReadFolderOptions,
  readVectorFile,
  readVectorFolder,
  type VectorRecord,
  vectorRecordOf,
} from "./rows.ts";
export {
  type LabeledBatch,
  type SamplerOptions,
  type SamplingMode,
  type Split,
  VectorLabelSampler,
} from "./sampler.ts";
export {
  aggregateSkills,
  DEFAULT_SKILL_FIELDS,
  recommendSkills,
  type SkillOptions,
  type SkillRecommendation,
  type SkillValue,
} from "./skills.ts";
export {
  adaptSettings,
  assessLoad,
  DEFAULT_THRESHOLDS,
  type LoadLevel,
  type LoadThresholds,
  type Recommendation,
  type SourceFigures,
  type SourceName,
  type SourceReport,
  TelemetryClient,
  type TelemetryOptions,
  type TelemetryReport,
  type WorkerSource,
  workerFigures,
} from "./telemetry.ts";
export {
  centroid,
  cosineSimilarity,
  dot,
  type MemoryHit,
  type MemoryMeta,
  unitVector,
  VectorMemory,
} from "./vectors.ts";
