// Rewrites applied to a traced program before scheduling, each because the rewritten form
// compiles to faster kernels while computing the same numbers.
//
// A product with ones is its other factor (x * 1 is x in float arithmetic, NaN, infinities and
// -0 included). A gradient starts as ones broadcast to the output and multiplied into the first
// cotangent: without the rewrite that is a pass over the whole output, and a native step
// reading it reads a copy rather than the caller's array.
//
// A padded convolution becomes a convolution of an explicitly padded input. The padded copy
// gets its own buffer, so the convolution's inner loop reads without the bounds checks and
// clamped indices that every tap of a padded read needs (they cost more than the multiply-add).

import { type Tensor, Tensor as TensorNode } from '../tensor.ts';
import { apply } from '../tensor.ts';
import { pad } from '../primitives/pad.ts';
import { type Conv2dParams, conv2dPrimitive } from '../primitives/conv2d.ts';
import { postOrder } from '../graph.ts';
import { mulPrimitive } from '../primitives/mul.ts';
import type { ConstantParams } from '../primitives/constant.ts';

export interface Lowered {
  readonly outputs: Tensor[];
  /** Nodes the rewrite introduced that must get their own buffers. */
  readonly materialise: ReadonlySet<Tensor>;
}

const isPaddedConvolution = (node: Tensor): boolean =>
  node.primitive === conv2dPrimitive && (node.params as Conv2dParams).padding.flat().some((p) => p > 0);

export const lowerPaddedConvolutions = (outputs: readonly Tensor[]): Lowered => {
  const rewritten = new Map<Tensor, Tensor>();
  const materialise = new Set<Tensor>();
  for (const node of postOrder(outputs)) {
    const inputs = node.inputs.map((input) => rewritten.get(input)!);
    let result: Tensor = inputs.every((input, i) => input === node.inputs[i]) ? node : new TensorNode(node.primitive, inputs, node.params, node.shape);
    if (isPaddedConvolution(node)) {
      const params = node.params as Conv2dParams;
      const padded = pad(inputs[0], [[0, 0], [0, 0], params.padding[0], params.padding[1]]);
      materialise.add(padded);
      result = apply(conv2dPrimitive, [padded, inputs[1]], { ...params, padding: [[0, 0], [0, 0]] });
    }
    rewritten.set(node, result);
  }
  return { outputs: outputs.map((output) => rewritten.get(output)!), materialise };
};

/** A constant of ones, seen through broadcasts and reshapes. */
const isOnes = (node: Tensor): boolean => {
  if (node.primitive.name === 'broadcastTo' || node.primitive.name === 'reshape') return isOnes(node.inputs[0] as Tensor);
  return node.primitive.name === 'constant' && Array.prototype.every.call((node.params as ConstantParams).data, (v: number) => v === 1);
};

export const withoutProductsWithOnes = (outputs: readonly Tensor[]): Tensor[] => {
  const rewritten = new Map<Tensor, Tensor>();
  for (const node of postOrder(outputs)) {
    const inputs = node.inputs.map((input) => rewritten.get(input)!);
    let result: Tensor = inputs.every((input, i) => input === node.inputs[i]) ? node : new TensorNode(node.primitive, inputs, node.params, node.shape);
    if (node.primitive === mulPrimitive) {
      const [a, b] = inputs;
      const kept = isOnes(b) ? a : isOnes(a) ? b : undefined;
      if (kept !== undefined && kept.shape.length === node.shape.length && kept.shape.every((d, i) => d === node.shape[i])) result = kept;
    }
    rewritten.set(node, result);
  }
  return outputs.map((output) => rewritten.get(output)!);
};
