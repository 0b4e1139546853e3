// Layers and encoders: shapes, initialisation, gradients against finite differences, and the
// encoders' size and work. Batch norm's equation, its edges and its gradient: batch-norm.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertGrad, gradientProperty, interpret, l2Normalize, matmul, sum, tensor, tensorArbitrary, type Tensor } from '../lib/index.ts';
import { key, normal, uniform } from '../lib/random/index.ts';
import {
  batchNormLayer, conv2dLayer, countFlops, countParameters, encoderFlopsPerImage, globalAveragePool, linearLayer, materialize, maxPool,
  resnet18Cifar, smallCifarEncoder,
} from '../lib/nn/index.ts';
import { runs } from './runs.ts';

const values = (t: Tensor): Float64Array => interpret(t).data;

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label = '') => {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
};

test('layers give the shapes they promise', () => {
  const linear = linearLayer({ inFeatures: 5, outFeatures: 3 });
  assert.deepEqual(linear.apply(linear.init(key(0)), uniform(key(1), [4, 5])).shape, [4, 3]);
  const conv = conv2dLayer({ inChannels: 3, outChannels: 8, kernelSize: 3 });
  const images = uniform(key(2), [2, 3, 9, 9]);
  assert.deepEqual(conv.apply(conv.init(key(0)), images).shape, [2, 8, 9, 9]);
  const strided = conv2dLayer({ inChannels: 3, outChannels: 4, kernelSize: 1, stride: 2, bias: false });
  const stridedParams = strided.init(key(0));
  assert.equal(stridedParams.bias, undefined);
  assert.deepEqual(strided.apply(stridedParams, images).shape, [2, 4, 5, 5]);
  assert.deepEqual(maxPool(conv.apply(conv.init(key(0)), images)).shape, [2, 8, 4, 4]);
  assert.deepEqual(globalAveragePool(images).shape, [2, 3]);
  const bn = batchNormLayer(3);
  const { params, state } = bn.init(key(0));
  assert.deepEqual(bn.apply(params, state, images, { training: true }).y.shape, [2, 3, 9, 9]);
  assert.deepEqual(bn.apply(params, state, uniform(key(3), [6, 3]), { training: true }).y.shape, [6, 3]);
  assert.throws(() => bn.apply(params, state, uniform(key(3), [1, 3]), { training: true }), RangeError);
});

const moments = (w: ArrayLike<number>): { mean: number; std: number; largest: number } => {
  const xs = Array.from(w);
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length), largest: Math.max(...xs.map(Math.abs)) };
};

test('initialisation: convolution weights uniform in +-1/sqrt(fan-in) (or He normal), uniform linear weights, zero biases, unit batch-norm scale', () => {
  const conv = conv2dLayer({ inChannels: 64, outChannels: 64, kernelSize: 3 });
  const { weight, bias } = conv.init(key(5));
  const w = values(weight);
  const bound = 1 / Math.sqrt(64 * 9);
  const uniformMoments = moments(w);
  assert.ok(uniformMoments.largest <= bound, `largest ${uniformMoments.largest} above the bound ${bound}`);
  assert.ok(Math.abs(uniformMoments.std / (bound / Math.sqrt(3)) - 1) < 0.03, `std ${uniformMoments.std}, expected ${bound / Math.sqrt(3)}`);
  assert.ok(Math.abs(uniformMoments.mean) < 5 * bound / Math.sqrt(w.length), `mean ${uniformMoments.mean}`);
  const he = moments(values(conv2dLayer({ inChannels: 64, outChannels: 64, kernelSize: 3, initialisation: 'he-normal' }).init(key(5)).weight));
  const expected = Math.sqrt(2 / (64 * 9));
  assert.ok(Math.abs(he.std / expected - 1) < 0.03, `std ${he.std}, expected ${expected}`);
  assert.ok(he.largest > bound * 3, 'He normal reaches beyond the uniform bound');
  assert.deepEqual(values(bias!), new Float64Array(64));
  const linear = linearLayer({ inFeatures: 16, outFeatures: 32 }).init(key(6));
  for (const x of values(linear.weight)) assert.ok(Math.abs(x) <= 0.25, `${x}`);
  assert.notDeepEqual(values(conv.init(key(7)).weight), w, 'another key, other weights');
  const { params, state } = batchNormLayer(4).init(key(0));
  assert.deepEqual([values(params.gamma), values(params.beta), values(state.mean), values(state.variance)].map((v) => Array.from(v)), [
    [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1],
  ]);
});

const small = fc.integer({ min: 1, max: 3 });

test('gradient of the linear layer matches finite differences', () => {
  const layer = linearLayer({ inFeatures: 1, outFeatures: 1 }); // apply reads only the tensors
  fc.assert(
    gradientProperty(
      ({ x, weight, bias }: { x: Tensor<readonly [number, number]>; weight: Tensor<readonly [number, number]>; bias: Tensor<readonly [number]> }) => layer.apply({ weight, bias }, x),
      fc.record({ n: small, i: small, o: small }).chain(({ n, i, o }) =>
        fc.record({ x: tensorArbitrary([n, i]), weight: tensorArbitrary([i, o]), bias: tensorArbitrary([o]) }),
      ),
    ),
    { numRuns: runs(30) },
  );
});

