// conv2d as a tiled WGSL kernel: an implicit GEMM over an im2col view of the image that is never
// written out. For NCHW input x, OIHW weights w and output [B, O, OH, OW]:
//   rows    o            (output channels)           A = w[o, (c, p, q)]
//   columns (b, i, j)    (every output pixel of the batch)
//   inner   (c, p, q)    (input channel and tap)      B = x[b, c, i*sh + p*dh - top, j*sw + q*dw - left]
// with B zero where the tap falls in the padding. Columns run over the whole batch, so that a
// small image (a 4 x 4 deep layer, a 1 x 1 image) still fills blocks.
//
// The same kernel is the forward pass and both halves of its gradient, because the VJP
// (primitives/conv2d.ts) writes them as conv2d nodes over views:
//  - input gradient: conv2d(spread cotangent, transpose(flip(w))): the weights are read through
//    their flip and channel swap (negative and permuted strides) in place;
//  - weight gradient: conv2d(transpose(x), transpose(cotangent)) with stride and dilation
//    exchanged: few outputs (a 3 x 3 kernel per channel pair) summed over every pixel of the
//    batch, so its inner dimension is long and its blocks few; it is split along the inner
//    dimension (tiles.ts, chooseSplits) to keep the device busy.
// Each invocation decodes its column (b, i, j) once; per slab it decodes only the tap.

import type { Conv2dParams } from '../primitives/conv2d.ts';
import type { StridedView } from '../shape.ts';
import { type GemmOperand, type TileChoice, type TiledKernel, tiledGemm } from './gemm.ts';
import { int } from './matmul.ts';
import type { KernelLimits } from './tiles.ts';

export const conv2dKernel = (
  x: StridedView,
  w: StridedView,
  { stride: [sh, sw], padding: [[top], [left]], dilation: [dh, dw] }: Conv2dParams,
  outShape: readonly number[],
  limits: KernelLimits,
  choice: TileChoice = {},
): TiledKernel => {
  const [images, channels, height, width] = x.shape;
  const [outChannels, weightChannels, kh, kw] = w.shape;
  const [, , oh, ow] = outShape;
  if (channels !== weightChannels) throw new Error(`webgpu conv2d: input has ${channels} channels but the weight expects ${weightChannels}`);
  const pixels = oh * ow;
  const taps = kh * kw;
  const [xb, xc, xh, xw] = x.strides;
  const [wo, wc, wp, wq] = w.strides;

  // The weights, row o and inner (c, p, q); one index step per inner step where they are contiguous.
  const contiguous = wp === kw * wq && wc === kh * wp;
  const weights: GemmOperand = {
    fastest: Math.abs(wq) === 1 || Math.abs(wo) !== 1 ? 'inner' : 'outer',
    read: (outer, inner, _batch, _prefix, source) =>
      contiguous
        ? { statements: '', value: `${source}[${int(w.offset)} + ${outer} * ${int(wo)} + ${inner} * ${int(wq)}]` }
        : {
            statements: `        let tap = ${inner} % ${taps};`,
            value: `${source}[${int(w.offset)} + ${outer} * ${int(wo)} + (${inner} / ${taps}) * ${int(wc)} + (tap / ${kw}) * ${int(wp)} + (tap % ${kw}) * ${int(wq)}]`,
          },
  };

  // The image gathered as the im2col matrix: this invocation's column (b, i, j) is fixed.
  const image: GemmOperand = {
    fastest: 'outer',
    prepare: (outer, _batch, prefix) =>
      [
        `  let ${prefix}pixel = ${outer} % ${pixels};`,
        `  let ${prefix}base = ${int(x.offset)} + (${outer} / ${pixels}) * ${int(xb)};`,
        `  let ${prefix}row = (${prefix}pixel / ${ow}) * ${sh} - ${top};`,
        `  let ${prefix}column = (${prefix}pixel % ${ow}) * ${sw} - ${left};`,
      ].join('\n'),
    read: (_outer, inner, _batch, prefix, source) => ({
      statements: [
        `        let tap = ${inner} % ${taps};`,
        `        let row = ${prefix}row + (tap / ${kw}) * ${dh};`,
        `        let column = ${prefix}column + (tap % ${kw}) * ${dw};`,
        `        var pixel = 0.0;`,
        `        if (row >= 0 && row < ${height} && column >= 0 && column < ${width}) {`,
        `          pixel = ${source}[${prefix}base + (${inner} / ${taps}) * ${int(xc)} + row * ${int(xh)} + column * ${int(xw)}];`,
        `        }`,
      ].join('\n'),
      value: 'pixel',
    }),
  };

  return tiledGemm(
    `conv2d [${x.shape.join(', ')}] * [${w.shape.join(', ')}] stride ${sh}x${sw} padding ${top},${left} dilation ${dh}x${dw}`,
    {
      rows: outChannels,
      columns: images * pixels,
      inner: channels * taps,
      batches: 1,
      a: weights,
      b: image,
      store: (row, column) => `(${column} / ${pixels}) * ${outChannels * pixels} + ${row} * ${pixels} + ${column} % ${pixels}`,
      outputSize: images * outChannels * pixels,
      inputs: [1, 0],
    },
    limits,
    choice,
  );
};
