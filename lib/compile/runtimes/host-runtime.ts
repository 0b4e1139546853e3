// Host steps: a primitive whose kernel rule says it cannot run as a kernel (topKIndices sorts
// each row) runs its float64 reference between pipelines, on float32 values in and out. compile
// warns once per primitive when it plans one; the report lists every host step of the call.

import type { Value } from '../../tensor.ts';
import type { HostPlan } from '../segments.ts';
import type { SegmentRuntime } from './runtime.ts';

export const hostRuntime: SegmentRuntime<HostPlan> = {
  run: async (segment, values, record) => {
    const { node } = segment;
    // An empty result needs no work, and is no host step to report.
    if (node.size === 0) {
      values.set(node, new Float32Array(0));
      return;
    }
    record.hostSteps.push(node.primitive.name);
    const inputs: Value[] = node.inputs.map((input) => ({ shape: input.shape, data: Float64Array.from(values.get(input)) }));
    values.set(node, Float32Array.from(node.primitive.evaluate(inputs, node.params, node.shape)));
    values.release(segment);
  },
};
