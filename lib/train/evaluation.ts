// What a run measures after each epoch: weighted kNN top-1 and top-5 on the test set with the
// training set as the memory bank, and, for the picture, the nearest training images of a few
// test images of each class.

import { weightedKnnCompiled, type FeatureMatrix } from '../eval/weighted-knn.ts';
import type { BackendName } from '../compile/index.ts';

export interface KnnAccuracy {
  readonly top1: number;
  readonly top5: number;
  /** The k used: the requested one, or the training set's size when that is smaller. */
  readonly k: number;
}

/**
 * Compiled on the run's backend: on the native backend the similarity matmul runs on the native GEMM, about
 * five times faster than the float64 interpreter over 10,000 x 10,000 images. Similarities are
 * float32, so a near-tie can rank two neighbours the other way round from the interpreter's
 * float64 (on the CIFAR-10 subset's random encoder the accuracies agree to 0.1%).
 */
export const knnAccuracy = async (
  train: FeatureMatrix,
  trainLabels: Uint8Array,
  test: FeatureMatrix,
  testLabels: Uint8Array,
  { k, sigma, classes, backend, onWarning }: { k: number; sigma: number; classes: number; backend?: BackendName; onWarning?: (message: string) => void },
): Promise<KnnAccuracy> => {
  const usedK = Math.min(k, train.shape[0]);
  const { top1, top5 } = await weightedKnnCompiled(train, trainLabels, test, testLabels, { k: usedK, sigma, classes, backend, onWarning });
  return { top1, top5, k: usedK };
};

/** The first `perClass` test images of each class, class by class: the same queries every epoch. */
export const queryIndices = (labels: Uint8Array, classes: number, perClass: number): number[] => {
  const chosen: number[] = [];
  for (let c = 0; c < classes; c++) {
    let found = 0;
    for (let i = 0; i < labels.length && found < perClass; i++)
      if (labels[i] === c) {
        chosen.push(i);
        found++;
      }
  }
  return chosen;
};

export interface NeighbourList {
  readonly query: number;
  /** Training rows, most similar first, with their cosine similarity. */
  readonly neighbours: ReadonlyArray<{ readonly index: number; readonly similarity: number }>;
}

/** The `count` most similar training rows of each query row (rows are unit vectors: similarity is a dot product). */
export const nearestNeighbours = (train: FeatureMatrix, test: FeatureMatrix, queries: readonly number[], count: number): NeighbourList[] => {
  const [rows, dimension] = train.shape;
  return queries.map((query) => {
    const q = test.data.subarray(query * dimension, (query + 1) * dimension);
    const similarity = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let j = 0; j < dimension; j++) dot += q[j] * train.data[r * dimension + j];
      similarity[r] = Number.isNaN(dot) ? -Infinity : dot;
    }
    const order = Array.from({ length: rows }, (_, r) => r).sort((a, b) => similarity[b] - similarity[a] || a - b);
    return { query, neighbours: order.slice(0, count).map((index) => ({ index, similarity: similarity[index] })) };
  });
};
