// Public surface of embedding evaluation.
export {
  type FeatureMatrix, type KnnVoteOptions, type Labels, type WeightedKnnOptions, type WeightedKnnResult,
  defaultChunkSize, defaultKnnVoteOptions, knnChunkGraph, weightedKnn, weightedKnnCompiled,
} from './weighted-knn.ts';
