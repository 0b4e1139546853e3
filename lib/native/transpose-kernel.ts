// The by-channel weight gradient's second factor (worker.ts's convChannels): for one channel c,
// the kernel's taps (o, i, j) laid out as rows (i, j) of output channels o, the GEMM's B. Read a
// run of taps at a time for each o and written a column apart, here in WebAssembly: as a
// JavaScript loop it cost about 4.5 ns a float, a fifth of the weight gradients' time.
//
// transposeTaps(dst, dstRowStep, src, outChannels, rows, columns, oStep, rowStep, columnStep):
// for o < outChannels, i < rows and j < columns, memory[dst + (i * columns + j) * dstRowStep +
// o * 4] = memory[src + o * oStep + i * rowStep + j * columnStep] (floats; addresses and steps in
// bytes).

import { FunctionBuilder } from './wasm-assembler.ts';

export const transposeTapsKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(9).fill('i32'));
  const [dst, dstRowStep, src, outChannels, rows, columns, oStep, rowStep, columnStep] = f.params.map((_, i) => f.param(i));
  const [o, i, j, from, to, srcRow, dstRow] = [0, 1, 2, 3, 4, 5, 6].map(() => f.local('i32'));
  f.i32(0).set(o);
  f.loopUntil(
    () => f.get(o).get(outChannels).geS(),
    () => {
      // This o's column of the destination, and its taps in the source.
      f.get(dst).get(o).i32(4).mul().add().set(dstRow);
      f.get(src).get(o).get(oStep).mul().add().set(srcRow);
      f.i32(0).set(i);
      f.loopUntil(
        () => f.get(i).get(rows).geS(),
        () => {
          f.get(srcRow).set(from);
          f.get(dstRow).set(to);
          f.i32(0).set(j);
          f.loopUntil(
            () => f.get(j).get(columns).geS(),
            () => {
              f.get(to).get(from).f32Load().f32Store();
              f.increment(from, columnStep).increment(to, dstRowStep).increment(j, { constant: 1 });
            },
          );
          f.increment(srcRow, rowStep).get(dstRow).get(dstRowStep).get(columns).mul().add().set(dstRow);
          f.increment(i, { constant: 1 });
        },
      );
      f.increment(o, { constant: 1 });
    },
  );
  return f;
};
