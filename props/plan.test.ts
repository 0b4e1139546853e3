// Planning within a backend's capabilities, checked without the backend: the training step a
// GPU would be asked to build keeps every kernel within WebGPU's default storage-buffer limit
// and its index arithmetic exact at a batch of 2 x 512, and reshapes ravel only the axes they
// merge, so that the flat positions they compute stay small.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  add, broadcastTo, cifarTrainAugmentation, conv2d, flip, grad, invariantSpreadingLoss, key, less, materialize, maxPool, mul, ones, relu, reshape, select, sgd, smallCifarEncoder,
  sum, type Key, type Tensor, uniform,
} from '../lib/index.ts';
import { capabilitiesOf, planKernels } from '../lib/compile/index.ts';
import { type Capabilities, lowered } from '../lib/compile/capabilities.ts';
import { reshapeGroups } from '../lib/compile/rules.ts';
import { trainingStep } from '../lib/train/training-step.ts';
import { runs } from './runs.ts';

const shapeOnly = (shape: number[]) => ({ shape, data: new Float32Array(0) });

test('reshape groups partition both shapes in order into runs of equal products', () => {
  // A shape, and a regrouping of it: each factor list split and merged at random.
  const regrouped = fc
    .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 })
    .chain((from) => fc.tuple(fc.constant(from), fc.array(fc.boolean(), { minLength: from.length - 1, maxLength: from.length - 1 })))
    .map(([from, merges]) => {
      const to: number[] = [from[0]];
      merges.forEach((merge, i) => (merge ? (to[to.length - 1] *= from[i + 1]) : to.push(from[i + 1])));
      return [from, to] as const;
    });
  fc.assert(
    fc.property(regrouped, fc.boolean(), ([from, to], swap) => {
      const [a, b] = swap ? [to, from] : [from, to];
      const groups = reshapeGroups(a, b);
      assert.deepEqual(groups.flatMap((g) => g.from), a.map((_, i) => i));
      assert.deepEqual(groups.flatMap((g) => g.to), b.map((_, i) => i));
      for (const g of groups) {
        const product = (axes: number[], shape: readonly number[]) => axes.reduce((p, axis) => p * shape[axis], 1);
        assert.equal(product(g.from, a), product(g.to, b), JSON.stringify({ a, b, groups }));
      }
    }),
    { numRuns: runs(200) },
  );
  assert.deepEqual(reshapeGroups([1024, 32, 32, 32], [1024, 32768]), [{ from: [0], to: [0] }, { from: [1, 2, 3], to: [1] }]);
});

test('a reshape of a tensor past 2^24 elements ravels only its merged axes', () => {
  // [1024, 32, 32, 32] -> [1024, 32768]: flat positions up to 32768, not 2^25.
  const plan = planKernels((x: Tensor) => sum(reshape(x, [1024, 32768]), [1]), shapeOnly([1024, 32, 32, 32]), capabilitiesOf('webgpu'));
  assert.equal(plan.segments.length, 1);
  // Across all axes at once it cannot be done exactly in float32, and says so.
  assert.throws(
    () => planKernels((x: Tensor) => reshape(x, [2 ** 25]), shapeOnly([2, 2 ** 24]), capabilitiesOf('webgpu')),
    /compile: the kernel for reshape#\d+\[33554432\] computes .* up to \d+, more than the 16777216 its float32 index arithmetic holds exactly/,
  );
});

/** The plan of the method's training step (invariant spreading, SGD) for `encoder` at batch 2 x `batch`. */
const trainingStepPlan = (encoder: ReturnType<typeof smallCifarEncoder>, batch: number, capabilities: Capabilities) => {
  const step = trainingStep({
    encoder,
    objective: (features) => invariantSpreadingLoss(features),
    optimizer: (learningRate) => sgd({ learningRate }),
    augmentation: cifarTrainAugmentation,
  });
  const { params, state } = materialize(encoder.init(key(0)));
  const args = {
    params, state, optimizerState: materialize(sgd({ learningRate: 0.03 }).init(params)),
    images: shapeOnly([batch, 3, 32, 32]), key: shapeOnly([4]), learningRate: shapeOnly([]),
  };
  return planKernels(step as never, args as never, capabilities);
};

