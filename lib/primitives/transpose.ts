// transpose: permute axes (the reverse order by default). VJP: the inverse permutation.

import { formatShape, type PermuteShape, type Reverse, type Shape, stridesOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { stridedView } from './strided-view.ts';

export interface TransposeParams {
  readonly permutation: readonly number[];
}

const isPermutation = (p: readonly number[], rank: number): boolean =>
  p.length === rank && [...p].sort((a, b) => a - b).every((axis, i) => axis === i);

export const inversePermutation = (p: readonly number[]): number[] => {
  const inverse = new Array<number>(p.length);
  p.forEach((axis, i) => (inverse[axis] = i));
  return inverse;
};

export const transposePrimitive: Primitive<TransposeParams> = {
  name: 'transpose',
  movesDataOnly: true,
  remapsIndexOnly: true,
  view: (input, { permutation }) => ({ offset: input.offset, shape: permutation.map((a) => input.shape[a]), strides: permutation.map((a) => input.strides[a]) }),
  shape: ([x], { permutation }) => {
    if (!isPermutation(permutation, x.length))
      throw shapeError('transpose', `[${permutation.join(', ')}] is not a permutation of the axes of ${formatShape(x)}`, [x]);
    return permutation.map((axis) => x[axis]);
  },
  evaluate: ([x], { permutation }, shape) => {
    const strides = stridesOf(x.shape);
    return stridedView(x.data, shape, permutation.map((axis) => strides[axis]), 0);
  },
  vjp: (ct, node) => [transpose(ct, inversePermutation(node.params.permutation))],
};

export function transpose<S extends Shape>(x: Tensor<S>): Tensor<Reverse<S>>;
export function transpose<S extends Shape, const P extends readonly number[]>(x: Tensor<S>, permutation: P): Tensor<PermuteShape<S, P>>;
export function transpose(x: Tensor, permutation?: readonly number[]): Tensor {
  const p = permutation ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((axis, i) => axis === i) && p.length === x.rank) return x;
  return apply(transposePrimitive, [x], { permutation: [...p] });
}

/** Swaps the last two axes: the matrix transpose of a batch of matrices. */
export const matrixTranspose = <S extends Shape>(x: Tensor<S>): Tensor => {
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [p[x.rank - 1], p[x.rank - 2]];
  return transpose(x, p);
};
