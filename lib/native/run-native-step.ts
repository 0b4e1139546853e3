// One native step of a compiled program: its operands' buffers handed to the native kernels as
// the views the step reads.

import type { Tensor } from '../tensor.ts';
import type { Conv2dParams } from '../primitives/conv2d.ts';
import type { NativePool } from './native-pool.ts';
import type { NativePlan } from '../compile/plan.ts';
import { conv2dNative } from './conv2d-native.ts';
import { matmulNative } from './matmul-native.ts';
import type { Allocate } from './strided-view.ts';

export const runNativeStep = (pool: NativePool, step: NativePlan, bufferOf: (node: Tensor) => Float32Array, allocate?: Allocate): Promise<Float32Array> => {
  const [a, b] = step.operands.map(({ base, view }) => ({ data: bufferOf(base), view }));
  switch (step.node.primitive.name) {
    case 'conv2d':
      return conv2dNative(pool, a, b, step.node.params as Conv2dParams, step.node.shape, allocate);
    case 'matmul':
      return matmulNative(pool, a, b, step.node.shape, allocate);
    default:
      throw new Error(`compile: ${step.node} has no native kernel`);
  }
};
