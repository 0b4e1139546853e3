// A shape error the types cannot see is raised at trace time, naming the primitive and the
// shapes involved, before anything is evaluated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, broadcastTo, concat, conv2d, matmul, maxPool2d, pad, reshape, scatterAdd, select, ShapeError, sum, tensor, type Tensor, transpose, zeros,
} from '../lib/index.ts';

// Shapes computed at run time are plain number[]: the type checker lets them through.
const dynamic = (shape: number[]): Tensor => zeros(shape);

const cases: [string, () => unknown, RegExp][] = [
  ['add', () => add(dynamic([2, 3]), dynamic([4])), /^add: shapes do not broadcast \(input shapes \[2, 3\] and \[4\]\)$/],
  ['select', () => select(dynamic([2]), dynamic([3]), dynamic([2])), /^select: shapes do not broadcast \(input shapes \[2\] and \[3\] and \[2\]\)$/],
  ['matmul', () => matmul(dynamic([2, 3]), dynamic([4, 5])), /^matmul: inner dimensions 3 and 4 differ \(input shapes \[2, 3\] and \[4, 5\]\)$/],
  ['matmul rank', () => matmul(dynamic([3]), dynamic([3, 2])), /^matmul: both operands need rank 2 or more \(input shapes \[3\] and \[3, 2\]\)$/],
  ['matmul batch', () => matmul(dynamic([2, 2, 3]), dynamic([3, 3, 4])), /^matmul: batch dimensions \[2\] and \[3\] do not broadcast/],
  ['conv2d channels', () => conv2d(dynamic([1, 3, 8, 8]) as any, dynamic([4, 2, 3, 3]) as any), /^conv2d: input has 3 channels but the weight expects 2 \(input shapes \[1, 3, 8, 8\] and \[4, 2, 3, 3\]\)$/],
  ['conv2d kernel too large', () => conv2d(dynamic([1, 1, 2, 2]) as any, dynamic([1, 1, 3, 3]) as any), /^conv2d: the kernel does not fit .*\[1, 1, 2, 2\] and \[1, 1, 3, 3\]/],
  ['maxPool2d rank', () => maxPool2d(dynamic([3, 8, 8]) as any, { window: 2 }), /^pool2d: input must be NCHW \(rank 4\) \(input shapes \[3, 8, 8\]\)$/],
  ['reshape', () => reshape(dynamic([2, 3]), [4, 2]), /^reshape: cannot reshape 6 elements to \[4, 2\] \(8\) \(input shapes \[2, 3\]\)$/],
  ['broadcastTo', () => broadcastTo(dynamic([2, 3]), [3, 3]), /^broadcastTo: cannot broadcast to \[3, 3\] \(input shapes \[2, 3\]\)$/],
  ['transpose', () => transpose(dynamic([2, 3]), [0, 0]), /^transpose: \[0, 0\] is not a permutation of the axes of \[2, 3\]/],
  ['concat', () => concat([dynamic([2, 3]), dynamic([2, 4])], 0), /^concat: shapes must agree except on axis 0; \[2, 4\] does not \(input shapes \[2, 3\] and \[2, 4\]\)$/],
  ['pad', () => pad(dynamic([2]), [[-1, 0]]), /^pad: widths .* need one non-negative \[before, after\] pair per axis of \[2\]/],
  ['sum axis', () => sum(dynamic([2, 3]), 2), /^sum: axis 2 is out of range for shape \[2, 3\] \(rank 2\)$/],
  ['scatterAdd', () => scatterAdd(dynamic([2, 3]), dynamic([4]), 0, 5), /^scatterAdd: source must hold the indices' shape \[4\] at axis 0 \(input shapes \[2, 3\] and \[4\]\)$/],
  ['tensor', () => tensor([1, 2, 3], [2, 2]), /^tensor: 3 values do not fill shape \[2, 2\] \(4 elements\)$/],
];

for (const [name, build, message] of cases)
  test(`${name}: a clear ShapeError at trace time`, () => {
    assert.throws(build, (error: unknown) => {
      assert.ok(error instanceof ShapeError, `not a ShapeError: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  });
