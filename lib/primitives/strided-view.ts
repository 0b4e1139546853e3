// The reference evaluation shared by the movement primitives that are views of their input:
// broadcast (stride 0), transpose (permuted strides), slice (scaled strides and an offset) and
// flip (negative strides). out[index] = x[offset + sum(index[axis] * strides[axis])].

import { type Shape, sizeOf } from '../shape.ts';

export const stridedView = (
  source: Float64Array,
  shape: Shape,
  strides: readonly number[],
  offset: number,
): Float64Array => {
  const out = new Float64Array(sizeOf(shape));
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let position = offset;
  for (let i = 0; i < out.length; i++) {
    out[i] = source[position];
    // Odometer step: advance the last axis, carrying into earlier ones.
    for (let axis = rank - 1; axis >= 0; axis--) {
      position += strides[axis];
      if (++index[axis] < shape[axis]) break;
      position -= strides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
};
