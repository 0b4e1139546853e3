// Building a planned program on a backend: one gpu.js kernel per planned kernel (shared by
// source and layouts across every program of a compiled function) and one gpu.js pipeline per
// run of consecutive kernels, so that intermediates stay in the backend's memory.

import type { GPU, IKernelRunShortcut, Input } from 'gpu.js';
import type { Tensor } from '../tensor.ts';
import type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Plan, Segment, TiledPlan } from './plan.ts';
import { JavascriptKernel } from '../native/javascript-kernel.ts';
import { SharedArrays } from '../native/shared-floats.ts';

export interface BuiltKernel extends KernelPlan {
  readonly kernel: IKernelRunShortcut;
}

export interface BuiltPipeline extends Omit<PipelinePlan, 'steps'> {
  readonly steps: readonly BuiltKernel[];
  readonly run: (...args: Input[]) => Promise<Record<string, unknown>>;
  /** What gpu.js's pipeline really ran: its executor, and why it fell back, if it did. */
  readonly pipeline: {
    readonly executorKind?: string;
    readonly fallbackReason?: string | null;
    readonly backend?: string;
    /** gpu.js's pipeline; on webasm's threaded path its executor names the workers a run uses (at most one per core). */
    readonly pipeline?: { readonly _executor?: { readonly threaded?: boolean; readonly _entry?: { readonly workerCount?: number } | null } | false };
  };
}

/** Consecutive kernels that run one by one on the native pool's threads, over shared memory. */
export interface JavascriptKernels {
  readonly kind: 'javascript';
  readonly steps: readonly (KernelPlan & { readonly javascript: JavascriptKernel })[];
}

/**
 * On webgpu with tiled kernels: consecutive runs of kernels and tiled steps, run as one command
 * encoder a call with every intermediate on the device (runtimes/device-runtime.ts).
 */
export interface DeviceRun {
  readonly kind: 'device';
  readonly steps: readonly (BuiltKernel | TiledPlan)[];
  /** What the run takes in, and what later segments or the caller need from it. */
  readonly inputs: readonly Tensor[];
  readonly exports: readonly Tensor[];
}

export type BuiltSegment = BuiltPipeline | JavascriptKernels | HostPlan | NativePlan | DeviceRun;

export interface Program extends Omit<Plan, 'segments'> {
  readonly segments: readonly BuiltSegment[];
  /** The constants in the arena, for the native pool's kernels: the program's for its life. */
  readonly sharedConstants: ReadonlyMap<Tensor, Float32Array>;
  /** The arrays the program's kernels and native steps write, recycled from call to call. */
  readonly arrays: SharedArrays;
  /**
   * For each unit of work (a JavaScript kernel, or a whole segment of another kind), the values
   * it is the last to read: after it runs they may be dropped.
   */
  readonly lastReaders: ReadonlyMap<object, readonly Tensor[]>;
}

/** Each value's last reader, among the units of work in the order they run. */
const lastReadersOf = (segments: readonly BuiltSegment[]): Map<object, Tensor[]> => {
  const units: [object, readonly Tensor[]][] = segments.flatMap((segment): [object, readonly Tensor[]][] => {
    switch (segment.kind) {
      case 'javascript':
        return segment.steps.map((step) => [step, step.buffers]);
      case 'pipeline':
      case 'device':
        return [[segment, segment.inputs]];
      case 'native':
        return [[segment, segment.operands.map((operand) => operand.base)]];
      case 'host':
        return [[segment, segment.node.inputs]];
    }
  });
  const last = new Map<Tensor, object>();
  for (const [unit, reads] of units) for (const node of reads) last.set(node, unit);
  const readers = new Map<object, Tensor[]>();
  for (const [node, unit] of last) readers.set(unit, [...(readers.get(unit) ?? []), node]);
  return readers;
};

/**
 * Kernels are shared by source, output layout and input layouts: two nodes may generate the
 * same source for inputs of different sizes, and a gpu.js kernel is built for one size each.
 */
export class KernelCache {
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  private readonly javascript = new Map<string, JavascriptKernel>();
  constructor(private readonly gpu: GPU) {}

  get size(): number {
    return this.kernels.size + this.javascript.size;
  }

  /** The JavaScript kernels built so far. */
  get javascriptKernels(): Iterable<JavascriptKernel> {
    return this.javascript.values();
  }

  /** A JavaScript kernel's source holds its layouts (the flat reads' strides), so it is the key. */
  javascriptKernelFor(plan: KernelPlan): JavascriptKernel {
    let kernel = this.javascript.get(plan.source);
    if (kernel === undefined) {
      kernel = new JavascriptKernel(plan.source, plan.passes, String(plan.node), plan.simd !== undefined && 'module' in plan.simd ? plan.simd.module : undefined);
      this.javascript.set(plan.source, kernel);
    }
    return kernel;
  }

