// The GEMM of a stride-1 convolution with no patch matrix (implicit GEMM): C (m x oh*ow) = A (m x
// k) . B (k x oh*ow), where B, the patch matrix, is never built. Its row kk (an input channel and
// a kernel tap) at output position (i, j) is the padded image's float at offsets[kk] + i *
// rowStep + j * 4 (bytes from `b`): for a stride-1 convolution 8 consecutive output positions of
// one output row read 8 consecutive floats of the padded image, so the register block of
// gemm-kernel.ts loads B's two vectors from there as it would from a row of the patch matrix.
// Building the patch matrix cost about a quarter of the GEMM's own time and wrote k times the
// image's floats; this reads the padded image, which conv2d-native.ts lays out once an image.
//
// A is packed in panels of 4 rows (RegisterBlock's `panels`: k groups of the 4 rows' floats), so
// that a pass loads its 4 splats at constant offsets with no address arithmetic: 3 to 5% faster
// alone on the step's shapes than rows `lda` apart. (Unrolling the loop over k by two, tried
// too, halved its speed in V8.)
//
// implicitGemm(a, lda, b, offsets, c, ldc, m, rows, columns, rowStep, k, accumulate): m a
// multiple of 4, `columns` (the output's width) of 8; row block r / 4 of A's panels starts at a
// + r * lda (lda = 4 k bytes: 4 rows of k floats); C's row r holds rows x columns floats, the
// output's plane, at c + r * ldc; `offsets` holds k i32 byte offsets. Addresses are bytes.

import { FunctionBuilder } from './wasm-assembler.ts';
import { type GemmOptions, RegisterBlock } from './gemm-kernel.ts';

export const implicitGemmKernel = ({ fusedMultiplyAdd = false }: GemmOptions = {}): FunctionBuilder => {
  const f = new FunctionBuilder(new Array(12).fill('i32'));
  const [a, lda, b, offsets, c, ldc, m, rows, columns, rowStep, k, accumulate] = f.params.map((_, i) => f.param(i));
  const row = f.local('i32');
  const i = f.local('i32');
  const j = f.local('i32');
  const start = f.local('i32');
  const pk = f.local('i32');
  const end = f.local('i32');
  const pb = f.local('i32');
  const block = new RegisterBlock(f, { kind: 'panels' }, ldc, fusedMultiplyAdd);
  const { pa, pc } = block;

  f.get(offsets).get(k).i32(4).mul().add().set(end);
  f.i32(0).set(row);
  f.loopUntil(
    () => f.get(row).get(m).geS(),
    () => {
      // pc walks this block of rows of C along the output's plane.
      f.get(c).get(row).get(ldc).mul().add().set(pc);
      f.i32(0).set(i);
      f.loopUntil(
        () => f.get(i).get(rows).geS(),
        () => {
          f.i32(0).set(j);
          f.loopUntil(
            () => f.get(j).get(columns).geS(),
            () => {
              block.start(accumulate);
              // start = b + i * rowStep + j * 4: the block's first position in the padded image.
              f.get(b).get(i).get(rowStep).mul().add().get(j).i32(4).mul().add().set(start);
              f.get(a).get(row).get(lda).mul().add().set(pa);
              f.get(offsets).set(pk);
              f.loopUntil(
                () => f.get(pk).get(end).geS(),
                () => {
                  f.get(pk).i32Load().get(start).add().set(pb);
                  block.pass(pb);
                  f.increment(pk, { constant: 4 });
                },
              );
              block.store();
              f.increment(pc, { constant: 32 });
              f.increment(j, { constant: 8 });
            },
          );
          f.increment(i, { constant: 1 });
        },
      );
      f.increment(row, { constant: 4 });
    },
  );
  return f;
};
