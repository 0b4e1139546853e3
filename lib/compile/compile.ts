// compile(f): a traced function of a tree of tensors becomes an async function on concrete
// float32 data that runs as gpu.js kernels. Each argument-shape signature is traced once; its
// kernels are built once and reused on every later call. The kernels of a program run as one
// gpu.js pipeline, so intermediates stay in the backend's memory and results are read back
// once; a primitive with no kernel rule splits the pipeline and runs on the host, and says so.

import { isLeft } from 'fp-ts/lib/Either.js';
import { type IKernelRunShortcut, Input } from 'gpu.js';
import { formatShape, type Shape, sizeOf } from '../shape.ts';
import { isTensor, type Tensor, type Value } from '../tensor.ts';
import { flattenTree, type MapLeaves, unflattenTree } from '../tree.ts';
import { placeholder } from '../primitives/placeholder.ts';
import type { ConstantParams } from '../primitives/constant.ts';
import { type BackendChoice, type BackendName, chooseBackend } from './backend.ts';
import { Emitter, type Layout, layoutOf, literal, rowMajor } from './emitter.ts';
import { kernelRule } from './rules.ts';
import { isScalarConstant, schedule } from './schedule.ts';
import { lowerPaddedConvolutions } from './lower.ts';

/** A concrete argument or result: a shape and row-major data. */
export interface CompiledValue {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type ArgumentValue = { readonly shape: readonly number[]; readonly data: ArrayLike<number> } | Tensor;

export interface CompileOptions {
  readonly backend?: BackendName;
  /** Print (or hand to this function) every kernel's source with the graph nodes it came from. */
  readonly debug?: boolean | ((listing: string) => void);
  /** Where degradations are reported (a backend passed over, a host step, a runtime fallback). */
  readonly onWarning?: (message: string) => void;
  /**
   * Run every kernel on its own and time it, instead of as one pipeline (slower in total: each
   * kernel's inputs are copied in and its output read back); `report().profile` lists the times.
   */
  readonly profile?: boolean;
}

export interface KernelTiming {
  readonly node: string;
  readonly milliseconds: number;
  /** The graph nodes fused into the kernel. */
  readonly fused: string;
}

export interface ExecutionReport {
  /** The backend chosen, and what really ran: the kernels' mode and the pipelines' executor. */
  readonly backend: BackendName;
  readonly kernelMode: string | undefined;
  readonly executorKind: string | undefined;
  readonly fallbackReason: string | null;
  readonly skipped: BackendChoice['skipped'];
  /** Primitives that ran on the host between pipelines. */
  readonly hostSteps: readonly string[];
  /** With `profile`: every kernel's time on the last call, slowest first. */
  readonly profile?: readonly KernelTiming[];
}

interface KernelStep {
  readonly kind: 'kernel';
  readonly node: Tensor;
  readonly fused: readonly Tensor[];
  readonly kernel: IKernelRunShortcut;
  readonly buffers: readonly Tensor[];
  readonly source: string;
}

interface HostStep {
  readonly kind: 'host';
  readonly node: Tensor;
}

/** Consecutive kernels run as one gpu.js pipeline; inputs and exports are wired after scheduling. */
interface PipelineSegment {
  readonly kind: 'pipeline';
  readonly steps: KernelStep[];
  run: (...args: Input[]) => Promise<Record<string, unknown>>;
  inputs: Tensor[];
  exports: Tensor[];
  pipeline: { executorKind?: string; fallbackReason?: string | null };
}

type Segment = PipelineSegment | HostStep;

interface Program {
  readonly placeholders: readonly Tensor[];
  readonly outputTree: unknown;
  readonly outputs: readonly Tensor[];
  readonly segments: readonly Segment[];
  readonly constants: ReadonlyMap<Tensor, Float32Array>;
  /** Buffers laid out other than row-major (only ever inside the single pipeline). */
  readonly layouts: ReadonlyMap<Tensor, Layout>;
}

const isValueLike = (x: unknown): x is { shape: readonly number[]; data: ArrayLike<number> } =>
  typeof x === 'object' && x !== null && Array.isArray((x as { shape?: unknown }).shape) && ArrayBuffer.isView((x as { data?: unknown }).data);

/** An argument leaf: a concrete value or a constant tensor. */
const isArgumentLeaf = (x: unknown): x is ArgumentValue => isValueLike(x) || isTensor(x);

const dataOf = (value: ArgumentValue): ArrayLike<number> =>
  'primitive' in value ? ((value as Tensor).params as ConstantParams).data : value.data;

const toFloat32 = (data: ArrayLike<number>): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));

