// reshape: the same row-major data under a new shape. One size may be -1 (inferred) in the op.

import { formatShape, type Shape, ShapeError, sameShape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';

export interface ReshapeParams {
  readonly shape: Shape;
}

export const reshapePrimitive: Primitive<ReshapeParams> = {
  name: 'reshape',
  movesDataOnly: true,
  remapsIndexOnly: true,
  shape: ([x], { shape }) => {
    if (sizeOf(shape) !== sizeOf(x))
      throw shapeError('reshape', `cannot reshape ${sizeOf(x)} elements to ${formatShape(shape)} (${sizeOf(shape)})`, [x]);
    return shape;
  },
  evaluate: ([x]) => x.data,
  vjp: (ct, node) => [reshape(ct, node.inputs[0].shape)],
};

const resolveShape = (from: Shape, shape: readonly number[]): number[] => {
  const unknown = shape.indexOf(-1);
  if (unknown < 0 || shape.lastIndexOf(-1) !== unknown) return [...shape];
  const known = shape.reduce((a, d, i) => (i === unknown ? a : a * d), 1);
  if (known === 0 || sizeOf(from) % known !== 0)
    throw new ShapeError(`reshape: cannot infer -1 in ${formatShape(shape)} from input shape ${formatShape(from)}`);
  return shape.map((d, i) => (i === unknown ? sizeOf(from) / known : d));
};

export const reshape = <const S extends Shape>(x: Tensor, shape: S): Tensor<S> => {
  const resolved = resolveShape(x.shape, shape);
  return sameShape(resolved, x.shape) ? (x as Tensor<S>) : apply<S, ReshapeParams>(reshapePrimitive, [x], { shape: resolved });
};
