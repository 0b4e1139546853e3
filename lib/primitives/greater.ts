// a > b as 0 or 1. Piecewise constant: no gradient flows.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';
import { comparedAsNumber } from './branch-free.ts';

export const greaterPrimitive = binaryPrimitive('greater', (a, b) => (a > b ? 1 : 0), () => [null, null], (a, b) => withTree(keepsFloat32`(${a} > ${b} ? 1 : 0)`, { op: '>', a, b }), comparedAsNumber('>'));
export const greater = binaryOp(greaterPrimitive);
