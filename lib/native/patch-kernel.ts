// The patch-matrix gather (im2col) as WebAssembly: one row of the patch matrix, that is one
// input channel's plane seen through one kernel tap, across a run of images. In JavaScript this
// loop cost more than the GEMM it feeds (a builtin call per 8-float run, or a bounds check per
// element); here a row is runs of zeros and copies, four floats a move where the input is
// contiguous.
//
// patchRow(out, origin, imageStride, images, rowStep, columnStep, rowFrom, rowTo, rows,
// columns, from, to): for each image b and output row i, element j of the output row is
// memory[origin + b * imageStride + i * rowStep + j * columnStep] for rowFrom <= i < rowTo and
// from <= j < to, and zero elsewhere (the padding); rows of `columns` floats are written one
// after another from `out`. Addresses and steps are in bytes.

import { FunctionBuilder } from './wasm-assembler.ts';
import { floatRun } from './float-run.ts';

export const patchRowKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(12).fill('i32'));
  const [out, origin, imageStride, images, rowStep, columnStep, rowFrom, rowTo, rows, columns, from, to] = f.params.map((_, i) => f.param(i));
  const b = f.local('i32');
  const i = f.local('i32');
  const j = f.local('i32');
  const src = f.local('i32');
  const count = f.local('i32');

  /** `n` zeros from `out` on, `out` advanced past them. */
  const zeros = (n: (f: FunctionBuilder) => void) => {
    n(f);
    f.set(count);
    f.loopUntil(
      () => f.get(count).i32(4).ltS(),
      () => {
        f.get(out).v128Zero().v128Store();
        f.increment(out, { constant: 16 }).increment(count, { constant: -4 });
      },
    );
    f.loopUntil(
      () => f.get(count).eqz(),
      () => {
        f.get(out).f32Zero().f32Store();
        f.increment(out, { constant: 4 }).increment(count, { constant: -1 });
      },
    );
  };

  const copyRow = () => {
    zeros((f) => f.get(from));
    // src = origin + b * imageStride + i * rowStep + from * columnStep
    f.get(origin).get(b).get(imageStride).mul().add().get(i).get(rowStep).mul().add().get(from).get(columnStep).mul().add().set(src);
    f.get(from).set(j);
    floatRun(f, { dst: out, src, j, to, srcStep: columnStep }, (vector) => {
      f.get(src);
      if (vector) f.v128Load();
      else f.f32Load();
    });
    zeros((f) => f.get(columns).get(to).sub());
  };

  f.i32(0).set(b);
  f.loopUntil(
    () => f.get(b).get(images).geS(),
    () => {
      f.i32(0).set(i);
      f.loopUntil(
        () => f.get(i).get(rows).geS(),
        () => {
          f.get(i).get(rowFrom).ltS().get(i).get(rowTo).geS().or();
          f.ifElse(() => zeros((f) => f.get(columns)), copyRow);
          f.increment(i, { constant: 1 });
        },
      );
      f.increment(b, { constant: 1 });
    },
  );
  return f;
};
