// a + b. VJP: the cotangent to both.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { code, withTree } from '../codegen/expression.ts';

export const addPrimitive = binaryPrimitive('add', (a, b) => a + b, (ct) => [ct, ct], (a, b) => withTree(code`(${a} + ${b})`, { op: '+', a, b }));
export const add = binaryOp(addPrimitive);
