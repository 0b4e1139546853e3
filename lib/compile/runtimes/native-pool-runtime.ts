// The native pool's two kinds of segments: a native step (a convolution or matmul on the
// WebAssembly GEMMs, or max pooling's gradient window by window, its lowering found in the table
// keyed by its primitive) and a run of
// JavaScript kernels over shared memory, each kernel split among the pool's threads. Both
// write into arrays recycled from call to call (CallValues.allocate) where the kernels run on
// the pool; a native step between gpu.js pipelines writes a fresh array.

import { sharedNativePool } from '../../native/native-pool.ts';
import { runNativeStep } from '../../native/native-step.ts';
import type { JavascriptKernels } from '../build.ts';
import type { NativePlan } from '../segments.ts';
import type { SegmentRuntime } from './runtime.ts';

/** Native steps (the GEMMs, max pooling's gradient); with `profile`, each is also listed as a kernel. */
export const nativeStepRuntime = (profile: boolean, recycled: boolean): SegmentRuntime<NativePlan> => ({
  run: async (segment, values, record) => {
    const pool = sharedNativePool();
    const start = performance.now();
    const result = await runNativeStep(pool, segment, (node) => values.get(node), recycled ? (length) => values.allocate(length) : undefined);
    values.set(segment.node, result, true);
    record.nativeSteps++;
    record.nativeThreads = pool.threads;
    record.nativeMultiplyAdd = pool.multiplyAdd;
    record.segment('native', start, [segment.node]);
    if (profile) record.kernel(segment.node, start, `${segment.node} (native)`);
    values.release(segment);
  },
});

/** Runs of the native pool's JavaScript kernels; with `profile`, each kernel is timed too. */
export const javascriptKernelsRuntime = (profile: boolean): SegmentRuntime<JavascriptKernels> => ({
  run: async (segment, values, record) => {
    const pool = sharedNativePool();
    const start = performance.now();
    for (const step of segment.steps) {
      const stepStart = performance.now();
      const cells = step.layout[0] * step.layout[1] * step.layout[2];
      const out = values.allocate(cells);
      const { threads, simd } = await pool.runKernel(step.javascript, out, step.buffers.map((node) => values.shared(node)), cells);
      record.pipelineThreads = Math.max(record.pipelineThreads, threads);
      record.javascriptKernels.ran++;
      if (step.javascript.simd !== undefined) record.javascriptKernels.withSimdLoop++;
      if (simd) record.javascriptKernels.ranSimd++;
      // A wrapped layout's last row runs past the tensor's end.
      values.set(step.node, cells === step.node.size ? out : out.subarray(0, step.node.size), true, out);
      if (profile) record.kernel(step.node, stepStart, step.fused, { elements: cells, passes: step.javascript.passes, threads, simd });
      values.release(step);
    }
    record.segment('javascript', start, segment.steps.map((step) => step.node));
    record.executorKind = 'native-pool';
    record.modes.add('javascript');
  },
});
