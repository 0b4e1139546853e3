// Each kernel of a scheduled program: its source written by the emitter under the kernel rules
// (plan.ts decides which nodes get kernels and buffers), and where a kernel would read more
// buffers than the backend allows, the fused subexpression that gets a kernel and a buffer of
// its own first.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { valueInputsOf } from '../graph.ts';
import type { Capabilities } from './capabilities.ts';
import { Emitter, type Folded, isWrapped, type Layout, layoutOf, rowMajor } from './emitter.ts';
import { kernelRule } from './rules.ts';
import { isScalarConstant } from './schedule.ts';
import type { KernelPlan } from './segments.ts';
import { javascriptKernelSource, passesPerElement, planeSumKernelSource } from '../native/javascript-kernel.ts';
import { literal } from '../codegen/expression.ts';
import { sumPrimitive } from '../primitives/sum.ts';
import type { ReduceParams } from '../primitives/reduction.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';

/** What the kernels of one program are written under; splitting adds buffers and layouts. */
export interface KernelSetting {
  readonly capabilities: Capabilities;
  /** The nodes with buffers of their own (kernel outputs the scheduler chose), grown by splits. */
  readonly materialized: Set<Tensor>;
  /** Buffers laid out other than row-major, grown by splits. */
  readonly layouts: Map<Tensor, Layout>;
  /** Whether a node runs on the native kernels rather than as a kernel. */
  readonly native: (node: Tensor) => boolean;
}

/**
 * The kernel of every node in `order` that gets one. `order` is the scheduler's, and a split
 * puts the new buffer's node into it, before the kernel that reads it.
 */
export const planKernelsInOrder = (order: Tensor[], setting: KernelSetting): Map<Tensor, KernelPlan> => {
  const kernels = new Map<Tensor, KernelPlan>();
  for (let k = 0; k < order.length; k++) {
    const node = order[k];
    const rule = kernelRule(node);
    if (rule.kind === 'leaf' || rule.kind === 'host' || node.size === 0 || setting.native(node)) continue;
    const { kernel, split } = emitWithin(node, setting);
    if (split !== undefined) {
      // The new buffer's kernel comes first (its inputs are all earlier); then this one again.
      order.splice(k, 0, split);
      k--;
      continue;
    }
    kernels.set(node, kernel);
  }
  return kernels;
};

const isBuffer = (n: Tensor, { materialized }: KernelSetting) => materialized.has(n) || (constantDataOf(n) !== undefined && !isScalarConstant(n));

/**
 * Planes whose sums are too short to be worth a call each: below this, a sum stays the
 * reduction kernel's loops.
 */
const SHORTEST_PLANE = 16;

/**
 * A sum over its input's trailing axes (and any others) on the native pool's kernels, as sums of
 * whole planes (javascript-kernel.ts `planeSumKernelSource`): the input computed as a flat
 * kernel would, each plane the trailing axes summed, so that its element loop is a SIMD sum.
 * Undefined where the sum is not of that form, or its element loop cannot be SIMD.
 */
const planeSumKernel = (node: Tensor, setting: KernelSetting): KernelPlan | undefined => {
  const { capabilities, layouts } = setting;
  if (!capabilities.javascriptKernels || !capabilities.simdLoops || node.primitive !== sumPrimitive) return undefined;
  const [x] = node.inputs as Tensor[];
  const { axes } = node.params as ReduceParams;
  let trailing = 0;
  while (trailing < x.rank && axes.includes(x.rank - 1 - trailing)) trailing++;
  const plane = x.shape.slice(x.rank - trailing).reduce((a, b) => a * b, 1);
  // The output is written at row-major positions: its layout must store them so (axes of extent
  // 1 may go anywhere: a per-image sum [128, 1, 1, 1] has its 128 along x).
  const outputLayout = layouts.get(node) ?? rowMajor(node.shape);
  if (isWrapped(outputLayout)) return undefined;
  const stored = (Array.isArray(outputLayout) ? (outputLayout as readonly number[]) : (outputLayout as Folded).order).filter((axis) => node.shape[axis] > 1);
  if (trailing === 0 || plane < SHORTEST_PLANE || stored.some((axis, i) => i > 0 && axis < stored[i - 1])) return undefined;
  // The input read as a buffer where it is one (a convolution's output), through the identity.
  const input = isBuffer(x, setting) ? stopGradient(x) : x;
  const planes: Layout = { order: rowMajor(x.shape), yAxes: trailing - 1 };
  const body = emitKernel(input, { ...setting, capabilities: { ...capabilities, simdLoops: false }, layouts: new Map([...layouts, [input, planes]]) });
  const parameters = body.buffers.map((_, i) => `b${i}`);
  const planeAxes = x.shape.slice(0, x.rank - trailing).map((extent, axis) => ({ extent, reduced: axes.includes(axis) }));
  const native = planeSumKernelSource({ statements: body.statements, result: body.result, parameters, layout: body.layout }, planeAxes);
  // Without a SIMD loop the reduction kernel's own loops (two accumulators) do as well.
  if (native.simd === undefined) return undefined;
  const layoutFor = (n: Tensor): Layout => layouts.get(n) ?? rowMajor(n.shape);
  return {
    ...body,
    node,
    fused: [node, ...body.fused.filter((n) => n !== input || input === x)],
    source: native.source,
    simd: { module: native.simd },
    passes: plane * planeAxes.reduce((product, axis) => product * (axis.reduced ? axis.extent : 1), 1),
    layout: layoutOf(node.shape, layoutFor(node)),
    planes: body.layout,
  };
};

