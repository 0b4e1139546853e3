// Rewrites applied to a traced program before scheduling, each because the rewritten form
// compiles to faster kernels while computing the same numbers.
//
// An operand equal everywhere to its operation's identity leaves the other operand: x * 1 is x
// in float arithmetic, NaN, infinities and -0 included. A gradient starts as ones broadcast to
// the output and multiplied into the first cotangent: without the rewrite that is a pass over the
// whole output, and a native step reading it reads a copy rather than the caller's array.
//
// A kernel rule may put an equivalent graph in its node's place (conv2d pads its input
// explicitly, rules.ts): what the kernels compute, the kernel rules say.

import { type Tensor, Tensor as TensorNode } from '../tensor.ts';
import { postOrder } from '../graph.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { kernelRule } from './rules.ts';

export interface Lowered {
  readonly outputs: Tensor[];
  /** Nodes the rewrite introduced that must get their own buffers. */
  readonly materialize: ReadonlySet<Tensor>;
}

/** The graph with each node replaced by what `replace` makes of it, given its rewritten inputs. */
const rewriteGraph = (outputs: readonly Tensor[], replace: (node: Tensor, inputs: readonly Tensor[]) => Tensor | undefined): Tensor[] => {
  const rewritten = new Map<Tensor, Tensor>();
  for (const node of postOrder(outputs)) {
    const inputs = node.inputs.map((input) => rewritten.get(input)!);
    const rebuilt = inputs.every((input, i) => input === node.inputs[i]) ? node : new TensorNode(node.primitive, inputs, node.params, node.shape);
    rewritten.set(node, replace(node, inputs) ?? rebuilt);
  }
  return outputs.map((output) => rewritten.get(output)!);
};

export const lowerToKernelRules = (outputs: readonly Tensor[]): Lowered => {
  const materialize = new Set<Tensor>();
  const lowered = rewriteGraph(outputs, (node, inputs) => {
    const rule = kernelRule(node);
    const rewritten = rule.kind === 'boundary' ? rule.rewrite?.(node, inputs) : undefined;
    rewritten?.materialize.forEach((n) => materialize.add(n));
    return rewritten?.result;
  });
  return { outputs: lowered, materialize };
};

/** A constant whose every element is `value`, seen through movements that only remap indices. */
const isConstantOf = (node: Tensor, value: number): boolean => {
  if (node.primitive.remapsIndexOnly) return isConstantOf(node.inputs[0] as Tensor, value);
  const data = constantDataOf(node);
  return data !== undefined && Array.prototype.every.call(data, (v: number) => v === value);
};

export const withoutIdentityOperands = (outputs: readonly Tensor[]): Tensor[] =>
  rewriteGraph(outputs, (node, inputs) => {
    const { identity } = node.primitive;
    if (identity === undefined) return undefined;
    const [a, b] = inputs;
    const kept = isConstantOf(b, identity) ? a : isConstantOf(a, identity) ? b : undefined;
    return kept !== undefined && kept.shape.length === node.shape.length && kept.shape.every((d, i) => d === node.shape[i]) ? kept : undefined;
  });
