// One row per training instance, the shape of a memory bank and of an exemplar classifier's
// weights: drawn as random unit rows, read at a batch's indices and written back there.

import type { Tensor } from '../tensor.ts';
import { ShapeError, formatShape } from '../shape.ts';
import { onesLike } from '../constants.ts';
import { gather } from '../primitives/gather.ts';
import { greater } from '../primitives/greater.ts';
import { reshape } from '../primitives/reshape.ts';
import { scatterAdd } from '../primitives/scatter-add.ts';
import { select } from '../primitives/select.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { uniform } from '../random/distributions.ts';
import type { Key } from '../random/key.ts';
import type { ObjectiveSize } from './stateful-objective.ts';

/**
 * [N, d] random unit rows. Drawn uniform in [-s, s] with s = 1 / sqrt(d / 3), as the memory
 * bank's authors draw theirs (rows of about unit norm), then normalised so that every row is a
 * point of the sphere the features live on from the first step.
 */
export const randomUnitRows = (key: Key, { count, dimension }: ObjectiveSize): Tensor<readonly [number, number]> => {
  const spread = 1 / Math.sqrt(dimension / 3);
  return l2Normalize(uniform(key, [count, dimension], -spread, spread));
};

/** The rows of `table` [N, d] at `indices` [B]: [B, d]. */
export const rowsAt = (table: Tensor, indices: Tensor): Tensor => gather(table, indices, 0);

/**
 * `table` [N, d] with its rows at `indices` [B] replaced by `rows` [B, d]; the indices must be
 * distinct. A replacement by select, not table + scatter(new - old), so that the new rows are
 * exactly the values given, with no rounding of a difference.
 */
export const withRowsAt = (table: Tensor, indices: Tensor, rows: Tensor): Tensor => {
  const [count] = table.shape;
  if (table.rank !== 2 || rows.rank !== 2 || rows.shape[0] !== indices.shape[0] || rows.shape[1] !== table.shape[1])
    throw new ShapeError(`withRowsAt: rows ${formatShape(rows.shape)} at indices ${formatShape(indices.shape)} do not fit a table ${formatShape(table.shape)}`);
  const written = greater(reshape(scatterAdd(onesLike(indices), indices, 0, count), [count, 1]), 0);
  return select(written, scatterAdd(rows, indices, 0, count), table);
};

/** The batch's instance indices as a check sees them: the features' rows per view. */
export const batchInstances = (objective: string, features: Tensor, indices: Tensor, views: number): number => {
  const batch = indices.shape[0];
  if (indices.rank !== 1 || features.rank !== 2 || features.shape[0] !== views * batch)
    throw new ShapeError(`${objective}: features ${formatShape(features.shape)} must be [${views} x B, d] for the B = ${indices.rank === 1 ? batch : '?'} ` +
      `instance indices ${formatShape(indices.shape)}`);
  return batch;
};