/** The kernel that computes `node`, its fused inputs inlined and its buffers read. */
const emitKernel = (node: Tensor, setting: KernelSetting): KernelPlan => {
  const planeSum = planeSumKernel(node, setting);
  if (planeSum !== undefined) return planeSum;
  const { capabilities, layouts } = setting;
  const layoutFor = (n: Tensor): Layout => layouts.get(n) ?? rowMajor(n.shape);
  const fused: Tensor[] = [];
  const emitter = new Emitter(
    (w, n, index) => {
      // An empty tensor is never really read (no index is valid); gpu.js cannot take empty arguments.
      if (n.size === 0) return literal(0);
      // Leaves are buffers, including tables a kernel rule made for itself (a scatter's inverse map).
      if (n !== node && isBuffer(n, setting)) return w.read(n, index);
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
  const native = capabilities.javascriptKernels ? javascriptKernelSource({ statements: emitter.statements, result, parameters, layout }, capabilities.simdLoops) : undefined;
  return {
    kind: 'kernel',
    node,
    fused: [...new Set(fused)],
    buffers,
    source: native?.source ?? emitter.source(result, parameters),
    ...(native === undefined ? {} : { simd: native.simd === undefined ? { whyNot: native.whyNotSimd! } : { module: native.simd } }),
    statements: emitter.statements,
    result,
    passes: passesPerElement(emitter.statements),
    layout,
    inputLayouts: buffers.map((b) => layoutOf(b.shape, layoutFor(b))),
  };
};

/** The buffers a kernel for `root` reads, from the graph alone, as if `cut` were a buffer too. */
const buffersRead = (root: Tensor, setting: KernelSetting, cut?: Tensor): Set<Tensor> => {
  const memo = new Map<Tensor, Set<Tensor>>();
  const visit = (n: Tensor): Set<Tensor> => {
    if (n !== root && (n === cut || isBuffer(n, setting))) return new Set([n]);
    let reads = memo.get(n);
    if (reads === undefined) {
      // A custom VJP's kernel computes only its last input, the value.
      reads = new Set(valueInputsOf(n).filter((input) => input.size > 0 && !isScalarConstant(input)).flatMap((input) => [...visit(input)]));
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
const emitWithin = (node: Tensor, setting: KernelSetting): { kernel: KernelPlan; split?: Tensor } => {
  const { capabilities } = setting;
  const kernel = emitKernel(node, setting);
  if (kernel.buffers.length <= capabilities.kernelInputs) return { kernel };
  const candidates = kernel.fused
    .filter((candidate) => candidate !== node && candidate.size > 0)
    .map((candidate) => ({ node: candidate, leaves: buffersRead(node, setting, candidate).size, takes: buffersRead(candidate, setting).size }));
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
  setting.materialized.add(best.node);
  const layout = fittingLayout(best.node.shape, capabilities);
  if (layout !== undefined) setting.layouts.set(best.node, layout);
  return { kernel, split: best.node };
};

/**
 * A layout other than row-major for a buffer whose row-major layout does not fit the backend:
 * more axes in y where that fits, else wrapped rows. Undefined where row-major fits.
 */
export const fittingLayout = (shape: Shape, capabilities: Capabilities): Layout | undefined => {
  const order = rowMajor(shape);
  if (capabilities.fits(layoutOf(shape, order))) return undefined;
  for (let yAxes = 2; yAxes < shape.length; yAxes++) if (capabilities.fits(layoutOf(shape, { order, yAxes }))) return { order, yAxes };
  return { wrap: capabilities.wrapWidth };
};
