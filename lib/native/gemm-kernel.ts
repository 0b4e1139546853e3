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
 * How a pass finds the 4 floats of A's column it splats: A's rows `lda` bytes apart from `pa`
 * (`pa` moves 4 bytes a pass); panels of 4 rows, k groups of 4 floats (row r at 4 r bytes from
 * `pa`, which moves 16), so that the splats load at constant offsets; or each row at its own
 * base plus `pa`, an offset the caller moves (the rows of a patch matrix read from the padded
 * image, implicit-rows-gemm-kernel.ts).
 */
export type RowsOfA = { readonly kind: 'strided'; readonly lda: Local } | { readonly kind: 'panels' } | { readonly kind: 'gathered'; readonly bases: readonly Local[] };

/**
 * The register block the GEMM kernels share: 8 accumulators for a 4 x 8 block of C, the two
 * vectors of B's row and A's splatted element. `pa` walks A's 4 rows along k (as `rows` says);
 * `pc` is where the block of C begins.
 */
export class RegisterBlock {
  private readonly acc: Local[];
  private readonly b0: Local;
  private readonly b1: Local;
  private readonly splat: Local;
  /** A's row r's offset from `pa`, strided: lda, 2 lda, 3 lda. */
  private readonly strides: Local[] = [];
  readonly pa: Local;
  readonly pc: Local;

  constructor(
    private readonly f: FunctionBuilder,
    private readonly rows: RowsOfA,
    private readonly ldc: Local,
    private readonly fusedMultiplyAdd: boolean,
  ) {
    this.acc = Array.from({ length: 8 }, () => f.local('v128'));
    this.b0 = f.local('v128');
    this.b1 = f.local('v128');
    this.splat = f.local('v128');
    this.pa = f.local('i32');
    this.pc = f.local('i32');
    if (rows.kind === 'strided') {
      this.strides = [rows.lda, f.local('i32'), f.local('i32')];
      f.get(rows.lda).i32(2).mul().set(this.strides[1]);
      f.get(rows.lda).i32(3).mul().set(this.strides[2]);
    }
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

  /** One pass along k: 8 floats of B's row at `pb`, 4 of A's column (as `rows` says), 32 multiply-adds; `pa` on to the next column unless gathered. */
  pass(pb: Local) {
    const { f, acc, b0, b1, splat, pa } = this;
    f.get(pb).v128Load(0).set(b0);
    f.get(pb).v128Load(16).set(b1);
    for (let r = 0; r < 4; r++) {
      const { rows } = this;
      if (rows.kind === 'panels') f.get(pa).v128Load32Splat(4 * r).set(splat);
      else if (rows.kind === 'gathered') f.get(rows.bases[r]).get(pa).add().v128Load32Splat().set(splat);
      else {
        f.get(pa);
        if (r > 0) f.get(this.strides[r - 1]).add();
        f.v128Load32Splat().set(splat);
      }
      for (let half = 0; half < 2; half++) {
        const target = acc[r * 2 + half];
        if (this.fusedMultiplyAdd) f.get(splat).get(half === 0 ? b0 : b1).get(target).f32x4RelaxedMadd().set(target);
        else f.get(target).get(splat).get(half === 0 ? b0 : b1).f32x4Mul().f32x4Add().set(target);
      }
    }
    if (this.rows.kind !== 'gathered') f.increment(pa, { constant: this.rows.kind === 'panels' ? 16 : 4 });
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

/**
 * The blocks of C (m x n, rows `ldc` bytes apart from `c`), 4 rows by 8 columns: `perRows` once a
 * block row (`row` its first), then for each block `pass` along k, between the accumulators'
 * start (from C or zero) and their store. `pb` starts at B's row 0, the block's first column
 * (`b` + column * 4); `pass` leaves A's pointer to `perRows` or sets it itself.
 */
export const eachBlockOfC = (
  f: FunctionBuilder,
  block: RegisterBlock,
  { b, c, ldc, m, n, accumulate, pb }: { readonly [name in 'b' | 'c' | 'ldc' | 'm' | 'n' | 'accumulate' | 'pb']: Local },
  perRows: (row: Local) => void,
  pass: (row: Local) => void,
) => {
  const row = f.local('i32');
  const column = f.local('i32');
  f.i32(0).set(row);
  f.loopUntil(
    () => f.get(row).get(m).geS(),
    () => {
      perRows(row);
      f.i32(0).set(column);
      f.loopUntil(
        () => f.get(column).get(n).geS(),
        () => {
          // pc = c + row * ldc + column * 4
          f.get(c).get(row).get(ldc).mul().add().get(column).i32(4).mul().add().set(block.pc);
          block.start(accumulate);
          f.get(b).get(column).i32(4).mul().add().set(pb);
          pass(row);
          block.store();
          f.increment(column, { constant: 8 });
        },
      );
      f.increment(row, { constant: 4 });
    },
  );
};

export const gemmKernel = ({ fusedMultiplyAdd = false }: GemmOptions = {}): FunctionBuilder => {
  const f = new FunctionBuilder(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, lda, b, ldb, c, ldc, m, n, k, accumulate] = f.params.map((_, i) => f.param(i));
  const remaining = f.local('i32');
  const pb = f.local('i32');
  const block = new RegisterBlock(f, { kind: 'strided', lda }, ldc, fusedMultiplyAdd);
  eachBlockOfC(f, block, { b, c, ldc, m, n, accumulate, pb }, () => {}, (row) => {
    // pa = a + row * lda
    f.get(a).get(row).get(lda).mul().add().set(block.pa);
    f.get(k).set(remaining);
    f.loopUntil(
      () => f.get(remaining).eqz(),
      () => {
        block.pass(pb);
        f.increment(pb, ldb);
        f.increment(remaining, { constant: -1 });
      },
    );
  });
  return f;
};