test('gradient of the conv2d layer matches finite differences', () => {
  fc.assert(
    gradientProperty(
      ({ x, weight, bias, options }: { x: Tensor<readonly [number, number, number, number]>; weight: Tensor<readonly [number, number, number, number]>; bias: Tensor<readonly [number]>; options: { c: number; o: number; k: number; stride: number } }) =>
        conv2dLayer({ inChannels: options.c, outChannels: options.o, kernelSize: options.k, stride: options.stride }).apply({ weight, bias }, x),
      fc
        .record({ n: fc.integer({ min: 1, max: 2 }), c: small, o: small, size: fc.integer({ min: 3, max: 5 }), k: fc.constantFrom(1, 3), stride: fc.constantFrom(1, 2) })
        .chain((p) =>
          fc.record({
            x: tensorArbitrary([p.n, p.c, p.size, p.size]),
            weight: tensorArbitrary([p.o, p.c, p.k, p.k]),
            bias: tensorArbitrary([p.o]),
            options: fc.constant(p),
          }),
        ),
    ),
    { numRuns: runs(30) },
  );
});

test('the small encoder: [N, 3, 32, 32] -> [N, 128] unit rows, training state threaded, ~21 MFLOP per image', () => {
  const encoder = smallCifarEncoder();
  const { params, state } = encoder.init(key(0));
  const images = uniform(key(1), [1, 3, 32, 32]);
  const evaluation = encoder.apply(params, state, images, { training: false });
  assert.deepEqual(evaluation.features.shape, [1, 128]);
  assert.equal(evaluation.state.stages[0].mean, state.stages[0].mean, 'evaluation keeps the running statistics');
  // Multiply-adds: 32x32x32 outputs x 27, 16x16x64 x 288, 8x8x128 x 576, and 128 x 128; two FLOPs each.
  const multiplyAdds = 32 * 32 * 32 * 27 + 16 * 16 * 64 * 288 + 8 * 8 * 128 * 576 + 128 * 128;
  assert.equal(2 * multiplyAdds, 20_676_608);
  const flops = countFlops(evaluation.features, [images]);
  assert.ok(flops >= 2 * multiplyAdds && flops < 21.5e6, `${flops} FLOPs`);
  assert.ok(Math.abs(flops - 21e6) < 0.25e6, `about 21 MFLOP, counted ${flops}`);
  assert.equal(encoderFlopsPerImage(encoder), flops);
  // Only work that depends on the named inputs counts (not drawing the parameters, say).
  assert.equal(countFlops(evaluation.features, []), 0);
  assert.ok(countFlops(evaluation.features) > flops);
  // Four images are four times the work.
  const batch = uniform(key(1), [4, 3, 32, 32]);
  assert.equal(countFlops(encoder.apply(params, state, batch, { training: false }).features, [batch]), 4 * flops);
  assert.equal(countParameters(params), 3 * 32 * 9 + 32 * 64 * 9 + 64 * 128 * 9 + 2 * (32 + 64 + 128) + 128 * 128 + 128);

  const trainingBatch = materialize(uniform(key(2), [3, 3, 16, 16]));
  const training = interpret(encoder.apply(materialize(params), state, trainingBatch, { training: true }));
  assert.deepEqual(training.features.shape, [3, 128]);
  for (let row = 0; row < 3; row++) {
    const norm = Math.hypot(...training.features.data.subarray(row * 128, (row + 1) * 128));
    assert.ok(Math.abs(norm - 1) < 1e-12, `row ${row} norm ${norm}`);
  }
  assert.notDeepEqual(training.state.stages[0].mean.data, new Float64Array(32), 'running means moved');
  // The backbone's pooled output is what the features are projected from.
  assert.equal(encoder.backboneDimension, 128);
  assert.deepEqual(training.pooled.shape, [3, 128]);
  const projected = interpret(l2Normalize(matmul(tensor(Array.from(training.pooled.data), [3, 128]), materialize(params).projection.weight)));
  close(projected.data, training.features.data, 1e-9, 'features = normalised projection of the pooled backbone (bias 0 at init)');
});

test('gradient of the small encoder (training mode) matches finite differences on 2 images of 8x8', () => {
  const encoder = smallCifarEncoder();
  const initial = encoder.init(key(3));
  const params = materialize(initial.params);
  const images = materialize(uniform(key(4), [2, 3, 8, 8], -1, 1));
  const report = assertGrad(
    ({ params, images }: { params: typeof initial.params; images: Tensor<readonly [number, number, number, number]> }) =>
      encoder.apply(params, initial.state, images, { training: true }).features,
    { params, images },
    { maxElementsPerInput: 4 },
  );
  assert.ok(report.checked >= 40, `checked ${report.checked} elements`);
});

