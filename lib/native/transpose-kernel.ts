// The by-channel weight gradient's second factor (worker.ts's convChannels): for one channel c,
// the kernel's taps (o, i, j) laid out as rows (i, j) of output channels o, the GEMM's B. Read a
// run of taps at a time for each o and written a column apart, here in WebAssembly: as a
// JavaScript loop it cost about 4.5 ns a float, a fifth of the weight gradients' time.
//
// Where the taps' rows are contiguous (columnStep 4) and the output channels and a row's taps
// come in fours, as in every weight gradient of the small encoder, 4 x 4 blocks move as four
// vector loads, a transpose in eight shuffles and four vector stores, a row of positions at a
// time for all output channels; elsewhere one float at a time.
//
// transposeTaps(dst, dstRowStep, src, outChannels, rows, columns, oStep, rowStep, columnStep):
// for o < outChannels, i < rows and j < columns, memory[dst + (i * columns + j) * dstRowStep +
// o * 4] = memory[src + o * oStep + i * rowStep + j * columnStep] (floats; addresses and steps in
// bytes).

import { FunctionBuilder, type Local } from './wasm-assembler.ts';

/** Lane picks for i8x16.shuffle, by 32-bit lane (0 to 3 the first operand's, 4 to 7 the second's). */
const lanes = (picks: readonly number[]): number[] => picks.flatMap((lane) => [0, 1, 2, 3].map((byte) => lane * 4 + byte));

export const transposeTapsKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(9).fill('i32'));
  const [dst, dstRowStep, src, outChannels, rows, columns, oStep, rowStep, columnStep] = f.params.map((_, i) => f.param(i));
  const [o, i, j, from, to, srcRow, dstRow] = [0, 1, 2, 3, 4, 5, 6].map(() => f.local('i32'));
  // columnStep == 4, columns and outChannels multiples of 4: the blocked path, then return.
  f.get(columnStep).i32(4).sub().eqz().get(columns).get(outChannels).or().i32(3).and().eqz().and();
  f.ifElse(() => blocked(f, { dst, dstRowStep, src, outChannels, rows, columns, oStep, rowStep }, [o, i, j, from, to]), () => {});
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

/** The 4 x 4 blocks, then a return (the scalar loop after it is for other layouts). */
const blocked = (
  f: FunctionBuilder,
  p: { readonly [name in 'dst' | 'dstRowStep' | 'src' | 'outChannels' | 'rows' | 'columns' | 'oStep' | 'rowStep']: Local },
  [o, i, j, from, to]: readonly Local[],
) => {
  const v = [0, 1, 2, 3].map(() => f.local('v128'));
  const t = [0, 1, 2, 3].map(() => f.local('v128'));
  f.i32(0).set(i);
  f.loopUntil(
    () => f.get(i).get(p.rows).geS(),
    () => {
      f.i32(0).set(j);
      f.loopUntil(
        () => f.get(j).get(p.columns).geS(),
        () => {
          f.i32(0).set(o);
          f.loopUntil(
            () => f.get(o).get(p.outChannels).geS(),
            () => {
              // v[r]: taps j .. j + 3 of output channel o + r.
              f.get(p.src).get(o).get(p.oStep).mul().add().get(i).get(p.rowStep).mul().add().get(j).i32(4).mul().add().set(from);
              for (let r = 0; r < 4; r++) {
                f.get(from).v128Load().set(v[r]);
                f.increment(from, p.oStep);
              }
              f.get(v[0]).get(v[1]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[0]);
              f.get(v[2]).get(v[3]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[1]);
              f.get(v[0]).get(v[1]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[2]);
              f.get(v[2]).get(v[3]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[3]);
              // Row j + r of the destination: output channels o .. o + 3 at tap j + r.
              f.get(p.dst).get(i).get(p.columns).mul().get(j).add().get(p.dstRowStep).mul().add().get(o).i32(4).mul().add().set(to);
              for (let r = 0; r < 4; r++) {
                f.get(to).get(t[r < 2 ? 0 : 2]).get(t[r < 2 ? 1 : 3]).i8x16Shuffle(lanes(r % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7])).v128Store();
                f.increment(to, p.dstRowStep);
              }
              f.increment(o, { constant: 4 });
            },
          );
          f.increment(j, { constant: 4 });
        },
      );
      f.increment(i, { constant: 1 });
    },
  );
  f.return();
};
