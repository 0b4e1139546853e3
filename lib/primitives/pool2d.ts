// Windowed max or average pooling on NCHW input, with stride and per-side padding. Average
// pooling counts padded positions as zeros (divides by the full window); max pooling never
// picks a padded position. The VJP gathers every window through a constant index map and
// scatters the cotangent back through the same map, so it is made of gather and scatterAdd;
// where the windows tile the input it is the maxPoolGradient primitive (max) or elementwise over
// a reshaped view (average) instead.

import { type RankCheck, type Shape, sizeOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { broadcastTo } from './broadcast-to.ts';
import { div } from './div.ts';
import { equal } from './equal.ts';
import { gather } from './gather.ts';
import { maxPoolGradient } from './max-pool-gradient.ts';
import { mul } from './mul.ts';
import { pad } from './pad.ts';
import { reshape } from './reshape.ts';
import { scatterAdd } from './scatter-add.ts';
import { slice } from './slice.ts';
import { sum } from './sum.ts';

export interface Pool2dParams {
  readonly kind: 'max' | 'avg';
  readonly window: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [readonly [number, number], readonly [number, number]];
}

export const pool2dPrimitive: Primitive<Pool2dParams> = {
  name: 'pool2d',
  flops: (_inputs, { window }, shape) => sizeOf(shape) * window[0] * window[1],
  shape: (inputs, { window, stride, padding }) => {
    const [x] = inputs;
    if (x.length !== 4) throw shapeError('pool2d', 'input must be NCHW (rank 4)', inputs);
    const size = (axis: 0 | 1) => Math.floor((x[2 + axis] + padding[axis][0] + padding[axis][1] - window[axis]) / stride[axis]) + 1;
    if (!(size(0) >= 1 && size(1) >= 1) || padding.some(([b, a], axis) => b >= window[axis] || a >= window[axis]))
      throw shapeError('pool2d', `window ${window.join('x')} with padding ${JSON.stringify(padding)} does not fit`, inputs);
    return [x[0], x[1], size(0), size(1)];
  },
  evaluate: ([x], { kind, window: [kh, kw], stride: [sh, sw], padding: [[pt], [pl]] }, shape) => {
    const [n, c, hIn, wIn] = x.shape;
    const [, , hOut, wOut] = shape;
    const out = new Float64Array(sizeOf(shape));
    for (let plane = 0; plane < n * c; plane++)
      for (let i = 0; i < hOut; i++)
        for (let j = 0; j < wOut; j++) {
          let best = -Infinity;
          let total = 0;
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const row = i * sh + p - pt;
              const col = j * sw + q - pl;
              if (row < 0 || row >= hIn || col < 0 || col >= wIn) continue;
              const v = x.data[(plane * hIn + row) * wIn + col];
              best = v > best || Number.isNaN(v) ? v : best;
              total += v;
            }
          out[(plane * hOut + i) * wOut + j] = kind === 'max' ? best : total / (kh * kw);
        }
    return out;
  },
  vjp: (ct, node) => {
    const [x] = node.inputs;
    const { kind, window, stride, padding } = node.params;
    if (tilesInput(node.params)) return [tiledWindowsVjp(ct, node)];
    const [n, c, hIn, wIn] = x.shape;
    const [, , hOut, wOut] = node.shape;
    const paddedH = hIn + padding[0][0] + padding[0][1];
    const paddedW = wIn + padding[1][0] + padding[1][1];
    const taps = window[0] * window[1];
    // Flat positions in the padded plane of every window's taps, window by window.
    const map = new Float64Array(hOut * wOut * taps);
    let k = 0;
    for (let i = 0; i < hOut; i++)
      for (let j = 0; j < wOut; j++)
        for (let p = 0; p < window[0]; p++)
          for (let q = 0; q < window[1]; q++) map[k++] = (i * stride[0] + p) * paddedW + j * stride[1] + q;
    const index = tensor(map, [map.length]);
    const windowsShape = [n, c, hOut, wOut, taps];
    const perWindow = broadcastTo(reshape(ct, [n, c, hOut, wOut, 1]), windowsShape);
    let share: Tensor;
    if (kind === 'avg') share = div(perWindow, taps);
    else {
      const padded = reshape(pad(x, [[0, 0], [0, 0], padding[0], padding[1]], -Infinity), [n, c, paddedH * paddedW]);
      const windows = reshape(gather(padded, index, 2), windowsShape);
      const isMax = equal(windows, broadcastTo(reshape(node, [n, c, hOut, wOut, 1]), windowsShape));
      share = mul(perWindow, div(isMax, broadcastTo(sum(isMax, 4, true), windowsShape)));
    }
    const scattered = reshape(scatterAdd(reshape(share, [n, c, hOut * wOut * taps]), index, 2, paddedH * paddedW), [n, c, paddedH, paddedW]);
    return [slice(scattered, [undefined, undefined, { start: padding[0][0], stop: padding[0][0] + hIn }, { start: padding[1][0], stop: padding[1][0] + wIn }])];
  },
};

/** Windows that tile the input: as wide as their stride, with no padding (the usual 2x2, stride 2). */
export const tilesInput = ({ window, stride, padding }: Pool2dParams) =>
  window[0] === stride[0] && window[1] === stride[1] && padding.flat().every((p) => p === 0);

/**
 * The VJP where windows tile the input: each window is a block of a reshaped view of it, so
 * there is no index map to gather through and scatter back along. The average's is elementwise
 * over that view; the maximum's (the cotangent shared evenly among a window's maxima) is the
 * maxPoolGradient primitive, which the native backend runs window by window. Rows and columns
 * past the last whole window get no gradient.
 */
const tiledWindowsVjp = (ct: Tensor, node: Tensor<Shape, Pool2dParams>): Tensor => {
  const [x] = node.inputs;
  const { kind, window: [kh, kw] } = node.params;
  const [n, c, hIn, wIn] = x.shape;
  const [, , hOut, wOut] = node.shape;
  const [hCovered, wCovered] = [hOut * kh, wOut * kw];
  let dx: Tensor;
  if (kind === 'avg') {
    const spread = broadcastTo(reshape(ct, [n, c, hOut, 1, wOut, 1]), [n, c, hOut, kh, wOut, kw]);
    dx = reshape(div(spread, kh * kw), [n, c, hCovered, wCovered]);
  } else {
    const covered = hCovered === hIn && wCovered === wIn ? x : slice(x, [undefined, undefined, { stop: hCovered }, { stop: wCovered }]);
    dx = maxPoolGradient(ct, covered, node, [kh, kw]);
  }
  return hCovered === hIn && wCovered === wIn ? dx : pad(dx, [[0, 0], [0, 0], [0, hIn - hCovered], [0, wIn - wCovered]]);
};

export interface Pool2dOptions {
  readonly window: number | readonly [number, number];
  /** Defaults to the window (non-overlapping windows). */
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

const pool = (kind: Pool2dParams['kind']) =>
  <X extends Shape>(
    x: Tensor<X> & RankCheck<'pool2d: the input must be NCHW', X, 4>,
    { window, stride = window, padding = 0 }: Pool2dOptions,
  ): Tensor<[X[0], X[1], number, number]> => {
    const [ph, pw] = pair(padding);
    return apply(pool2dPrimitive, [x], { kind, window: pair(window), stride: pair(stride), padding: [[ph, ph], [pw, pw]] });
  };

export const maxPool2d = pool('max');
export const avgPool2d = pool('avg');

