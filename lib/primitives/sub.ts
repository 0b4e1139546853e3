// a - b. VJP: ct and -ct.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { code } from '../codegen/expression.ts';
import { neg } from './neg.ts';

export const subPrimitive = binaryPrimitive('sub', (a, b) => a - b, (ct) => [ct, neg(ct)], (a, b) => code`(${a} - ${b})`);
export const sub = binaryOp(subPrimitive);
