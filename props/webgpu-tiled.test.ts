// The tiled WGSL kernels (lib/webgpu/) against the float64 interpreter, wherever a WebGPU adapter
// answers (on a CPU machine, Mesa's lavapipe): matmul, batched and with either operand transposed,
// and conv2d's forward pass and both convolutions of its gradient, over shapes chosen to end in
// partial blocks (odd sizes, 1 x 1 images, 3 channels, batch 1, stride 2, padding, dilation 2),
// with every tile config the device runs, split along the inner dimension, and with a dispatch
// folded onto more dimensions. Twice: on gpu.js's device, which asks for the adapter's limits,
// and on a device of WebGPU's default limits. Then the interplay with gpu.js: a tiled kernel reads
// a gpu.js kernel's result and a gpu.js kernel reads a tiled kernel's, with nothing crossing to
// the host but the arguments and the final result, counted in bytes.
// With no adapter these tests say why and pass, unless REQUIRE_WEBGPU is set.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLeft } from 'fp-ts/lib/Either.js';
import { GPU, Input } from 'gpu.js';
import { conv2d, type Conv2dOptions, grad, matmul, matrixTranspose, mul, sum, tensor, type Tensor, transpose, flip } from '../lib/index.ts';
import { evaluateNodes } from '../lib/interpret.ts';
import { postOrder } from '../lib/graph.ts';
import { conv2dPrimitive } from '../lib/primitives/conv2d.ts';
import { matmulPrimitive } from '../lib/primitives/matmul.ts';
import { acquireWebGPU, webgpuDevice } from '../lib/compile/webgpu.ts';
import { fromGpuJs, type GpuJsBufferResult, type GpuJsContext, gpuJsContext, toGpuJs } from '../lib/webgpu/gpujs-buffers.ts';
import { isTiledStep, runTiledStep, tiledKernelFor, tiledOperands, webgpuLowerings } from '../lib/webgpu/lowerings.ts';
import { TiledRunner } from '../lib/webgpu/runner.ts';
import type { TileChoice } from '../lib/webgpu/gemm.ts';
import { countTransfers } from './device-transfers.ts';
import { fits, kernelLimitsOf, tileConfigs, webgpuDefaultLimits } from '../lib/webgpu/tiles.ts';

// Mesa's lavapipe runs a dispatch on a pool of its own threads, one per core. On a machine whose
// cores are busy with other work, that pool thrashed: a run of a few milliseconds took 10 to 20
// seconds (2 cores, two training runs beside; with no pool, 50 ms), and this file took over 15
// minutes instead of 18 seconds. These tests are for correctness, so unless told otherwise
// lavapipe runs dispatches without its pool. (Read by Mesa when Dawn first loads the driver,
// below; other drivers ignore it.)
process.env.LP_NUM_THREADS ??= '0';

const available = await webgpuDevice();
const skip = isLeft(available) ? `no WebGPU adapter answered here: ${available.left}` : false;

test('webgpu is covered where CI promises it', () => {
  if (process.env.REQUIRE_WEBGPU) assert.equal(skip, false, 'REQUIRE_WEBGPU is set');
});

/** float32 against float64, as props/compile.test.ts holds the compiled kernels. */
const assertClose = (what: string, compiled: Float32Array, reference: Float64Array) => {
  assert.equal(compiled.length, reference.length, `${what}: length`);
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  reference.forEach((r, i) => {
    const c = compiled[i];
    assert.ok(Math.abs(c - r) <= 1e-4 * scale + 1e-4 * Math.abs(r), `${what}[${i}]: tiled ${c}, interpreted ${r} (scale ${scale})`);
  });
};

const numbers = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));
const random = (shape: number[], seed: number): Tensor => tensor(numbers(shape.reduce((a, b) => a * b, 1), seed), shape);

/**
 * Runs a node's tiled kernel on its operands' interpreted values and holds it to the interpreter.
 * TILED_TIMES=1 prints each check's time (building a pipeline on lavapipe dominates it).
 */
const check = async (runner: TiledRunner, what: string, node: Tensor, choice?: TileChoice) => {
  const started = performance.now();
  assert.ok(isTiledStep(node), `${what}: ${node} is not a tiled step`);
  const operands = tiledOperands(node);
  const values = evaluateNodes([...operands.map(({ base }) => base), node]);
  const kernel = tiledKernelFor(node, runner.limits, choice);
  const out = await runner.runOnHost(kernel, values.slice(0, -1).map((value) => Float32Array.from(value.data)));
  assertClose(`${what} (${kernel.label}, ${JSON.stringify(kernel.config)}, ${kernel.splits} split${kernel.splits === 1 ? '' : 's'})`, out, values[values.length - 1].data);
  if (process.env.TILED_TIMES) console.log(`${what}: ${(performance.now() - started).toFixed(0)} ms`);
  return kernel;
};

