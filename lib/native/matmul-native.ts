// matmul on the native kernels: each product of the batch is one GEMM of packed factors. The
// threads share the products, or, where there are fewer products than threads, the rows.

import type { NativePool } from './native-pool.ts';
import { sizeOf } from '../shape.ts';
import { GEMM_COLUMNS, GEMM_ROWS } from './gemm-kernel.ts';
import { type Allocate, delivered, type NativeOperand, newFloats, resultArray, roundUp, shares, type StridedView } from './strided-view.ts';

/** The offset of each matrix of a batched view: its leading axes enumerated in row-major order. */
const matrixOffsets = (view: StridedView): number[] => {
  let offsets = [view.offset];
  for (let axis = 0; axis < view.shape.length - 2; axis++)
    offsets = offsets.flatMap((offset) => Array.from({ length: view.shape[axis] }, (_, i) => offset + i * view.strides[axis]));
  return offsets;
};

export const matmulNative = (pool: NativePool, a: NativeOperand, b: NativeOperand, outShape: readonly number[], allocate: Allocate = newFloats): Promise<Float32Array> =>
  pool.exclusive(() => multiply(pool, a, b, outShape, allocate));

const multiply = async (pool: NativePool, a: NativeOperand, b: NativeOperand, outShape: readonly number[], allocate: Allocate): Promise<Float32Array> => {
  const [rows, depth] = a.view.shape.slice(-2);
  const columns = b.view.shape[b.view.shape.length - 1];
  const items = sizeOf(outShape.slice(0, -2));
  const outSize = items * rows * columns;
  const aAt = 0;
  const bAt = roundUp(a.data.length, 4);
  const outAt = bAt + roundUp(b.data.length, 4);
  const scratchAt = outAt + roundUp(outSize, 4);
  // Products shared among the threads where there are enough; otherwise rows, in blocks of the GEMM's.
  const byItem = items >= pool.threads;
  const work = byItem
    ? shares(items, pool.threads).map(([first, last]) => ({ items: range(first, last), rowFirst: 0, rowLast: rows }))
    : shares(Math.ceil(rows / GEMM_ROWS), pool.threads).map(([first, last]) => ({
        items: range(0, items), rowFirst: first * GEMM_ROWS, rowLast: Math.min(rows, last * GEMM_ROWS),
      }));
  const n = roundUp(columns, GEMM_COLUMNS);
  const scratchSize = (m: number) => m * depth + depth * n + m * n;
  const largest = Math.max(...work.map((w) => roundUp(w.rowLast - w.rowFirst, GEMM_ROWS)));
  const { memory, base } = pool.reserve(scratchAt + work.length * scratchSize(largest));
  const { out, destination } = resultArray(allocate, outSize);
  const aView = pool.place(memory, a, base + aAt);
  const bView = pool.place(memory, b, base + bAt);
  const operand = (view: StridedView) => ({ offsets: matrixOffsets(view), strides: view.strides.slice(-2) });
  await pool.run(
    work.map((share, t) => ({
      kind: 'matmul', a: operand(aView), b: operand(bView), output: base + outAt, destination, rows, depth, columns, ...share, scratch: base + scratchAt + t * scratchSize(largest),
    })),
  );
  return delivered(memory, base + outAt, out, destination);
};

const range = (first: number, last: number): number[] => Array.from({ length: last - first }, (_, i) => first + i);
