// compile(f): a traced function of a tree of tensors becomes an async function on concrete
// float32 data that runs as gpu.js kernels. Each argument-shape signature is traced once; its
// kernels are built once and reused on every later call. The kernels of a program run as one
// gpu.js pipeline, so intermediates stay in the backend's memory and results are read back
// once; a primitive whose kernel rule says host splits the pipeline and runs on the host, and says so.

import { isLeft } from 'fp-ts/lib/Either.js';
import { Input } from 'gpu.js';
import { formatShape, type Shape, sizeOf } from '../shape.ts';
import { isTensor, type Tensor, type Value } from '../tensor.ts';
import { flattenTree, type MapLeaves, unflattenTree } from '../tree.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { type BackendChoice, type BackendName, backendNames, chooseBackend } from './backend.ts';
import { type Capabilities, type CompileLimits, lowered } from './capabilities.ts';
import { type Layout, layoutOf } from './emitter.ts';
import { type KernelPlan, type Plan, planProgram, toFloat32 } from './plan.ts';
import { raisingDeviceErrors } from './webgpu.ts';
import { type ArgumentValue, checkArgumentShapes, dataOf, float32Data, isArgumentLeaf } from './arguments.ts';
import { buildProgram, KernelCache, type Program } from './build.ts';
import { sharedNativePool } from '../native/native-pool.ts';
import { runNativeStep } from '../native/native-step.ts';
import { kernelRule } from './rules.ts';
import { withFlatResults } from './webasm-flat-results.ts';
import { uncopied } from './uncopied-arguments.ts';

/** A concrete argument or result: a shape and row-major data. */
export interface CompiledValue {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type { ArgumentValue } from './arguments.ts';

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
  /**
   * Limits lowered below what the backend allows, e.g. the storage buffers of WebGPU's default
   * device; `{ nativeKernels: false }` keeps webasm's convolutions and matmuls in gpu.js kernels.
   */
  readonly limits?: CompileLimits;
}

export interface SegmentTiming {
  /** A gpu.js pipeline, a native GEMM step, or a run of the native pool's JavaScript kernels. */
  readonly kind: 'pipeline' | 'native' | 'javascript';
  readonly milliseconds: number;
  /** The nodes the segment computed: a pipeline's kernels, or the native step's node. */
  readonly nodes: readonly string[];
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
  /** The WebGPU adapter that ran the kernels, on webgpu. */
  readonly adapter?: string;
  /**
   * Convolutions and matmuls that ran on the native GEMM kernels between pipelines, and on how
   * many worker threads (one per core).
   */
  readonly native?: { readonly steps: number; readonly threads: number };
  /**
   * The threads the kernels other than native steps ran on: the native pool's workers for its
   * JavaScript kernels; for gpu.js's pipelines, webasm's fused-threaded executor's worker pool
   * (1 otherwise).
   */
  readonly pipelineThreads?: number;
  /**
   * Where the last call's time went: in pipelines (gpu.js's, data in and out included, or runs
   * of the native pool's JavaScript kernels) and in native GEMM steps.
   */
  readonly milliseconds?: { readonly pipelines: number; readonly native: number };
  /** The same, segment by segment in the order they ran (not in `profile` mode, which times kernels instead). */
  readonly segments?: readonly SegmentTiming[];
  /** Primitives that ran on the host between pipelines. */
  readonly hostSteps: readonly string[];
  /** With `profile`: every kernel's time on the last call, slowest first. */
  readonly profile?: readonly KernelTiming[];
}

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

