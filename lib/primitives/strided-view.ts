// The odometer walk shared by the reference evaluations of movement and reduction primitives:
// visit every position of `shape` in row-major order while tracking the offset
// start + sum(index[axis] * strides[axis]) in another array. A view reads from that offset
// (broadcast: stride 0; transpose: permuted strides; slice: scaled strides and a start; flip:
// negative strides); pad and the reductions write to it.

import { type Shape, sizeOf } from '../shape.ts';

export const walkStrided = (
  shape: Shape,
  strides: readonly number[],
  start: number,
  visit: (index: number, offset: number) => void,
): void => {
  const count = sizeOf(shape);
  const rank = shape.length;
  const position = new Array<number>(rank).fill(0);
  let offset = start;
  for (let i = 0; i < count; i++) {
    visit(i, offset);
    // Advance the last axis, carrying into earlier ones.
    for (let axis = rank - 1; axis >= 0; axis--) {
      offset += strides[axis];
      if (++position[axis] < shape[axis]) break;
      offset -= strides[axis] * shape[axis];
      position[axis] = 0;
    }
  }
};

/** out[index] = source[start + sum(index[axis] * strides[axis])]. */
export const stridedView = (source: Float64Array, shape: Shape, strides: readonly number[], start: number): Float64Array => {
  const out = new Float64Array(sizeOf(shape));
  walkStrided(shape, strides, start, (i, offset) => (out[i] = source[offset]));
  return out;
};
