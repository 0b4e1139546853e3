// compile(f): a traced function of a tree of tensors becomes an async function on concrete
// float32 data. Each argument-shape signature is traced and planned once (plan.ts) and built on
// the chosen backend once (build.ts); every call then walks the program's segments and hands
// each to the runtime of its kind (runtimes/): gpu.js pipelines, whose intermediates stay in the
// backend's memory; the native pool's native steps (GEMMs, pooling) and JavaScript kernels; host steps, which a
// kernel rule asks for and compile reports. ARCHITECTURE.md follows a program through them.

import { isLeft } from 'fp-ts/lib/Either.js';
import { formatShape, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { flattenTree, type MapLeaves, unflattenTree } from '../tree.ts';
import { type BackendChoice, type BackendName, backendNamed, backendNames, type BackendRequest, chooseBackend } from './backend.ts';
import { gpujsMode } from './capabilities.ts';
import { type Capabilities, type CompileLimits, lowered } from './capabilities.ts';
import { type Plan, planProgram } from './plan.ts';
import { type ArgumentValue, checkArgumentShapes, dataOf, float32Data, isArgumentLeaf } from './arguments.ts';
import { buildProgram, KernelCache, type Program } from './build.ts';
import { CallValues, type CompiledValue } from './call-values.ts';
import { CallRecord, type ExecutionReport } from './execution-report.ts';
import { sharedNativePool } from '../native/native-pool.ts';
import { kernelRule } from './rules.ts';
import { runSegment, type Runtimes } from './runtimes/runtime.ts';
import { hostRuntime } from './runtimes/host-runtime.ts';
import { gpujsRuntime } from './runtimes/gpujs-runtime.ts';
import { javascriptKernelsRuntime, nativeStepRuntime } from './runtimes/native-pool-runtime.ts';
import { deviceRuntime } from './runtimes/device-runtime.ts';

export type { CompiledValue } from './call-values.ts';
export type { ArgumentValue } from './arguments.ts';

export interface CompileOptions {
  /** The backend to run on (`webasm`, its earlier name, is `native`); the best that works here when undefined. */
  readonly backend?: BackendRequest;
  /** Print (or hand to this function) every kernel's source with the graph nodes it came from. */
  readonly debug?: boolean | ((listing: string) => void);
  /** Where degradations are reported (a backend passed over, a host step, a runtime fallback). */
  readonly onWarning?: (message: string) => void;
  /**
   * Run every kernel on its own and time it, instead of as one pipeline (slower in total: each
   * kernel's inputs are copied in and its output read back); `report().profile` lists the times.
   */
  readonly profile?: boolean;
  /**
   * Limits lowered below what the backend allows, e.g. the storage buffers of WebGPU's default
   * device; `{ nativeKernels: false }` keeps the native backend's convolutions and matmuls in gpu.js kernels.
   */
  readonly limits?: CompileLimits;
}

export type { ExecutionReport, KernelTiming, KernelWork, SegmentTiming } from './execution-report.ts';

/**
 * The kernels `f` compiles to for arguments of these shapes under a backend's capabilities,
 * planned without the backend: what a device would be asked to build, inspectable anywhere.
 */
export const planKernels = <A>(f: (args: A) => unknown, args: MapLeaves<A, ArgumentValue>, capabilities: Capabilities): Plan => {
  const { leaves, paths } = flattenTree(args, isArgumentLeaf);
  return planProgram(f as (args: unknown) => unknown, args, leaves, paths, isArgumentLeaf, capabilities);
};

export interface CompiledFunction<A, O> {
  /** Takes the traced function's argument tree with concrete values (or constant tensors) at its leaves. */
  (args: MapLeaves<A, ArgumentValue>): Promise<MapLeaves<O, CompiledValue>>;
  /** What ran on the last call. */
  readonly report: () => ExecutionReport | undefined;
  /** Traces and kernels built so far: a second call with the same shapes adds neither. */
  readonly stats: () => { readonly traces: number; readonly kernelsBuilt: number };
  readonly destroy: () => Promise<void>;
}

/** A program built on the backend, with the runtime of each kind of segment it has. */
interface Runnable {
  readonly program: Program;
  readonly runtimes: Runtimes;
}

const runtimesFor = (backend: BackendName, program: Program, profile: boolean): Runtimes => ({
  host: hostRuntime,
  pipeline: gpujsRuntime(backend, program.layouts, profile),
  native: nativeStepRuntime(profile, program.javascriptKernels),
  javascript: javascriptKernelsRuntime(profile),
  device: deviceRuntime(program, profile),
});

export const compile = <A, O>(f: (args: A) => O, options: CompileOptions = {}): CompiledFunction<A, O> => {
  if (options.backend !== undefined && backendNamed(options.backend) === undefined)
    throw new Error(`compile: unknown backend "${options.backend}"; choose one of ${backendNames.join(', ')}`);
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  // Programs by argument signature, as promises so that concurrent first calls trace once.
  const programs = new Map<string, Promise<Runnable>>();
  let traces = 0;
  let lastReport: ExecutionReport | undefined;
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (!warned.has(message)) {
      warned.add(message);
      warn(message);
    }
  };
  // The backend is chosen on the first call: whether webgpu runs is known once an adapter answered.
  let chosen: Promise<{ choice: BackendChoice; cache: KernelCache }> | undefined;
  let kernels: KernelCache | undefined;
  const backend = () =>
    (chosen ??= chooseBackend(options.backend).then((choice) => {
      if (isLeft(choice)) throw new Error(`compile: ${choice.left}`);
      kernels = new KernelCache(choice.right.gpu);
      return { choice: choice.right, cache: kernels };
    }));

  const programFor = (args: unknown): Promise<Runnable> => {
    // Everything but the values of the leaves is baked in when tracing: the tree's structure and
    // any plain data in it (a number, an axis) as well as the shapes.
    const signature = JSON.stringify(args, (_key, value) => (isArgumentLeaf(value) ? `tensor${formatShape(value.shape as Shape)}` : value));
    let program = programs.get(signature);
    if (program === undefined) {
      program = backend().then(({ choice, cache }) => traceAndBuild(args, choice, cache));
      programs.set(signature, program);
      // A program that failed to plan is not kept: the next call says why again.
      program.catch(() => programs.delete(signature));
    }
    return program;
  };

  const traceAndBuild = (args: unknown, choice: BackendChoice, cache: KernelCache): Runnable => {
    traces++;
    const plan = planKernels(f as (args: unknown) => unknown, args, lowered(choice.capabilities, options.limits));
    for (const segment of plan.segments)
      if (segment.kind === 'host' && segment.node.size > 0) warnOnce(`compile: ${segment.node.primitive.name} runs on the host between pipelines: ${hostReason(segment.node)}`);
    if (options.debug) {
      if (typeof options.debug === 'function') options.debug(plan.listing);
      else console.log(plan.listing);
    }
    const program = buildProgram(choice.gpu, cache, plan);
    return { program, runtimes: runtimesFor(choice.backend, program, options.profile === true) };
  };

  const run = async (args: unknown): Promise<any> => {
    checkArgumentShapes(args);
    const { leaves, paths } = flattenTree(args, isArgumentLeaf);
    const { program, runtimes } = await programFor(args);
    const { choice } = await backend();
    const values = new CallValues(program, leaves.map((leaf, i) => float32Data(dataOf(leaf), paths[i])));
    const record = new CallRecord();
    for (const segment of program.segments) await runSegment(runtimes, segment, values, record);
    const expectedMode = program.javascriptKernels ? 'javascript' : choice.backend === 'headlessgl' ? 'gpu' : gpujsMode(choice.backend);
    lastReport = record.report(choice, expectedMode, options.profile === true);
    if (lastReport.fallbackReason !== null) warnOnce(`compile: the ${choice.backend} backend degraded to ${lastReport.kernelMode}: ${lastReport.fallbackReason}`);
    return unflattenTree(program.outputTree, values.results());
  };

  const compiled = run as CompiledFunction<A, O>;
  Object.assign(compiled, {
    report: () => lastReport,
    stats: () => ({ traces, kernelsBuilt: kernels?.size ?? 0 }),
    destroy: async () => {
      if (chosen === undefined) return;
      const pending = chosen;
      chosen = undefined;
      // The native pool outlives this function: its workers drop the kernels they compiled for it.
      const built = [...(kernels?.javascriptKernels ?? [])];
      if (built.length > 0) sharedNativePool().forget(built);
      kernels = undefined;
      const runnables = [...programs.values()];
      programs.clear();
      for (const runnable of runnables) {
        const built = await runnable.catch(() => undefined);
        for (const runtime of Object.values(built?.runtimes ?? {}) as { release?: () => Promise<void> }[]) await runtime.release?.();
        // The program's constants in the arena go back: a run compiles its kNN afresh each epoch.
        if (built !== undefined)
          for (const [node, data] of built.program.sharedConstants) if (data !== built.program.constants.get(node)) built.program.arrays.give(data);
      }
      await pending.then(({ choice }) => choice.release(), () => {});
    },
  });
  return compiled;
};

/** Why a node runs on the host, as its kernel rule says. */
const hostReason = (node: Tensor): string => {
  const rule = kernelRule(node);
  return rule.kind === 'host' ? rule.why : 'it is empty';
};