test('the training step at 2 x 512 plans within WebGPU default limits: 7 buffers a kernel, exact indices', () => {
  const plan = trainingStepPlan(smallCifarEncoder(), 512, lowered(capabilitiesOf('webgpu'), { storageBuffersPerKernel: 8 }));
  const kernels = plan.segments.flatMap((segment) => (segment.kind === 'pipeline' ? segment.steps : []));
  assert.ok(kernels.length > 50, `${kernels.length} kernels`);
  assert.deepEqual(plan.segments.filter((s) => s.kind === 'host').map((s) => String(s.node)), []);
  const widest = kernels.reduce((most, k) => Math.max(most, k.buffers.length), 0);
  assert.ok(widest <= 7, `a kernel reads ${widest} buffers`);
  assert.ok(kernels.some((k) => k.node.size > 2 ** 24), 'the batch is large enough to have tensors past 2^24 elements');
});

test('on the native backend the training step runs its convolutions and matmuls natively; gpu.js pipelines recompute activations, the JavaScript kernels carry them', () => {
  const encoder = smallCifarEncoder({ widths: [4, 8, 8], featureDimension: 16 });
  // The native pool's JavaScript kernels share memory: a carried buffer costs nothing, so
  // nothing is computed twice.
  const javascript = trainingStepPlan(encoder, 8, capabilitiesOf('native'));
  assert.equal(javascript.javascriptKernels, true);
  assert.ok(javascript.listing.includes('(function kernel(out, buffers, start, end, simd)'));
  const kernelCount = (p: typeof javascript) => p.segments.reduce((n, s) => n + (s.kind === 'pipeline' ? s.steps.length : 0), 0);
  const plan = trainingStepPlan(encoder, 8, lowered(capabilitiesOf('native'), { javascriptKernels: false }));
  assert.equal(plan.javascriptKernels, false);
  assert.ok(kernelCount(javascript) < kernelCount(plan), `${kernelCount(javascript)} JavaScript kernels, ${kernelCount(plan)} gpu.js kernels`);
  const native = plan.segments.filter((s) => s.kind === 'native').map((s) => s.node.primitive.name);
  // Three convolutions forward, two input and three weight gradients; the projection, the
  // similarities and their gradients.
  assert.equal(native.filter((name) => name === 'conv2d').length, 8);
  assert.ok(native.includes('matmul'));
  const pipelines = plan.segments.filter((s) => s.kind === 'pipeline');
  const exported = new Set(pipelines.flatMap((s) => s.exports));
  // ReLU outputs (maximum) are read by the backward pass, which computes them again from the
  // convolutions it reads anyway: no pipeline carries one to another.
  const carried = pipelines.flatMap((s) => s.inputs).filter((node) => exported.has(node) && node.primitive.name === 'maximum');
  assert.deepEqual(carried.map(String), []);
  // A pipeline computes only what it exports or what its exports need.
  for (const pipeline of pipelines) {
    const needed = new Set(pipeline.exports);
    for (const kernel of [...pipeline.steps].reverse()) if (needed.has(kernel.node)) kernel.buffers.forEach((b) => needed.add(b));
    assert.deepEqual(pipeline.steps.filter((k) => !needed.has(k.node)).map((k) => String(k.node)), []);
  }
  // Without native kernels the step is one pipeline again.
  const gpujsOnly = trainingStepPlan(encoder, 8, lowered(capabilitiesOf('native'), { nativeKernels: false }));
  assert.equal(gpujsOnly.segments.length, 1);
});

