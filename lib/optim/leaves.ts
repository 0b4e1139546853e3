// Leaf-by-leaf arithmetic over trees of the same structure (parameters, gradients, optimiser
// slots), so an update rule is written once for one tensor.

import { formatShape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { flattenTree, type TensorTree, unflattenTree } from '../tree.ts';

/** Throws unless `tree` has the leaves (paths and shapes) of `params`, naming what differs. */
export const checkSameLeaves = (where: string, params: TensorTree, tree: TensorTree, name: string): Tensor[] => {
  const expected = flattenTree(params);
  const { leaves, paths } = flattenTree(tree);
  if (paths.length !== expected.paths.length || paths.some((path, i) => path !== expected.paths[i]))
    throw new Error(`${where}: the ${name} have leaves [${paths.join(', ')}], not those of the parameters [${expected.paths.join(', ')}]`);
  leaves.forEach((leaf, i) => {
    if (formatShape(leaf.shape) !== formatShape(expected.leaves[i].shape))
      throw new Error(`${where}: ${paths[i]} has shape ${formatShape(leaf.shape)} in the ${name} but ${formatShape(expected.leaves[i].shape)} in the parameters`);
  });
  return leaves;
};

/** `f` applied to corresponding leaves of `trees`; the result has the first tree's structure. */
export const zipLeaves = <T extends TensorTree>(where: string, f: (...leaves: Tensor[]) => Tensor, first: T, ...others: readonly TensorTree[]): T => {
  const firstLeaves = flattenTree(first).leaves;
  const otherLeaves = others.map((tree, k) => checkSameLeaves(where, first, tree, `tree ${k + 2}`));
  return unflattenTree(first, firstLeaves.map((leaf, i) => f(leaf, ...otherLeaves.map((leaves) => leaves[i]))));
};
