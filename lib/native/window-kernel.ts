// What the native pool's kernels written by hand for pooling windows share (max-pool-native.ts,
// max-pool-gradient-native.ts): one compiled kernel per source (a source holds its shapes and
// views, as an emitted kernel's does), and a run over rows of windows on the pool's threads,
// into shared memory.

import { JavascriptKernel } from './javascript-kernel.ts';
import type { NativePool } from './native-pool.ts';
import { inSharedMemory, sharedFloats } from './shared-floats.ts';
import type { Allocate, NativeOperand, StridedView } from './strided-view.ts';
import { stridesOf } from '../shape.ts';

const kernels = new Map<string, JavascriptKernel>();

/** The kernel of `source`, made once; `passes` is what it writes a row, for the pool's split; `simd` its SIMD module, where it calls one. */
export const windowKernelFor = (source: string, passes: number, name: string, simd?: Uint8Array): JavascriptKernel => {
  let kernel = kernels.get(source);
  if (kernel === undefined) kernels.set(source, (kernel = new JavascriptKernel(source, passes, name, simd)));
  return kernel;
};

/**
 * Whether views of a 2 x 2 pooling's operands are contiguous and row-major, their rows of
 * windows a multiple of 4 wide: where max-pool-simd.ts's loops take a run of rows in one call.
 */
export const simdWindows = (window: readonly [number, number], windowsARow: number, views: readonly StridedView[]): boolean =>
  window[0] === 2 && window[1] === 2 && windowsARow % 4 === 0 && views.every((view) => view.strides.every((stride, i) => stride === stridesOf(view.shape)[i]));

/**
 * Runs `kernel` over `rows` rows of windows, reading the operands' data, into an array of
 * `length` from `allocate`. The workers write shared memory only: an output elsewhere gets a
 * shared one, copied back.
 */
export const runWindowKernel = async (
  pool: NativePool, kernel: JavascriptKernel, operands: readonly NativeOperand[], length: number, rows: number, allocate: Allocate,
): Promise<Float32Array> => {
  const out = allocate(length);
  const target = out.buffer instanceof SharedArrayBuffer ? out : sharedFloats(out.length);
  await pool.runKernel(kernel, target, operands.map((operand) => inSharedMemory(operand.data)), rows);
  if (target !== out) out.set(target);
  return out;
};
