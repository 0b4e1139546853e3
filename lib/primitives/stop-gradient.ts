// stopGradient: the identity in value, a constant to differentiation.
import { unaryOp, unaryPrimitive } from './elementwise.ts';

export const stopGradientPrimitive = unaryPrimitive('stopGradient', (x) => x, () => [null], (x) => x);
export const stopGradient = unaryOp(stopGradientPrimitive);
