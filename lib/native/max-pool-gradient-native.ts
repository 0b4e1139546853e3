// Max pooling's gradient (primitives/max-pool-gradient.ts) on the native pool, window by window:
// a window's maxima are counted once and its four (kh x kw) elements written together, where a
// kernel of one output element a thread counts its window's maxima again for every element and
// reads the window's cotangent and maximum each time. The kernel is JavaScript on the pool's
// threads, over the operands' arrays in shared memory, its loops written for the operands' views.

import { sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import type { MaxPoolGradientParams } from '../primitives/max-pool-gradient.ts';
import type { NativePool } from './native-pool.ts';
import { type Allocate, type NativeOperand, newFloats, type StridedView } from './strided-view.ts';
import { runWindowKernel, simdWindows, windowKernelFor } from './window-kernel.ts';
import { maxPoolGradientSimd } from './max-pool-simd.ts';

/**
 * `(out, [ct, x, y], start, end, simd)`: rows [start, end) of windows, a row being (image,
 * channel, window row), all of each row's windows. Each operand is read through its view: an
 * element at offset + sum of index times stride. The output is row-major. With `simd`
 * (max-pool-simd.ts, where `simdWindows` holds), the rows are one call.
 */
export const maxPoolGradientSource = (shape: readonly number[], [kh, kw]: readonly [number, number], [ct, x, y]: readonly StridedView[]): string => {
  const [, channels, height, width] = shape;
  const [ho, wo] = [height / kh, width / kw];
  // Where a window row starts in an operand: its offset plus each index times its stride, the
  // strides written in as numbers (x's row is the window's top row).
  const rowStart = (view: StridedView, rowStride: number) => `${view.offset} + image * ${view.strides[0]} + channel * ${view.strides[1]} + i * ${rowStride}`;
  const taps = Array.from({ length: kh * kw }, (_, t) => [Math.floor(t / kw), t % kw] as const);
  const [xRow, xColumn] = [x.strides[2], x.strides[3]];
  return [
    '(function maxPoolGradient(out, buffers, start, end, simd) {',
    '  const ct = buffers[0], x = buffers[1], y = buffers[2];',
    ...(simdWindows([kh, kw], wo, [ct, x, y])
      ? [
          `  if (simd !== undefined) return simd(out.byteOffset + start * ${kh * width * 4}, ct.byteOffset + (${ct.offset} + start * ${wo}) * 4, ` +
            `x.byteOffset + (${x.offset} + start * ${kh * xRow}) * 4, y.byteOffset + (${y.offset} + start * ${wo}) * 4, end - start, ${wo});`,
        ]
      : []),
    '  for (let row = start; row < end; row++) {',
    `    const i = row % ${ho}, plane = (row - i) / ${ho}, channel = plane % ${channels}, image = (plane - channel) / ${channels};`,
    `    const xAt = ${rowStart(x, kh * xRow)}, yAt = ${rowStart(y, y.strides[2])}, ctAt = ${rowStart(ct, ct.strides[2])};`,
    `    const outAt = (plane * ${height} + i * ${kh}) * ${width};`,
    `    for (let j = 0; j < ${wo}; j++) {`,
    `      const top = y[yAt + j * ${y.strides[3]}], window = xAt + j * ${kw * xColumn}, o = outAt + j * ${kw};`,
    ...taps.map(([p, q], t) => `      const v${t} = x[window + ${p * xRow + q * xColumn}];`),
    `      const ties = ${taps.map((_, t) => `(v${t} === top ? 1 : 0)`).join(' + ')};`,
    // The composite's arithmetic, rounding for rounding: the share (1 or 0 over the ties) as a
    // float32, then the cotangent times it. A share of 0/0 (a NaN maximum) is NaN, as there.
    '      const one = Math.fround(1 / ties), none = 0 / ties;',
    `      const cotangent = ct[ctAt + j * ${ct.strides[3]}];`,
    ...taps.map(([p, q], t) => `      out[o + ${p * width + q}] = Math.fround(cotangent * (v${t} === top ? one : none));`),
    '    }',
    '  }',
    '})',
  ].join('\n');
};

export const maxPoolGradientNative = (pool: NativePool, operands: readonly NativeOperand[], node: Tensor<any, any>, allocate: Allocate = newFloats): Promise<Float32Array> => {
  const { window } = node.params as MaxPoolGradientParams;
  const [n, c, h, w] = node.shape;
  const views = operands.map((operand) => operand.view);
  const simd = simdWindows(window, w / window[1], views) ? maxPoolGradientSimd() : undefined;
  const kernel = windowKernelFor(maxPoolGradientSource(node.shape, window, views), window[0] * w, String(node), simd);
  return runWindowKernel(pool, kernel, operands, sizeOf(node.shape), n * c * (h / window[0]), allocate);
};
