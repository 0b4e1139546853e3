// Batched matrix product: [...batch, m, k] x [...batch, k, n] -> [...batch, m, n].
// VJP: ct x b^T and a^T x ct.

import { formatShape, type MatmulCheck, type MatmulShape, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { matrixTranspose } from './transpose.ts';
import { broadcastTo } from './broadcast-to.ts';

export const matmulPrimitive: Primitive<{}> = {
  name: 'matmul',
  flops: ([a], _params, shape) => 2 * sizeOf(shape) * a[a.length - 1],
  shape: (inputs) => {
    const [a, b] = inputs;
    if (a.length < 2 || b.length < 2)
      throw shapeError('matmul', 'both operands need rank 2 or more', inputs);
    if (a.length !== b.length || a.slice(0, -2).some((d, i) => d !== b[i]))
      throw shapeError('matmul', `batch dimensions ${formatShape(a.slice(0, -2))} and ${formatShape(b.slice(0, -2))} differ`, inputs);
    if (a[a.length - 1] !== b[b.length - 2])
      throw shapeError('matmul', `inner dimensions ${a[a.length - 1]} and ${b[b.length - 2]} differ`, inputs);
    return [...a.slice(0, -1), b[b.length - 1]];
  },
  evaluate: ([a, b], _params, shape) => {
    const [m, k] = a.shape.slice(-2);
    const n = b.shape[b.shape.length - 1];
    const batches = sizeOf(shape.slice(0, -2));
    const out = new Float64Array(batches * m * n);
    for (let batch = 0; batch < batches; batch++) {
      const ao = batch * m * k;
      const bo = batch * k * n;
      const oo = batch * m * n;
      for (let i = 0; i < m; i++)
        for (let p = 0; p < k; p++) {
          const aip = a.data[ao + i * k + p];
          for (let j = 0; j < n; j++) out[oo + i * n + j] += aip * b.data[bo + p * n + j];
        }
    }
    return out;
  },
  vjp: (ct, { inputs: [a, b] }) => [matmulSameBatch(ct, matrixTranspose(b)), matmulSameBatch(matrixTranspose(a), ct)],
};

const matmulSameBatch = (a: Tensor, b: Tensor): Tensor => apply(matmulPrimitive, [a, b], {});

/**
 * Matrix product of the last two axes; leading (batch) axes broadcast, so a rank-2 weight
 * multiplies every matrix of a batch. A mismatch of literal inner dimensions fails `tsc`.
 */
export const matmul = <A extends Shape, B extends Shape>(a: Tensor<A>, b: Tensor<B> & MatmulCheck<A, B>): Tensor<MatmulShape<A, B>> => {
  const x = a as Tensor;
  const y = b as Tensor;
  if (x.rank < 2 || y.rank < 2) throw shapeError('matmul', 'both operands need rank 2 or more', [x.shape, y.shape]);
  const batchA = x.shape.slice(0, -2);
  const batchB = y.shape.slice(0, -2);
  if (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) return matmulSameBatch(x, y) as Tensor<MatmulShape<A, B>>;
  const rank = Math.max(batchA.length, batchB.length);
  const batch = Array.from({ length: rank }, (_, i) => {
    const da = batchA[i - (rank - batchA.length)] ?? 1;
    const db = batchB[i - (rank - batchB.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw shapeError('matmul', `batch dimensions ${formatShape(batchA)} and ${formatShape(batchB)} do not broadcast`, [x.shape, y.shape]);
    return Math.max(da, db);
  });
  return matmulSameBatch(broadcastTo(x, [...batch, ...x.shape.slice(-2)]), broadcastTo(y, [...batch, ...y.shape.slice(-2)])) as Tensor<
    MatmulShape<A, B>
  >;
};
