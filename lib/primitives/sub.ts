// a - b. VJP: ct and -ct.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { code, withTree } from '../codegen/expression.ts';
import { neg } from './neg.ts';

export const subPrimitive = binaryPrimitive('sub', (a, b) => a - b, (ct) => [ct, neg(ct)], (a, b) => withTree(code`(${a} - ${b})`, { op: '-', a, b }));
export const sub = binaryOp(subPrimitive);