test('ResNet18 (CIFAR): [N, 3, 32, 32] -> [N, 128] traced at full width; interpreted at a narrow width', () => {
  const encoder = resnet18Cifar();
  const { params, state } = encoder.init(key(0));
  const images = uniform(key(1), [2, 3, 32, 32]);
  const { features, state: next } = encoder.apply(params, state, images, { training: true });
  assert.deepEqual(features.shape, [2, 128]);
  assert.equal(next.stages.length, 4);
  assert.deepEqual(next.stages.map((blocks) => blocks.map((b) => b.shortcut !== undefined)), [[false, false], [true, false], [true, false], [true, false]]);
  // Parameters, by hand: 3x3 convolutions, 1x1 shortcuts, two per batch norm channel, the linear layer.
  const conv = (i: number, o: number, k: number) => i * o * k * k + 2 * o;
  const block = (i: number, o: number) => conv(i, o, 3) + conv(o, o, 3) + (i !== o ? conv(i, o, 1) : 0);
  const expected =
    conv(3, 64, 3) + block(64, 64) + block(64, 64) + block(64, 128) + block(128, 128) + block(128, 256) + block(256, 256) +
    block(256, 512) + block(512, 512) + 512 * 128 + 128;
  assert.equal(countParameters(params), expected);
  assert.equal(expected, 11_234_496);
  const single = uniform(key(1), [1, 3, 32, 32]);
  const flops = countFlops(encoder.apply(params, state, single, { training: false }).features, [single]);
  assert.ok(flops > 1.1e9 && flops < 1.15e9, `${flops} FLOPs per image`);
  assert.equal(encoderFlopsPerImage(encoder), flops);

  const narrow = resnet18Cifar({ widths: [4, 8, 8, 16], featureDimension: 8 });
  const small = narrow.init(key(2));
  const out = interpret(narrow.apply(materialize(small.params), small.state, materialize(uniform(key(3), [2, 3, 8, 8])), { training: true }));
  assert.deepEqual(out.features.shape, [2, 8]);
  assert.deepEqual([narrow.backboneDimension, ...out.pooled.shape], [16, 2, 16]);
  for (let row = 0; row < 2; row++) assert.ok(Math.abs(Math.hypot(...out.features.data.subarray(row * 8, row * 8 + 8)) - 1) < 1e-12);
});

test('materialize turns a tree of graphs into constants with the same values', () => {
  const tree = { a: normal(key(0), [3]), b: [uniform(key(1), [2, 2])] };
  const concrete = materialize(tree);
  assert.equal(concrete.a.primitive.name, 'constant');
  assert.deepEqual(values(concrete.a), values(tree.a));
  assert.deepEqual(values(concrete.b[0]), values(tree.b[0]));
  assert.deepEqual(concrete.b[0].shape, [2, 2]);
  assert.equal(interpret(sum(concrete.a)).data.length, 1);
});

test('the encoders take any image size their pooling allows: 96x96 (STL-10) and odd sizes, and say what is too small', () => {
  for (const side of [96, 40, 8]) {
    const small = smallCifarEncoder({ widths: [4, 8, 8], featureDimension: 6 });
    const s = small.init(key(5));
    const out = interpret(small.apply(materialize(s.params), s.state, materialize(uniform(key(6), [2, 3, side, side])), { training: true }));
    assert.deepEqual([out.features.shape, out.pooled.shape], [[2, 6], [2, 8]], `small encoder at ${side}x${side}`);
    for (let row = 0; row < 2; row++) assert.ok(Math.abs(Math.hypot(...out.features.data.subarray(row * 6, row * 6 + 6)) - 1) < 1e-12);
  }
  // At full width the work grows with the pixels: 96x96 is nine times 32x32 for the convolutions.
  const encoder = smallCifarEncoder();
  const at96 = encoderFlopsPerImage(encoder, [3, 96, 96]);
  const at32 = encoderFlopsPerImage(encoder);
  assert.ok(at96 > 8.9 * at32 && at96 < 9 * at32, `${at96} against ${at32}`);
  // ResNet18's strides leave 12x12 of a 96x96 image for the global pool, traced at full width.
  const resnet = resnet18Cifar();
  const r = resnet.init(key(7));
  assert.deepEqual(resnet.apply(r.params, r.state, uniform(key(8), [1, 3, 96, 96]), { training: false }).features.shape, [1, 128]);
  const narrow = resnet18Cifar({ widths: [2, 4, 4, 4], featureDimension: 4 });
  const n = narrow.init(key(9));
  assert.deepEqual(interpret(narrow.apply(materialize(n.params), n.state, materialize(uniform(key(1), [1, 3, 33, 33])), { training: false })).features.shape, [1, 4]);
  // Three halvings need at least 8 pixels a side; fewer is a shape error that names the pooling.
  assert.throws(() => encoder.apply(encoder.init(key(0)).params, encoder.init(key(0)).state, uniform(key(1), [1, 3, 4, 4]), { training: false }), /pool2d/);
});
