// Max pooling over 2 x 2 windows with stride 2, and its gradient, as WebAssembly SIMD: four
// windows a pass. They are the native pooling kernels' loops (max-pool-native.ts,
// max-pool-gradient-native.ts) where every operand is a contiguous row-major array of the float
// arena, so that row r of windows reads input rows 2r and 2r + 1 and a run of rows is one call.
// Each computes what the JavaScript loop computes, bit for bit: f32x4.max gives NaN where
// either lane is NaN and +0 over -0 as Math.max does; a tie is f32x4.eq, as ===; the share
// 1 / ties and the cotangent's product are float32 operations, which round once as
// Math.fround(a op b) of float32s does.
//
// maxPool(out, x, rows, windows): out[r * windows + j] = the maximum of window j of row r.
// maxPoolGradient(out, ct, x, y, rows, windows): each window's cotangent over its ties, at its
// maxima, 0 elsewhere. Addresses in bytes; `windows` a multiple of 4.

import { assembleModule, FunctionBuilder, type Local } from './wasm-assembler.ts';
import { MAXIMUM_PAGES } from './float-arena.ts';

/** Lanes 0 and 2 of a then of b (the left taps of four windows), and lanes 1 and 3 (the right). */
const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
/** Each of the first two lanes twice, and each of the last two: a window's value for both its columns. */
const LOW_PAIRS = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7];
const HIGH_PAIRS = [8, 9, 10, 11, 8, 9, 10, 11, 12, 13, 14, 15, 12, 13, 14, 15];

/** `for (row = 0; row < rows; row++) for (j = 0; j < windows; j += 4) body(row, j)`. */
const rowsOfWindows = (f: FunctionBuilder, rows: Local, windows: Local, body: (row: Local, j: Local) => void) => {
  const row = f.local('i32');
  const j = f.local('i32');
  f.i32(0).set(row);
  f.loopUntil(
    () => f.get(row).get(rows).geS(),
    () => {
      f.i32(0).set(j);
      f.loopUntil(
        () => f.get(j).get(windows).geS(),
        () => {
          body(row, j);
          f.increment(j, { constant: 4 });
        },
      );
      f.increment(row, { constant: 1 });
    },
  );
};

const maxPoolKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(['i32', 'i32', 'i32', 'i32']);
  const [out, x, rows, windows] = [0, 1, 2, 3].map((i) => f.param(i));
  const [left, right, rowBytes, at] = [f.local('v128'), f.local('v128'), f.local('i32'), f.local('i32')];
  // An input row is 2 * windows floats; row r of windows starts at input row 2r.
  f.get(windows).i32(8).mul().set(rowBytes);
  rowsOfWindows(f, rows, windows, (row, j) => {
    // at = x + (2 * row * windows + 2 * j) * 4
    f.get(x).get(row).get(rowBytes).mul().i32(2).mul().add().get(j).i32(8).mul().add().set(at);
    // Columns 0-3 and 4-7: the maxima of the two rows, then of each window's two columns.
    f.get(at).v128Load().get(at).get(rowBytes).add().v128Load().floatLanes('f32x4', 'max').set(left);
    f.get(at).v128Load(16).get(at).get(rowBytes).add().v128Load(16).floatLanes('f32x4', 'max').set(right);
    f.get(out).get(row).get(windows).mul().get(j).add().i32(4).mul().add();
    f.get(left).get(right).i8x16Shuffle(EVEN).get(left).get(right).i8x16Shuffle(ODD).floatLanes('f32x4', 'max');
    f.v128Store();
  });
  return f;
};

const maxPoolGradientKernel = (): FunctionBuilder => {
  const f = new FunctionBuilder(['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [out, ct, x, y, rows, windows] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const rowBytes = f.local('i32');
  const one = f.local('v128');
  const [at, windowAt] = [f.local('i32'), f.local('i32')];
  const [top, cotangent, ties, share, none, sum] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  // The windows' 2 x 8 block in quarters of four floats: row 0 left and right, row 1 left and right.
  const values = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const equal = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  /** Quarter k's byte address relative to x or out: the block's row, then its half. */
  const quarter = (base: Local, k: number) => {
    f.get(base).get(at).add();
    if (k >= 2) f.get(rowBytes).add();
  };
  f.v128Const(new Float32Array(4).fill(1)).set(one);
  f.get(windows).i32(8).mul().set(rowBytes);
  rowsOfWindows(f, rows, windows, (row, j) => {
    // The block at input row 2 * row, column 2 * j; its windows' maxima and cotangents at row * windows + j.
    f.get(row).get(rowBytes).mul().i32(2).mul().get(j).i32(8).mul().add().set(at);
    f.get(row).get(windows).mul().get(j).add().i32(4).mul().set(windowAt);
    f.get(y).get(windowAt).add().v128Load().set(top);
    f.get(ct).get(windowAt).add().v128Load().set(cotangent);
    values.forEach((v, k) => {
      quarter(x, k);
      f.v128Load((k % 2) * 16).set(v);
    });
    // Which taps equal their window's maximum, as masks: each tap against its window's top.
    values.forEach((v, k) => f.get(v).get(top).get(top).i8x16Shuffle(k % 2 === 0 ? LOW_PAIRS : HIGH_PAIRS).floatLanes('f32x4', 'eq').set(equal[k]));
    // Ties a window: the masks as 1s, summed over its two rows, then over its two columns.
    const ones = (k: number) => f.get(equal[k]).get(one).v128And();
    ones(0);
    ones(2);
    f.floatLanes('f32x4', 'add').set(sum);
    ones(1);
    ones(3);
    f.floatLanes('f32x4', 'add').set(values[1]);
    f.get(sum).get(values[1]).i8x16Shuffle(EVEN).get(sum).get(values[1]).i8x16Shuffle(ODD).floatLanes('f32x4', 'add').set(ties);
    // The share 1 / ties at a maximum, 0 / ties elsewhere (NaN where a window has no tie: a NaN maximum).
    f.get(one).get(ties).floatLanes('f32x4', 'div').set(share);
    f.v128Const(new Float32Array(4)).get(ties).floatLanes('f32x4', 'div').set(none);
    for (let k = 0; k < 4; k++) {
      const pairs = k % 2 === 0 ? LOW_PAIRS : HIGH_PAIRS;
      // out = cotangent * (tie ? share : none), each lane its window's.
      quarter(out, k);
      f.get(cotangent).get(cotangent).i8x16Shuffle(pairs);
      f.get(share).get(share).i8x16Shuffle(pairs).get(none).get(none).i8x16Shuffle(pairs).get(equal[k]).v128Bitselect();
      f.floatLanes('f32x4', 'mul');
      f.v128Store((k % 2) * 16);
    }
  });
  return f;
};

let maxPool: Uint8Array | undefined;
let maxPoolGradient: Uint8Array | undefined;
/** The modules, each exporting its function as `simd` (javascript-kernel.ts runs them so). */
export const maxPoolSimd = (): Uint8Array => (maxPool ??= assembleModule([{ name: 'simd', body: maxPoolKernel() }], MAXIMUM_PAGES));
export const maxPoolGradientSimd = (): Uint8Array => (maxPoolGradient ??= assembleModule([{ name: 'simd', body: maxPoolGradientKernel() }], MAXIMUM_PAGES));
