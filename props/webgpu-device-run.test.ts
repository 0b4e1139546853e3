// webgpu's device runs (lib/webgpu/device-program.ts): gpu.js's kernels and the tiled
// convolutions and matmuls recorded into one command encoder a call, every intermediate on the
// device. Small programs here, so that lavapipe builds few pipelines: a convolution and a matmul
// with their gradients equal the interpreter, and cross between host and device only as their
// arguments and results; a host step between them splits the program into two runs; calls made
// at once are served one after another on the run's buffers; `tiledKernels: false` still runs
// gpu.js's own convolutions. The whole training step is held to the same promise in
// props/training-step.test.ts. With no adapter these tests say why and pass, unless
// REQUIRE_WEBGPU is set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLeft } from 'fp-ts/lib/Either.js';
import { add, conv2d, grad, interpret, matmul, relu, reshape, sum, tensor, type Tensor, topKIndices } from '../lib/index.ts';
import { compile, webgpuDevice } from '../lib/compile/index.ts';
import { assertOneDeviceRun } from './device-transfers.ts';

// As props/webgpu-tiled.test.ts: lavapipe's thread pool thrashes on a busy machine.
process.env.LP_NUM_THREADS ??= '0';

const available = await webgpuDevice();
const skip = isLeft(available) ? `no WebGPU adapter answered here: ${available.left}` : false;

test('webgpu is covered where CI promises it', () => {
  if (process.env.REQUIRE_WEBGPU) assert.equal(skip, false, 'REQUIRE_WEBGPU is set');
});

const numbers = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));
const value = (shape: number[], seed: number) => ({ shape, data: numbers(shape.reduce((a, b) => a * b, 1), seed) });

interface Args {
  readonly x: Tensor;
  readonly w: Tensor;
  readonly m: Tensor;
}

/** A strided convolution with padding, odd sizes, a matmul over its flattened output: the loss, and its gradient. */
const loss = ({ x, w, m }: Args) => sum(matmul(reshape(relu(conv2d(x, w, { stride: 2, padding: 1 })), [3, 5 * 3 * 3]), m));
const lossAndGradient = (args: Args) => ({ loss: loss(args), gradient: grad(loss)(args) });
const argsOf = (seed: number) => ({ x: value([3, 3, 5, 5], seed), w: value([5, 3, 3, 3], seed + 1), m: value([45, 7], seed + 2) });

/** Compiled float32 against the float64 interpreter, leaf by leaf. */
const assertInterpreted = (compiled: unknown, f: (args: Args) => unknown, args: ReturnType<typeof argsOf>) => {
  const reference = interpret(f({ x: tensor(args.x.data, args.x.shape), w: tensor(args.w.data, args.w.shape), m: tensor(args.m.data, args.m.shape) } as never) as never);
  const walk = (c: any, r: any, path: string) => {
    if (r && r.data instanceof Float64Array) {
      const scale = r.data.reduce((s: number, v: number) => Math.max(s, Math.abs(v)), 1);
      r.data.forEach((v: number, i: number) => assert.ok(Math.abs(c.data[i] - v) <= 1e-4 * scale, `${path}[${i}]: compiled ${c.data[i]}, interpreted ${v}`));
    } else for (const key of Object.keys(r)) walk(c[key], r[key], `${path}.${key}`);
  };
  walk(compiled, reference, 'result');
};

test('a convolution and a matmul with their gradients: one device run, equal to the interpreter, only arguments up and results back', { skip }, async () => {
  const compiled = compile(lossAndGradient, { backend: 'webgpu' });
  try {
    const args = argsOf(1);
    const out = await compiled(args as never);
    assertInterpreted(out, lossAndGradient, args);
    // The convolution twice (the loss's, and the gradient's own trace of it, which the ReLU's
    // gradient reads), its input and weight gradients, the loss's matmul and its two gradients.
    assert.equal(compiled.report()!.device!.tiledSteps, 7);
    await assertOneDeviceRun(compiled, args, out);
  } finally {
    await compiled.destroy();
  }
});

test('a host step between kernels splits the program into two device runs', { skip }, async () => {
  const f = ({ x, w, m }: Args) => {
    const scores = matmul(reshape(conv2d(x, w, { padding: 1 }), [3, 125]), m);
    // topKIndices sorts on the host; what it gives goes back into a kernel of the second run.
    return { scores: sum(scores), top: add(topKIndices(scores, 2), sum(scores)) };
  };
  const compiled = compile(f, { backend: 'webgpu' });
  try {
    const args = { x: value([3, 3, 5, 5], 4), w: value([5, 3, 3, 3], 5), m: value([125, 7], 6) };
    const out = await compiled(args as never);
    assertInterpreted(out, f, args as never);
    const report = compiled.report()!;
    assert.deepEqual(report.hostSteps, ['topKIndices']);
    assert.equal(report.device!.submissions, 2);
  } finally {
    await compiled.destroy();
  }
});

test("calls made at once are served one after another on the run's buffers", { skip }, async () => {
  const compiled = compile(lossAndGradient, { backend: 'webgpu' });
  try {
    const args = [argsOf(7), argsOf(8), argsOf(9)];
    const outs = await Promise.all(args.map((a) => compiled(a as never)));
    outs.forEach((out, i) => assertInterpreted(out, lossAndGradient, args[i]));
  } finally {
    await compiled.destroy();
  }
});

test("with tiledKernels: false, webgpu runs gpu.js's own convolutions in its pipelines, to the interpreter's numbers", { skip }, async () => {
  const compiled = compile(lossAndGradient, { backend: 'webgpu', limits: { tiledKernels: false } });
  try {
    const args = argsOf(10);
    assertInterpreted(await compiled(args as never), lossAndGradient, args);
    assert.equal(compiled.report()!.device, undefined);
    assert.notEqual(compiled.report()!.executorKind, 'device-run');
  } finally {
    await compiled.destroy();
  }
});
