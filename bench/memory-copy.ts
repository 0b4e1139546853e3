// A plain memory copy, timed in the same run as a profiled step, as the yardstick of the
// elementwise kernels: a kernel that reads one array and writes another cannot beat a copy of
// the same size, so nanoseconds a float a thread against the copy's say how far from the
// memory's speed a kernel is, on whatever machine and load the run had. Three copies of the
// same floats (the first stage's activations, [256, 32, 32, 32] at batch 2 x 128):
//  - Float32Array.set on the main thread, one memcpy;
//  - Float32Array.set split over the native pool's threads, each copying its share as the pool
//    splits a JavaScript kernel (the message to each worker and its reply included);
//  - a JavaScript loop `out[i] = in[i]` on the pool, the simplest kernel the pool can run.

import { JavascriptKernel } from '../lib/native/javascript-kernel.ts';
import { sharedNativePool } from '../lib/native/native-pool.ts';
import { sharedFloatArena } from '../lib/native/float-arena.ts';

export interface CopyTiming {
  readonly name: string;
  readonly threads: number;
  /** Median of the timed runs. */
  readonly milliseconds: number;
  /** milliseconds x threads / floats: each thread's time for each float it copied. */
  readonly nsPerFloatPerThread: number;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The copies of `floats` floats, each the median of `runs` timed runs after an untimed one (first touch, compilation). */
export const timeCopies = async (floats: number, runs = 5): Promise<CopyTiming[]> => {
  const timed = async (name: string, copy: () => number | Promise<number>): Promise<CopyTiming> => {
    await copy();
    const times: number[] = [];
    let threads = 1;
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      threads = await copy();
      times.push(performance.now() - start);
    }
    const milliseconds = median(times);
    return { name, threads, milliseconds, nsPerFloatPerThread: (milliseconds * 1e6 * threads) / floats };
  };
  // Arrays of the float arena for all three, as the kernels' arrays are; the source is not all
  // zeros, so no copy can take a shortcut on untouched pages.
  const arena = sharedFloatArena();
  const source = arena.take(floats);
  for (let i = 0; i < floats; i++) source[i] = i % 251;
  const target = arena.take(floats);
  const pool = sharedNativePool();
  // One inner-loop pass an element, as an elementwise kernel's cost is counted.
  const setKernel = new JavascriptKernel('(function kernel(out, buffers, start, end) { out.set(buffers[0].subarray(start, end), start); })', 1, 'memory copy (set)');
  const loopKernel = new JavascriptKernel(
    '(function kernel(out, buffers, start, end) { const b0 = buffers[0]; for (let i = start; i < end; i++) out[i] = b0[i]; })', 1, 'memory copy (loop)',
  );
  const copies = [
    await timed('Float32Array.set, main thread', () => (target.set(source), 1)),
    await timed('Float32Array.set, split over the pool', async () => (await pool.runKernel(setKernel, target, [source], floats)).threads),
    await timed('loop out[i] = in[i], split over the pool', async () => (await pool.runKernel(loopKernel, target, [source], floats)).threads),
  ];
  pool.forget([setKernel, loopKernel]);
  if (target[floats - 1] !== source[floats - 1]) throw new Error('memory copy: the copy is wrong');
  arena.give(source);
  arena.give(target);
  return copies;
};