export interface CompiledFunction<A, O> {
  /** Takes the traced function's argument tree with concrete values (or constant tensors) at its leaves. */
  (args: MapLeaves<A, ArgumentValue>): Promise<MapLeaves<O, CompiledValue>>;
  /** What ran on the last call. */
  readonly report: () => ExecutionReport | undefined;
  /** Traces and kernels built so far: a second call with the same shapes adds neither. */
  readonly stats: () => { readonly traces: number; readonly kernelsBuilt: number };
  readonly destroy: () => Promise<void>;
}

export const compile = <A, O>(f: (args: A) => O, options: CompileOptions = {}): CompiledFunction<A, O> => {
  const choice = chooseBackend(options.backend);
  if (isLeft(choice)) throw new Error(`compile: ${choice.left}`);
  const { gpu, backend, skipped } = choice.right;
  // WebGL textures (and, conservatively, WebGPU's) hold at most 16384 texels a side.
  const textureLimit = backend === 'headlessgl' || backend === 'webgpu' ? 16384 : undefined;
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  const programs = new Map<string, Program>();
  const kernels = new Map<string, IKernelRunShortcut>();
  let traces = 0;
  let lastReport: ExecutionReport | undefined;
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (!warned.has(message)) {
      warned.add(message);
      warn(message);
    }
  };

  // Kernels are shared by source, output layout and input layouts: two nodes may generate the
  // same source for inputs of different sizes, and a gpu.js kernel is built for one size each.
  const kernelFor = (source: string, layout: [number, number, number], inputLayouts: readonly [number, number, number][]): IKernelRunShortcut => {
    const key = `${[layout, ...inputLayouts].map((l) => l.join('x')).join(' ')}\n${source}`;
    let kernel = kernels.get(key);
    if (kernel === undefined) {
      kernel = gpu.createKernel(source, { output: layout, immutable: true, precision: 'single' } as any);
      kernels.set(key, kernel);
    }
    return kernel;
  };

  const build = (args: A, leaves: ArgumentValue[], paths: string[]): Program => {
    traces++;
    const placeholders = leaves.map((leaf, i) => placeholder(leaf.shape as Shape, paths[i], i));
    const traced = f(unflattenTree(args, placeholders, isArgumentLeaf) as A);
    const lowered = lowerPaddedConvolutions(flattenTree(traced).leaves);
    const outputs = lowered.outputs;
    const outputTree = unflattenTree(traced, outputs);
    const { order, materialised } = schedule(outputs, lowered.materialise);
    // Kernels index in float32, which holds every integer only below 2^24.
    for (const node of order)
      if (node.size > 2 ** 24)
        throw new Error(`compile: ${node} has ${node.size} elements, more than the 2^24 a float32 kernel can index exactly; split it into smaller calls`);
    // Kernel outputs whose last axis is too short for the SIMD lanes lay out their longest axis
    // in x, when nothing outside the program's single pipeline reads them in row-major order.
    const layouts = new Map<Tensor, Layout>();
    // Buffers past a texture backend's size in their axis layout are wrapped.
    if (textureLimit !== undefined)
      for (const node of order) {
        const [width, height, depth] = layoutOf(node.shape);
        if (width > textureLimit || height * depth > textureLimit) layouts.set(node, { wrap: textureLimit });
      }
    const singlePipeline = order.every((node) => { const kind = kernelRule(node).kind; return kind !== 'host' && node.size > 0; });
    const outputSet = new Set(outputs);
    if (singlePipeline)
      for (const node of order) {
        const kind = kernelRule(node).kind;
        if (kind === 'leaf' || outputSet.has(node) || node.rank < 2 || layouts.has(node)) continue;
        const longest = node.shape.reduce((best, d, axis) => (d > node.shape[best] ? axis : best), 0);
        if (node.shape[node.rank - 1] < 8 && node.shape[longest] >= 16)
          layouts.set(node, [...node.shape.map((_, axis) => axis).filter((axis) => axis !== longest), longest]);
      }
    const layoutFor = (node: Tensor): Layout => layouts.get(node) ?? rowMajor(node.shape);
    const constants = new Map<Tensor, Float32Array>();
    const segments: Segment[] = [];
    const listings: string[] = [];
    let current: KernelStep[] | undefined;
    for (const node of order) {
      const rule = kernelRule(node);
      if (rule.kind === 'leaf') {
        if (node.primitive.name === 'constant') constants.set(node, toFloat32((node.params as ConstantParams).data));
        continue;
      }
      if (rule.kind === 'host' || node.size === 0) {
        current = undefined;
        segments.push({ kind: 'host', node });
        if (node.size > 0) warnOnce(`compile: ${node.primitive.name} has no kernel rule; it runs on the host between pipelines`);
        continue;
      }
      const fusedNodes: Tensor[] = [];
      const emitter = new Emitter((w, n, index) => {
        // An empty tensor is never really read (no index is valid); gpu.js cannot take empty arguments.
        if (n.size === 0) return '0.0';
        // Leaves are buffers, including tables a kernel rule made for itself (a scatter's inverse map).
        if (n !== node && (materialised.has(n) || n.primitive.name === 'constant' && !isScalarConstant(n))) return w.read(n, index);
        if (isScalarConstant(n)) return literal((n.params as ConstantParams).data[0]);
        const nodeRule = kernelRule(n);
        if (nodeRule.kind !== 'fused' && nodeRule.kind !== 'boundary') throw new Error(`compile: ${n} cannot be inlined`);
        fusedNodes.push(n);
        return nodeRule.emit(w, n, index);
      }, layoutFor);
      const result = emitter.value(node, emitter.outputIndex(node));
      const parameters = [...emitter.buffers.values()];
      const source = emitter.source(result, parameters);
      const step: KernelStep = { kind: 'kernel', node, fused: fusedNodes, kernel: kernelFor(source, layoutOf(node.shape, layoutFor(node)), [...emitter.buffers.keys()].map((b) => layoutOf(b.shape, layoutFor(b)))), buffers: [...emitter.buffers.keys()], source };
      for (const buffer of step.buffers)
        if (buffer.primitive.name === 'constant' && !constants.has(buffer)) constants.set(buffer, toFloat32((buffer.params as ConstantParams).data));
      if (options.debug)
        listings.push(`// kernel for ${node} from ${fusedNodes.map(String).join(', ')}\n// reads ${step.buffers.map(String).join(', ') || 'nothing'}\n${source}`);
      if (current === undefined) {
        current = [];
        segments.push({ kind: 'pipeline', steps: current, run: async () => ({}), inputs: [], exports: [], pipeline: {} });
      }
      current.push(step);
    }
    if (options.debug) {
      const text = listings.join('\n\n');
      if (typeof options.debug === 'function') options.debug(text);
      else console.log(text);
    }
    // Wire each pipeline: what it takes in, what later steps and the caller need from it.
    const neededLater = new Set<Tensor>(outputs);
    for (let s = segments.length - 1; s >= 0; s--) {
      const segment = segments[s];
      if (segment.kind === 'host') {
        // An empty tensor needs nothing to be computed.
        if (segment.node.size > 0) segment.node.inputs.forEach((input) => neededLater.add(input));
        continue;
      }
      const produced = new Set(segment.steps.map((step) => step.node));
      const inputs = [...new Set(segment.steps.flatMap((step) => step.buffers.filter((b) => !produced.has(b))))];
      const exports = segment.steps.map((step) => step.node).filter((node) => neededLater.has(node));
      const steps = segment.steps;
      const plan = function (this: unknown, ...handles: unknown[]) {
        const env = new Map<Tensor, unknown>(inputs.map((input, i) => [input, handles[i]]));
        for (const step of steps) env.set(step.node, step.kernel(...(step.buffers.map((b) => env.get(b)) as [])));
        return Object.fromEntries(exports.map((node) => [`n${node.id}`, env.get(node)]));
      };
      // gpu.js reads a pipeline's arity from the function's length.
      Object.defineProperty(plan, 'length', { value: inputs.length });
      const pipeline = gpu.createPipeline(plan as any);
      Object.assign(segment, { inputs, exports, pipeline, run: (...args: Input[]) => pipeline(...args) });
      inputs.forEach((input) => neededLater.add(input));
    }
    return { placeholders, outputTree, outputs, segments, constants, layouts };
  };

  const run = async (args: unknown): Promise<any> => {
    const { leaves, paths } = flattenTree(args, isArgumentLeaf);
    // Everything but the values of the leaves is baked in when tracing: the tree's structure and
    // any plain data in it (a number, an axis) as well as the shapes.
    const signature = JSON.stringify(args, (_key, value) => (isArgumentLeaf(value) ? `tensor${formatShape(value.shape as Shape)}` : value));
    let program = programs.get(signature);
    if (program === undefined) {
      program = build(args as A, leaves, paths);
      programs.set(signature, program);
    }
    const env = new Map<Tensor, Float32Array>(program.constants);
    program.placeholders.forEach((p, i) => {
      const data = dataOf(leaves[i]);
      if (data.length !== sizeOf(p.shape))
        throw new Error(`compile: argument ${paths[i]} has ${data.length} values for shape ${formatShape(p.shape)}`);
      env.set(p, toFloat32(data));
    });
    const hostSteps: string[] = [];
    const timings: KernelTiming[] = [];
    let pipeline: PipelineSegment['pipeline'] | undefined;
    // What really ran, segment by segment: a pipeline runs private copies of the kernels and
    // degrades on its own, so its backend, not the kernel objects', is the truth.
    const modes = new Set<string>();
    const reasons: string[] = [];
    for (const segment of program.segments) {
      if (segment.kind === 'host' && segment.node.size === 0) {
        env.set(segment.node, new Float32Array(0));
        continue;
      }
      if (segment.kind === 'host') {
        hostSteps.push(segment.node.primitive.name);
        const inputs: Value[] = segment.node.inputs.map((input) => ({ shape: input.shape, data: Float64Array.from(env.get(input) ?? scalarData(input)) }));
        env.set(segment.node, Float32Array.from(segment.node.primitive.evaluate(inputs, segment.node.params, segment.node.shape)));
        continue;
      }
      if (options.profile) {
        for (const step of segment.steps) {
          const start = performance.now();
          const result = await step.kernel(...(step.buffers.map((b) => asLayout(env.get(b)!, b.shape, program.layouts.get(b))) as []));
          env.set(step.node, flatten(result, step.node.size).slice());
          timings.push({ node: String(step.node), milliseconds: performance.now() - start, fused: step.fused.map(String).join(', ') });
          const ran = (step.kernel as any).kernel;
          modes.add(ran?.constructor?.mode);
          if (ran?.fallbackReason) reasons.push(ran.fallbackReason);
        }
        continue;
      }
      const results = await segment.run(...segment.inputs.map((input) => asLayout(env.get(input)!, input.shape, program.layouts.get(input))));
      for (const node of segment.exports) env.set(node, flatten(results[`n${node.id}`], node.size));
      pipeline = segment.pipeline;
      modes.add((pipeline as { backend?: string }).backend ?? 'unknown');
      if (pipeline.fallbackReason) reasons.push(pipeline.fallbackReason);
    }
    const expectedMode = backend === 'headlessgl' ? 'gpu' : backend;
    const kernelMode = modes.size === 0 ? undefined : [...modes].join(', ');
    const degraded = [...modes].some((mode) => mode !== expectedMode);
    lastReport = {
      backend,
      kernelMode,
      executorKind: pipeline?.executorKind,
      // The cpu backend's pipelines always explain that they are not fused; that is no degradation.
      fallbackReason: degraded ? reasons.join('; ') || 'no reason given' : null,
      skipped,
      hostSteps,
      ...(options.profile ? { profile: timings.sort((a, b) => b.milliseconds - a.milliseconds) } : {}),
    };
    if (degraded) warnOnce(`compile: the ${backend} backend degraded to ${kernelMode}: ${lastReport.fallbackReason}`);
    const values = program.outputs.map((node) => ({ shape: [...node.shape], data: Float32Array.from(env.get(node) ?? scalarData(node)) }));
    return unflattenTree(program.outputTree, values);
  };

  const compiled = run as CompiledFunction<A, O>;
  Object.assign(compiled, {
    report: () => lastReport,
    stats: () => ({ traces, kernelsBuilt: kernels.size }),
    destroy: () => gpu.destroy(),
  });
  return compiled;
};

