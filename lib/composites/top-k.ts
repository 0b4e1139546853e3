// topK: the k largest entries along the last axis and their positions, largest first. The
// positions come from the topKIndices primitive (no gradient); the values are picked from x by
// gather, so they differentiate through gather's VJP (a scatterAdd back to the picked places).
// gather is numpy `take` (one index list for every row), so the picks are made on the flattened
// x, each row's positions offset by the row's start.

import { type Shape, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { gather } from '../primitives/gather.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { topKIndices, type TopKShape } from '../primitives/top-k-indices.ts';

export interface TopK<S extends Shape> {
  readonly values: Tensor<S>;
  readonly indices: Tensor<S>;
}

export const topK = <S extends Shape, const K extends number>(x: Tensor<S>, k: K): TopK<TopKShape<S, K>> => {
  const indices = topKIndices(x, k) as Tensor;
  const n = x.shape[x.shape.length - 1];
  const rows = sizeOf(x.shape.slice(0, -1));
  const rowStarts = reshape(mul(arange(rows), n), [...x.shape.slice(0, -1), 1]);
  const flatPositions = reshape(add(indices, rowStarts), [indices.size]);
  const values = reshape(gather(reshape(x as Tensor, [x.size]), flatPositions), indices.shape);
  return { values, indices } as unknown as TopK<TopKShape<S, K>>;
};
