// The segments a compiled program is planned as (plan.ts) and rewritten in (recompute.ts): runs
// of kernels that form one pipeline, host steps, and native steps.

import type { Tensor } from '../tensor.ts';
import type { NativePlan } from '../native/native-step.ts';
import type { Statement } from '../codegen/statements.ts';
import type { Expression } from '../codegen/expression.ts';

export type { NativePlan };

export interface KernelPlan {
  readonly kind: 'kernel';
  readonly node: Tensor;
  /** The graph nodes fused into the kernel. */
  readonly fused: readonly Tensor[];
  /** The buffers it reads, in parameter order. */
  readonly buffers: readonly Tensor[];
  /**
   * gpu.js's kernel function, or with `javascriptKernels` the native pool's kernel over flat
   * arrays (javascript-kernel.ts).
   */
  readonly source: string;
  /**
   * With `javascriptKernels`, the WebAssembly module of its element loop where it has one
   * (simd-kernel.ts), else why it runs as JavaScript.
   */
  readonly simd?: { readonly module: Uint8Array } | { readonly whyNot: string };
  /**
   * The body as the emitter wrote it, which `source` renders: its statements and the value it
   * returns. For a sum over whole planes (javascript-kernel.ts `planeSumKernelSource`), the body
   * computes the sum's input, laid out as `planes` says.
   */
  readonly statements: readonly Statement[];
  readonly result: Expression;
  /** A sum over whole planes: the layout its body computes the input in, each plane summed whole. */
  readonly planes?: readonly [number, number, number];
  /** Inner-loop passes per output element, for the native pool's choice of threads. */
  readonly passes: number;
  /** [width, height, depth] of its output and of each buffer it reads. */
  readonly layout: [number, number, number];
  readonly inputLayouts: readonly [number, number, number][];
}

export interface HostPlan {
  readonly kind: 'host';
  readonly node: Tensor;
}

/** Consecutive kernels that run as one gpu.js pipeline. */
export interface PipelinePlan {
  readonly kind: 'pipeline';
  readonly steps: readonly KernelPlan[];
  /** What the pipeline takes in, and what later steps or the caller need from it. */
  readonly inputs: readonly Tensor[];
  readonly exports: readonly Tensor[];
}

/**
 * A node on webgpu's tiled kernels (lib/webgpu), reading its operands as views of buffers, as a
 * native step does; built into one device program with the kernels around it (build.ts).
 */
export interface TiledPlan extends Omit<NativePlan, 'kind'> {
  readonly kind: 'tiled';
}

export type Segment = PipelinePlan | HostPlan | NativePlan | TiledPlan;
