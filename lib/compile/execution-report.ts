// What ran on a compiled function's last call: the runtimes record their segments into a
// CallRecord as they run them, and the record becomes the ExecutionReport that `report()`
// returns. The backend chosen is not taken as the truth: a gpu.js pipeline runs private copies
// of its kernels and may degrade on its own, so what each segment says it ran is.

import type { MultiplyAdd } from '../native/relaxed-simd.ts';
import type { BackendChoice, BackendName } from './backend.ts';

export interface SegmentTiming {
  /**
   * A gpu.js pipeline, a native GEMM step, a run of the native pool's JavaScript kernels, or
   * webgpu's device run (gpu.js's kernels and the tiled ones in one command encoder).
   */
  readonly kind: 'pipeline' | 'native' | 'javascript' | 'device';
  readonly milliseconds: number;
  /** The nodes the segment computed: a pipeline's kernels, or the native step's node. */
  readonly nodes: readonly string[];
}

export interface KernelTiming {
  readonly node: string;
  readonly milliseconds: number;
  /** The graph nodes fused into the kernel. */
  readonly fused: string;
  /**
   * A JavaScript kernel on the native pool: its output elements, its inner-loop passes per
   * element (`passesPerElement`) and the threads it was split among, so that its time can be
   * read as nanoseconds an element a thread beside a plain memory copy.
   */
  readonly work?: KernelWork;
}

export interface KernelWork {
  readonly elements: number;
  readonly passes: number;
  readonly threads: number;
  /** Whether its element loop ran as WebAssembly SIMD (lib/native/simd-kernel.ts). */
  readonly simd: boolean;
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
  readonly native?: {
    readonly steps: number;
    readonly threads: number;
    /** Whether the GEMM kernel multiplies and adds in one instruction (relaxed SIMD), and how, or why not. */
    readonly multiplyAdd: MultiplyAdd;
  };
  /**
   * The threads the kernels other than native steps ran on: the native pool's workers for its
   * JavaScript kernels; for gpu.js's WebAssembly pipelines, its fused-threaded executor's worker pool
   * (1 otherwise).
   */
  readonly pipelineThreads?: number;
  /**
   * The native pool's JavaScript kernels of the last call: how many there were, how many had a
   * SIMD element loop, and how many ran it (a kernel given an array outside the float arena runs
   * its JavaScript loop, and says so here).
   */
  readonly javascriptKernels?: { readonly ran: number; readonly withSimdLoop: number; readonly ranSimd: number };
  /**
   * Where the last call's time went: in pipelines (gpu.js's, data in and out included, or runs
   * of the native pool's JavaScript kernels) and in native steps (GEMMs, max pooling's gradient).
   */
  readonly milliseconds?: { readonly pipelines: number; readonly native: number };
  /** The same, segment by segment in the order they ran (not in `profile` mode, which times kernels instead). */
  readonly segments?: readonly SegmentTiming[];
  /** Primitives that ran on the host between pipelines. */
  readonly hostSteps: readonly string[];
  /** With `profile`: every kernel's time on the last call, slowest first. */
  readonly profile?: readonly KernelTiming[];
  /** On webgpu's device runs: what crossed between host and device on the last call. */
  readonly device?: DeviceReport;
}

export interface DeviceReport {
  /** Convolutions and matmuls that ran as tiled kernels. */
  readonly tiledSteps: number;
  /** gpu.js's kernels recorded into the same encoders. */
  readonly kernels: number;
  /** Command buffers submitted (one a device run, or one a step in `profile` mode). */
  readonly submissions: number;
  /** Bytes written to the device (the runs' inputs that are not constants) and read back (their exports). */
  readonly uploadedBytes: number;
  readonly readBackBytes: number;
}

