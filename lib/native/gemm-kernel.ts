// The one compute kernel of the native path: C (m x n) = A (m x k) . B (k x n), or C += A . B,
// in float32 with 128-bit SIMD. Every convolution and matmul of the native backend becomes calls
// of it or of its implicit form (implicit-gemm-kernel.ts, which reads B through a table of
// offsets instead of rows at a stride); see conv2d-native.ts and matmul-native.ts.
//
// Register blocking is what makes it fast: each pass of the inner loop loads 8 consecutive
// floats of one row of B (two vectors) and 4 floats of one column of A (each splatted to a
// vector) and does 32 multiply-adds on 8 accumulator vectors, a 4 x 8 block of C held in
// registers for the whole of k. One load feeds 4 or 8 multiply-adds, where a kernel computing
// one output per lane needs a load for each.
//
// Fused (`fusedMultiplyAdd`, where relaxed-simd.ts finds relaxed SIMD), each multiply-add is one
// f32x4.relaxed_madd instead of a multiply and an add: the loop is bound by the instructions it
// issues, and `node --import tsx bench/gemm-kernel.ts` runs the step's shapes 1.26 to 1.40
// times as fast so. A fused
// multiply-add rounds once where the separate pair rounds twice, so the two differ in the last
// bits of a sum, as any two summation orders may.
//
// Contract (the callers pad to it): m is a multiple of 4 and n of 8; A's rows are contiguous
// along k (row stride `lda` bytes), B's rows hold n floats at stride `ldb` bytes, C's rows
// stride `ldc` bytes; all addresses are byte offsets into the shared memory.

import { FunctionBuilder, type Local } from './wasm-assembler.ts';

export const GEMM_ROWS = 4;
export const GEMM_COLUMNS = 8;

export interface GemmOptions {
  /** Each multiply-add as relaxed SIMD's one instruction (only where the engine validates it). */
  readonly fusedMultiplyAdd?: boolean;
}

/**
 * The register block both GEMM kernels share: 8 accumulators for a 4 x 8 block of C, the two
 * vectors of B's row and A's splatted element, and A's row strides. `pa` walks A's 4 rows along
 * k; `pc` is where the block of C begins.
 */
export class RegisterBlock {
  private readonly acc: Local[];
  private readonly b0: Local;
  private readonly b1: Local;
  private readonly splat: Local;
  private readonly lda2: Local;
  private readonly lda3: Local;
  readonly pa: Local;
  readonly pc: Local;

  /**
   * `panels`: A laid out as panels of its 4 rows, k groups of 4 floats (row r of a group at 4 r
   * bytes), so that a pass's 4 splats load at constant offsets from `pa` and `pa` moves 16 bytes;
   * otherwise A's rows lie `lda` bytes apart and `pa` moves 4.
   */
  constructor(
    private readonly f: FunctionBuilder,
    private readonly lda: Local,
    private readonly ldc: Local,
    private readonly fusedMultiplyAdd: boolean,
    private readonly panels = false,
  ) {
    this.acc = Array.from({ length: 8 }, () => f.local('v128'));
    this.b0 = f.local('v128');
    this.b1 = f.local('v128');
    this.splat = f.local('v128');
    this.lda2 = f.local('i32');
    this.lda3 = f.local('i32');
    this.pa = f.local('i32');
    this.pc = f.local('i32');
    f.get(lda).i32(2).mul().set(this.lda2);
    f.get(lda).i32(3).mul().set(this.lda3);
  }

  /** For each of C's 4 rows: the row's address (pc + r * ldc) on the stack, then `then`. */
  private eachRowOfC(then: (r: number) => void) {
    const { f } = this;
    for (let r = 0; r < 4; r++) {
      f.get(this.pc);
      for (let i = 0; i < r; i++) f.get(this.ldc).add();
      then(r);
    }
  }

  /** The accumulators from C's block at `pc` (where `accumulate` is nonzero) or from zero. `pa` is clobbered. */
  start(accumulate: Local) {
    const { f, acc, pa } = this;
    this.eachRowOfC((r) => {
      f.set(pa); // borrow pa as the row address
      for (let half = 0; half < 2; half++) {
        f.get(accumulate).eqz();
        f.ifElse(
          () => {
            f.v128Zero().set(acc[r * 2 + half]);
          },
          () => {
            f.get(pa).v128Load(half * 16).set(acc[r * 2 + half]);
          },
        );
      }
    });
  }

  /** One pass along k: 8 floats of B's row at `pb`, 4 of A's column at `pa`, 32 multiply-adds; `pa` one float on. */
  pass(pb: Local) {
    const { f, acc, b0, b1, splat, pa } = this;
    f.get(pb).v128Load(0).set(b0);
    f.get(pb).v128Load(16).set(b1);
    for (let r = 0; r < 4; r++) {
      f.get(pa);
      if (this.panels) f.v128Load32Splat(4 * r).set(splat);
      else {
        if (r === 1) f.get(this.lda).add();
        if (r === 2) f.get(this.lda2).add();
        if (r === 3) f.get(this.lda3).add();
        f.v128Load32Splat().set(splat);
      }
      for (let half = 0; half < 2; half++) {
        const target = acc[r * 2 + half];
        if (this.fusedMultiplyAdd) f.get(splat).get(half === 0 ? b0 : b1).get(target).f32x4RelaxedMadd().set(target);
        else f.get(target).get(splat).get(half === 0 ? b0 : b1).f32x4Mul().f32x4Add().set(target);
      }
    }
    f.increment(pa, { constant: this.panels ? 16 : 4 });
  }

  /** The accumulators into C's block at `pc`. `pa` is clobbered. */
  store() {
    const { f, acc, pa } = this;
    this.eachRowOfC((r) => {
      f.set(pa);
      f.get(pa).get(acc[r * 2]).v128Store(0);
      f.get(pa).get(acc[r * 2 + 1]).v128Store(16);
    });
  }
}

export const gemmKernel = ({ fusedMultiplyAdd = false }: GemmOptions = {}): FunctionBuilder => {
  const f = new FunctionBuilder(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, lda, b, ldb, c, ldc, m, n, k, accumulate] = f.params.map((_, i) => f.param(i));
  const row = f.local('i32');
  const column = f.local('i32');
  const remaining = f.local('i32');
  const pb = f.local('i32');
  const block = new RegisterBlock(f, lda, ldc, fusedMultiplyAdd);
  const { pa, pc } = block;

  f.i32(0).set(row);
  f.loopUntil(
    () => f.get(row).get(m).geS(),
    () => {
      f.i32(0).set(column);
      f.loopUntil(
        () => f.get(column).get(n).geS(),
        () => {
          // pc = c + row * ldc + column * 4
          f.get(c).get(row).get(ldc).mul().add().get(column).i32(4).mul().add().set(pc);
          block.start(accumulate);
          // pa = a + row * lda; pb = b + column * 4
          f.get(a).get(row).get(lda).mul().add().set(pa);
          f.get(b).get(column).i32(4).mul().add().set(pb);
          f.get(k).set(remaining);
          f.loopUntil(
            () => f.get(remaining).eqz(),
            () => {
              block.pass(pb);
              f.increment(pb, ldb);
              f.increment(remaining, { constant: -1 });
            },
          );
          block.store();
          f.increment(column, { constant: 8 });
        },
      );
      f.increment(row, { constant: 4 });
    },
  );
  return f;
};
