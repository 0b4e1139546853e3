// Operands of the native kernels as views of buffers. A primitive that is a strided view of its
// input (a transpose, a flip) says so, and the native kernels read it in place instead of waiting
// for a kernel to copy it.

import type { Tensor } from '../tensor.ts';
import { type StridedView, stridesOf } from '../shape.ts';

export type { StridedView };

/** The buffer a view chain ends in, and the view of it that `node` is (its primitive says how it views its input). */
export const viewOf = (node: Tensor): { readonly base: Tensor; readonly view: StridedView } => {
  const { primitive } = node;
  if (primitive.view === undefined) return { base: node, view: { offset: 0, shape: node.shape, strides: stridesOf(node.shape) } };
  const { base, view } = viewOf(node.inputs[0] as Tensor);
  return { base, view: primitive.view(view, node.params) };
};

/** `total` items in contiguous ranges, one per thread, as even as whole items allow. */
export const shares = (total: number, threads: number): [number, number][] => {
  const count = Math.min(threads, total);
  return Array.from({ length: count }, (_, i) => [Math.floor((i * total) / count), Math.floor(((i + 1) * total) / count)]);
};

export const roundUp = (n: number, multiple: number): number => Math.ceil(n / multiple) * multiple;

/** A kernel's input: a buffer's data and the view of it the kernel reads. */
export interface NativeOperand {
  readonly data: Float32Array;
  readonly view: StridedView;
}

/** Where a native step's result goes: a fresh array, or one a compiled program recycles. */
export type Allocate = (length: number) => Float32Array;
export const newFloats: Allocate = (length) => new Float32Array(length);

/**
 * A step's result array, and whether the workers write it themselves: they can where it is in
 * shared memory of its own (a compiled program's recycled arrays), so that each copies its
 * share out of the GEMM's memory while it is in cache.
 */
export const resultArray = (allocate: Allocate, length: number): { out: Float32Array; destination: Float32Array | undefined } => {
  const out = allocate(length);
  return { out, destination: out.buffer instanceof SharedArrayBuffer ? out : undefined };
};

/** The result, copied out of the GEMM's memory at `at` unless the workers wrote it. */
export const delivered = (memory: Float32Array, at: number, out: Float32Array, destination: Float32Array | undefined): Float32Array => {
  if (destination === undefined) out.set(memory.subarray(at, at + out.length));
  return out;
};
