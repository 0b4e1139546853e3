// topKIndices: the positions of the k largest entries along the last axis, largest first, ties
// broken by the lower position (a stable descending sort, cut after k). NaN counts as larger
// than every number, as in a descending sort that keeps NaN visible. The output holds integers
// (as floats) and is piecewise constant in x, so no gradient flows: the values, when wanted,
// come back differentiably through `gather` (see composites/top-k.ts).

import { type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';

export interface TopKIndicesParams {
  readonly k: number;
}

/** x's shape with the last axis replaced by k. */
export type TopKShape<S extends Shape, K extends number> = number[] extends S
  ? Shape
  : S extends readonly [...infer Leading extends number[], number]
    ? [...Leading, K]
    : never;

/** Whether the entry at `a` ranks before the entry at `b` (both positions in `row`). */
const ranksBefore = (row: Float64Array, a: number, b: number): boolean => {
  const va = row[a];
  const vb = row[b];
  if (Number.isNaN(va) || Number.isNaN(vb)) return Number.isNaN(va) && (!Number.isNaN(vb) || a < b);
  return va > vb || (va === vb && a < b);
};

/**
 * The k best positions of one row, best first. A heap of the k best seen so far, worst at the
 * root, so a row of n costs O(n log k) and most entries are turned away by one comparison.
 */
const topPositions = (row: Float64Array, k: number, out: Float64Array, offset: number): void => {
  if (k === 0) return;
  const heap = new Int32Array(k);
  let size = 0;
  const worse = (i: number, j: number) => ranksBefore(row, heap[j], heap[i]);
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < size && worse(left, worst)) worst = left;
      if (right < size && worse(right, worst)) worst = right;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  };
  for (let position = 0; position < row.length; position++) {
    if (size < k) {
      // Sift up the new entry.
      let i = size++;
      heap[i] = position;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(i, parent)) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (ranksBefore(row, position, heap[0])) {
      heap[0] = position;
      siftDown(0);
    }
  }
  // Pop the worst entry into the last free place until the heap is empty: best first.
  for (let place = k - 1; place >= 0; place--) {
    out[offset + place] = heap[0];
    heap[0] = heap[--size];
    siftDown(0);
  }
};

export const topKIndicesPrimitive: Primitive<TopKIndicesParams> = {
  name: 'topKIndices',
  shape: (inputs, { k }) => {
    const [x] = inputs;
    if (x.length === 0) throw shapeError('topKIndices', 'needs an input of rank 1 or more', inputs);
    const n = x[x.length - 1];
    if (!Number.isInteger(k) || k < 0 || k > n)
      throw shapeError('topKIndices', `k = ${k} must be an integer in [0, ${n}], the length of the last axis`, inputs);
    return [...x.slice(0, -1), k];
  },
  evaluate: ([x], { k }, shape) => {
    const n = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape.slice(0, -1));
    const out = new Float64Array(sizeOf(shape));
    for (let r = 0; r < rows; r++) topPositions(x.data.subarray(r * n, (r + 1) * n), k, out, r * k);
    return out;
  },
  // Indices are piecewise constant in x: their derivative is zero wherever it exists.
  vjp: () => [null],
};

/** The positions of the k largest entries along the last axis, largest first; ties go to the lower position. */
export const topKIndices = <S extends Shape, const K extends number>(x: Tensor<S>, k: K): Tensor<TopKShape<S, K>> =>
  apply(topKIndicesPrimitive, [x], { k });
