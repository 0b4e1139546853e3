// a + b. VJP: the cotangent to both.
import { binaryOp, binaryPrimitive } from './elementwise.ts';

export const addPrimitive = binaryPrimitive('add', (a, b) => a + b, (ct) => [ct, ct], (a, b) => `(${a} + ${b})`);
export const add = binaryOp(addPrimitive);
