// The GEMM of a convolution's weight gradient with no patch matrix: C (m x n) (+)= A (m x k) .
// B (k x n), where A, the patch matrix of one image's channels, is never built. Its row r (an
// input channel and an output tap) at k = (i, j) (a position of the kernel, which in a weight
// gradient is the output cotangent's plane) is the padded image's float at bases[r] + i * iStep
// + j * jStep: each row is read where it lies, through a table of each row's start. The
// by-channel form of conv2d-native.ts built that matrix for every image, (C x 9) rows of H x W
// floats, about as many floats as the GEMM did multiply-adds a column of B.
//
// implicitRowsGemm(bases, b, ldb, c, ldc, m, n, kRows, kColumns, iStep, jStep, accumulate): m a
// multiple of 4 (`bases` holds m i32 byte addresses), n of 8; k = kRows x kColumns, B's rows
// `ldb` bytes apart, C's rows `ldc` bytes apart. Addresses and steps are in bytes.

import { FunctionBuilder, type Local } from './wasm-assembler.ts';
import { eachBlockOfC, type GemmOptions, RegisterBlock } from './gemm-kernel.ts';

export const implicitRowsGemmKernel = ({ fusedMultiplyAdd = false }: GemmOptions = {}): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(12).fill('i32'));
  const [bases, b, ldb, c, ldc, m, n, kRows, kColumns, iStep, jStep, accumulate] = f.params.map((_, i) => f.param(i));
  const i = f.local('i32');
  const j = f.local('i32');
  const pb = f.local('i32');
  const rowJump = f.local('i32');
  const rowBases: Local[] = Array.from({ length: 4 }, () => f.local('i32'));
  const block = new RegisterBlock(f, { kind: 'gathered', bases: rowBases }, ldc, fusedMultiplyAdd);
  const { pa } = block;

  // From the end of one row of k to the start of the next.
  f.get(iStep).get(kColumns).get(jStep).mul().sub().set(rowJump);
  eachBlockOfC(
    f,
    block,
    { b, c, ldc, m, n, accumulate, pb },
    (row) => rowBases.forEach((base, r) => f.get(bases).get(row).i32(4).mul().add().i32Load(4 * r).set(base)),
    () => {
      f.i32(0).set(pa);
      f.i32(0).set(i);
      f.loopUntil(
        () => f.get(i).get(kRows).geS(),
        () => {
          f.i32(0).set(j);
          f.loopUntil(
            () => f.get(j).get(kColumns).geS(),
            () => {
              block.pass(pb);
              f.increment(pb, ldb);
              f.increment(pa, jStep);
              f.increment(j, { constant: 1 });
            },
          );
          f.increment(pa, rowJump);
          f.increment(i, { constant: 1 });
        },
      );
    },
  );
  return f;
};
