// Which graph nodes run on the native kernels (where the backend has them), and what they read.

import type { Tensor } from '../tensor.ts';
import { viewOf } from './strided-view.ts';

const nativePrimitives: readonly string[] = ['conv2d', 'matmul'];

export const isNativeStep = (node: Tensor): boolean => nativePrimitives.includes(node.primitive.name) && node.size > 0;

/** The buffers a native step reads: its inputs, seen through transposes and flips. */
export const nativeOperands = (node: Tensor) => (node.inputs as Tensor[]).map((input) => viewOf(input));
