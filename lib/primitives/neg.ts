// neg: -x. VJP: -ct.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';

export const negPrimitive = unaryPrimitive('neg', (x) => -x, (ct) => [neg(ct)], (x) => withTree(keepsFloat32`(-${x})`, { op: 'neg', x }));
export const neg = unaryOp(negPrimitive);
