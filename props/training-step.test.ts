// The whole training step (two augmented views, encoder, invariant-spreading loss, gradients,
// SGD, batch-norm statistics) compiled equals interpreted, and training lowers the loss.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  colorJitter, compose, interpret, invariantSpreadingLoss, key, materialize, normalize, randomGrayscale, randomHorizontalFlip,
  randomResizedCrop, sgd, smallCifarEncoder, tensor,
} from '../lib/index.ts';
import { compile } from '../lib/compile/index.ts';
import { trainingStep, trainingStepOnViews } from '../lib/train/training-step.ts';
import { twoViews } from '../lib/augment/compose.ts';
import { fastBackends, testLimits } from './backends.ts';
import { assertOneDeviceRun } from './device-transfers.ts';

const size = 8;
const encoder = smallCifarEncoder({ widths: [4, 6, 8], featureDimension: 8 });
const augmentation = compose(
  (k, images) => randomResizedCrop(k, images, { size, scale: [0.2, 1] }),
  (k, images) => colorJitter(k, images, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 }),
  (k, images) => randomGrayscale(k, images, { p: 0.2 }),
  (k, images) => randomHorizontalFlip(k, images, { p: 0.5 }),
  (_k, images) => normalize(images),
);
const step = trainingStep({
  encoder,
  objective: (features) => invariantSpreadingLoss(features),
  optimizer: (learningRate) => sgd({ learningRate }),
  augmentation,
});

const initialInputs = (count: number) => {
  const { params, state } = materialize(encoder.init(key(3)));
  return {
    params,
    state,
    optimizerState: materialize(sgd({ learningRate: 0.1 }).init(params)),
    images: tensor(Array.from({ length: count * 3 * size * size }, (_, i) => (Math.sin(i * 0.61) + 1) / 2), [count, 3, size, size]),
    key: key(4),
    learningRate: tensor([0.1], []),
  };
};

for (const backend of fastBackends)
test(`${backend}: the compiled training step equals the interpreted one`, async () => {
  // 16 images, two views each: 32 rows of features and a [32, 32] similarity, axes long enough
  // for the layouts that put a long axis in x, beside the short ones of the weights.
  const inputs = initialInputs(16);
  const compiled = compile(step, { backend, limits: testLimits });
  const out = await compiled(inputs as never);
  const reference = interpret(step(inputs as never));
  const pairs: [Float32Array, Float64Array][] = [];
  const walk = (c: any, r: any) => {
    if (r && r.data instanceof Float64Array) pairs.push([c.data, r.data]);
    else if (r && typeof r === 'object') for (const k of Object.keys(r)) walk(c[k], r[k]);
  };
  walk(out, reference);
  assert.ok(pairs.length > 20);
  for (const [c, r] of pairs) {
    const scale = r.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    r.forEach((v, i) => assert.ok(Math.abs(c[i] - v) <= 1e-3 * scale, `compiled ${c[i]} vs interpreted ${v}`));
  }
  assert.equal(compiled.report()!.hostSteps.length, 0);
  // On webgpu the whole step is one device run: the arguments up, the results back, nothing else.
  if (backend === 'webgpu') await assertOneDeviceRun(compiled, inputs, out);
  await compiled.destroy();
});

test('the step on views drawn beforehand is the training step after twoViews', () => {
  // The model-only step the benchmark times beside the full one must be the same computation.
  const { images, key: viewKey, ...rest } = initialInputs(4);
  const onViews = trainingStepOnViews({ encoder, objective: (features) => invariantSpreadingLoss(features), optimizer: (learningRate) => sgd({ learningRate }) });
  const full: any = interpret(step({ images, key: viewKey, ...rest } as never));
  const split: any = interpret(onViews({ ...rest, views: twoViews(viewKey, images, augmentation) } as never));
  assert.deepEqual(Array.from(split.loss.data), Array.from(full.loss.data));
  assert.deepEqual(Array.from(split.params.projection.weight.data), Array.from(full.params.projection.weight.data));
});

for (const backend of fastBackends)
test(`${backend}: training on one batch lowers the loss`, async () => {
  let inputs: any = initialInputs(8);
  const compiled = compile(step, { backend, limits: testLimits });
  const losses: number[] = [];
  for (let s = 0; s < 12; s++) {
    // The same views every step: the loss must fall as the encoder fits them.
    const out: any = await compiled({ ...inputs, key: key(6) });
    losses.push(out.loss.data[0]);
    inputs = { ...inputs, params: out.params, state: out.state, optimizerState: out.optimizerState };
  }
  assert.ok(losses.every(Number.isFinite), String(losses));
  assert.ok(losses[losses.length - 1] < losses[0] - 0.05, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  await compiled.destroy();
});

