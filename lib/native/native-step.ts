// The native lowering of each primitive that has one: a graph node handed to the native kernels
// (WebAssembly GEMMs on the worker pool; max pooling over tiling windows and its gradient as
// JavaScript kernels written by hand, window by window) with its operands read as views of
// buffers. A node runs natively where the backend has native kernels, its primitive has an entry
// here, and `lowersOnly` takes it where it names the primitive; every other node runs as a
// compiled kernel (its kernel rule, compile/rules.ts).

import type { Primitive, Tensor } from '../tensor.ts';
import { type Conv2dParams, conv2dPrimitive } from '../primitives/conv2d.ts';
import { matmulPrimitive } from '../primitives/matmul.ts';
import { maxPoolGradientPrimitive } from '../primitives/max-pool-gradient.ts';
import { type Pool2dParams, pool2dPrimitive, tilesInput } from '../primitives/pool2d.ts';
import type { NativePool } from './native-pool.ts';
import { conv2dNative } from './conv2d-native.ts';
import { matmulNative } from './matmul-native.ts';
import { maxPoolGradientNative } from './max-pool-gradient-native.ts';
import { maxPoolNative } from './max-pool-native.ts';
import { type Allocate, type NativeOperand, type StridedView, viewOf } from './strided-view.ts';

/** A node on the native kernels, reading its operands as views of buffers. */
export interface NativePlan {
  readonly kind: 'native';
  readonly node: Tensor;
  readonly operands: readonly { readonly base: Tensor; readonly view: StridedView }[];
}

/** Runs one node on the pool, given its operands' data and views; `allocate` gives the result's array. */
export type NativeLowering = (pool: NativePool, operands: readonly NativeOperand[], node: Tensor<any, any>, allocate?: Allocate) => Promise<Float32Array>;

export const nativeLowerings: ReadonlyMap<Primitive<any>, NativeLowering> = new Map<Primitive<any>, NativeLowering>([
  [conv2dPrimitive, (pool, [x, weight], node, allocate) => conv2dNative(pool, x, weight, node.params as Conv2dParams, node.shape, allocate)],
  [matmulPrimitive, (pool, [a, b], node, allocate) => matmulNative(pool, a, b, node.shape, allocate)],
  [maxPoolGradientPrimitive, maxPoolGradientNative],
  [pool2dPrimitive, maxPoolNative],
]);

/** Where a lowering takes only some nodes of its primitive: the rest run as compiled kernels. */
const lowersOnly: ReadonlyMap<Primitive<any>, (node: Tensor<any, any>) => boolean> = new Map<Primitive<any>, (node: Tensor<any, any>) => boolean>([
  // Max pooling over windows that tile the input; average pooling and other windows as kernels.
  [pool2dPrimitive, (node) => (node.params as Pool2dParams).kind === 'max' && tilesInput(node.params as Pool2dParams)],
]);

export const isNativeStep = (node: Tensor): boolean =>
  nativeLowerings.has(node.primitive) && node.size > 0 && (lowersOnly.get(node.primitive)?.(node) ?? true);

/** The buffers a native step reads: its inputs, seen through the views their primitives are. */
export const nativeOperands = (node: Tensor) => (node.inputs as Tensor[]).map((input) => viewOf(input));

/** Runs a planned native step, its operands' buffers handed over as the views the step reads. */
export const runNativeStep = (pool: NativePool, step: NativePlan, bufferOf: (node: Tensor) => Float32Array, allocate?: Allocate): Promise<Float32Array> => {
  const lowering = nativeLowerings.get(step.node.primitive);
  if (lowering === undefined) throw new Error(`compile: ${step.node} has no native kernel`);
  return lowering(pool, step.operands.map(({ base, view }) => ({ data: bufferOf(base), view })), step.node, allocate);
};
