// Counting work and size. `countFlops` walks a traced graph (nothing is evaluated) and adds
// each node's floating-point operations, counting a multiply-add as two, as papers quote
// FLOPs. Only nodes that depend on the given inputs count, so parameter initialisation and
// other constant work stay out of a forward pass's figure.

import { sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { postOrder } from '../graph.ts';
import { flattenTree } from '../tree.ts';
import { tensor } from '../constants.ts';
import { key } from '../random/key.ts';
import type { Encoder } from './encoder.ts';

/** The FLOPs of one node, as its primitive counts them given its input shapes. */
const flopsOf = ({ primitive, inputs, params, shape }: Tensor): number =>
  primitive.flops?.(inputs.map((input) => input.shape), params, shape) ?? (primitive.movesDataOnly ? 0 : sizeOf(shape));

/** The FLOPs to compute `outputs` from `inputs` (all reachable nodes when no inputs are named). */
export const countFlops = (outputs: unknown, inputs?: readonly Tensor[]): number => {
  const roots = flattenTree(outputs).leaves;
  const from = inputs === undefined ? undefined : new Set<Tensor>(inputs);
  const dependsOnInput = new Set<Tensor>();
  let total = 0;
  for (const node of postOrder(roots)) {
    if (from !== undefined && !from.has(node) && !node.inputs.some((input) => dependsOnInput.has(input))) continue;
    dependsOnInput.add(node);
    if (!from?.has(node)) total += flopsOf(node);
  }
  return total;
};

/** The number of values in a tree of tensors (the parameter count of a parameter tree). */
export const countParameters = (tree: unknown): number => flattenTree(tree).leaves.reduce((n, leaf) => n + leaf.size, 0);

/**
 * The FLOPs of one image's forward pass through an encoder in evaluation mode, from a traced
 * graph (parameters are drawn as graphs and never evaluated, so even ResNet18 counts at once).
 */
export const encoderFlopsPerImage = (
  encoder: Encoder<any, any>,
  imageShape: readonly [number, number, number] = [3, 32, 32],
): number => {
  const { params, state } = encoder.init(key(0));
  const image = tensor(new Float64Array(sizeOf(imageShape)), [1, ...imageShape] as const);
  return countFlops(encoder.apply(params, state, image, { training: false }).features, [image]);
};