const matmulCases: [string, () => Tensor][] = [
  ['1 x 1 by 1 x 1', () => matmul(random([1, 1], 1), random([1, 1], 2))],
  ['odd sizes, 37 x 45 by 45 x 29', () => matmul(random([37, 45], 3), random([45, 29], 4))],
  ['one row, 1 x 64 by 64 x 130', () => matmul(random([1, 64], 5), random([64, 130], 6))],
  ['A transposed', () => matmul(matrixTranspose(random([45, 37], 7)), random([45, 29], 8))],
  ['B transposed', () => matmul(random([37, 45], 9), matrixTranspose(random([29, 45], 10)))],
  ['both transposed', () => matmul(matrixTranspose(random([45, 37], 11)), matrixTranspose(random([29, 45], 12)))],
  ['batched, 3 x (17 x 33 by 33 x 5)', () => matmul(random([3, 17, 33], 13), random([3, 33, 5], 14))],
  ['batch axes permuted, rank 4', () => matmul(transpose(random([3, 2, 7, 9], 15), [1, 0, 2, 3]), random([2, 3, 9, 4], 16))],
  ['one buffer as both operands, x x^T', () => {
    const x = random([20, 31], 17);
    return matmul(x, matrixTranspose(x));
  }],
  ['several blocks each way, 150 x 200 by 200 x 140', () => matmul(random([150, 200], 18), random([200, 140], 19))],
];

interface ConvCase {
  readonly name: string;
  readonly x: number[];
  readonly w: number[];
  readonly options: Conv2dOptions;
}

const convCases: ConvCase[] = [
  { name: 'batch 1, 3 channels, odd sizes, padding 1', x: [1, 3, 5, 7], w: [4, 3, 3, 3], options: { padding: 1 } },
  { name: '1 x 1 images, 1 x 1 kernel', x: [2, 3, 1, 1], w: [5, 3, 1, 1], options: {} },
  { name: '1 x 1 images, 3 x 3 kernel, padding 1', x: [2, 3, 1, 1], w: [4, 3, 3, 3], options: { padding: 1 } },
  { name: 'stride 2, padding 1', x: [2, 3, 9, 8], w: [6, 3, 3, 3], options: { stride: 2, padding: 1 } },
  { name: 'dilation 2, padding 2', x: [3, 2, 11, 10], w: [3, 2, 3, 3], options: { dilation: 2, padding: 2 } },
  { name: 'uneven: stride 2 x 1, padding top 1 right 2, dilation 1 x 2, 2 x 3 kernel', x: [1, 5, 7, 6], w: [2, 5, 2, 3], options: { stride: [2, 1], padding: [[1, 0], [0, 2]], dilation: [1, 2] } },
  { name: 'several blocks each way, 16 -> 40 channels, 12 x 12', x: [4, 16, 12, 12], w: [40, 16, 3, 3], options: { padding: 1 } },
];

/** The forward convolution and the convolutions its gradient is made of (primitives/conv2d.ts). */
const convNodes = ({ x: xShape, w: wShape, options }: ConvCase): [string, Tensor][] => {
  const x = random(xShape, 21);
  const w = random(wShape, 22);
  const forward = conv2d(x as never, w as never, options) as Tensor;
  const cotangent = random(forward.shape as number[], 23);
  const gradients = grad((p: { x: Tensor; w: Tensor }) => sum(mul(conv2d(p.x as never, p.w as never, options) as Tensor, cotangent)))({ x, w });
  const roles = new Map<Tensor, string>();
  const inGradient = (root: Tensor) => postOrder([root]).filter((node) => node.primitive === conv2dPrimitive);
  for (const node of inGradient(gradients.x)) roles.set(node, 'input gradient');
  for (const node of inGradient(gradients.w)) roles.set(node, 'weight gradient');
  assert.equal(roles.size, 2, 'the gradient is two convolutions');
  return [['forward', forward], ...[...roles].map(([node, role]): [string, Tensor] => [role, node])];
};

// A Dawn instance of the test's own for the device of default limits, held for the life of the
// process (lib/compile/webgpu.ts says why: a collected instance crashes the binding's timer).
const holder = globalThis as { tiledTestDawn?: unknown };
let released: (() => Promise<void>) | undefined;
let context: GpuJsContext | undefined;
let defaults: GPUDevice | undefined;
let defaultsUnavailable: string | undefined;

