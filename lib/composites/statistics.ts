// mean and variance over axes (the population variance, as batch norm uses).

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { div } from '../primitives/div.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { resolveReduceParams } from '../primitives/reduction.ts';
import { square } from './activations.ts';

type Axes = number | readonly number[] | undefined;

const countOf = (x: Tensor, axes: Axes): number =>
  resolveReduceParams('mean', x.shape, axes, false).axes.reduce((n, axis) => n * x.shape[axis], 1);

export const mean = (x: Tensor, axes?: Axes, keepdims = false): Tensor<Shape> => div(sum(x, axes, keepdims), countOf(x, axes));

export const variance = (x: Tensor, axes?: Axes, keepdims = false): Tensor<Shape> =>
  mean(square(sub(x, mean(x, axes, true))), axes, keepdims);
