// Planning a compiled program, before any backend object exists: trace the function for one
// argument signature, rewrite it (lower.ts), decide kernel boundaries (schedule.ts), lay out
// the buffers, write every kernel's source within the backend's capabilities (kernel-plans.ts,
// which splits a kernel that would read more buffers than the backend allows), and group the
// nodes into segments: runs of kernels, host steps and native steps.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { flattenTree, unflattenTree } from '../tree.ts';
import { placeholder } from '../primitives/placeholder.ts';
import { constantDataOf } from '../primitives/constant.ts';
import type { Capabilities } from './capabilities.ts';
import { type Layout, layoutOf } from './emitter.ts';
import { kernelRule } from './rules.ts';
import { schedule } from './schedule.ts';
import { lowerToKernelRules, withoutIdentityOperands } from './lower.ts';
import { recomputeAcrossPipelines } from './recompute.ts';
import { isNativeStep, nativeOperands } from '../native/native-step.ts';
import { isTiledStep } from '../webgpu/lowerings.ts';
import type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Segment, TiledPlan } from './segments.ts';
import { fittingLayout, planKernelsInOrder } from './kernel-plans.ts';

export type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Segment, TiledPlan };

export interface Plan {
  readonly placeholders: readonly Tensor[];
  readonly outputTree: unknown;
  readonly outputs: readonly Tensor[];
  readonly segments: readonly Segment[];
  readonly constants: ReadonlyMap<Tensor, Float32Array>;
  /** Buffers laid out other than row-major. */
  readonly layouts: ReadonlyMap<Tensor, Layout>;
  /** Every kernel's source with the nodes it came from, for `debug`. */
  readonly listing: string;
  /** Whether the kernels are the native pool's JavaScript kernels rather than gpu.js's. */
  readonly javascriptKernels: boolean;
  /** Whether conv2d and matmul are webgpu's tiled kernels, run with gpu.js's in device runs (build.ts). */
  readonly tiledKernels: boolean;
}

export const toFloat32 = (data: ArrayLike<number>): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));

/**
 * Traces `f` on placeholders of the leaves' shapes (the argument tree `args` gives the structure
 * and any plain data) and plans its kernels.
 */
export const planProgram = <A>(
  f: (args: A) => unknown,
  args: A,
  leaves: readonly { readonly shape: readonly number[] }[],
  paths: readonly string[],
  isLeaf: (x: unknown) => boolean,
  capabilities: Capabilities,
): Plan => {
  const placeholders = leaves.map((leaf, i) => placeholder(leaf.shape as Shape, paths[i], i));
  const traced = f(unflattenTree(args, placeholders, isLeaf) as A);
  // Native and tiled steps read their operands as views of buffers, and pad as they gather
  // patches: a padded copy would only cost a pass.
  const native = (node: Tensor) => (capabilities.nativeKernels && isNativeStep(node)) || (capabilities.tiledKernels && isTiledStep(node));
  const simplified = withoutIdentityOperands(flattenTree(traced).leaves);
  const lowered = capabilities.nativeKernels || capabilities.tiledKernels ? { outputs: simplified, materialize: new Set<Tensor>() } : lowerToKernelRules(simplified);
  const outputs = lowered.outputs;
  const outputTree = unflattenTree(traced, outputs);
  const scheduled = schedule(outputs, lowered.materialize, native);
  const materialized = new Set(scheduled.materialized);
  const order = [...scheduled.order];
  const layouts = bufferLayouts(order, outputs, capabilities, native);

  const kernels = planKernelsInOrder(order, { capabilities, materialized, layouts, native });

  for (const node of order)
    if (node.size > capabilities.bufferElements)
      throw new Error(`compile: ${node} has ${node.size} elements, more than the ${capabilities.bufferElements} one buffer of this backend can address exactly; split it into smaller calls`);

  const { constants, segments } = segmentsOf(order, kernels, native, capabilities.tiledKernels ? 'tiled' : 'native');
  const listing = [...kernels.values()]
    .map((k) => `// kernel for ${k.node} from ${k.fused.map(String).join(', ')}\n// reads ${k.buffers.map(String).join(', ') || 'nothing'}\n${k.source}`)
    .join('\n\n');
  return { placeholders, outputTree, outputs, javascriptKernels: capabilities.javascriptKernels, tiledKernels: capabilities.tiledKernels, segments: wirePipelines(
      // The native pool's kernels share memory, and webgpu's device program keeps every value on
      // the device: a buffer is carried to a later kernel for free.
      capabilities.javascriptKernels || capabilities.tiledKernels ? segments : recomputeAcrossPipelines(segments, outputs, order),
      outputs,
    ), constants, layouts, listing };
};