before(async () => {
  if (skip) return;
  const held = await acquireWebGPU();
  if (isLeft(held)) throw new Error(held.left);
  released = held.right.release;
  context = await gpuJsContext();
  try {
    const dawn = (await import('webgpu')) as unknown as { create: (options: string[]) => GPU_ };
    type GPU_ = { requestAdapter: () => Promise<GPUAdapter | null> };
    const instance = (holder.tiledTestDawn ??= dawn.create([])) as GPU_;
    const adapter = await instance.requestAdapter();
    if (adapter === null) throw new Error('no adapter answered a second time');
    defaults = await adapter.requestDevice();
  } catch (error) {
    defaultsUnavailable = `a device of WebGPU's default limits could not be made here: ${error instanceof Error ? error.message : error}`;
  }
});

after(async () => {
  defaults?.destroy();
  await released?.();
});

const variants: [string, () => TiledRunner][] = [
  ["at the adapter's limits, on gpu.js's device", () => new TiledRunner(context!.device)],
  ["at WebGPU's default limits", () => {
    if (defaults === undefined) throw new Error(defaultsUnavailable);
    return new TiledRunner(defaults);
  }],
];

test("gpu.js's device has the adapter's workgroup and buffer limits, and a default device WebGPU's", { skip }, () => {
  const limits = kernelLimitsOf(context!.device.limits);
  assert.equal(limits.maxComputeWorkgroupStorageSize, context!.adapter.limits.maxComputeWorkgroupStorageSize);
  assert.equal(limits.maxComputeInvocationsPerWorkgroup, context!.adapter.limits.maxComputeInvocationsPerWorkgroup);
  // The planner is promised buffers as large as the adapter's (capabilities' bufferElements).
  assert.equal(context!.device.limits.maxStorageBufferBindingSize, context!.adapter.limits.maxStorageBufferBindingSize);
  assert.equal(context!.device.limits.maxBufferSize, context!.adapter.limits.maxBufferSize);
  if (defaults !== undefined) {
    assert.equal(defaults.limits.maxComputeWorkgroupStorageSize, webgpuDefaultLimits.maxComputeWorkgroupStorageSize);
    assert.equal(defaults.limits.maxComputeInvocationsPerWorkgroup, webgpuDefaultLimits.maxComputeInvocationsPerWorkgroup);
  }
});

for (const [variant, makeRunner] of variants) {
  test(`matmul ${variant}: the tiled kernel equals the interpreter, with the config it chooses, every config the device runs, and split`, { skip }, async () => {
    const runner = makeRunner();
    try {
      for (const [name, make] of matmulCases) {
        const node = make();
        assert.equal(node.primitive, matmulPrimitive, `${name}: a matmul node`);
        await check(runner, name, node);
      }
      // Every config the device runs on a product of partial blocks with a transposed operand and
      // on one of several blocks each way; splits, one of them uneven, on both.
      const runs = tileConfigs.filter((config) => fits(config, runner.limits));
      for (const [name, make] of [matmulCases[3], matmulCases[9]]) {
        for (const config of runs) await check(runner, `${name}, forced`, make(), { config });
        for (const splits of [2, 3]) await check(runner, `${name}, split`, make(), { splits });
      }
    } finally {
      runner.destroy();
    }
  });

  test(`conv2d ${variant}: forward, input gradient and weight gradient equal the interpreter`, { skip }, async () => {
    const runner = makeRunner();
    try {
      for (const convCase of convCases) for (const [role, node] of convNodes(convCase)) await check(runner, `${convCase.name}: ${role}`, node);
      // Every config the device runs on the uneven case, and splits on the one of several blocks.
      const runs = tileConfigs.filter((config) => fits(config, runner.limits));
      for (const [role, node] of convNodes(convCases[5])) for (const config of runs) await check(runner, `${convCases[5].name}: ${role}, forced`, node, { config });
      for (const [role, node] of convNodes(convCases[6])) await check(runner, `${convCases[6].name}: ${role}, split`, node, { splits: 3 });
    } finally {
      runner.destroy();
    }
  });
}

test('the weight gradient of a convolution over a long batch is split to keep the device busy', { skip }, async () => {
  const [, , [, weightGradient]] = convNodes({ name: 'long', x: [8, 3, 16, 16], w: [8, 3, 3, 3], options: { padding: 1 } });
  const runner = new TiledRunner(context!.device);
  try {
    const kernel = await check(runner, 'weight gradient', weightGradient);
    assert.ok(kernel.splits > 1, `${kernel.splits} split`);
  } finally {
    runner.destroy();
  }
});

