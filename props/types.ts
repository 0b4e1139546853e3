// Type-level shape checks. `tsc --noEmit` (the first step of `npm test`) compiles this file:
// every line marked @ts-expect-error must keep failing to type-check, or tsc reports the
// directive as unused and the suite fails. The unmarked lines must keep compiling.

import { add, avgPool2d, conv2d, matmul, maxPool2d, mul, reshape, sum, type Tensor, tensor, transpose, zeros } from '../lib/index.ts';

const a = zeros([2, 3]);
const b = zeros([3, 5]);
const images = zeros([8, 3, 32, 32]);
const weights = zeros([16, 3, 3, 3]);

// Shapes flow through the operations.
export const product: Tensor<[2, 5]> = matmul(a, b);
export const batched: Tensor<[4, 2, 5]> = matmul(zeros([4, 2, 3]), zeros([4, 3, 5]));
export const summed: Tensor<[2]> = sum(a, 1);
export const kept: Tensor<[2, 1]> = sum(a, 1, true);
export const total: Tensor<[]> = sum(a);
export const flipped: Tensor<[3, 2]> = transpose(a);
export const permuted: Tensor<[32, 8, 3, 32]> = transpose(images, [2, 0, 1, 3]);
export const broadcast: Tensor<[4, 2, 3]> = add(zeros([4, 1, 3]), a);
export const scaled: Tensor<[2, 3]> = mul(a, 2);
export const features: Tensor<[8, 16, number, number]> = conv2d(images, weights, { padding: 1 });
export const pooled: Tensor<[8, 3, number, number]> = maxPool2d(images, { window: 2 });
export const averaged: Tensor<[8, 3, number, number]> = avgPool2d(images, { window: 2 });
export const reshaped: Tensor<[6]> = reshape(a, [6]);
export const built: Tensor<[2, 2]> = tensor([1, 2, 3, 4], [2, 2]);
// Shapes known only at run time pass the type checker and are checked at trace time.
const dynamic: Tensor<number[]> = zeros([2, 3] as number[]);
export const unchecked = matmul(dynamic, b);

// @ts-expect-error matmul: inner dimensions 3 and 4 differ
matmul(a, zeros([4, 5]));
// @ts-expect-error matmul: batch matrices with inner dimensions 3 and 2
matmul(zeros([4, 2, 3]), zeros([4, 2, 5]));
// @ts-expect-error add: [2, 3] and [4] do not broadcast
add(a, zeros([4]));
// @ts-expect-error mul: [2, 3] and [3, 2] do not broadcast
mul(a, zeros([3, 2]));
// @ts-expect-error conv2d: the input must have rank 4
conv2d(zeros([3, 32, 32]), weights);
// @ts-expect-error conv2d: the weight must have rank 4
conv2d(images, zeros([16, 27]));
// @ts-expect-error maxPool2d: the input must have rank 4
maxPool2d(zeros([3, 32, 32]), { window: 2 });
// @ts-expect-error the product of [2, 3] and [3, 5] is [2, 5], not [5, 2]
export const wrongProduct: Tensor<[5, 2]> = matmul(a, b);
// @ts-expect-error summing axis 1 of [2, 3] leaves [2], not [3]
export const wrongSum: Tensor<[3]> = sum(a, 1);
// @ts-expect-error the transpose of [2, 3] is [3, 2]
export const wrongTranspose: Tensor<[2, 3]> = transpose(a);
// @ts-expect-error a [2, 2] constant is not a [4]
export const wrongConstant: Tensor<[4]> = tensor([1, 2, 3, 4], [2, 2]);
// @ts-expect-error conv2d keeps the batch size: 8, not 4
export const wrongBatch: Tensor<[4, 16, number, number]> = conv2d(images, weights);