export const compile = <A, O>(f: (args: A) => O, options: CompileOptions = {}): CompiledFunction<A, O> => {
  if (options.backend !== undefined && !backendNames.includes(options.backend))
    throw new Error(`compile: unknown backend "${options.backend}"; choose one of ${backendNames.join(', ')}`);
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  // Programs by argument signature, as promises so that concurrent first calls trace once.
  const programs = new Map<string, Promise<Program>>();
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

  const programFor = (args: unknown): Promise<Program> => {
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

  const traceAndBuild = (args: unknown, choice: BackendChoice, cache: KernelCache): Program => {
    traces++;
    const plan = planKernels(f as (args: unknown) => unknown, args, lowered(choice.capabilities, options.limits));
    for (const segment of plan.segments)
      if (segment.kind === 'host' && segment.node.size > 0) warnOnce(`compile: ${segment.node.primitive.name} runs on the host between pipelines: ${hostReason(segment.node)}`);
    if (options.debug) {
      if (typeof options.debug === 'function') options.debug(plan.listing);
      else console.log(plan.listing);
    }
    return buildProgram(choice.gpu, cache, plan);
  };

  const run = async (args: unknown): Promise<any> => {
    checkArgumentShapes(args);
    const { leaves, paths } = flattenTree(args, isArgumentLeaf);
    const program = await programFor(args);
    const { choice } = await backend();
    // With the native pool's JavaScript kernels the values kernels read live in shared memory,
    // where the workers read and write them in place; the program recycles its own arrays from
    // call to call. An argument is copied there once, when a kernel first reads it (a native
    // step copies its operands into the GEMM's memory anyway).
    const javascript = program.javascriptKernels;
    const env = new Map<Tensor, Float32Array>(javascript ? program.sharedConstants : program.constants);
    program.placeholders.forEach((p, i) => {
      env.set(p, float32Data(dataOf(leaves[i]), paths[i]));
    });
    // Copies into the program's recycled arrays, given back when the call ends.
    const sharedCopies = new Map<Float32Array, Float32Array>();
    const sharedValue = (node: Tensor): Float32Array => {
      const data = env.get(node) ?? scalarData(node);
      if (data.buffer instanceof SharedArrayBuffer) return data;
      let copy = sharedCopies.get(data);
      if (copy === undefined) {
        copy = program.arrays.take(data.length);
        copy.set(data);
        sharedCopies.set(data, copy);
      }
      return copy;
    };
    // On webgpu a pipeline's failure, or an error the device reported while it ran, is the call's error.
    const onDevice = <T>(steps: readonly KernelPlan[], work: () => Promise<T>): Promise<T> =>
      choice.backend === 'webgpu' ? raisingDeviceErrors(kernelNames(steps), work) : work();
    const hostSteps: string[] = [];
    let nativeSteps = 0;
    const milliseconds = { pipelines: 0, native: 0 };
    const segmentTimes: SegmentTiming[] = [];
    const fresh = new Set<Float32Array>();
    let pipelineThreads = 0;
    const timings: KernelTiming[] = [];
    let executorKind: string | undefined;
    // What really ran, segment by segment: a pipeline runs private copies of the kernels and
    // degrades on its own, so its backend, not the kernel objects', is the truth.
    const modes = new Set<string>();
    const reasons: string[] = [];
    const outputSet = new Set(program.outputs);
    const allocate = (length: number) => {
      const array = program.arrays.take(length);
      fresh.add(array);
      return array;
    };
    /** After the last step that reads them: buffers this call allocated go back to the program. */
    const release = (unit: object) => {
      for (const node of program.lastReaders.get(unit) ?? []) {
        const data = env.get(node);
        if (javascript && data !== undefined && fresh.has(data) && !outputSet.has(node)) {
          program.arrays.give(data);
          fresh.delete(data);
        }
        if (!outputSet.has(node)) env.delete(node);
      }
    };
    for (const segment of program.segments) {
      if (segment.kind === 'host' && segment.node.size === 0) {
        env.set(segment.node, new Float32Array(0));
        continue;
      }
      if (segment.kind === 'host') {
        hostSteps.push(segment.node.primitive.name);
        const inputs: Value[] = segment.node.inputs.map((input) => ({ shape: input.shape, data: Float64Array.from(env.get(input) ?? scalarData(input)) }));
        env.set(segment.node, Float32Array.from(segment.node.primitive.evaluate(inputs, segment.node.params, segment.node.shape)));
        release(segment);
        continue;
      }
      if (segment.kind === 'native') {
        const start = performance.now();
        const result = await runNativeStep(sharedNativePool(), segment, (node) => env.get(node) ?? scalarData(node), javascript ? allocate : undefined);
        env.set(segment.node, result);
        fresh.add(result);
        nativeSteps++;
        milliseconds.native += performance.now() - start;
        segmentTimes.push({ kind: 'native', milliseconds: performance.now() - start, nodes: [String(segment.node)] });
        if (options.profile) timings.push({ node: String(segment.node), milliseconds: performance.now() - start, fused: `${segment.node} (native)` });
        release(segment);
        continue;
      }
      if (segment.kind === 'javascript') {
        const pool = sharedNativePool();
        const start = performance.now();
        for (const step of segment.steps) {
          const stepStart = performance.now();
          const cells = step.layout[0] * step.layout[1] * step.layout[2];
          const out = allocate(cells);
          const threads = await pool.runKernel(step.javascript, out, step.buffers.map(sharedValue), cells);
          pipelineThreads = Math.max(pipelineThreads, threads);
          // A wrapped layout's last row runs past the tensor's end.
          env.set(step.node, cells === step.node.size ? out : out.subarray(0, step.node.size));
          if (options.profile) timings.push({ node: String(step.node), milliseconds: performance.now() - stepStart, fused: step.fused.map(String).join(', ') });
          release(step);
        }
        milliseconds.pipelines += performance.now() - start;
        segmentTimes.push({ kind: 'javascript', milliseconds: performance.now() - start, nodes: segment.steps.map((step) => String(step.node)) });
        executorKind = 'native-pool';
        modes.add('javascript');
        continue;
      }
      if (options.profile) {
        for (const step of segment.steps) {
          const start = performance.now();
          const result = await onDevice([step], async () => step.kernel(...(step.buffers.map((b) => asLayout(env.get(b)!, b.shape, program.layouts.get(b))) as [])));
          env.set(step.node, flatten(result, step.node.size).slice());
          timings.push({ node: String(step.node), milliseconds: performance.now() - start, fused: step.fused.map(String).join(', ') });
          const ran = (step.kernel as any).kernel;
          modes.add(ran?.constructor?.mode);
          if (ran?.fallbackReason) reasons.push(ran.fallbackReason);
        }
        release(segment);
        continue;
      }
      const start = performance.now();
      const results = await onDevice(segment.steps, () => withFlatResults(() => segment.run(...segment.inputs.map((input) => asLayout(env.get(input)!, input.shape, program.layouts.get(input))))));
      for (const node of segment.exports) {
        const data = flatten(results[`n${node.id}`], node.size);
        env.set(node, data);
        // webasm's flat results are copies gpu.js sliced out of its memory for this call.
        if (choice.backend === 'webasm' && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) fresh.add(data);
      }
      milliseconds.pipelines += performance.now() - start;
      segmentTimes.push({ kind: 'pipeline', milliseconds: performance.now() - start, nodes: segment.steps.map((step) => String(step.node)) });
      executorKind = segment.pipeline.executorKind;
      const executor = segment.pipeline.pipeline?._executor;
      pipelineThreads = Math.max(pipelineThreads, executor && executor.threaded ? (executor._entry?.workerCount ?? 1) : 1);
      modes.add(segment.pipeline.backend ?? 'unknown');
      if (segment.pipeline.fallbackReason) reasons.push(segment.pipeline.fallbackReason);
      release(segment);
    }
    for (const copy of sharedCopies.values()) program.arrays.give(copy);
    const expectedMode = javascript ? 'javascript' : choice.backend === 'headlessgl' ? 'gpu' : choice.backend;
    const kernelMode = modes.size === 0 ? undefined : [...modes].join(', ');
    const degraded = [...modes].some((mode) => mode !== expectedMode);
    lastReport = {
      backend: choice.backend,
      kernelMode,
      executorKind,
      // The cpu backend's pipelines always explain that they are not fused; that is no degradation.
      fallbackReason: degraded ? reasons.join('; ') || 'no reason given' : null,
      skipped: choice.skipped,
      ...(choice.adapter === undefined ? {} : { adapter: choice.adapter }),
      hostSteps,
      ...(nativeSteps > 0 ? { native: { steps: nativeSteps, threads: sharedNativePool().threads } } : {}),
      milliseconds: { pipelines: Math.round(milliseconds.pipelines), native: Math.round(milliseconds.native) },
      segments: segmentTimes,
      ...(pipelineThreads > 0 ? { pipelineThreads } : {}),
      ...(options.profile ? { profile: timings.sort((a, b) => b.milliseconds - a.milliseconds) } : {}),
    };
    if (degraded) warnOnce(`compile: the ${choice.backend} backend degraded to ${kernelMode}: ${lastReport.fallbackReason}`);
    // A result this call allocated itself (a native step's, or a webasm pipeline's copy out of
    // its memory) is handed over as it is: an output of millions of elements is not copied
    // again. Anything else (an argument, a constant, a backend's own buffer) or an array handed
    // out twice is copied, so that the caller owns every array it gets.
    const handedOut = new Set<Float32Array>();
    const values = program.outputs.map((node) => {
      const data = env.get(node);
      const own = data !== undefined && fresh.has(data) && !handedOut.has(data);
      if (own) handedOut.add(data);
      return { shape: [...node.shape], data: own ? data : Float32Array.from(data ?? scalarData(node)) };
    });
    return unflattenTree(program.outputTree, values);
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
      programs.clear();
      await pending.then(({ choice }) => choice.release(), () => {});
    },
  });
  return compiled;
};

/** A pipeline's kernels as an error names them: each kernel's node and what was fused into it. */
const kernelNames = (steps: readonly KernelPlan[]): string =>
  `${steps.length === 1 ? 'the kernel' : 'the pipeline of kernels'} ${steps.map((step) => `${step.node} (fused: ${step.fused.map(String).join(', ')})`).join('; ')}`;

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
  return new Input(uncopied(padded) as unknown as number[], dimensions);
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

/** Why a node runs on the host, as its kernel rule says. */
const hostReason = (node: Tensor): string => {
  const rule = kernelRule(node);
  return rule.kind === 'host' ? rule.why : 'it is empty';
};

/** The value of a scalar constant that no kernel materialized. */
const scalarData = (node: Tensor): Float32Array => {
  const data = constantDataOf(node);
  if (data !== undefined) return toFloat32(data);
  throw new Error(`compile: no value was computed for ${node}`);
};