test('a dispatch folded onto y and z past the limit of workgroups a dimension', { skip }, async () => {
  // The device keeps its own limit; the kernels are sized as if it allowed 4 workgroups a dimension.
  const runner = new TiledRunner(context!.device, { ...kernelLimitsOf(context!.device.limits), maxComputeWorkgroupsPerDimension: 4 });
  try {
    const smallest = tileConfigs.find((config) => config.workgroup[0] === 8 && config.workgroup[1] === 8)!;
    const kernel = await check(runner, 'matmul over 25 blocks', matmul(random([150, 9], 31), random([9, 140], 32)), { config: smallest, splits: 1 });
    assert.deepEqual(kernel.passes[0].dispatch, [4, 4, 2]);
    await check(runner, 'conv2d, split, folded', convNodes(convCases[6])[2][1], { config: smallest, splits: 3 });
    assert.throws(() => tiledKernelFor(matmul(random([300, 9], 31), random([9, 300], 32)), runner.limits, { config: smallest, splits: 1 }), /100 workgroups are more than a dispatch holds/);
  } finally {
    runner.destroy();
  }
});

test("a config beyond the device's limits is refused by name before the device sees it", { skip }, () => {
  const beyond = tileConfigs.find((config) => !fits(config, webgpuDefaultLimits))!;
  assert.ok(beyond !== undefined);
  assert.throws(() => tiledKernelFor(matmul(random([8, 8], 1), random([8, 8], 2)), webgpuDefaultLimits, { config: beyond }), /does not fit this device's limits/);
});

test('the lowering table holds matmul and conv2d, keyed by the primitive', () => {
  assert.deepEqual([...webgpuLowerings.keys()], [conv2dPrimitive, matmulPrimitive]);
  assert.ok(!isTiledStep(flip(random([2, 2], 1), [0])));
});

test("gpu.js's kernels and the tiled kernels read each other's buffers on the device: only the arguments go up and the result comes back", { skip }, async () => {
  const [m, k, n, p] = [19, 33, 27, 6];
  const x = numbers(m * k, 41);
  const w = numbers(k * n, 42);
  const v = numbers(n * p, 43);
  const device = context!.device;
  const gpu = new GPU({ mode: 'webgpu' } as never);
  const runner = new TiledRunner(device);
  const transfers = countTransfers(device);
  const handles: GpuJsBufferResult[] = [];
  try {
    // gpu.js's kernels in pipeline mode return their results as handles on the device.
    const double = gpu.createKernel('function (x) { return x[this.thread.y][this.thread.x] * 2; }' as never, { output: [k, m], pipeline: true, immutable: true } as never) as unknown as (...args: unknown[]) => Promise<GpuJsBufferResult>;
    const shift = gpu.createKernel('function (y) { return y[this.thread.y][this.thread.x] + 1; }' as never, { output: [n, m], pipeline: true, immutable: true } as never) as unknown as (...args: unknown[]) => Promise<GpuJsBufferResult>;
    const doubled = await double(new Input(Float32Array.from(x) as never, [k, m]));
    handles.push(doubled);
    const weights = runner.upload(Float32Array.from(w));
    const second = runner.upload(Float32Array.from(v));
    // The tiled matmul reads gpu.js's result in place ...
    const a = random([m, k], 0);
    const first = matmul(a, random([k, n], 0));
    const product = await runTiledStep(runner, first, (base) => (base === a ? fromGpuJs(doubled) : weights));
    // ... and gpu.js's kernel reads the tiled kernel's output, wrapped as one of its own handles.
    const wrapped = toGpuJs(product, [n, m], context!, runner);
    handles.push(wrapped);
    const shifted = await shift(wrapped);
    handles.push(shifted);
    const z = random([m, n], 0);
    const last = matmul(z, random([n, p], 0));
    const result = await runTiledStep(runner, last, (base) => (base === z ? fromGpuJs(shifted) : second));
    const out = await runner.read(result);
    transfers.restore();

    // (2x W + 1) V in float64.
    const expected = new Float64Array(m * p);
    for (let i = 0; i < m; i++)
      for (let c = 0; c < p; c++)
        for (let j = 0; j < n; j++) {
          let y = 0;
          for (let q = 0; q < k; q++) y += 2 * x[i * k + q] * w[q * n + j];
          expected[i * p + c] += (y + 1) * v[j * p + c];
        }
    assertClose('(2x W + 1) V', out, expected);
    assert.equal(transfers.counts.arguments, 4 * (m * k + k * n + n * p), 'bytes of arguments uploaded: x, W and V once each');
    assert.equal(transfers.counts.readBack, 4 * m * p, 'bytes read back: the result alone');
    for (const array of [weights, second, result]) array.buffer.destroy();
  } finally {
    transfers.restore();
    for (const handle of handles) handle.delete();
    runner.destroy();
    gpu.destroy();
  }
});
