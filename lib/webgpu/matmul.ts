// The batched matrix product as a tiled WGSL kernel: [...batch, m, k] x [...batch, k, n] ->
// [...batch, m, n], each operand read as a strided view of its buffer, so that a transposed
// operand (the VJP's a^T and b^T, a matrixTranspose node) is read in place rather than copied by a
// kernel first. Which coordinate neighbouring invocations walk when they stage a slab follows the
// operand's unit stride: along k for a row-major A, along m for a transposed one.

import type { StridedView } from '../shape.ts';
import { type GemmOperand, type TileChoice, type TiledKernel, tiledGemm } from './gemm.ts';
import type { KernelLimits } from './tiles.ts';

/** A WGSL integer literal, parenthesised so that a negative one can follow an operator. */
export const int = (n: number): string => (n < 0 ? `(${n})` : `${n}`);

/** The offset of matrix `batch` (an i32 expression numbering the leading axes row-major) in a view. */
export const batchOffset = (view: StridedView, batch: string): string => {
  const leading = view.shape.slice(0, -2);
  const terms = leading.flatMap((size, axis) => {
    const stride = view.strides[axis];
    if (size === 1 || stride === 0) return [];
    const after = leading.slice(axis + 1).reduce((x, y) => x * y, 1);
    return [`((${batch} / ${after}) % ${size}) * ${int(stride)}`];
  });
  return [int(view.offset), ...terms].join(' + ');
};

/** A matrix operand: `outer` is its row (A) or column (B), `inner` the shared axis. */
const matrixOperand = (view: StridedView, outerAxis: number, innerAxis: number): GemmOperand => {
  const outerStride = view.strides[outerAxis];
  const innerStride = view.strides[innerAxis];
  return {
    fastest: Math.abs(innerStride) === 1 || Math.abs(outerStride) !== 1 ? 'inner' : 'outer',
    read: (outer, inner, batch, _prefix, source) => ({
      statements: '',
      value: `${source}[${batchOffset(view, batch)} + ${outer} * ${int(outerStride)} + ${inner} * ${int(innerStride)}]`,
    }),
  };
};

export const matmulKernel = (a: StridedView, b: StridedView, limits: KernelLimits, choice: TileChoice = {}): TiledKernel => {
  const rank = a.shape.length;
  if (rank < 2 || b.shape.length !== rank) throw new Error(`webgpu matmul: operands of rank ${rank} and ${b.shape.length}`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw new Error(`webgpu matmul: inner dimensions ${k} and ${k2} differ`);
  const batches = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const aOperand = matrixOperand(a, rank - 2, rank - 1);
  // B's column is its last axis; its neighbours in memory along a row-major B, along k when transposed.
  const bMatrix = matrixOperand(b, rank - 1, rank - 2);
  const bOperand: GemmOperand = { ...bMatrix, fastest: Math.abs(b.strides[rank - 1]) === 1 || Math.abs(b.strides[rank - 2]) !== 1 ? 'outer' : 'inner' };
  return tiledGemm(
    `matmul [${a.shape.join(', ')}] x [${b.shape.join(', ')}]`,
    {
      rows: m,
      columns: n,
      inner: k,
      batches,
      a: aOperand,
      b: bOperand,
      store: (row, column, batch) => `${batch} * ${m * n} + ${row} * ${n} + ${column}`,
      outputSize: batches * m * n,
      inputs: [0, 1],
    },
    limits,
    choice,
  );
};
