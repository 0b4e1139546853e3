// GFLOP/s of the tiled WGSL kernels (lib/webgpu/) beside gpu.js's webgpu kernels for the same
// products, on the adapter that answers (named on the first line and in the JSON): square matmuls,
// and the small CIFAR encoder's three convolutions at a batch, each as its forward pass and the two
// convolutions of its gradient (the nodes primitives/conv2d.ts's VJP makes). Median of several
// timed runs after a warm-up run that builds the kernels. Three figures a product:
//  - tiled, on the device: operands already in device buffers, ten runs in one submission timed
//    to the queue's work done (what a step that keeps its values on the device pays);
//  - tiled, host to host: the operands uploaded, the kernel run, the result read back;
//  - gpu.js: the same node compiled for webgpu and called as compile() calls it today (a gpu.js
//    pipeline, its arguments uploaded and its result read back).
// The last line is one JSON object with every figure.
//
//   node --import tsx bench/tiled-kernels.ts [--runs 5] [--quick] [--batch 64] [--config 16x16/8x8/16] [--split 4] [--without-gpujs]
//
// --config forces one tile config (workgroup / registers / depth) and --split a split along the
// inner dimension, to compare them with what the kernels choose. On a software adapter (lavapipe)
// the figures say nothing of a GPU; they are a sanity check that tiling pays at all.

import { parseArgs } from 'node:util';
import { isLeft } from 'fp-ts/lib/Either.js';
import { conv2d, grad, matmul, mul, sum, type Tensor } from '../lib/index.ts';
import { apply } from '../lib/tensor.ts';
import { postOrder } from '../lib/graph.ts';
import { evaluateNodes } from '../lib/interpret.ts';
import { conv2dPrimitive } from '../lib/primitives/conv2d.ts';
import { compile } from '../lib/compile/index.ts';
import { acquireWebGPU } from '../lib/compile/webgpu.ts';
import { tensor } from '../lib/constants.ts';
import { gpuJsContext } from '../lib/webgpu/gpujs-buffers.ts';
import { tiledKernelFor, tiledOperands } from '../lib/webgpu/lowerings.ts';
import { TiledRunner } from '../lib/webgpu/runner.ts';
import type { TileChoice } from '../lib/webgpu/gemm.ts';
import type { TileConfig } from '../lib/webgpu/tiles.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    batch: { type: 'string' },
    config: { type: 'string' },
    split: { type: 'string' },
    'without-gpujs': { type: 'boolean', default: false },
  },
});
const runs = Number(flags.runs);
const batch = Number(flags.batch ?? (flags.quick ? 8 : 64));

/** "16x16/8x8/16": workgroup (x by y), registers (rows by columns), depth. */
const parseConfig = (text: string): TileConfig => {
  const match = /^(\d+)x(\d+)\/(\d+)x(\d+)\/(\d+)$/.exec(text);
  if (match === null) throw new Error(`--config ${text}: expected workgroup/registers/depth, e.g. 16x16/8x8/16`);
  const [wx, wy, rm, rn, depth] = match.slice(1).map(Number);
  return { workgroup: [wx, wy], registers: [rm, rn], depth };
};
const choice: TileChoice = {
  ...(flags.config ? { config: parseConfig(flags.config) } : {}),
  ...(flags.split ? { splits: Number(flags.split) } : {}),
};

const held = await acquireWebGPU();
if (isLeft(held)) {
  console.log(`no WebGPU adapter: ${held.left}`);
  process.exit(1);
}
const { adapter, software } = held.right.device;
console.log(`adapter: ${adapter}${software ? ' (a software rasteriser on the CPU: a sanity check, not a GPU figure)' : ''}`);
const context = await gpuJsContext();
const runner = new TiledRunner(context.device);

const numbers = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);
const random = (shape: number[], seed: number): Tensor => tensor(numbers(shape.reduce((a, b) => a * b, 1), seed), shape);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Case {
  readonly name: string;
  readonly node: Tensor;
}

const matmulCases = (flags.quick ? [128, 256] : [256, 512, 1024]).map((n): Case => ({ name: `matmul ${n}`, node: matmul(random([n, n], 1), random([n, n], 2)) }));

