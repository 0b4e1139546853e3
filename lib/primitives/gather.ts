// gather (numpy `take`): pick entries along one axis by an index tensor. The output's shape is
// x.shape[:axis] + indices.shape + x.shape[axis+1:]. Indices hold integers (as floats) and get
// no gradient. VJP: scatterAdd of the cotangent back to the picked positions.

import { formatShape, normalizeAxes, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, type Tensor, type Value } from '../tensor.ts';
import { scatterAdd } from './scatter-add.ts';

export interface GatherParams {
  readonly axis: number;
}

/** Checks an index value at evaluation time: data errors cannot be seen at trace time. */
export const checkedIndex = (primitive: string, indices: Value, position: number, size: number): number => {
  const index = indices.data[position];
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new RangeError(`${primitive}: index ${index} at position ${position} of the indices ${formatShape(indices.shape)} is not an integer in [0, ${size})`);
  return index;
};

export const gatherPrimitive: Primitive<GatherParams> = {
  name: 'gather',
  movesDataOnly: true,
  shape: ([x, indices], { axis }) => [...x.slice(0, axis), ...indices, ...x.slice(axis + 1)],
  evaluate: ([x, indices], { axis }, shape) => {
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const size = x.shape[axis];
    const count = indices.data.length;
    const out = new Float64Array(sizeOf(shape));
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < count; k++) {
        const index = checkedIndex('gather', indices, k, size);
        out.set(x.data.subarray((o * size + index) * inner, (o * size + index + 1) * inner), (o * count + k) * inner);
      }
    return out;
  },
  vjp: (ct, node) => {
    const [x, indices] = node.inputs;
    return [scatterAdd(ct, indices, node.params.axis, x.shape[node.params.axis]), null];
  },
};

export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor<Shape> =>
  apply(gatherPrimitive, [x, indices], { axis: normalizeAxes('gather', [axis], x.rank, x.shape)[0] });