test('a node several kernels read gets no buffer where it is an operation or two over buffers: a max pool over a ReLU, and its gradient, read the ReLU\'s input in place', () => {
  // conv -> ReLU -> max pool: the ReLU is read by the pool at each tap of a window, by the pool's
  // gradient at each tap and its own position, and by nothing after the pool. One operation
  // over the convolution's buffer, it is recomputed where it is read. (On the native backend the
  // pool's gradient is a native step, which reads its operands from buffers: there the ReLU gets
  // one, and the pool is a native step too.)
  const loss = (p: { x: Tensor; w: Tensor; g: Tensor }) => grad((w: Tensor) => sum(mul(maxPool(relu(conv2d(p.x, w, { padding: 1 }))), p.g)))(p.w);
  const args = { x: shapeOnly([8, 3, 8, 8]), w: shapeOnly([4, 3, 3, 3]), g: shapeOnly([8, 4, 4, 4]) };
  const plan = planKernels(loss, args, capabilitiesOf('cpu'));
  const kernels = plan.segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
  const named = (name: string) => kernels.filter((k) => k.node.primitive.name === name).map((k) => String(k.node));
  assert.deepEqual(named('maximum'), [], named('maximum').join(', '));
  assert.deepEqual(named('maxPoolGradient').length, 1);
  const pools = kernels.filter((k) => k.node.primitive.name === 'pool2d');
  assert.equal(pools.length, 1);
  assert.deepEqual(pools[0].buffers.map((b) => b.primitive.name), ['conv2d'], String(pools[0].node));
  const native = planKernels(loss, args, capabilitiesOf('native'));
  assert.deepEqual(native.segments.filter((s) => s.kind === 'native').map((s) => s.node.primitive.name).sort(), ['conv2d', 'conv2d', 'maxPoolGradient', 'pool2d']);
  // In the small encoder the pool reads the batch norm's output, four operations over buffers
  // that the backward pass reads too: it keeps its buffer, and no window comparison gets one.
  const encoder = smallCifarEncoder({ widths: [4, 8, 8], featureDimension: 16 });
  for (const capabilities of [capabilitiesOf('native'), capabilitiesOf('cpu')]) {
    const plan = trainingStepPlan(encoder, 8, capabilities);
    const kernels = plan.segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
    const named = (name: string) => kernels.filter((k) => k.node.primitive.name === name).map((k) => String(k.node));
    assert.deepEqual(named('equal'), [], `${capabilities.literals}: ${named('equal').join(', ')}`);
    // On the native backend the pools are native steps, reading the same buffer.
    const pools = [
      ...kernels.filter((k) => k.node.primitive.name === 'pool2d').map((k) => ({ node: k.node, reads: k.buffers })),
      ...plan.segments.flatMap((s) => (s.kind === 'native' && s.node.primitive.name === 'pool2d' ? [{ node: s.node, reads: s.operands.map((o) => o.base) }] : [])),
    ];
    assert.equal(pools.length, 3);
    for (const pool of pools) assert.deepEqual(pool.reads.map((b) => b.primitive.name), ['customVjp'], String(pool.node));
  }
});

test('a random draw per image that a kernel over whole images reads is computed once into its own buffer, not again for each channel', () => {
  // A horizontal flip with probability 1/2 per image: the draw is [8], the kernel [8, 3, 4, 4].
  const flipSome = (p: { key: Tensor; x: Tensor }) =>
    select(broadcastTo(reshape(less(uniform(p.key as Key, [8]), 0.5), [8, 1, 1, 1]), [8, 3, 4, 4]), flip(p.x, [3]), p.x);
  const args = { key: shapeOnly([4]), x: shapeOnly([8, 3, 4, 4]) };
  for (const backend of ['native', 'cpu'] as const) {
    const kernels = planKernels(flipSome, args, capabilitiesOf(backend)).segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
    assert.deepEqual(kernels.map((k) => `${k.node.primitive.name} [${k.node.shape}]`), ['randomBits [8]', 'select [8,3,4,4]'], backend);
  }
  // A draw as large as its kernel stays inside it: each element is computed once there.
  const noise = (p: { key: Tensor; x: Tensor }) => add(p.x, uniform(p.key as Key, [8, 3, 4, 4]));
  const kernels = planKernels(noise, args, capabilitiesOf('native')).segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
  assert.deepEqual(kernels.map((k) => k.node.primitive.name), ['add']);
});

test('a product with ones is planned as its other factor; a product with anything else is kept', () => {
  // The gradient of sum(x * g) with respect to x is g: ones broadcast from the seed, times g.
  const gradient = (p: { x: Tensor; g: Tensor }) => grad((x: Tensor) => sum(mul(x, p.g)))(p.x);
  const args = { x: shapeOnly([4, 8]), g: shapeOnly([4, 8]) };
  for (const backend of ['native', 'webgpu', 'cpu'] as const) {
    const plan = planKernels(gradient, args, capabilitiesOf(backend));
    assert.deepEqual(plan.segments, [], `${backend}: ${plan.segments.length} segments`);
    assert.equal(plan.outputs[0].primitive.name, 'placeholder');
  }
  const twice = planKernels((p: { x: Tensor; g: Tensor }) => grad((x: Tensor) => sum(mul(mul(x, 2), p.g)))(p.x), args, capabilitiesOf('native'));
  assert.equal(twice.segments.length, 1);
  // A product with ones that broadcasts the other factor is a kernel still.
  const broadcast = planKernels((p: { x: Tensor }) => mul(p.x, ones([3, 4, 8])), { x: shapeOnly([4, 8]) }, capabilitiesOf('native'));
  assert.equal(broadcast.segments.length, 1);
});
