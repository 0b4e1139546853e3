// The float64 reference evaluator: the specification every compiled backend is tested against
// and the oracle of the finite-difference checks. Plain loops (in each primitive's `evaluate`),
// deterministic, no cleverness.

import { formatShape, sizeOf } from './shape.ts';
import type { Tensor, Value } from './tensor.ts';
import { flattenTree, type MapLeaves, unflattenTree } from './tree.ts';
import { postOrder } from './graph.ts';

export interface InterpretOptions {
  /** Values to use instead of evaluating these nodes (the finite-difference checks perturb leaves this way). */
  readonly bindings?: ReadonlyMap<Tensor, Float64Array>;
}

/** Evaluates the given nodes, sharing work between them; returns values in the same order. */
export const evaluateNodes = (roots: readonly Tensor[], options: InterpretOptions = {}): Value[] => {
  const values = new Map<Tensor, Value>();
  for (const [node, data] of options.bindings ?? []) {
    if (data.length !== sizeOf(node.shape))
      throw new Error(`interpret: a binding for ${node} has ${data.length} values, not ${sizeOf(node.shape)}`);
    values.set(node, { shape: node.shape, data });
  }
  for (const node of postOrder(roots, { stopAt: (node) => values.has(node) })) {
    if (values.has(node)) continue;
    const data = node.primitive.evaluate(
      node.inputs.map((input) => values.get(input)!),
      node.params,
      node.shape,
    );
    if (data.length !== sizeOf(node.shape))
      throw new Error(`interpret: ${node.primitive.name} produced ${data.length} values for shape ${formatShape(node.shape)}`);
    values.set(node, { shape: node.shape, data });
  }
  return roots.map((root) => values.get(root)!);
};

/** `interpret(tree)`: the same tree with every tensor replaced by its `{ shape, data }` value. */
export const interpret = <T>(tree: T, options: InterpretOptions = {}): MapLeaves<T, Value> => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(tree, evaluateNodes(leaves, options));
};

/** The single number of a one-element tensor. */
export const interpretScalar = (x: Tensor, options: InterpretOptions = {}): number => {
  if (x.size !== 1) throw new Error(`interpretScalar: shape ${formatShape(x.shape)} holds ${x.size} numbers, not one`);
  return evaluateNodes([x], options)[0].data[0];
};
