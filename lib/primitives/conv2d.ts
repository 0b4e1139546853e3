// 2-D convolution (cross-correlation, as in every deep-learning library) on NCHW input with
// OIHW weights, stride, per-side padding and dilation. Its VJP is two more convolutions:
//  - input:  the cotangent spread by the stride, correlated with the flipped, channel-swapped
//            weights (a "transposed convolution"), then trimmed of the padding;
//  - weight: the input correlated with the cotangent used as the kernel; stride and dilation
//            trade places.

import { formatShape, type RankCheck, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { flip } from './flip.ts';
import { dilate, slicePrimitive } from './slice.ts';
import { transpose } from './transpose.ts';

export interface Conv2dParams {
  readonly stride: readonly [number, number];
  /** [[top, bottom], [left, right]] */
  readonly padding: readonly [readonly [number, number], readonly [number, number]];
  readonly dilation: readonly [number, number];
}

const outputSize = (size: number, kernel: number, stride: number, [before, after]: readonly [number, number], dilation: number) =>
  Math.floor((size + before + after - dilation * (kernel - 1) - 1) / stride) + 1;

export const conv2dPrimitive: Primitive<Conv2dParams> = {
  name: 'conv2d',
  // A multiply-add per output element, input channel and tap.
  flops: ([, [, channels, kernelHeight, kernelWidth]], _params, shape) => 2 * sizeOf(shape) * channels * kernelHeight * kernelWidth,
  shape: (inputs, { stride, padding, dilation }) => {
    const [x, w] = inputs;
    if (x.length !== 4 || w.length !== 4) throw shapeError('conv2d', 'input must be NCHW and weight OIHW (rank 4)', inputs);
    if (x[1] !== w[1]) throw shapeError('conv2d', `input has ${x[1]} channels but the weight expects ${w[1]}`, inputs);
    const h = outputSize(x[2], w[2], stride[0], padding[0], dilation[0]);
    const wo = outputSize(x[3], w[3], stride[1], padding[1], dilation[1]);
    if (!(h >= 1 && wo >= 1))
      throw shapeError('conv2d', `the kernel does not fit the padded input (output ${h}x${wo})`, inputs);
    return [x[0], w[0], h, wo];
  },
  evaluate: ([x, w], { stride: [sh, sw], padding: [[pt], [pl]], dilation: [dh, dw] }, shape) => {
    const [n, c, hIn, wIn] = x.shape;
    const [, , kh, kw] = w.shape;
    const [, o, hOut, wOut] = shape;
    const out = new Float64Array(sizeOf(shape));
    for (let b = 0; b < n; b++)
      for (let oc = 0; oc < o; oc++)
        for (let i = 0; i < hOut; i++)
          for (let j = 0; j < wOut; j++) {
            let total = 0;
            for (let ic = 0; ic < c; ic++)
              for (let p = 0; p < kh; p++) {
                const row = i * sh + p * dh - pt;
                if (row < 0 || row >= hIn) continue;
                for (let q = 0; q < kw; q++) {
                  const col = j * sw + q * dw - pl;
                  if (col < 0 || col >= wIn) continue;
                  total += x.data[((b * c + ic) * hIn + row) * wIn + col] * w.data[((oc * c + ic) * kh + p) * kw + q];
                }
              }
            out[((b * o + oc) * hOut + i) * wOut + j] = total;
          }
    return out;
  },
  vjp: (ct, node) => {
    const [x, w] = node.inputs;
    const { stride, padding, dilation } = node.params;
    const [, , hIn, wIn] = x.shape;
    const [, , kh, kw] = w.shape;
    const crop = (t: Tensor, starts: readonly number[], stops: readonly number[]) =>
      apply(slicePrimitive, [t], { starts, stops, steps: [1, 1, 1, 1] });

    // Input: the spread cotangent correlated with the flipped, channel-swapped weights. Over the
    // padded input's extent that is a convolution padded by d(k-1) before and by the rows no
    // window reached after; the forward padding is then cut away. Where the forward padding fits
    // inside those margins, it is cut from them instead, so only the input's own rows are computed.
    const spread = dilate(dilate(ct, 2, stride[0]), 3, stride[1]);
    const margins = (axis: 0 | 1, kernel: number, size: number) => {
      const before = dilation[axis] * (kernel - 1);
      const after = size + padding[axis][0] + padding[axis][1] - spread.shape[2 + axis];
      return { before, after, trimmed: before >= padding[axis][0] && after >= padding[axis][1] };
    };
    const vertical = margins(0, kh, hIn);
    const horizontal = margins(1, kw, wIn);
    const flipped = transpose(flip(w, [2, 3]), [1, 0, 2, 3]);
    const dx =
      vertical.trimmed && horizontal.trimmed
        ? apply<Shape, Conv2dParams>(conv2dPrimitive, [spread, flipped], {
            stride: [1, 1],
            padding: [
              [vertical.before - padding[0][0], vertical.after - padding[0][1]],
              [horizontal.before - padding[1][0], horizontal.after - padding[1][1]],
            ],
            dilation,
          })
        : crop(
            apply<Shape, Conv2dParams>(conv2dPrimitive, [spread, flipped], {
              stride: [1, 1],
              padding: [
                [vertical.before, vertical.after],
                [horizontal.before, horizontal.after],
              ],
              dilation,
            }),
            [0, 0, padding[0][0], padding[1][0]],
            [x.shape[0], x.shape[1], padding[0][0] + hIn, padding[1][0] + wIn],
          );

    // Weight: batch and channel swap roles; windows past the kernel's extent are trimmed.
    const byChannel = apply<Shape, Conv2dParams>(conv2dPrimitive, [transpose(x, [1, 0, 2, 3]), transpose(ct, [1, 0, 2, 3])], {
      stride: dilation,
      padding,
      dilation: stride,
    });
    const dw = transpose(crop(byChannel, [0, 0, 0, 0], [w.shape[1], w.shape[0], kh, kw]), [1, 0, 2, 3]);
    return [dx, dw];
  },
};

export interface Conv2dOptions {
  readonly stride?: number | readonly [number, number];
  /** One number for every side, [vertical, horizontal], or [[top, bottom], [left, right]]. */
  readonly padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
  readonly dilation?: number | readonly [number, number];
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export const conv2dParams = ({ stride = 1, padding = 0, dilation = 1 }: Conv2dOptions): Conv2dParams => {
  const [vertical, horizontal] = typeof padding === 'number' ? [padding, padding] : padding;
  return { stride: pair(stride), padding: [pair(vertical), pair(horizontal)], dilation: pair(dilation) };
};

type Conv2dShape<X extends Shape, W extends Shape> = X extends readonly [infer N extends number, ...number[]]
  ? W extends readonly [infer O extends number, ...number[]]
    ? [N, O, number, number]
    : [N, number, number, number]
  : [number, number, number, number];

/** `conv2d(x, w, { stride, padding, dilation })` with x NCHW and w OIHW; ranks are checked by `tsc`. */
export const conv2d = <X extends Shape, W extends Shape>(
  x: Tensor<X> & RankCheck<'conv2d: the input must be NCHW', X, 4>,
  w: Tensor<W> & RankCheck<'conv2d: the weight must be OIHW', W, 4>,
  options: Conv2dOptions = {},
): Tensor<Conv2dShape<X, W>> => {
  if (x.rank !== 4 || w.rank !== 4)
    throw shapeError('conv2d', `input must be NCHW and weight OIHW (rank 4), got ${formatShape(x.shape)}`, [x.shape, w.shape]);
  return apply(conv2dPrimitive, [x, w], conv2dParams(options));
};