/** The program's segments in order (runs of kernels, host steps, native or tiled steps) and the constants its kernels read. */
const segmentsOf = (order: readonly Tensor[], kernels: ReadonlyMap<Tensor, KernelPlan>, native: (node: Tensor) => boolean, nativeKind: 'native' | 'tiled') => {
  const constants = new Map<Tensor, Float32Array>();
  const segments: Segment[] = [];
  let current: KernelPlan[] | undefined;
  for (const node of order) {
    const rule = kernelRule(node);
    if (rule.kind === 'leaf') {
      const data = constantDataOf(node);
      if (data !== undefined) constants.set(node, toFloat32(data));
      continue;
    }
    if (rule.kind === 'host' || node.size === 0) {
      current = undefined;
      segments.push({ kind: 'host', node });
      continue;
    }
    if (native(node)) {
      current = undefined;
      segments.push({ kind: nativeKind, node, operands: nativeOperands(node) });
      continue;
    }
    const kernel = kernels.get(node)!;
    for (const buffer of kernel.buffers) {
      const data = constantDataOf(buffer);
      if (data !== undefined && !constants.has(buffer)) constants.set(buffer, toFloat32(data));
    }
    if (current === undefined) {
      current = [];
      segments.push({ kind: 'pipeline', steps: current, inputs: [], exports: [] });
    }
    current.push(kernel);
  }
  return { constants, segments };
};

/**
 * Layouts other than row-major: buffers too large for the backend's sides are wrapped; kernel
 * outputs whose last axis is too short for the SIMD lanes lay out a longer axis in x, when only
 * the program's kernels read them (not the caller, a host step or a native step).
 */
const bufferLayouts = (order: readonly Tensor[], outputs: readonly Tensor[], capabilities: Capabilities, native: (node: Tensor) => boolean): Map<Tensor, Layout> => {
  const layouts = new Map<Tensor, Layout>();
  for (const node of order) {
    const layout = fittingLayout(node.shape, capabilities);
    if (layout !== undefined) layouts.set(node, layout);
  }
  // The native kernels read row-major buffers; their own outputs are row-major.
  const readRowMajor = new Set(order.filter(native).flatMap((node) => [node, ...nativeOperands(node).map((operand) => operand.base)]));
  const singlePipeline = order.every((node) => kernelRule(node).kind !== 'host' && node.size > 0);
  const outputSet = new Set(outputs);
  if (singlePipeline)
    for (const node of order) {
      const kind = kernelRule(node).kind;
      if (kind === 'leaf' || outputSet.has(node) || readRowMajor.has(node) || node.rank < 2 || layouts.has(node)) continue;
      // The innermost axis long enough for the lanes goes in x: of those, the one nearest the end
      // keeps neighbouring elements nearest in memory (in [256, 32, 16, 1, 16, 1], the 16 of axis 4).
      const wide = node.shape.map((_, axis) => axis).filter((axis) => node.shape[axis] >= 16);
      if (wide.length === 0 || node.shape[node.rank - 1] >= 8) continue;
      const innermost = wide[wide.length - 1];
      const order = [...node.shape.map((_, axis) => axis).filter((axis) => axis !== innermost), innermost];
      if (capabilities.fits(layoutOf(node.shape, order))) layouts.set(node, order);
    }
  return layouts;
};

/** Each pipeline's inputs (read but not produced in it) and exports (needed by a later segment or the caller). */
const wirePipelines = (segments: readonly Segment[], outputs: readonly Tensor[]): Segment[] => {
  const neededLater = new Set<Tensor>(outputs);
  const wired: Segment[] = [];
  for (let s = segments.length - 1; s >= 0; s--) {
    const segment = segments[s];
    if (segment.kind === 'host') {
      // An empty tensor needs nothing to be computed.
      if (segment.node.size > 0) segment.node.inputs.forEach((input) => neededLater.add(input));
      wired.unshift(segment);
      continue;
    }
    if (segment.kind === 'native' || segment.kind === 'tiled') {
      segment.operands.forEach((operand) => neededLater.add(operand.base));
      wired.unshift(segment);
      continue;
    }
    const exports = segment.steps.map((step) => step.node).filter((node) => neededLater.has(node));
    // Kernels nothing reads (a view a native step reads in place, a buffer a later pipeline
    // computes again) need not run at all.
    const read = new Set<Tensor>(exports);
    for (let i = segment.steps.length - 1; i >= 0; i--) {
      const step = segment.steps[i];
      if (read.has(step.node)) step.buffers.forEach((buffer) => read.add(buffer));
    }
    const live = segment.steps.filter((step) => read.has(step.node));
    if (live.length === 0) continue;
    const produced = new Set(live.map((step) => step.node));
    const inputs = [...new Set(live.flatMap((step) => step.buffers.filter((b) => !produced.has(b))))];
    wired.unshift({ ...segment, steps: live, inputs, exports });
    inputs.forEach((input) => neededLater.add(input));
  }
  return wired;
};
