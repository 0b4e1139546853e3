// Batch norm against its equation worked in plain JavaScript, at a tolerance that sees epsilon
// (1e-5 moves a unit-variance channel's output by about 5e-6 of itself), on channels of every
// kind: random, constant (where the output is beta and, without epsilon, 0/0) and of a variance
// far below epsilon; its running statistics; its evaluation mode; and its gradient on the same
// channels.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { grad, gradientProperty, interpret, mul, sum, tensor, tensorArbitrary, type Tensor, valuesArbitrary } from '../lib/index.ts';
import { key, normal } from '../lib/random/index.ts';
import { batchNorm, batchNormLayer } from '../lib/nn/index.ts';
import { runs } from './runs.ts';

const epsilon = 1e-5;

const values = (t: Tensor): Float64Array => interpret(t).data;

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label = '') => {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
};

/** The values of each channel of an [N, C, ...] array, in order. */
const channelsOf = (data: ArrayLike<number>, shape: readonly number[]): number[][] => {
  const [n, c] = shape;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  return Array.from({ length: c }, (_, ch) => Array.from({ length: n * inner }, (__, k) => data[(Math.floor(k / inner) * c + ch) * inner + (k % inner)]));
};

const meanOf = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
/** The population (biased) variance, as the forward pass normalises by. */
const varianceOf = (xs: readonly number[]): number => meanOf(xs.map((x) => (x - meanOf(xs)) ** 2));

/** Training-mode batch norm by its equation (PyTorch's BatchNorm), momentum 0.1. */
const batchNormByHand = (data: readonly number[], shape: readonly number[], gamma: readonly number[], beta: readonly number[], running: { mean: readonly number[]; variance: readonly number[] }) => {
  const channels = channelsOf(data, shape);
  const [, c] = shape;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = data.map((v, i) => {
    const ch = Math.floor(i / inner) % c;
    return ((v - meanOf(channels[ch])) / Math.sqrt(varianceOf(channels[ch]) + epsilon)) * gamma[ch] + beta[ch];
  });
  const count = channels[0].length;
  return {
    y,
    mean: channels.map((xs, ch) => 0.9 * running.mean[ch] + 0.1 * meanOf(xs)),
    variance: channels.map((xs, ch) => 0.9 * running.variance[ch] + 0.1 * varianceOf(xs) * (count / (count - 1))),
  };
};

type ChannelKind = 'random' | 'constant' | 'tiny variance';

/**
 * [n, c, ...spatial] values whose channels are each random in [-2, 2], constant, or within 1e-4
 * of a constant (a variance about 1e-9, far below epsilon).
 */
const channelsArbitrary = fc
  .record({ n: fc.integer({ min: 2, max: 4 }), c: fc.integer({ min: 1, max: 3 }), spatial: fc.constantFrom([], [2, 2], [1, 3]) })
  .chain(({ n, c, spatial }) => {
    const shape = [n, c, ...spatial];
    const size = shape.reduce((a, b) => a * b, 1);
    return fc
      .record({
        kinds: fc.array(fc.constantFrom<ChannelKind>('random', 'constant', 'tiny variance'), { minLength: c, maxLength: c }),
        levels: valuesArbitrary(c),
        noise: valuesArbitrary(size, { min: -1, max: 1, distinct: 0.05 }),
      })
      .map(({ kinds, levels, noise }) => {
        const inner = size / (n * c);
        const data = noise.map((u, i) => {
          const ch = Math.floor(i / inner) % c;
          return kinds[ch] === 'random' ? 2 * u : kinds[ch] === 'constant' ? levels[ch] : levels[ch] + 1e-4 * u;
        });
        return { shape, kinds, data };
      });
  });

test('batch norm in training equals its equation worked by hand, on random, constant and tiny-variance channels, running statistics too', () => {
  const arbitrary = channelsArbitrary.chain((x) => {
    const c = x.shape[1];
    return fc.record({
      x: fc.constant(x),
      gamma: valuesArbitrary(c),
      beta: valuesArbitrary(c),
      runningMean: valuesArbitrary(c),
      runningVariance: valuesArbitrary(c, { min: 0.1, max: 3 }),
    });
  });
  fc.assert(
    fc.property(arbitrary, ({ x: { shape, kinds, data }, gamma, beta, runningMean, runningVariance }) => {
      const c = shape[1];
      const state = { mean: tensor(runningMean, [c]), variance: tensor(runningVariance, [c]) };
      const out = batchNorm(tensor(data, shape), { gamma: tensor(gamma, [c]), beta: tensor(beta, [c]) }, state, { training: true });
      const expected = batchNormByHand(data, shape, gamma, beta, { mean: runningMean, variance: runningVariance });
      const label = `channels ${kinds.join(', ')}`;
      close(values(out.y), expected.y, 1e-9, `${label}: y`);
      close(values(out.state.mean), expected.mean, 1e-12, `${label}: running mean`);
      close(values(out.state.variance), expected.variance, 1e-12, `${label}: running variance`);
    }),
    { numRuns: runs(100) },
  );
});

