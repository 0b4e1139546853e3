// Public surface of embedding evaluation.
export {
  type FeatureMatrix, type KnnVoteOptions, type Labels, type WeightedKnnOptions, type WeightedKnnResult,
  defaultChunkSize, defaultKnnVoteOptions, knnChunkGraph, weightedKnn, weightedKnnCompiled,
} from './weighted-knn.ts';
export { type EvaluationOptions, type HostArray } from './chunk-program.ts';
export { argmax, argmin } from './arg-extreme.ts';
export { type RecallAtK, type RecallAtKOptions, defaultRecallKs, recallAtK, recallChunkGraph } from './recall-at-k.ts';
export { type KMeansOptions, type KMeansResult, kMeans, kMeansPlusPlusSeeds, nearestCentroidGraph } from './k-means.ts';
export { normalizedMutualInformation } from './normalized-mutual-information.ts';
export {
  type LinearProbeOptions, type LinearProbeResult, crossEntropy, linearLogits, linearProbe, linearProbeMilestones,
} from './linear-probe.ts';
