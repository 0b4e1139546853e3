// concat: join tensors along one axis. VJP: each input's part of the cotangent, a slice.

import { formatShape, normalizeAxes, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { slicePrimitive } from './slice.ts';

export interface ConcatParams {
  readonly axis: number;
}

export const concatPrimitive: Primitive<ConcatParams> = {
  name: 'concat',
  movesDataOnly: true,
  shape: (inputs, { axis }) => {
    const [first] = inputs;
    if (inputs.length === 0) throw shapeError('concat', 'needs at least one tensor', inputs);
    for (const shape of inputs)
      if (shape.length !== first.length || shape.some((d, i) => i !== axis && d !== first[i]))
        throw shapeError('concat', `shapes must agree except on axis ${axis}; ${formatShape(shape)} does not`, inputs);
    return first.map((d, i) => (i === axis ? inputs.reduce((n, s) => n + s[axis], 0) : d));
  },
  evaluate: (inputs, { axis }, shape) => {
    const out = new Float64Array(sizeOf(shape));
    // Rows before the axis are interleaved: each input contributes a contiguous block per row.
    const rows = sizeOf(shape.slice(0, axis));
    const blocks = inputs.map((x) => sizeOf(x.shape.slice(axis)));
    const rowLength = blocks.reduce((a, b) => a + b, 0);
    for (let row = 0; row < rows; row++) {
      let target = row * rowLength;
      inputs.forEach((x, k) => {
        out.set(x.data.subarray(row * blocks[k], (row + 1) * blocks[k]), target);
        target += blocks[k];
      });
    }
    return out;
  },
  vjp: (ct, node) => {
    const { axis } = node.params;
    let offset = 0;
    return node.inputs.map((x) => {
      const start = offset;
      offset += x.shape[axis];
      return apply(slicePrimitive, [ct], {
        starts: ct.shape.map((_, i) => (i === axis ? start : 0)),
        stops: ct.shape.map((d, i) => (i === axis ? offset : d)),
        steps: ct.shape.map(() => 1),
      });
    });
  },
};

export const concat = (tensors: readonly Tensor[], axis = 0): Tensor<Shape> => {
  if (tensors.length === 0) throw shapeError('concat', 'needs at least one tensor', []);
  if (tensors.length === 1) return tensors[0];
  const [resolved] = normalizeAxes('concat', [axis], tensors[0].rank, tensors[0].shape);
  return apply(concatPrimitive, tensors, { axis: resolved });
};
