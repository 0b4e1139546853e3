// Recomputing instead of carrying: a buffer that one pipeline computes and a later one reads is
// copied out of the backend's memory and into it again, and on webasm those copies (fresh
// allocations, and the collections they set off) cost more than an elementwise kernel pass over
// the same buffer. So a later pipeline computes such a buffer again itself, from buffers it reads
// anyway: a ReLU's output again from its input, a batch norm's output again from the
// convolution it normalises. The earlier pipeline then no longer exports it, and drops its
// kernel if nothing else there reads it.

import type { Tensor } from '../tensor.ts';
import type { KernelPlan, Segment } from './segments.ts';
import { kernelRule } from './rules.ts';

/** A buffer this much smaller than the one recomputed from it costs little to carry as well. */
const SMALL = 8;

export const recomputeAcrossPipelines = (segments: readonly Segment[], outputs: readonly Tensor[], order: readonly Tensor[]): Segment[] => {
  const position = new Map(order.map((node, i) => [node, i]));
  const producer = new Map<Tensor, { readonly segment: number; readonly kernel: KernelPlan }>();
  segments.forEach((segment, i) => {
    if (segment.kind === 'pipeline') for (const kernel of segment.steps) producer.set(kernel.node, { segment: i, kernel });
  });
  // What must stay a buffer: the caller's results, and what host and native steps read.
  const pinned = new Set<Tensor>(outputs);
  for (const segment of segments) {
    if (segment.kind === 'host') segment.node.inputs.forEach((input) => pinned.add(input));
    if (segment.kind === 'native' || segment.kind === 'tiled') segment.operands.forEach((operand) => pinned.add(operand.base));
  }
  return segments.map((segment, index) => {
    if (segment.kind !== 'pipeline') return segment;
    const steps = [...segment.steps];
    const produced = new Set(steps.map((step) => step.node));
    for (let changed = true; changed; ) {
      changed = false;
      const carried = new Set(steps.flatMap((step) => step.buffers).filter((buffer) => !produced.has(buffer)));
      for (const buffer of carried) {
        const source = producer.get(buffer);
        if (source === undefined || source.segment >= index || pinned.has(buffer) || kernelRule(buffer).kind !== 'fused') continue;
        // Only elementwise work over what is here already: each buffer its kernel reads is made
        // here, carried here anyway, or small beside it.
        if (!source.kernel.buffers.every((read) => produced.has(read) || carried.has(read) || read.size * SMALL <= buffer.size)) continue;
        steps.push(source.kernel);
        produced.add(buffer);
        changed = true;
      }
    }
    steps.sort((a, b) => position.get(a.node)! - position.get(b.node)!);
    return { ...segment, steps };
  });
};