/** The forward convolution and the two of its gradient, for padding 1 and 3 x 3 kernels. */
const convCases = (label: string, channels: number, outChannels: number, size: number): Case[] => {
  const x = random([batch, channels, size, size], 3);
  const w = random([outChannels, channels, 3, 3], 4);
  const forward = conv2d(x as never, w as never, { padding: 1 }) as Tensor;
  const cotangent = random(forward.shape as number[], 5);
  const gradients = grad((p: { x: Tensor; w: Tensor }) => sum(mul(conv2d(p.x as never, p.w as never, { padding: 1 }) as Tensor, cotangent)))({ x, w });
  const convolution = (root: Tensor) => postOrder([root]).find((node) => node.primitive === conv2dPrimitive)!;
  return [
    { name: `conv2d ${label} forward`, node: forward },
    { name: `conv2d ${label} input gradient`, node: convolution(gradients.x) },
    { name: `conv2d ${label} weight gradient`, node: convolution(gradients.w) },
  ];
};

const cases: Case[] = [
  ...matmulCases,
  ...convCases(`3->32 32x32 batch ${batch}`, 3, 32, 32),
  ...convCases(`32->64 16x16 batch ${batch}`, 32, 64, 16),
  ...convCases(`64->128 8x8 batch ${batch}`, 64, 128, 8),
];

/** The node again as a function of its operands' buffers (the views in between kept), for compile(). */
const asFunction = (node: Tensor, bases: readonly Tensor[]) => (args: Tensor[]): Tensor => {
  const rebuild = (t: Tensor): Tensor => {
    const index = bases.indexOf(t);
    return index >= 0 ? args[index] : apply(t.primitive, (t.inputs as Tensor[]).map(rebuild), t.params);
  };
  return rebuild(node);
};

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  await work();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return median(times);
};

const gflops = (flops: number, milliseconds: number) => flops / (milliseconds / 1000) / 1e9;
const figures: Record<string, Record<string, number | string>> = {};
for (const { name, node } of cases) {
  const operands = tiledOperands(node);
  const bases = operands.map(({ base }) => base);
  const values = evaluateNodes(bases).map(({ data }) => Float32Array.from(data));
  const kernel = tiledKernelFor(node, runner.limits, choice);
  const onDevice = values.map((data) => runner.upload(data));
  const output = runner.allocate(kernel.outputSize);
  // Ten runs in one submission, so that waiting for the queue is paid once and not ten times.
  const repeats = 10;
  const device =
    (await timed(async () => {
      const encoder = context.device.createCommandEncoder();
      for (let r = 0; r < repeats; r++) await runner.run(kernel, onDevice, { output, encoder });
      context.device.queue.submit([encoder.finish()]);
      await context.device.queue.onSubmittedWorkDone();
    })) / repeats;
  const hostToHost = await timed(() => runner.runOnHost(kernel, values));
  for (const array of [...onDevice, output]) array.buffer.destroy();
  let gpuJs: number | undefined;
  if (!flags['without-gpujs']) {
    const compiled = compile(asFunction(node, bases), { backend: 'webgpu' });
    const args = values.map((data, i) => ({ shape: bases[i].shape as number[], data }));
    gpuJs = await timed(() => compiled(args));
    await compiled.destroy();
  }
  const { workgroup, registers, depth } = kernel.config;
  const config = `${workgroup.join('x')}/${registers.join('x')}/${depth}${kernel.splits > 1 ? ` split ${kernel.splits}` : ''}`;
  figures[name] = {
    config,
    tiledDevice: Number(gflops(kernel.flops, device).toFixed(3)),
    tiledHostToHost: Number(gflops(kernel.flops, hostToHost).toFixed(3)),
    ...(gpuJs === undefined ? {} : { gpuJs: Number(gflops(kernel.flops, gpuJs).toFixed(3)) }),
  };
  console.log(
    `${name.padEnd(42)} tiled ${gflops(kernel.flops, device).toFixed(2).padStart(8)} GFLOP/s on the device, ${gflops(kernel.flops, hostToHost).toFixed(2).padStart(8)} host to host` +
      `${gpuJs === undefined ? '' : `; gpu.js ${gflops(kernel.flops, gpuJs).toFixed(2).padStart(8)} GFLOP/s (${(gpuJs / device).toFixed(1)}x the tiled time)`}  [${config}, ${adapter}, median of ${runs}]`,
  );
}
console.log(JSON.stringify({ benchmark: 'tiled-kernels', unit: 'GFLOP/s', adapter, software, runs, batch, figures }));
runner.destroy();
await held.right.release();
