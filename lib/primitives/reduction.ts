// Shared machinery of the reductions (sum, max): the shape rule and the reference loop over the
// reduced axes. Axes are resolved (negative ones counted from the end) when the node is built.

import { normalizeAxes, type ReduceShape, type Shape, stridesOf } from '../shape.ts';
import { apply, type Primitive, type Tensor, type Value } from '../tensor.ts';
import { walkStrided } from './strided-view.ts';

export interface ReduceParams {
  /** Sorted, non-negative, distinct. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

export const reducedShape = (shape: Shape, { axes, keepdims }: ReduceParams): Shape =>
  keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));

export const resolveReduceParams = (
  op: string,
  shape: Shape,
  axes: number | readonly number[] | undefined,
  keepdims: boolean,
): ReduceParams => {
  const list = axes === undefined ? shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  return { axes: normalizeAxes(op, list, shape.length, shape).sort((a, b) => a - b), keepdims };
};

/** Folds every reduced window with `step`, starting from `initial`. */
export const reduceEvaluate =
  (initial: number, step: (accumulator: number, value: number) => number) =>
  ([x]: readonly Value[], { axes }: ReduceParams, shape: Shape): Float64Array => {
    const out = new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(initial);
    // Every input element folds into its output position: reduced axes contribute nothing.
    const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const outStrides = stridesOf(keptShape).map((s, i) => (axes.includes(i) ? 0 : s));
    walkStrided(x.shape, outStrides, 0, (i, target) => (out[target] = step(out[target], x.data[i])));
    return out;
  };

/** The operation of a reduction primitive: over `axes` (all when omitted); `keepdims` leaves them as size 1. */
export const reductionOp =
  (primitive: Primitive<ReduceParams>) =>
  <S extends Shape, const A extends number | readonly number[] | undefined = undefined, K extends boolean = false>(
    x: Tensor<S>,
    axes?: A,
    keepdims?: K,
  ): Tensor<ReduceShape<S, A extends number ? [A] : A, K>> =>
    apply(primitive, [x], resolveReduceParams(primitive.name, x.shape, axes, keepdims ?? false));
