// Max pooling over windows that tile their input (pool2d with a window as wide as its stride, no
// padding: the usual 2 x 2, stride 2) on the native pool, a row of windows at a time: each
// window's taps read at offsets written into the kernel as numbers, where the emitter's kernel
// (compile/rules.ts) works out every tap's row and column from the output's index. Its result
// is the emitter's: the maximum taken tap by tap from -Infinity with Math.max (NaN wins).

import { sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import type { Pool2dParams } from '../primitives/pool2d.ts';
import type { NativePool } from './native-pool.ts';
import { type Allocate, type NativeOperand, newFloats, type StridedView } from './strided-view.ts';
import { runWindowKernel, simdWindows, windowKernelFor } from './window-kernel.ts';
import { maxPoolSimd } from './max-pool-simd.ts';

/**
 * `(out, [x], start, end, simd)`: rows [start, end) of windows, a row being (image, channel,
 * window row). With `simd` (max-pool-simd.ts, where `simdWindows` holds), the rows are one call.
 */
export const maxPoolSource = (shape: readonly number[], [kh, kw]: readonly [number, number], x: StridedView): string => {
  const [, channels, ho, wo] = shape;
  const [, , rowStride, columnStride] = x.strides;
  const taps = Array.from({ length: kh * kw }, (_, t) => Math.floor(t / kw) * rowStride + (t % kw) * columnStride);
  return [
    '(function maxPool(out, buffers, start, end, simd) {',
    '  const x = buffers[0];',
    ...(simdWindows([kh, kw], wo, [x])
      ? [`  if (simd !== undefined) return simd(out.byteOffset + start * ${wo * 4}, x.byteOffset + (${x.offset} + start * ${kh * rowStride}) * 4, end - start, ${wo});`]
      : []),
    '  for (let row = start; row < end; row++) {',
    `    const i = row % ${ho}, plane = (row - i) / ${ho}, channel = plane % ${channels}, image = (plane - channel) / ${channels};`,
    `    const xAt = ${x.offset} + image * ${x.strides[0]} + channel * ${x.strides[1]} + i * ${kh * rowStride}, outAt = row * ${wo};`,
    `    for (let j = 0; j < ${wo}; j++) {`,
    `      const window = xAt + j * ${kw * columnStride};`,
    `      let top = -Infinity;`,
    ...taps.map((offset) => `      top = Math.max(top, x[window + ${offset}]);`),
    '      out[outAt + j] = top;',
    '    }',
    '  }',
    '})',
  ].join('\n');
};

export const maxPoolNative = (pool: NativePool, [x]: readonly NativeOperand[], node: Tensor<any, any>, allocate: Allocate = newFloats): Promise<Float32Array> => {
  const { window } = node.params as Pool2dParams;
  const [n, c, ho, wo] = node.shape;
  const kernel = windowKernelFor(maxPoolSource(node.shape, window, x.view), window[0] * window[1] * wo, String(node), simdWindows(window, wo, [x.view]) ? maxPoolSimd() : undefined);
  return runWindowKernel(pool, kernel, [x], sizeOf(node.shape), n * c * ho, allocate);
};
