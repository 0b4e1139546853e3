// Each form of the native convolution (lib/native/conv2d-native.ts) on the convolutions of the
// small encoder's training step at batch 2 x 128: the forward passes, the input gradients and the
// weight gradients, each timed in every form that can compute it, on the native pool's threads,
// with the operands and the result in the float arena as a compiled step has them. A figure is
// the median of several calls' wall time, in ms and in GFLOP/s (the convolution's own multiply-
// adds, twice). The form the planner picks is marked; the last line is one JSON object.
//
//   node --import tsx bench/conv-forms.ts [--runs 7] [--threads 2] [--only "weight gradient"]

import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { conv2dNative, convForm, convForms, type ConvForm } from '../lib/native/conv2d-native.ts';
import { sharedFloatArena } from '../lib/native/float-arena.ts';
import { NativePool } from '../lib/native/native-pool.ts';
import type { Conv2dParams } from '../lib/primitives/conv2d.ts';
import { stridesOf } from '../lib/shape.ts';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, threads: { type: 'string', default: String(availableParallelism()) }, only: { type: 'string', default: '' } },
});
const runs = Number(flags.runs);
const pool = new NativePool(Number(flags.threads));
const arena = sharedFloatArena();
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface Case {
  readonly name: string;
  readonly x: readonly number[];
  readonly w: readonly number[];
  readonly out: readonly number[];
}

// The small encoder's three 3 x 3 convolutions (padding 1, stride 1) on 256 views: forward, the
// input gradient (the cotangent through the flipped, transposed weights) and the weight gradient
// (the input, channels first, through the cotangent, channels first), as the autodiff writes them.
const layers: [number, number, number][] = [[3, 32, 32], [32, 64, 16], [64, 128, 8]];
const images = 256;
const cases: Case[] = layers.flatMap(([c, o, size]) => [
  { name: `${c}->${o} at ${size} x ${size} forward`, x: [images, c, size, size], w: [o, c, 3, 3], out: [images, o, size, size] },
  ...(c === 3 ? [] : [{ name: `${c}->${o} at ${size} x ${size} input gradient`, x: [images, o, size, size], w: [c, o, 3, 3], out: [images, c, size, size] }]),
  { name: `${c}->${o} at ${size} x ${size} weight gradient`, x: [c, images, size, size], w: [o, images, size, size], out: [c, o, 3, 3] },
]);
const params: Conv2dParams = { stride: [1, 1], padding: [[1, 1], [1, 1]], dilation: [1, 1] };

const operand = (shape: readonly number[], seed: number) => {
  const data = arena.take(count(shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + seed);
  return { data, view: { offset: 0, shape, strides: stridesOf(shape) } };
};

console.log(`native pool: ${pool.threads} thread(s), multiply-add ${pool.multiplyAdd.fused ? 'fused' : 'separate'}; median of ${runs} calls each`);
const figures: Record<string, Record<string, { ms: number; gflops: number }>> = {};
// --only: the cases whose names contain it.
for (const { name, x: xShape, w: wShape, out } of cases.filter((c) => c.name.includes(flags.only))) {
  const x = operand(xShape, 1);
  const w = operand(wShape, 2);
  const flops = 2 * count(out) * wShape[1] * wShape[2] * wShape[3];
  const picked = convForm(xShape, wShape, params.stride, out);
  const forms = convForms(params.stride, out);
  const times = new Map<ConvForm, number[]>(forms.map((form) => [form, []]));
  // The forms alternate, so that a change in the machine's load falls on each.
  for (let r = 0; r <= runs; r++)
    for (const form of forms) {
      const start = performance.now();
      arena.give(await conv2dNative(pool, x, w, params, out, (n) => arena.take(n), form));
      // The first round warms each form up (its scratch, its code) and is not counted.
      if (r > 0) times.get(form)!.push(performance.now() - start);
    }
  figures[name] = {};
  for (const form of forms) {
    const ms = median(times.get(form)!);
    const gflops = flops / ms / 1e6;
    figures[name][form] = { ms: Number(ms.toFixed(2)), gflops: Number(gflops.toFixed(1)) };
    console.log(`${name.padEnd(34)} ${form.padEnd(10)} ${ms.toFixed(2).padStart(8)} ms ${gflops.toFixed(1).padStart(6)} GFLOP/s${form === picked ? '  <- planned' : ''}`);
  }
  arena.give(x.data);
  arena.give(w.data);
}
console.log(JSON.stringify({ benchmark: 'conv-forms', threads: pool.threads, multiplyAdd: pool.multiplyAdd, runs, figures }));
await pool.destroy();
