// The inner loop the patch gather and the shifted sums share: a run of floats from `j` up to
// `to`, four a pass where the source is contiguous (one 128-bit load, a four-float move), then
// one at a time, with `dst` and `src` advanced past it. `each(vector)` emits one move: the
// address to store at is on the stack, and it leaves the value to store (four floats or one).

import type { FunctionBuilder, Local } from './wasm-assembler.ts';

export const floatRun = (
  f: FunctionBuilder,
  { dst, src, j, to, srcStep }: { dst: Local; src: Local; j: Local; to: Local; srcStep: Local },
  each: (vector: boolean) => void,
): void => {
  f.get(srcStep).i32(4).sub().eqz();
  f.ifElse(
    () => {
      f.loopUntil(
        () => f.get(to).get(j).i32(4).add().ltS(),
        () => {
          f.get(dst);
          each(true);
          f.v128Store();
          f.increment(dst, { constant: 16 }).increment(src, { constant: 16 }).increment(j, { constant: 4 });
        },
      );
    },
    () => {},
  );
  f.loopUntil(
    () => f.get(j).get(to).geS(),
    () => {
      f.get(dst);
      each(false);
      f.f32Store();
      f.increment(dst, { constant: 4 }).increment(src, srcStep).increment(j, { constant: 1 });
    },
  );
};
