// GFLOP/s of compiled matmul (256, 512, 1024) and of the small CIFAR encoder's three conv2d
// layers at batch 256, forward and backward (the two VJP convolutions or matmuls), on each
// backend that runs here (a software WebGPU adapter only when named). Median of several timed
// calls after a warm-up call (which builds the kernels). The last line is one JSON object with
// every figure and the backend that ran.
//
//   npm run bench:kernels -- [--backends native,cpu] [--runs 5] [--quick] [--without-native]
//
// On the native backend, convolutions and matmuls run on the native GEMM kernels; --without-native
// runs them as gpu.js's WebAssembly kernels instead (the baseline, side by side on the same build). Each line says
// which ran, and on how many worker threads.

import { describeMultiplyAdd } from '../lib/native/relaxed-simd.ts';
import { parseArgs } from 'node:util';
import { GPU } from 'gpu.js';
import { conv2d, grad, matmul, mul, sum, type Tensor } from '../lib/index.ts';
import { isRight } from 'fp-ts/lib/Either.js';
import { type BackendName, compile, webgpuDevice } from '../lib/compile/index.ts';

const { values: flags } = parseArgs({
  options: {
    backends: { type: 'string' },
    runs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    'without-native': { type: 'boolean', default: false },
  },
});
const runs = Number(flags.runs);
const webgpu = await webgpuDevice();
// A software adapter (lavapipe) is measured only when named: it is a place for correctness.
const available: BackendName[] = [
  ...(isRight(webgpu) && !webgpu.right.software ? (['webgpu'] as const) : []),
  ...(GPU.isHeadlessGLSupported ? (['headlessgl'] as const) : []),
  'native',
  'cpu',
];
const backends = flags.backends ? (flags.backends.split(',') as BackendName[]) : available;

const random = (size: number, seed: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);
const value = (shape: number[], seed: number) => ({ shape, data: random(shape.reduce((a, b) => a * b, 1), seed) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Case {
  readonly name: string;
  readonly flops: number;
  readonly f: (p: any) => unknown;
  readonly args: Record<string, { shape: number[]; data: Float32Array }>;
}

const matmulCases = (n: number): Case[] => {
  const args = { a: value([n, n], 1), b: value([n, n], 2), g: value([n, n], 3) };
  return [
    { name: `matmul ${n} forward`, flops: 2 * n ** 3, f: (p) => matmul(p.a, p.b), args },
    {
      name: `matmul ${n} backward`,
      flops: 4 * n ** 3,
      f: (p) => grad((q: { a: Tensor; b: Tensor }) => sum(mul(matmul(q.a, q.b), p.g)))({ a: p.a, b: p.b }),
      args,
    },
  ];
};

const convCases = (label: string, batch: number, c: number, o: number, size: number): Case[] => {
  const args = { x: value([batch, c, size, size], 1), w: value([o, c, 3, 3], 2), g: value([batch, o, size, size], 3) };
  const flops = 2 * batch * o * size * size * c * 9;
  return [
    { name: `conv2d ${label} forward`, flops, f: (p) => conv2d(p.x, p.w, { padding: 1 }), args },
    {
      name: `conv2d ${label} backward`,
      flops: 2 * flops,
      f: (p) => grad((q: { x: Tensor; w: Tensor }) => sum(mul(conv2d(q.x, q.w, { padding: 1 }), p.g)))({ x: p.x, w: p.w }),
      args,
    },
  ];
};

const batch = flags.quick ? 32 : 256;
const cases: Case[] = [
  ...(flags.quick ? [256] : [256, 512, 1024]).flatMap(matmulCases),
  ...convCases(`3->32 32x32 batch ${batch}`, batch, 3, 32, 32),
  ...convCases(`32->64 16x16 batch ${batch}`, batch, 32, 64, 16),
  ...convCases(`64->128 8x8 batch ${batch}`, batch, 64, 128, 8),
];

const figures: Record<string, Record<string, number>> = {};
const ran: Record<string, unknown> = {};
for (const backend of backends) {
  figures[backend] = {};
  for (const { name, flops, f, args } of cases) {
    const compiled = compile(f, { backend, limits: { nativeKernels: !flags['without-native'] } });
    await compiled(args);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      await compiled(args);
      times.push(performance.now() - start);
    }
    const report = compiled.report()!;
    const threads = { pipelines: report.pipelineThreads ?? 0, native: report.native?.threads ?? 0 };
    ran[backend] = { kernelMode: report.kernelMode, executorKind: report.executorKind, ...(report.native ? { multiplyAdd: describeMultiplyAdd(report.native.multiplyAdd) } : {}), fallbackReason: report.fallbackReason, threads, ...(report.adapter ? { adapter: report.adapter } : {}) };
    const where = [
      ...(report.native ? [`native GEMM on ${threads.native} worker threads, multiply-add ${describeMultiplyAdd(report.native.multiplyAdd)}`] : []),
      ...(report.executorKind === 'native-pool'
        ? [`JavaScript kernels on ${threads.pipelines} thread${threads.pipelines === 1 ? '' : 's'} of the native pool`]
        : report.executorKind
          ? [`gpu.js kernels ${report.kernelMode}, executor ${report.executorKind} on ${threads.pipelines} threads`]
          : []),
      ...(report.adapter ? [report.adapter] : []),
    ].join('; ');
    const gflops = flops / (median(times) / 1000) / 1e9;
    figures[backend][name] = Number(gflops.toFixed(3));
    console.log(
      `${backend.padEnd(10)} ${name.padEnd(36)} ${median(times).toFixed(1).padStart(9)} ms  ${gflops.toFixed(2).padStart(7)} GFLOP/s  ` +
        `(${where}, median of ${runs})`,
    );
    await compiled.destroy();
  }
}
console.log(JSON.stringify({ benchmark: 'kernels', unit: 'GFLOP/s', runs, batch, backends: ran, figures }));
