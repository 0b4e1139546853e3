// Building a planned program on a backend: one gpu.js kernel per planned kernel (shared by
// source and layouts across every program of a compiled function) and one gpu.js pipeline per
// run of consecutive kernels, so that intermediates stay in the backend's memory.

import type { GPU, IKernelRunShortcut, Input } from 'gpu.js';
import type { Tensor } from '../tensor.ts';
import type { HostPlan, KernelPlan, NativePlan, PipelinePlan, Plan } from './plan.ts';

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

export type BuiltSegment = BuiltPipeline | HostPlan | NativePlan;

export interface Program extends Omit<Plan, 'segments'> {
  readonly segments: readonly BuiltSegment[];
}

/**
 * Kernels are shared by source, output layout and input layouts: two nodes may generate the
 * same source for inputs of different sizes, and a gpu.js kernel is built for one size each.
 */
export class KernelCache {
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  constructor(private readonly gpu: GPU) {}

  get size(): number {
    return this.kernels.size;
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

export const buildProgram = (gpu: GPU, cache: KernelCache, plan: Plan): Program => ({
  ...plan,
  segments: plan.segments.map((segment) => (segment.kind === 'pipeline' ? buildPipeline(gpu, cache, segment) : segment)),
});
