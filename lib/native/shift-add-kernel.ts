// The second half of a convolution computed as shifted sums: the GEMM has given, for one output
// channel o and kernel tap (p, q), the tap's product over input channels at every input
// position; the output adds it at the positions that tap reads from. One call adds one such row.
//
// shiftAddRow(out, origin, rowStep, columnStep, rows, columns, rowFrom, rowTo, from, to): for
// rowFrom <= i < rowTo and from <= j < to, out[i * columns + j] += memory[origin + i * rowStep +
// j * columnStep] (floats; addresses and steps in bytes). Outside those ranges the tap falls in
// the padding and adds nothing.

import { FunctionBuilder } from './wasm-assembler.ts';
import { floatRun } from './float-run.ts';

export const shiftAddRowKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(10).fill('i32'));
  const [out, origin, rowStep, columnStep, , columns, rowFrom, rowTo, from, to] = f.params.map((_, i) => f.param(i));
  const i = f.local('i32');
  const j = f.local('i32');
  const src = f.local('i32');
  const dst = f.local('i32');
  f.get(rowFrom).set(i);
  f.loopUntil(
    () => f.get(i).get(rowTo).geS(),
    () => {
      // dst = out + (i * columns + from) * 4; src = origin + i * rowStep + from * columnStep
      f.get(out).get(i).get(columns).mul().get(from).add().i32(4).mul().add().set(dst);
      f.get(origin).get(i).get(rowStep).mul().add().get(from).get(columnStep).mul().add().set(src);
      f.get(from).set(j);
      floatRun(f, { dst, src, j, to, srcStep: columnStep }, (vector) => {
        if (vector) f.get(dst).v128Load().get(src).v128Load().f32x4Add();
        else f.get(dst).f32Load().get(src).f32Load().f32Add();
      });
      f.increment(i, { constant: 1 });
    },
  );
  return f;
};
