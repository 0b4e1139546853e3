// The linear probe (lib/eval/linear-probe.ts): its loss against a hand computation and finite
// differences, its schedule, and, compiled, that it learns a separable problem from unit features
// and learns nothing from random labels.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGrad, formatGradCheckFailure, interpretScalar, tensor, type Tensor } from '../lib/index.ts';
import { key } from '../lib/random/index.ts';
import { crossEntropy, linearLogits, linearProbe, linearProbeMilestones } from '../lib/eval/index.ts';
import { mulberry32 } from '../lib/data/index.ts';

const gaussian = (random: () => number): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

test('cross-entropy of normalised features worked by hand, and its gradient against finite differences', () => {
  // Features (3, 4) and (0, -2) normalise to (0.6, 0.8) and (0, -1).
  const features = tensor([3, 4, 0, -2], [2, 2]);
  const weight = tensor([1, -1, 2, 0.5], [2, 2]);
  const bias = tensor([0.1, -0.2], [2]);
  const logits = [[0.6 * 1 + 0.8 * 2 + 0.1, 0.6 * -1 + 0.8 * 0.5 - 0.2], [-2 + 0.1, -0.5 - 0.2]];
  const labels = [1, 0];
  const expected = logits.reduce((total, row, i) => total + Math.log(Math.exp(row[0]) + Math.exp(row[1])) - row[labels[i]], 0) / 2;
  const loss = (p: { weight: Tensor; bias: Tensor }) => crossEntropy(linearLogits(p, features), tensor(labels, [2]));
  assert.ok(Math.abs(interpretScalar(loss({ weight, bias })) - expected) < 1e-12);
  const report = checkGrad(loss, { weight, bias });
  assert.ok(report._tag === 'Right', report._tag === 'Left' ? formatGradCheckFailure(report.left) : '');
});

test('the schedule divides the rate after 60% and 80% of the epochs, never at epoch 0 or after the last', () => {
  assert.deepEqual(linearProbeMilestones(50), [30, 40]);
  assert.deepEqual(linearProbeMilestones(10), [6, 8]);
  assert.deepEqual(linearProbeMilestones(2), [1]);
  assert.deepEqual(linearProbeMilestones(1), []);
});

/** Points of `classes` classes: each class a direction plus noise, scaled by a random positive factor per point. */
const directions = (random: () => number, labels: readonly number[], centres: number[][], noise: number) => {
  const d = centres[0].length;
  const data = Float32Array.from(labels.flatMap((label) => {
    // The scale is what normalisation removes: the probe must not depend on it.
    const scale = 0.1 + 10 * random();
    return centres[label].map((c) => scale * (c + noise * gaussian(random)));
  }));
  return { shape: [labels.length, d], data };
};

test('the compiled probe learns a linearly separable problem from unit features, the same for the same key', async () => {
  const random = mulberry32(43);
  const classes = 4;
  const d = 16;
  const centres = Array.from({ length: classes }, () => Array.from({ length: d }, () => gaussian(random)));
  const trainLabels = Array.from({ length: 320 }, (_, i) => i % classes);
  const testLabels = Array.from({ length: 200 }, () => Math.floor(random() * classes));
  const train = directions(random, trainLabels, centres, 0.15);
  const test = directions(random, testLabels, centres, 0.15);
  const options = { classes, key: key(3), epochs: 8, batchSize: 32, backend: 'native' as const, onWarning: () => undefined };
  const epochs: number[] = [];
  const result = await linearProbe(train, trainLabels, test, testLabels, { ...options, onEpoch: (epoch) => epochs.push(epoch) });
  assert.equal(result.top1, 1);
  assert.deepEqual(Array.from(result.predictions), testLabels);
  assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(result.losses[7] < result.losses[0] / 4, `losses ${result.losses}`);
  const again = await linearProbe(train, trainLabels, test, testLabels, options);
  assert.deepEqual(again.losses, result.losses);
});

test('the probe finds nothing in random labels: test accuracy about chance', async () => {
  const random = mulberry32(47);
  const d = 8;
  const features = (count: number) => ({ shape: [count, d], data: Float32Array.from({ length: count * d }, () => gaussian(random)) });
  const labels = (count: number) => Array.from({ length: count }, () => Math.floor(random() * 4));
  const result = await linearProbe(features(256), labels(256), features(400), labels(400), {
    classes: 4, key: key(1), epochs: 4, batchSize: 64, backend: 'native', onWarning: () => undefined,
  });
  // Chance is 0.25; the standard error over 400 rows is about 0.022.
  assert.ok(result.top1 > 0.15 && result.top1 < 0.35, `top-1 ${result.top1}`);
});

test('linearProbe rejects what does not fit', async () => {
  const x = { shape: [2, 2], data: Float32Array.of(1, 0, 0, 1) };
  const options = { classes: 2, key: key(0), backend: 'native' as const, onWarning: () => undefined };
  await assert.rejects(linearProbe(x, [0, 2], x, [0, 1], options), /linearProbe: trainLabels\[1\] = 2 is not a class in \[0, 2\)/);
  await assert.rejects(linearProbe(x, [0, 1], { shape: [1, 3], data: Float32Array.of(1, 2, 3) }, [0], options), /training features of dimension 2, test features of dimension 3/);
  await assert.rejects(linearProbe(x, [0, 1], x, [0, 1], { ...options, epochs: 0 }), /linearProbe: epochs = 0 must be a positive integer/);
});
