// Batches for checking a stateful objective: unit features as the stateless battery draws them,
// with a training set of N >= B instances, the batch's B distinct instance indices in a random
// order, and the seed of the objective's initial state and parameters.

import fc from 'fast-check';
import { tensor } from '../constants.ts';
import type { Tensor } from '../tensor.ts';
import type { FeatureBatch } from './feature-batches.ts';

export type StatefulBatch = FeatureBatch & {
  /** N, the training set the state is sized for. */
  readonly count: number;
  /** The B instance indices of the batch (B = 2m with one view, m with two). */
  readonly indices: readonly number[];
  /** The key's seed of `init`. */
  readonly stateSeed: number;
  /** An order of the B instances, where one is drawn. */
  readonly order?: readonly number[];
};

/** B, the instances of a batch of 2m rows: every row its own instance with one view, m pairs with two. */
export const batchInstanceCount = (m: number, views: 1 | 2): number => (views === 1 ? 2 * m : m);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export const statefulBatchArbitrary = (features: fc.Arbitrary<FeatureBatch>, views: 1 | 2, withOrder = false): fc.Arbitrary<StatefulBatch> =>
  features.chain((batch) => {
    const instances = batchInstanceCount(batch.m, views);
    return fc
      .record({ extra: fc.integer({ min: 0, max: 3 }), stateSeed: fc.integer({ min: 0, max: 1_000_000 }) })
      .chain(({ extra, stateSeed }) =>
        fc.tuple(
          fc.shuffledSubarray(range(instances + extra), { minLength: instances, maxLength: instances }),
          withOrder ? fc.shuffledSubarray(range(instances), { minLength: instances, maxLength: instances }) : fc.constant(undefined),
        ).map(([indices, order]): StatefulBatch => ({ ...batch, count: instances + extra, indices, stateSeed, ...(order === undefined ? {} : { order }) })),
      );
  });

export const indicesTensor = (indices: readonly number[]): Tensor<readonly [number]> => tensor(indices, [indices.length]);
