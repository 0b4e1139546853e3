// argmin and argmax along the last axis as plain graphs of kernel-friendly primitives (a
// reduction, a comparison, a select), so that a compiled evaluation keeps them in its kernels
// instead of stepping out to the host's top-k. Ties go to the lowest position, as topKIndices
// breaks them.

import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { equal } from '../primitives/equal.ts';
import { max } from '../primitives/max.ts';
import { neg } from '../primitives/neg.ts';
import { reshape } from '../primitives/reshape.ts';
import { select } from '../primitives/select.ts';

/** The position of the largest entry of each row of [..., n], as [...] floats; the first on ties. */
export const argmax = (x: Tensor): Tensor => {
  const n = x.shape[x.shape.length - 1];
  const best = max(x, -1, true);
  const positions = reshape(arange(n), [...x.shape.slice(0, -1).map(() => 1), n]);
  // The smallest position that holds the best value: the largest of the negated positions.
  return neg(max(select(equal(x, best), neg(positions), -n), -1));
};

/** The position of the smallest entry of each row, the first on ties. */
export const argmin = (x: Tensor): Tensor => argmax(neg(x));
