// Planning a compiled program, before any backend object exists: trace the function for one
// argument signature, rewrite it (lower.ts), decide kernel boundaries (schedule.ts), lay out
// the buffers, and write every kernel's source within the backend's capabilities. A kernel that
// would read more buffers than the backend allows is split: one of its fused subexpressions
// gets its own kernel and buffer, the one that leaves the fewest reads behind.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { flattenTree, unflattenTree } from '../tree.ts';
import { placeholder } from '../primitives/placeholder.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { valueInputsOf } from '../graph.ts';
import type { Capabilities } from './capabilities.ts';
import { Emitter, type Layout, layoutOf, rowMajor } from './emitter.ts';
import { kernelRule } from './rules.ts';
import { isScalarConstant, schedule } from './schedule.ts';
import { lowerToKernelRules, withoutIdentityOperands } from './lower.ts';
import { recomputeAcrossPipelines } from './recompute.ts';
import { isNativeStep, nativeOperands } from '../native/native-step.ts';
import type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Segment } from './segments.ts';
import { javascriptKernelSource, passesPerElement } from '../native/javascript-kernel.ts';
import { literal } from '../codegen/expression.ts';

export type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Segment };

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
  // The native kernels pad as they gather patches: a padded copy would only cost a pass.
  const native = (node: Tensor) => capabilities.nativeKernels && isNativeStep(node);
  const simplified = withoutIdentityOperands(flattenTree(traced).leaves);
  const lowered = capabilities.nativeKernels ? { outputs: simplified, materialize: new Set<Tensor>() } : lowerToKernelRules(simplified);
  const outputs = lowered.outputs;
  const outputTree = unflattenTree(traced, outputs);
  const scheduled = schedule(outputs, lowered.materialize, native);
  const materialized = new Set(scheduled.materialized);
  const order = [...scheduled.order];
  const layouts = bufferLayouts(order, outputs, capabilities, native);
  const layoutFor = (node: Tensor): Layout => layouts.get(node) ?? rowMajor(node.shape);

  const isBuffer = (n: Tensor) => materialized.has(n) || (constantDataOf(n) !== undefined && !isScalarConstant(n));

  const emit = (node: Tensor): KernelPlan => {
    const fused: Tensor[] = [];
    const emitter = new Emitter(
      (w, n, index) => {
        // An empty tensor is never really read (no index is valid); gpu.js cannot take empty arguments.
        if (n.size === 0) return literal(0);
        // Leaves are buffers, including tables a kernel rule made for itself (a scatter's inverse map).
        if (n !== node && isBuffer(n)) return w.read(n, index);
        if (isScalarConstant(n)) return w.literal(constantDataOf(n)![0]);
        const rule = kernelRule(n);
        if (rule.kind !== 'fused' && rule.kind !== 'boundary') throw new Error(`compile: ${n} cannot be inlined`);
        fused.push(n);
        return rule.emit(w, n, index);
      },
      { layoutFor, literals: capabilities.literals, exactIntegers: capabilities.exactIntegers, kernel: String(node), flatFloat32: capabilities.javascriptKernels },
    );
    const result = emitter.value(node, emitter.outputIndex(node));
    const buffers = [...emitter.buffers.keys()];
    const parameters = [...emitter.buffers.values()];
    const layout = layoutOf(node.shape, layoutFor(node));
    return {
      kind: 'kernel',
      node,
      fused: [...new Set(fused)],
      buffers,
      source: capabilities.javascriptKernels
        ? javascriptKernelSource({ statements: emitter.statements, result, parameters, layout })
        : emitter.source(result, parameters),
      statements: emitter.statements,
      result,
      passes: passesPerElement(emitter.statements),
      layout,
      inputLayouts: buffers.map((b) => layoutOf(b.shape, layoutFor(b))),
    };
  };

  // A custom VJP's kernel computes only its last input, the value.
  const inlinedInputs = valueInputsOf;

  /** The buffers a kernel for `root` reads, from the graph alone, as if `cut` were a buffer too. */
  const readsOf = (root: Tensor, cut?: Tensor): Set<Tensor> => {
    const memo = new Map<Tensor, Set<Tensor>>();
    const visit = (n: Tensor): Set<Tensor> => {
      if (n !== root && (n === cut || isBuffer(n))) return new Set([n]);
      let reads = memo.get(n);
      if (reads === undefined) {
        reads = new Set(inlinedInputs(n).filter((input) => input.size > 0 && !isScalarConstant(input)).flatMap((input) => [...visit(input)]));
        memo.set(n, reads);
      }
      return reads;
    };
    return visit(root);
  };

  /**
   * The kernel of `node`, or, where it reads more buffers than the backend allows, the fused
   * subexpression to give a kernel of its own first: of those whose own kernel fits (all, if
   * none does), the one that leaves the root the fewest reads, and of those the one that takes
   * the most reads with it. Each split removes at least that node from the root's kernel, so
   * splitting ends.
   */
  const emitWithin = (node: Tensor): { kernel: KernelPlan; split?: Tensor } => {
    const kernel = emit(node);
    if (kernel.buffers.length <= capabilities.kernelInputs) return { kernel };
    const candidates = kernel.fused
      .filter((candidate) => candidate !== node && candidate.size > 0)
      .map((candidate) => ({ node: candidate, leaves: readsOf(node, candidate).size, takes: readsOf(candidate).size }));
    const fitting = candidates.filter((c) => c.takes <= capabilities.kernelInputs);
    const best = (fitting.length > 0 ? fitting : candidates).reduce<(typeof candidates)[number] | undefined>(
      (best, c) => (best === undefined || c.leaves < best.leaves || (c.leaves === best.leaves && c.takes > best.takes) ? c : best),
      undefined,
    );
    if (best === undefined)
      throw new Error(
        `compile: the kernel for ${node} reads ${kernel.buffers.length} buffers (${kernel.buffers.map(String).join(', ')}), more than the ` +
          `${capabilities.kernelInputs} this backend allows, and no fused part of it can take some of them into a kernel of its own`,
      );
    materialized.add(best.node);
    const layout = fittingLayout(best.node.shape, capabilities);
    if (layout !== undefined) layouts.set(best.node, layout);
    return { kernel, split: best.node };
  };

  const kernels = new Map<Tensor, KernelPlan>();
  for (let k = 0; k < order.length; k++) {
    const node = order[k];
    const rule = kernelRule(node);
    if (rule.kind === 'leaf' || rule.kind === 'host' || node.size === 0 || native(node)) continue;
    const { kernel, split } = emitWithin(node);
    if (split !== undefined) {
      // The new buffer's kernel comes first (its inputs are all earlier); then this one again.
      order.splice(k, 0, split);
      k--;
      continue;
    }
    kernels.set(node, kernel);
  }

  for (const node of order)
    if (node.size > capabilities.bufferElements)
      throw new Error(`compile: ${node} has ${node.size} elements, more than the ${capabilities.bufferElements} one buffer of this backend can address exactly; split it into smaller calls`);

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
      segments.push({ kind: 'native', node, operands: nativeOperands(node) });
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
  const listing = [...kernels.values()]
    .map((k) => `// kernel for ${k.node} from ${k.fused.map(String).join(', ')}\n// reads ${k.buffers.map(String).join(', ') || 'nothing'}\n${k.source}`)
    .join('\n\n');
  return { placeholders, outputTree, outputs, javascriptKernels: capabilities.javascriptKernels, segments: wirePipelines(
      // The native pool's kernels share memory: a buffer is carried to a later kernel for free.
      capabilities.javascriptKernels ? segments : recomputeAcrossPipelines(segments, outputs, order),
      outputs,
    ), constants, layouts, listing };
};

/**
 * A layout other than row-major for a buffer whose row-major layout does not fit the backend:
 * more axes in y where that fits, else wrapped rows. Undefined where row-major fits.
 */
const fittingLayout = (shape: Shape, capabilities: Capabilities): Layout | undefined => {
  const order = rowMajor(shape);
  if (capabilities.fits(layoutOf(shape, order))) return undefined;
  for (let yAxes = 2; yAxes < shape.length; yAxes++) if (capabilities.fits(layoutOf(shape, { order, yAxes }))) return { order, yAxes };
  return { wrap: capabilities.wrapWidth };
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
    if (segment.kind === 'native') {
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
