// The gradient of max pooling over windows that tile their input (a window as wide as its
// stride, no padding: the usual 2 x 2, stride 2), as one primitive: each input position gets its
// window's cotangent times its share of the window's maxima, 1/k of it for each of k tied
// maxima and none for the rest,
//   out[n, c, r, s] = ct[n, c, i, j] * ((x[n, c, r, s] == y[n, c, i, j]) / k[n, c, i, j]),
// i = floor(r / kh), j = floor(s / kw), y the pooled maxima and k how many of the window equal
// it. pool2d's VJP builds it. As equal, sum, div and mul over a reshaped view, compiled, it took
// a kernel for the tie counts and a product whose every element recomputed its window's values;
// as one node the native backend runs it window by window (max-pool-gradient-native.ts), each
// input element read once and each window's values once.

import { type Shape, sameShape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { broadcastTo } from './broadcast-to.ts';
import { div } from './div.ts';
import { equal } from './equal.ts';
import { mul } from './mul.ts';
import { reshape } from './reshape.ts';
import { sum } from './sum.ts';

export interface MaxPoolGradientParams {
  /** [kh, kw], also the stride. */
  readonly window: readonly [number, number];
}

/** [n, c, h, w] as windows: [n, c, h / kh, kh, w / kw, kw], and the shape of one value a window. */
const blocksOf = (shape: Shape, [kh, kw]: readonly [number, number]) => {
  const [n, c, h, w] = shape;
  return { blocks: [n, c, h / kh, kh, w / kw, kw], perWindow: [n, c, h / kh, 1, w / kw, 1] };
};

/**
 * Each position's share of its window's cotangent: 1/k where it is one of k maxima, else 0
 * (NaN throughout a window whose maximum is NaN: no element equals it, and 0/0 is NaN).
 */
const shares = (x: Tensor, y: Tensor, window: readonly [number, number]): Tensor => {
  const { blocks, perWindow } = blocksOf(x.shape, window);
  const isMax = equal(reshape(x, blocks), broadcastTo(reshape(y, perWindow), blocks));
  return div(isMax, broadcastTo(sum(isMax, [3, 5], true), blocks));
};

export const maxPoolGradientPrimitive: Primitive<MaxPoolGradientParams> = {
  name: 'maxPoolGradient',
  // An element's comparison with its window's maximum, its share of the window's ties (counted
  // once a window, a comparison an element) and the product with the cotangent.
  flops: (_inputs, _params, shape) => 3 * sizeOf(shape),
  shape: (inputs, { window: [kh, kw] }) => {
    const [ct, x, y] = inputs;
    if (x.length !== 4) throw shapeError('maxPoolGradient', 'the pooled input must be NCHW (rank 4)', inputs);
    if (x[2] % kh !== 0 || x[3] % kw !== 0) throw shapeError('maxPoolGradient', `windows ${kh}x${kw} must tile the input`, inputs);
    const pooled = [x[0], x[1], x[2] / kh, x[3] / kw];
    if (!sameShape(ct, pooled) || !sameShape(y, pooled)) throw shapeError('maxPoolGradient', `the cotangent and the maxima must be [${pooled.join(', ')}]`, inputs);
    return x;
  },
  evaluate: ([ct, x, y], { window: [kh, kw] }, shape) => {
    const [n, c, h, w] = shape;
    const [ho, wo] = [h / kh, w / kw];
    const out = new Float64Array(sizeOf(shape));
    for (let plane = 0; plane < n * c; plane++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          const top = y.data[(plane * ho + i) * wo + j];
          const at = (p: number, q: number) => (plane * h + i * kh + p) * w + j * kw + q;
          let ties = 0;
          for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) ties += x.data[at(p, q)] === top ? 1 : 0;
          const cotangent = ct.data[(plane * ho + i) * wo + j];
          for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) out[at(p, q)] = cotangent * ((x.data[at(p, q)] === top ? 1 : 0) / ties);
        }
    return out;
  },
  // Linear in the cotangent: its VJP sums each window's cotangents by the same shares. The
  // shares are piecewise constant in x and y, which get none.
  vjp: (g, node) => {
    const [ct, x, y] = node.inputs;
    const { window } = node.params;
    const { blocks } = blocksOf(x.shape, window);
    return [reshape(sum(mul(reshape(g, blocks), shares(x, y, window)), [3, 5]), ct.shape), null, null];
  },
};

/** The cotangent of x under y = maxPool2d(x, window) (windows tiling x), given y's cotangent `ct`. */
export const maxPoolGradient = (ct: Tensor, x: Tensor, y: Tensor, window: readonly [number, number]): Tensor =>
  apply(maxPoolGradientPrimitive, [ct, x, y], { window });
