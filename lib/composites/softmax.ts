// logsumexp, softmax and logSoftmax, shifted by the (gradient-stopped) maximum so no exponential
// overflows. Stopping the gradient of the shift is exact: the shift cancels in the value.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { exp } from '../primitives/exp.ts';
import { log } from '../primitives/log.ts';
import { max } from '../primitives/max.ts';
import { reshape } from '../primitives/reshape.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { resolveReduceParams, reducedShape } from '../primitives/reduction.ts';

type Axes = number | readonly number[];

export const logsumexp = (x: Tensor, axes: Axes = -1, keepdims = false): Tensor => {
  const shift = stopGradient(max(x, axes, true));
  const kept = add(log(sum(exp(sub(x, shift)), axes, true)), shift);
  return keepdims ? kept : reshape(kept, reducedShape(x.shape, resolveReduceParams('logsumexp', x.shape, axes, false)));
};

/** (x - m) - log(sum(exp(x - m))): subtracting in the shifted frame keeps exp(logSoftmax) exact. */
export const logSoftmax = <S extends Shape>(x: Tensor<S>, axes: Axes = -1): Tensor<S> => {
  const shifted = sub(x as Tensor, stopGradient(max(x, axes, true)));
  return sub(shifted, log(sum(exp(shifted), axes, true))) as Tensor<S>;
};

export const softmax = <S extends Shape>(x: Tensor<S>, axes: Axes = -1): Tensor<S> => exp(logSoftmax(x, axes));
