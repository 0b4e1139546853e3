// Batches of features for checking embedding objectives: 2m L2-normalised rows in d dimensions,
// the m first views then the m second views. Drawn as plain numbers (not tensors) so that a
// failing batch can be printed and shrunk; fast-check shrinks m and d towards 1 and 2 and the
// values towards simple ones.

import fc from 'fast-check';
import { tensor } from '../constants.ts';
import type { ConstantParams } from '../primitives/constant.ts';
import type { ObjectiveFeatures } from './objective-definition.ts';
import { unitRowsArbitrary, valuesArbitrary } from './arbitraries.ts';

export type Rows = readonly (readonly number[])[];

/**
 * - `unit`: independent random unit rows;
 * - `nearly coincident`: every row within 1e-6 of every other (exactly equal included), where
 *   similarities tie and distances vanish;
 * - `antipodal`: every row is u or -u, where a softmax over similarities / tau saturates.
 */
export type FeatureBatchKind = 'unit' | 'nearly coincident' | 'antipodal';

export interface FeatureBatch {
  readonly kind: FeatureBatchKind;
  /** Instances, so 2m rows. */
  readonly m: number;
  /** Dimensions of each row. */
  readonly d: number;
  readonly rows: Rows;
}

export interface BatchSizes {
  /** The least and the most instances m. */
  readonly instances: readonly [number, number];
  /** The least and the most dimensions d. */
  readonly dimensions: readonly [number, number];
}

export const defaultBatchSizes: BatchSizes = { instances: [1, 4], dimensions: [2, 8] };

/** How far apart the rows of a nearly coincident batch may be (at most, before normalising: 2 sqrt(8) 1e-7). */
export const nearlyCoincidentSpreads = [1e-7, 1e-9, 0] as const;

/** The batch as the [2m, d] tensor an objective takes. */
export const batchFeatures = ({ m, d, rows }: { m: number; d: number; rows: Rows }): ObjectiveFeatures => tensor(rows.flat(), [2 * m, d]);

const normalised = (row: readonly number[]): number[] => {
  const norm = Math.hypot(...row);
  return row.map((v) => v / norm);
};

/** The rows of a constant [rows, d] tensor, such as `unitRowsArbitrary` draws. */
const rowsOfConstant = (data: ArrayLike<number>, count: number, d: number): number[][] =>
  Array.from({ length: count }, (_, r) => Array.from({ length: d }, (_, c) => data[r * d + c]));

const constantData = (t: ObjectiveFeatures): Float64Array => (t.params as ConstantParams).data;

const sizesArbitrary = ({ instances, dimensions }: BatchSizes) =>
  fc.record({ m: fc.integer({ min: instances[0], max: instances[1] }), d: fc.integer({ min: dimensions[0], max: dimensions[1] }) });

/** A unit vector in d dimensions. */
const directionArbitrary = (d: number): fc.Arbitrary<number[]> => unitRowsArbitrary(1, d).map((t) => Array.from(constantData(t)));

export const unitBatchArbitrary = (sizes: BatchSizes = defaultBatchSizes): fc.Arbitrary<FeatureBatch> =>
  sizesArbitrary(sizes).chain(({ m, d }) =>
    unitRowsArbitrary(2 * m, d).map((t): FeatureBatch => ({ kind: 'unit', m, d, rows: rowsOfConstant(constantData(t), 2 * m, d) })),
  );

export const nearlyCoincidentBatchArbitrary = (sizes: BatchSizes = defaultBatchSizes): fc.Arbitrary<FeatureBatch> =>
  sizesArbitrary(sizes).chain(({ m, d }) =>
    fc
      .tuple(directionArbitrary(d), valuesArbitrary(2 * m * d, { min: -1, max: 1 }), fc.constantFrom(...nearlyCoincidentSpreads))
      .map(([direction, offsets, spread]): FeatureBatch => ({
        kind: 'nearly coincident',
        m,
        d,
        rows: Array.from({ length: 2 * m }, (_, r) => normalised(direction.map((v, c) => v + spread * offsets[r * d + c]))),
      })),
  );

export const antipodalBatchArbitrary = (sizes: BatchSizes = defaultBatchSizes): fc.Arbitrary<FeatureBatch> =>
  sizesArbitrary(sizes).chain(({ m, d }) =>
    fc
      .tuple(directionArbitrary(d), fc.array(fc.boolean(), { minLength: 2 * m, maxLength: 2 * m }), fc.boolean())
      // Either each second view opposite its first view, or a sign per row.
      .map(([direction, flips, viewsOpposite]): FeatureBatch => ({
        kind: 'antipodal',
        m,
        d,
        rows: Array.from({ length: 2 * m }, (_, r) => ((viewsOpposite ? r >= m : flips[r]) ? direction.map((v) => -v) : direction)),
      })),
  );

/** A unit batch and an order of its instances (applied to both views alike). */
export const permutedBatchArbitrary = (sizes: BatchSizes = defaultBatchSizes): fc.Arbitrary<FeatureBatch & { readonly order: readonly number[] }> =>
  unitBatchArbitrary(sizes).chain((batch) =>
    fc
      .shuffledSubarray(Array.from({ length: batch.m }, (_, i) => i), { minLength: batch.m, maxLength: batch.m })
      .map((order) => ({ ...batch, order })),
  );