/** Flat data handed to a kernel in the 3-D layout its reads use. */
const asLayout = (data: Float32Array, shape: Shape, layout?: Layout): Input => {
  const dimensions = layoutOf(shape, layout);
  const cells = dimensions[0] * dimensions[1] * dimensions[2];
  // A wrapped buffer's last row is padded out to the full width.
  let padded = data;
  if (cells !== data.length) {
    padded = new Float32Array(cells);
    padded.set(data);
  }
  return new Input(padded as unknown as number[], dimensions);
};

/**
 * A kernel result as flat row-major data. webasm returns rows that are views of one array (taken
 * without a copy); other backends return separate rows, which are copied together.
 */
const flatten = (result: unknown, size: number): Float32Array => {
  if (result instanceof Float32Array && result.length === size) return result;
  let first: unknown = result;
  while (Array.isArray(first)) first = first[0];
  if (first instanceof Float32Array && first.buffer.byteLength >= first.byteOffset + size * 4) {
    const view = new Float32Array(first.buffer, first.byteOffset, size);
    const rows = result as unknown[];
    const last = (function lastRow(r: unknown): unknown { return Array.isArray(r) ? lastRow(r[r.length - 1]) : r; })(rows) as Float32Array;
    if (last.buffer === first.buffer && last.byteOffset + last.length * 4 === first.byteOffset + size * 4) return view;
  }
  const out = new Float32Array(size);
  let offset = 0;
  const copy = (r: unknown): void => {
    if (Array.isArray(r)) r.forEach(copy);
    else if (offset < size) {
      // A wrapped buffer's last row runs past the tensor's end.
      const row = (r as Float32Array).subarray(0, size - offset);
      out.set(row, offset);
      offset += row.length;
    }
  };
  copy(result);
  return out;
};

/** The value of a scalar constant that no kernel materialised. */
const scalarData = (node: Tensor): Float32Array => {
  if (node.primitive.name === 'constant') return toFloat32((node.params as ConstantParams).data);
  throw new Error(`compile: no value was computed for ${node}`);
};
