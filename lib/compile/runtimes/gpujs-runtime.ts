// gpu.js pipelines: a run of kernels whose intermediates stay in the backend's memory, its
// inputs handed over in the 3-D layouts the kernels read and its exports read back once. On
// webgpu, a pipeline's failure or an error the device reported while it ran is the call's error,
// naming the kernels. With `profile`, each kernel runs on its own and is timed instead (slower
// in total: each kernel's inputs are copied in and its output read back).

import { Input } from 'gpu.js';
import type { Shape } from '../../shape.ts';
import type { BackendName } from '../backend.ts';
import type { BuiltPipeline } from '../build.ts';
import { type Layout, layoutOf } from '../emitter.ts';
import type { KernelPlan } from '../segments.ts';
import { uncopied } from '../uncopied-arguments.ts';
import { withFlatResults } from '../webasm-flat-results.ts';
import { raisingDeviceErrors } from '../webgpu.ts';
import type { SegmentRuntime } from './runtime.ts';

export const gpujsRuntime = (backend: BackendName, layouts: ReadonlyMap<unknown, Layout>, profile: boolean): SegmentRuntime<BuiltPipeline> => {
  const onDevice = <T>(steps: readonly KernelPlan[], work: () => Promise<T>): Promise<T> =>
    backend === 'webgpu' ? raisingDeviceErrors(kernelNames(steps), work) : work();
  return {
    run: async (segment, values, record) => {
      if (profile) {
        for (const step of segment.steps) {
          const start = performance.now();
          const result = await onDevice([step], async () => step.kernel(...(step.buffers.map((b) => asLayout(values.get(b), b.shape, layouts.get(b))) as [])));
          values.set(step.node, flatten(result, step.node.size).slice());
          record.kernel(step.node, start, step.fused);
          const ran = (step.kernel as unknown as { kernel?: { constructor?: { mode?: string }; fallbackReason?: string } }).kernel;
          record.modes.add(ran?.constructor?.mode as string);
          if (ran?.fallbackReason) record.fallbackReasons.push(ran.fallbackReason);
        }
        values.release(segment);
        return;
      }
      const start = performance.now();
      const results = await onDevice(segment.steps, () =>
        withFlatResults(() => segment.run(...segment.inputs.map((input) => asLayout(values.get(input), input.shape, layouts.get(input))))),
      );
      for (const node of segment.exports) {
        const data = flatten(results[`n${node.id}`], node.size);
        // webasm's flat results are copies gpu.js sliced out of its memory for this call.
        values.set(node, data, backend === 'native' && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength);
      }
      record.segment('pipeline', start, segment.steps.map((step) => step.node));
      record.executorKind = segment.pipeline.executorKind;
      const executor = segment.pipeline.pipeline?._executor;
      record.pipelineThreads = Math.max(record.pipelineThreads, executor && executor.threaded ? (executor._entry?.workerCount ?? 1) : 1);
      record.modes.add(segment.pipeline.backend ?? 'unknown');
      if (segment.pipeline.fallbackReason) record.fallbackReasons.push(segment.pipeline.fallbackReason);
      values.release(segment);
    },
  };
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
