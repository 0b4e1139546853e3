// A tensor's elements as a view of another tensor's row-major buffer: an offset and a stride per
// axis (negative where the axis runs backwards). Transposes and flips are views, so the native
// kernels read them in place instead of waiting for a kernel to copy them.

import type { Tensor } from '../tensor.ts';
import type { TransposeParams } from '../primitives/transpose.ts';
import type { FlipParams } from '../primitives/flip.ts';
import { stridesOf } from '../shape.ts';

export interface StridedView {
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}


/** Whether the native kernels read `node` as a view of its input rather than a buffer of its own. */
const isView = (node: Tensor): boolean => node.primitive.name === 'transpose' || node.primitive.name === 'flip';

/** The buffer a view chain ends in, and the view of it that `node` is. */
export const viewOf = (node: Tensor): { readonly base: Tensor; readonly view: StridedView } => {
  if (!isView(node)) return { base: node, view: { offset: 0, shape: node.shape, strides: stridesOf(node.shape) } };
  const { base, view } = viewOf(node.inputs[0] as Tensor);
  if (node.primitive.name === 'transpose') {
    const { permutation } = node.params as TransposeParams;
    return { base, view: { offset: view.offset, shape: permutation.map((a) => view.shape[a]), strides: permutation.map((a) => view.strides[a]) } };
  }
  const { axes } = node.params as FlipParams;
  let offset = view.offset;
  const strides = [...view.strides];
  for (const axis of axes) {
    offset += (view.shape[axis] - 1) * strides[axis];
    strides[axis] = -strides[axis];
  }
  return { base, view: { offset, shape: view.shape, strides } };
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

/** Where each operand sits in the shared memory: its data copied in, the view shifted with it. */
export const place = (memory: Float32Array, operand: NativeOperand, at: number): StridedView => {
  memory.set(operand.data, at);
  return { ...operand.view, offset: operand.view.offset + at };
};


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