  kernelFor(plan: KernelPlan): IKernelRunShortcut {
    const key = `${[plan.layout, ...plan.inputLayouts].map((l) => l.join('x')).join(' ')}\n${plan.source}`;
    let kernel = this.kernels.get(key);
    if (kernel === undefined) {
      kernel = this.gpu.createKernel(plan.source as never, { output: plan.layout, immutable: true, precision: 'single' } as never);
      this.kernels.set(key, kernel);
    }
    return kernel;
  }
}

const buildPipeline = (gpu: GPU, cache: KernelCache, segment: PipelinePlan): BuiltPipeline => {
  const steps = segment.steps.map((step) => ({ ...step, kernel: cache.kernelFor(step) }));
  const { inputs, exports } = segment;
  const plan = function (this: unknown, ...handles: unknown[]) {
    const env = new Map<Tensor, unknown>(inputs.map((input, i) => [input, handles[i]]));
    for (const step of steps) env.set(step.node, step.kernel(...(step.buffers.map((b) => env.get(b)) as [])));
    return Object.fromEntries(exports.map((node) => [`n${node.id}`, env.get(node)]));
  };
  // gpu.js reads a pipeline's arity from the function's length.
  Object.defineProperty(plan, 'length', { value: inputs.length });
  const pipeline = (gpu as unknown as { createPipeline: (f: unknown) => BuiltPipeline['pipeline'] & ((...args: Input[]) => Promise<Record<string, unknown>>) }).createPipeline(plan);
  return { ...segment, steps, pipeline, run: (...args: Input[]) => pipeline(...args) };
};

/** What a built segment reads from earlier segments or the arguments. */
const readsOf = (segment: BuiltSegment): readonly Tensor[] => {
  switch (segment.kind) {
    case 'pipeline':
    case 'device':
      return segment.inputs;
    case 'javascript':
      return segment.steps.flatMap((step) => step.buffers);
    case 'native':
      return segment.operands.map((operand) => operand.base);
    case 'host':
      return segment.node.inputs;
  }
};

/**
 * Runs of kernels and tiled steps as device runs, each wired as a pipeline is: its inputs (read
 * but not computed in it) and its exports (read by a later segment, or the program's outputs).
 */
const deviceRuns = (cache: KernelCache, segments: readonly Segment[], outputs: readonly Tensor[]): BuiltSegment[] => {
  const grouped: (BuiltSegment | (BuiltKernel | TiledPlan)[])[] = [];
  for (const segment of segments) {
    if (segment.kind !== 'pipeline' && segment.kind !== 'tiled') {
      grouped.push(segment);
      continue;
    }
    let run = grouped[grouped.length - 1];
    if (!Array.isArray(run)) grouped.push((run = []));
    if (segment.kind === 'tiled') run.push(segment);
    else run.push(...segment.steps.map((step) => ({ ...step, kernel: cache.kernelFor(step) })));
  }
  const neededLater = new Set<Tensor>(outputs);
  const built: BuiltSegment[] = [];
  for (let i = grouped.length - 1; i >= 0; i--) {
    const entry = grouped[i];
    const segment: BuiltSegment = Array.isArray(entry) ? deviceRun(entry, neededLater) : entry;
    readsOf(segment).forEach((node) => neededLater.add(node));
    built.unshift(segment);
  }
  return built;
};

const deviceRun = (steps: readonly (BuiltKernel | TiledPlan)[], neededLater: ReadonlySet<Tensor>): DeviceRun => {
  const produced = new Set(steps.map((step) => step.node));
  const reads = steps.flatMap((step) => (step.kind === 'tiled' ? step.operands.map((operand) => operand.base) : step.buffers));
  return {
    kind: 'device',
    steps,
    inputs: [...new Set(reads.filter((node) => !produced.has(node)))],
    exports: steps.map((step) => step.node).filter((node) => neededLater.has(node)),
  };
};

export const buildProgram = (gpu: GPU, cache: KernelCache, plan: Plan): Program => {
  // On webgpu every run of kernels is a device run: no gpu.js pipeline is left to build.
  const planned: readonly (Segment | BuiltSegment)[] = plan.tiledKernels ? deviceRuns(cache, plan.segments, plan.outputs) : plan.segments;
  const segments = planned.map((segment): BuiltSegment => {
    if (segment.kind === 'tiled') throw new Error(`compile: ${segment.node} was planned for webgpu's tiled kernels outside a device run`);
    if (segment.kind !== 'pipeline') return segment;
    if (!plan.javascriptKernels) return buildPipeline(gpu, cache, segment);
    return { kind: 'javascript', steps: segment.steps.map((step) => ({ ...step, javascript: cache.javascriptKernelFor(step) })) };
  });
  const arrays = new SharedArrays();
  return {
    ...plan,
    segments,
    sharedConstants: new Map(plan.javascriptKernels ? [...plan.constants].map(([node, data]) => [node, arrays.copyIn(data)]) : []),
    arrays,
    lastReaders: lastReadersOf(segments),
  };
};
