// a < b as 0 or 1. Piecewise constant: no gradient flows.
import { binaryOp, binaryPrimitive } from './elementwise.ts';

export const lessPrimitive = binaryPrimitive('less', (a, b) => (a < b ? 1 : 0), () => [null, null], (a, b) => `(${a} < ${b} ? 1 : 0)`);
export const less = binaryOp(lessPrimitive);
