// Evaluate a tree once and keep the values as constants. `init` returns parameters as graphs
// (a random draw is a graph like any other); training and gradient checks want them as data,
// so that every later evaluation starts from the numbers instead of redrawing them.

import { tensor } from '../constants.ts';
import { evaluateNodes } from '../interpret.ts';
import { flattenTree, unflattenTree } from '../tree.ts';

export const materialize = <T>(tree: T): T => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(
    tree,
    evaluateNodes(leaves).map((value) => tensor(value.data, value.shape)),
  );
};
