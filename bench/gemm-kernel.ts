// GFLOP/s of the native GEMM kernel (lib/native/gemm-kernel.ts) alone, on the calling thread:
// the shapes the small encoder's training step gives it at batch 2 x 128 (per call, as
// conv2d-native.ts cuts them), and one square product whose operands stay in cache. Each figure
// is the median of several timed repetitions of enough calls to take tens of milliseconds, with
// the operands already packed, so it is the kernel's own speed: what the convolutions would reach
// if packing, the threads' hand-offs and the memory cost nothing. Pin it to one core to compare
// builds (`taskset -c 0`). Each shape runs both forms of the kernel, alternately: multiply-adds
// fused (relaxed SIMD's relaxed_madd, where relaxed-simd.ts finds it) and separate (a multiply
// and an add), and prints the ratio. The last line is one JSON object with every figure.
//
//   node --import tsx bench/gemm-kernel.ts [--runs 7]

import { parseArgs } from 'node:util';
import { GEMM_COLUMNS, GEMM_ROWS, gemmKernel } from '../lib/native/gemm-kernel.ts';
import { multiplyAdd } from '../lib/native/relaxed-simd.ts';
import { assembleModule } from '../lib/native/wasm-assembler.ts';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(flags.runs);

interface Shape {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

// m x k times k x n, as the convolution forms call the kernel (conv2d-native.ts).
const shapes: Shape[] = [
  { name: 'in cache 64 x 256 . 256 x 256', m: 64, k: 256, n: 256 },
  { name: 'conv 3->32 forward (by image)', m: 32, k: 27, n: 1024 },
  { name: 'conv 32->64 forward (by image)', m: 64, k: 288, n: 256 },
  { name: 'conv 64->128 forward (by image)', m: 128, k: 576, n: 64 },
  { name: 'conv 32->64 input gradient (shifts)', m: 288, k: 64, n: 256 },
  { name: 'conv 64->128 input gradient (shifts)', m: 576, k: 128, n: 64 },
  { name: 'conv 3->32 weight gradient (by channel)', m: 27, k: 1024, n: 32 },
  { name: 'conv 32->64 weight gradient (by channel)', m: 288, k: 256, n: 64 },
  { name: 'conv 64->128 weight gradient (by channel)', m: 576, k: 64, n: 128 },
];

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
type Gemm = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, accumulate: number) => void;
const kernelOf = (fusedMultiplyAdd: boolean): Gemm => {
  const module = new WebAssembly.Module(assembleModule([{ name: 'gemm', body: gemmKernel({ fusedMultiplyAdd }) }], 65536));
  return (new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as { gemm: Gemm }).gemm;
};
const fused = multiplyAdd();
console.log(fused.fused ? `multiply-add fused: ${fused.how}` : `multiply-add fused: not here (${fused.reason}); separate only`);
const forms: [string, Gemm][] = [['separate', kernelOf(false)], ...(fused.fused ? [['fused', kernelOf(true)] as [string, Gemm]] : [])];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const figures: Record<string, Record<string, number>> = {};
for (const { name, m: rows, k, n: columns } of shapes) {
  const m = roundUp(rows, GEMM_ROWS);
  const n = roundUp(columns, GEMM_COLUMNS);
  const [a, b, c] = [0, m * k, m * k + k * n];
  const needed = (c + m * n) * 4;
  if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  const f32 = new Float32Array(memory.buffer);
  for (let i = 0; i < c; i++) f32[i] = Math.sin(i) * 0.5;
  // Calls a repetition: enough for about 20 ms at 20 GFLOP/s.
  const calls = Math.max(1, Math.round(4e8 / (2 * m * n * k)));
  const times = forms.map(() => [] as number[]);
  for (const [, gemm] of forms) for (let i = 0; i < calls; i++) gemm(a * 4, k * 4, b * 4, n * 4, c * 4, n * 4, m, n, k, 0);
  // The forms alternate, so that a change in the machine's load falls on both.
  for (let r = 0; r < runs; r++)
    forms.forEach(([, gemm], f) => {
      const start = performance.now();
      for (let i = 0; i < calls; i++) gemm(a * 4, k * 4, b * 4, n * 4, c * 4, n * 4, m, n, k, 0);
      times[f].push(performance.now() - start);
    });
  // The useful work: the product's own rows and columns, not the padding.
  const gflops = times.map((t) => (2 * rows * columns * k * calls) / (median(t) / 1000) / 1e9);
  figures[name] = Object.fromEntries(forms.map(([form], f) => [form, Number(gflops[f].toFixed(2))]));
  const ratio = gflops.length > 1 ? `  fused/separate ${(gflops[1] / gflops[0]).toFixed(2)}` : '';
  console.log(
    `${name.padEnd(44)} ${String(rows).padStart(4)} x ${String(k).padStart(4)} . ${String(k).padStart(4)} x ${String(columns).padStart(4)}  ` +
      `${forms.map(([form], f) => `${form} ${gflops[f].toFixed(2).padStart(6)}`).join('  ')} GFLOP/s${ratio}  (block ${GEMM_ROWS} x ${GEMM_COLUMNS}, 1 thread, median of ${runs})`,
  );
}
console.log(JSON.stringify({ benchmark: 'gemm-kernel', unit: 'GFLOP/s', block: [GEMM_ROWS, GEMM_COLUMNS], multiplyAdd: fused, runs, figures }));
