// stopGradient: the identity in value, a constant to differentiation.
import { unaryOp, unaryPrimitive } from './elementwise.ts';

import type { Primitive, Tensor } from '../tensor.ts';

export const stopGradientPrimitive: Primitive<{}> = {
  ...unaryPrimitive('stopGradient', (x) => x, () => [null], (x) => x),
  movesDataOnly: true,
  remapsIndexOnly: true,
};
export const stopGradient = unaryOp(stopGradientPrimitive);

/** Whether a node is a stopGradient: what a finite-difference check holds fixed. */
export const isStopGradient = (node: Tensor): boolean => node.primitive === stopGradientPrimitive;
