// The tiled webgpu lowering of each primitive that has one, keyed by the primitive object as the
// native kernels' table is (lib/native/native-step.ts): a graph node that runs as a tiled WGSL
// kernel between gpu.js's kernels, its operands read as strided views of buffers (a transpose, a
// flip). Only matmul and conv2d are here: a convolution's gradients are conv2d nodes themselves
// (primitives/conv2d.ts, its VJP), and everything else is gpu.js's to fuse.

import type { Primitive, Tensor } from '../tensor.ts';
import type { StridedView } from '../shape.ts';
import { type Conv2dParams, conv2dPrimitive } from '../primitives/conv2d.ts';
import { matmulPrimitive } from '../primitives/matmul.ts';
import { viewOf } from '../native/strided-view.ts';
import { conv2dKernel } from './conv2d.ts';
import type { TileChoice, TiledKernel } from './gemm.ts';
import { matmulKernel } from './matmul.ts';
import type { DeviceArray, TiledRunner } from './runner.ts';
import type { KernelLimits } from './tiles.ts';

/** The kernel for one node, given the views its operands are of their buffers. */
export type WebgpuLowering = (operands: readonly StridedView[], node: Tensor<any, any>, limits: KernelLimits, choice?: TileChoice) => TiledKernel;

export const webgpuLowerings: ReadonlyMap<Primitive<any>, WebgpuLowering> = new Map<Primitive<any>, WebgpuLowering>([
  [conv2dPrimitive, ([x, w], node, limits, choice) => conv2dKernel(x, w, node.params as Conv2dParams, node.shape, limits, choice)],
  [matmulPrimitive, ([a, b], _node, limits, choice) => matmulKernel(a, b, limits, choice)],
]);

export const isTiledStep = (node: Tensor): boolean => webgpuLowerings.has(node.primitive) && node.size > 0;

/** The buffers a tiled step reads: its inputs, seen through the views their primitives are. */
export const tiledOperands = (node: Tensor) => (node.inputs as Tensor[]).map((input) => viewOf(input));

/** A node's kernel for a device of these limits. */
export const tiledKernelFor = (node: Tensor, limits: KernelLimits, choice?: TileChoice): TiledKernel => {
  const lowering = webgpuLowerings.get(node.primitive);
  if (lowering === undefined) throw new Error(`webgpu tiles: ${node} has no tiled kernel`);
  return lowering(
    tiledOperands(node).map(({ view }) => view),
    node,
    limits,
    choice,
  );
};

/**
 * Runs one node on the device: its operands' buffers as the device arrays `bufferOf` gives for the
 * views' bases, its output a device array (nothing crosses to the host).
 */
export const runTiledStep = async (
  runner: TiledRunner,
  node: Tensor,
  bufferOf: (base: Tensor) => DeviceArray,
  options: { readonly choice?: TileChoice; readonly output?: DeviceArray; readonly encoder?: GPUCommandEncoder } = {},
): Promise<DeviceArray> => {
  const inputs = tiledOperands(node).map(({ base }) => bufferOf(base));
  return runner.run(tiledKernelFor(node, runner.limits, options.choice), inputs, options);
};
