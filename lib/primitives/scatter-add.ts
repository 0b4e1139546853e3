// scatterAdd: the transpose of gather. Adds each slice of `source` into the output position its
// index names along `axis` (repeated indices accumulate). source.shape must be
// out.shape[:axis] + indices.shape + out.shape[axis+1:]. VJP: gather of the cotangent.

import { formatShape, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { checkedIndex, gather } from './gather.ts';

export interface ScatterAddParams {
  readonly axis: number;
  readonly size: number;
}

export const scatterAddPrimitive: Primitive<ScatterAddParams> = {
  name: 'scatterAdd',
  flops: ([x]) => sizeOf(x),
  shape: (inputs, { axis, size }) => {
    const [source, indices] = inputs;
    const middle = source.slice(axis, axis + indices.length);
    if (axis < 0 || source.length < axis + indices.length || middle.some((d, i) => d !== indices[i]) || !(size >= 0))
      throw shapeError('scatterAdd', `source must hold the indices' shape ${formatShape(indices)} at axis ${axis}`, inputs);
    return [...source.slice(0, axis), size, ...source.slice(axis + indices.length)];
  },
  evaluate: ([source, indices], { axis, size }, shape) => {
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const count = indices.data.length;
    const out = new Float64Array(sizeOf(shape));
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < count; k++) {
        const target = (o * size + checkedIndex('scatterAdd', indices, k, size)) * inner;
        const from = (o * count + k) * inner;
        for (let e = 0; e < inner; e++) out[target + e] += source.data[from + e];
      }
    return out;
  },
  vjp: (ct, node) => [gather(ct, node.inputs[1], node.params.axis), null],
};

export const scatterAdd = (source: Tensor, indices: Tensor, axis: number, size: number): Tensor<Shape> =>
  apply(scatterAddPrimitive, [source, indices], { axis, size });
