// Constants enter the graph here: `tensor(values, shape)` and the usual fills.

import { formatShape, isShape, type Shape, ShapeError, sizeOf } from './shape.ts';
import { Tensor } from './tensor.ts';
import { constantPrimitive } from './primitives/constant.ts';
import { broadcastTo } from './primitives/broadcast-to.ts';

type Nested = number | readonly Nested[];

const flatten = (values: Nested, out: number[]): void => {
  if (typeof values === 'number') out.push(values);
  else for (const v of values) flatten(v, out);
};

const constant = <const S extends Shape>(data: Float64Array, shape: S): Tensor<S> =>
  new Tensor(constantPrimitive, [], { data }, [...shape] as unknown as S);

/**
 * A constant tensor from flat or nested values and its shape: `tensor([1, 2, 3, 4], [2, 2])`.
 * The values are copied, so later changes to the caller's array do not reach the graph.
 */
export const tensor = <const S extends Shape>(values: ArrayLike<number> | Nested, shape: S): Tensor<S> => {
  if (!isShape(shape)) throw new ShapeError(`tensor: ${JSON.stringify(shape)} is not a shape of non-negative integers`);
  let data: Float64Array;
  if (typeof values === 'number' || Array.isArray(values)) {
    const flat: number[] = [];
    flatten(values as Nested, flat);
    data = Float64Array.from(flat);
  } else data = Float64Array.from(values as ArrayLike<number>);
  if (data.length !== sizeOf(shape))
    throw new ShapeError(`tensor: ${data.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
  return constant(data, shape);
};

export const scalar = (value: number): Tensor<[]> => constant(Float64Array.of(value), []);

/** A tensor of one repeated value: a scalar broadcast, so that no full-size array is stored. */
export const fill = <const S extends Shape>(shape: S, value: number): Tensor<S> =>
  shape.length === 0 ? (scalar(value) as unknown as Tensor<S>) : broadcastTo(scalar(value), shape);

export const zeros = <const S extends Shape>(shape: S): Tensor<S> => fill(shape, 0);

export const ones = <const S extends Shape>(shape: S): Tensor<S> => fill(shape, 1);

export const eye = <const N extends number>(n: N): Tensor<[N, N]> => {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return constant(data, [n, n] as [N, N]);
};

/** `arange(stop)` or `arange(start, stop, step)`: evenly spaced values, stop excluded. */
export const arange = (start: number, stop?: number, step = 1): Tensor<[number]> => {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new ShapeError('arange: step must not be 0');
  const count = Math.max(0, Math.ceil((to - from) / step));
  return constant(Float64Array.from({ length: count }, (_, i) => from + i * step), [count]);
};

/** A constant with the same shape as `like`. */
export const fillLike = <S extends Shape>(like: Tensor<S>, value: number): Tensor<S> => fill(like.shape, value);
export const zerosLike = <S extends Shape>(like: Tensor<S>): Tensor<S> => fillLike(like, 0);
export const onesLike = <S extends Shape>(like: Tensor<S>): Tensor<S> => fillLike(like, 1);
