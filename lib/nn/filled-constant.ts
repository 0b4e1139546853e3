// A constant leaf of zeros (or ones): initial biases, shifts and statistics are data, not a
// broadcast node, so they can be bound, perturbed and replaced like any other parameter.

import type { Shape } from '../shape.ts';
import { sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';

export const filledConstant = <const S extends Shape>(shape: S, value: number): Tensor<S> =>
  tensor(new Float64Array(sizeOf(shape)).fill(value), shape);

export const zerosConstant = <const S extends Shape>(shape: S): Tensor<S> => filledConstant(shape, 0);
export const onesConstant = <const S extends Shape>(shape: S): Tensor<S> => filledConstant(shape, 1);
