// Batch normalisation over the channel axis (axis 1) of [N, C] or [N, C, H, W] input, as
// PyTorch's BatchNorm1d/2d:
//  - training: normalise by the batch's mean and (biased) variance, gradients flowing through
//    both; the running statistics move towards the batch's by `momentum`, the variance in its
//    unbiased form (times n / (n - 1)), and carry no gradient;
//  - evaluation: normalise by the running statistics, which stay as they are;
// then scale by gamma and shift by beta (the affine parameters, starting at 1 and 0).

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { customVjp } from '../primitives/custom-vjp.ts';
import { mean } from '../composites/statistics.ts';
import { square } from '../composites/activations.ts';
import type { Mode, StatefulLayer } from './layer.ts';
import { onesConstant, zerosConstant } from './filled-constant.ts';

export type BatchNormParams = { readonly gamma: Tensor<readonly [number]>; readonly beta: Tensor<readonly [number]> };
export type BatchNormState = { readonly mean: Tensor<readonly [number]>; readonly variance: Tensor<readonly [number]> };

export interface BatchNormOptions {
  /** Weight of the batch in the running statistics. Default 0.1. */
  readonly momentum?: number;
  /** Added to the variance under the square root. Default 1e-5. */
  readonly epsilon?: number;
}

export const batchNormDefaults = { momentum: 0.1, epsilon: 1e-5 } as const;

/** The reduced axes (all but the channel axis) and the shape that broadcasts a [C] vector against x. */
const layout = (x: Tensor): { axes: number[]; perChannel: number[]; count: number } => {
  if (x.rank !== 2 && x.rank !== 4) throw new RangeError(`batchNorm: input must be [N, C] or [N, C, H, W], got rank ${x.rank}`);
  const axes = x.shape.map((_, axis) => axis).filter((axis) => axis !== 1);
  const perChannel = x.shape.map((d, axis) => (axis === 1 ? d : 1));
  return { axes, perChannel, count: axes.reduce((n, axis) => n * x.shape[axis], 1) };
};

/**
 * The VJP of y = gamma * x^ + beta in training, x^ = (x - mean) / s, s = sqrt(variance + epsilon),
 * with the mean and the (biased) variance the batch's own. With g the cotangent of y and sums
 * over every axis but the channel's:
 *   d beta = sum(g), d gamma = sum(g x^),
 *   d x = (gamma / s) (g - sum(g) / n - x^ sum(g x^) / n),
 * the mean's and the variance's dependence on x included, so they get no cotangent of their own.
 * It computes s from the variance itself rather than taking the forward's, so that the suite's
 * finite differences of the forward check the rule.
 */
const trainingRule =
  ({ axes, channel, count, epsilon }: { axes: number[]; channel: (t: Tensor) => Tensor; count: number; epsilon: number }) =>
  (g: Tensor, [x, gamma, , batchMean, batchVariance]: readonly Tensor[]): (Tensor | null)[] => {
    const inverseDeviation = div(1, sqrt(add(batchVariance, epsilon)));
    const normalised = mul(sub(x, channel(batchMean)), channel(inverseDeviation));
    const gSum = sum(g, axes);
    const gNormalisedSum = sum(mul(g, normalised), axes);
    const centredG = sub(sub(g, channel(div(gSum, count))), mul(normalised, channel(div(gNormalisedSum, count))));
    return [mul(centredG, channel(mul(gamma, inverseDeviation))), gNormalisedSum, gSum, null, null];
  };

/** `batchNorm(x, params, state, mode, options)`: the normalised x and the next running statistics. */
export const batchNorm = <X extends Tensor>(
  x: X,
  { gamma, beta }: BatchNormParams,
  state: BatchNormState,
  { training }: Mode,
  { momentum = batchNormDefaults.momentum, epsilon = batchNormDefaults.epsilon }: BatchNormOptions = {},
): { y: X; state: BatchNormState } => {
  const input: Tensor = x; // widened: the broadcasts below are checked at trace time
  const { axes, perChannel, count } = layout(input);
  const channel = (t: Tensor) => reshape(t, perChannel);
  const affine = (normalised: Tensor, scale: Tensor, shift: Tensor) => add(mul(normalised, channel(scale)), channel(shift)) as X;
  if (!training) {
    const normalised = div(sub(input, channel(state.mean)), sqrt(add(channel(state.variance), epsilon)));
    return { y: affine(normalised, gamma, beta), state };
  }
  if (count < 2) throw new RangeError(`batchNorm: training needs more than one value per channel, got ${count}`);
  const batchMean = mean(input, axes) as Tensor<readonly [number]>;
  // The variance from the centred values: one mean and one centring, not one for each.
  const batchVariance = mean(square(sub(input, channel(batchMean))), axes) as Tensor<readonly [number]>;
  // The gradient through the batch statistics in closed form (trainingRule): two per-channel
  // sums and one pass over the activations, where differentiating the forward's mean, centring,
  // variance and division took four sums and two passes.
  const normalise = customVjp(
    'batchNorm',
    (x: Tensor, gamma: Tensor, beta: Tensor, batchMean: Tensor, batchVariance: Tensor) =>
      affine(div(sub(x, channel(batchMean)), sqrt(add(channel(batchVariance), epsilon))), gamma, beta),
    trainingRule({ axes, channel, count, epsilon }),
  );
  const towardsBatch = (running: Tensor<readonly [number]>, batch: Tensor) =>
    add(mul(running, 1 - momentum), mul(stopGradient(batch), momentum)) as Tensor<readonly [number]>;
  return {
    y: normalise(input, gamma, beta, batchMean, batchVariance) as X,
    state: {
      mean: towardsBatch(state.mean, batchMean),
      variance: towardsBatch(state.variance, mul(batchVariance, count / (count - 1))),
    },
  };
};

/** Batch norm as a stateful layer over `channels` channels; `init` needs no randomness. */
export const batchNormLayer = <X extends Tensor = Tensor>(channels: number, options: BatchNormOptions = {}): StatefulLayer<BatchNormParams, BatchNormState, X, X> => ({
  init: () => ({
    params: { gamma: onesConstant([channels]), beta: zerosConstant([channels]) },
    state: { mean: zerosConstant([channels]), variance: onesConstant([channels]) },
  }),
  apply: (params, state, x, mode) => batchNorm(x, params, state, mode, options),
});