/** What one call's segments ran, as the runtimes record it. */
export class CallRecord {
  readonly hostSteps: string[] = [];
  readonly segments: SegmentTiming[] = [];
  readonly kernels: KernelTiming[] = [];
  readonly milliseconds = { pipelines: 0, native: 0 };
  nativeSteps = 0;
  /** The native pool's threads, when a native step ran. */
  nativeThreads = 0;
  /** How the native GEMM kernel multiplies and adds, when a native step ran. */
  nativeMultiplyAdd: MultiplyAdd = { fused: false, reason: 'no native step ran' };
  pipelineThreads = 0;
  readonly javascriptKernels = { ran: 0, withSimdLoop: 0, ranSimd: 0 };
  executorKind: string | undefined;
  /** The kernel modes that really ran (gpu.js's own word for its backend, or 'javascript'). */
  readonly modes = new Set<string>();
  /** Why a pipeline fell back, in its own words. */
  readonly fallbackReasons: string[] = [];
  device: DeviceReport | undefined;

  /** A device run's counts, added to the call's. */
  deviceRun(run: DeviceReport): void {
    const sum = this.device ?? { tiledSteps: 0, kernels: 0, submissions: 0, uploadedBytes: 0, readBackBytes: 0 };
    this.device = {
      tiledSteps: sum.tiledSteps + run.tiledSteps,
      kernels: sum.kernels + run.kernels,
      submissions: sum.submissions + run.submissions,
      uploadedBytes: sum.uploadedBytes + run.uploadedBytes,
      readBackBytes: sum.readBackBytes + run.readBackBytes,
    };
  }

  /** A segment of `kind` that started at `start` (performance.now()) and computed `nodes`. */
  segment(kind: SegmentTiming['kind'], start: number, nodes: readonly unknown[]): void {
    const milliseconds = performance.now() - start;
    this.segments.push({ kind, milliseconds, nodes: nodes.map(String) });
    if (kind === 'native') this.milliseconds.native += milliseconds;
    else this.milliseconds.pipelines += milliseconds;
  }

  /** A kernel timed on its own (in `profile` mode), from `start` (performance.now()) or for `milliseconds`. */
  kernel(node: unknown, start: number | { readonly milliseconds: number }, fused: readonly unknown[] | string, work?: KernelWork): void {
    this.kernels.push({
      node: String(node),
      milliseconds: typeof start === 'number' ? performance.now() - start : start.milliseconds,
      fused: typeof fused === 'string' ? fused : fused.map(String).join(', '),
      ...(work === undefined ? {} : { work }),
    });
  }

  /**
   * The report of the call. `expectedMode` is the kernel mode the backend should have run; any
   * other is a degradation, reported with the pipelines' reasons.
   */
  report(choice: BackendChoice, expectedMode: string, profile: boolean): ExecutionReport {
    const kernelMode = this.modes.size === 0 ? undefined : [...this.modes].join(', ');
    const degraded = [...this.modes].some((mode) => mode !== expectedMode);
    return {
      backend: choice.backend,
      kernelMode,
      executorKind: this.executorKind,
      // The cpu backend's pipelines always explain that they are not fused; that is no degradation.
      fallbackReason: degraded ? this.fallbackReasons.join('; ') || 'no reason given' : null,
      skipped: choice.skipped,
      ...(choice.adapter === undefined ? {} : { adapter: choice.adapter }),
      hostSteps: this.hostSteps,
      ...(this.nativeSteps > 0 ? { native: { steps: this.nativeSteps, threads: this.nativeThreads, multiplyAdd: this.nativeMultiplyAdd } } : {}),
      milliseconds: { pipelines: Math.round(this.milliseconds.pipelines), native: Math.round(this.milliseconds.native) },
      segments: this.segments,
      ...(this.pipelineThreads > 0 ? { pipelineThreads: this.pipelineThreads } : {}),
      ...(this.javascriptKernels.ran > 0 ? { javascriptKernels: { ...this.javascriptKernels } } : {}),
      ...(profile ? { profile: [...this.kernels].sort((a, b) => b.milliseconds - a.milliseconds) } : {}),
      ...(this.device === undefined ? {} : { device: this.device }),
    };
  }
}