test('a constant channel comes out as beta with a finite gradient, and one of variance 1e-10 keeps its small spread', () => {
  const { params, state } = batchNormLayer(2).init(key(0));
  const gamma = tensor([2, 3], [2]);
  const beta = tensor([0.25, -0.5], [2]);
  // Channel 0 is 3 everywhere; channel 1 is 1 +- 1e-5.
  const x = tensor([3, 1 + 1e-5, 3, 1 - 1e-5, 3, 1 + 1e-5, 3, 1 - 1e-5], [4, 2]);
  const y = channelsOf(values(batchNorm(x, { gamma, beta }, state, { training: true }).y), [4, 2]);
  assert.deepEqual(y[0], [0.25, 0.25, 0.25, 0.25]);
  // Scaled by 1/sqrt(1e-10 + epsilon): a spread of about 3e-3, not the unit variance of 1/sqrt(1e-10).
  const expectedStd = 3 * Math.sqrt(1e-10 / (1e-10 + epsilon));
  const std = Math.sqrt(varianceOf(y[1]));
  assert.ok(Math.abs(std - expectedStd) <= 1e-6 * expectedStd, `the tiny channel's standard deviation ${std}, expected ${expectedStd}`);
  // At a constant channel the normalised value is (x - mean) / sqrt(epsilon): d y_j / d x_k = gamma (delta_jk - 1/n) / sqrt(epsilon).
  const weights = tensor([1, 0, 2, 0, -1, 0, 0.5, 0], [4, 2]);
  const gradient = channelsOf(interpret(grad((input: Tensor) => sum(mul(batchNorm(input, { gamma, beta: params.beta }, state, { training: true }).y, weights)))(x)).data, [4, 2]);
  const expected = [1, 2, -1, 0.5].map((w) => (2 * (w - 2.5 / 4)) / Math.sqrt(epsilon));
  close(gradient[0], expected, 1e-6, 'gradient at the constant channel');
});

test('batch norm in training: per-channel mean 0 and variance v / (v + epsilon), then gamma and beta', () => {
  const x = normal(key(8), [4, 3, 5, 5], 3, 2);
  const { params, state } = batchNormLayer(3).init(key(0));
  const inputVariances = channelsOf(values(x), x.shape).map(varianceOf);
  const normalisedVariances = inputVariances.map((v) => v / (v + epsilon));
  const plain = channelsOf(values(batchNorm(x, params, state, { training: true }).y), x.shape);
  close(plain.map(meanOf), [0, 0, 0], 1e-12, 'means');
  // Epsilon moves these by about 2.5e-6 (v is near 4): the tolerance sees it.
  close(plain.map(varianceOf), normalisedVariances, 1e-12, 'variances');
  const affine = { gamma: tensor([2, 0.5, -1], [3]), beta: tensor([1, -1, 0.25], [3]) };
  const scaled = channelsOf(values(batchNorm(x, affine, state, { training: true }).y), x.shape);
  close(scaled.map(meanOf), [1, -1, 0.25], 1e-12, 'means');
  close(scaled.map(varianceOf), [4, 0.25, 1].map((g, ch) => g * normalisedVariances[ch]), 1e-12, 'variances');
});

test('batch norm: running statistics move by momentum 0.1, the variance unbiased', () => {
  const x = tensor([1, 10, 2, 20, 3, 60], [3, 2]);
  const state = { mean: tensor([0.5, -1], [2]), variance: tensor([2, 3], [2]) };
  const { params } = batchNormLayer(2).init(key(0));
  const next = batchNorm(x, params, state, { training: true }).state;
  // Column 0: mean 2, unbiased variance 1; column 1: mean 30, unbiased variance 700.
  close(values(next.mean), [0.9 * 0.5 + 0.1 * 2, 0.9 * -1 + 0.1 * 30], 1e-12, 'mean');
  close(values(next.variance), [0.9 * 2 + 0.1 * 1, 0.9 * 3 + 0.1 * 700], 1e-12, 'variance');
  const custom = batchNorm(x, params, state, { training: true }, { momentum: 0.5 }).state;
  close(values(custom.mean), [0.5 * 0.5 + 0.5 * 2, 0.5 * -1 + 0.5 * 30], 1e-12, 'momentum 0.5');
});

test('batch norm in evaluation uses the running statistics and leaves them alone', () => {
  const x = tensor([1, 10, 2, 20, 3, 60], [3, 2]);
  const state = { mean: tensor([0.5, -1], [2]), variance: tensor([2, 3], [2]) };
  const params = { gamma: tensor([2, 3], [2]), beta: tensor([0.1, 0.2], [2]) };
  const { y, state: after } = batchNorm(x, params, state, { training: false });
  assert.equal(after, state);
  const expected = [1, 10, 2, 20, 3, 60].map((v, i) => {
    const c = i % 2;
    const [m, s, g, b] = [[0.5, -1][c], [2, 3][c], [2, 3][c], [0.1, 0.2][c]];
    return ((v - m) / Math.sqrt(s + epsilon)) * g + b;
  });
  close(values(y), expected, 1e-12, 'y');
});

test('gradient of batch norm in training mode matches finite differences (through the batch statistics), constant and tiny-variance channels included', () => {
  const state = (c: number) => batchNormLayer(c).init(key(0)).state;
  fc.assert(
    gradientProperty(
      ({ x, gamma, beta }: { x: Tensor; gamma: Tensor<readonly [number]>; beta: Tensor<readonly [number]> }) =>
        batchNorm(x, { gamma, beta }, state(gamma.shape[0]), { training: true }).y,
      channelsArbitrary.chain(({ shape, data }) =>
        fc.record({ x: fc.constant(tensor(data, shape)), gamma: tensorArbitrary([shape[1]]), beta: tensorArbitrary([shape[1]]) }),
      ),
    ),
    { numRuns: runs(30) },
  );
});
