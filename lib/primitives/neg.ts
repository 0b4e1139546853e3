// neg: -x. VJP: -ct.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { keepsFloat32 } from '../codegen/expression.ts';

export const negPrimitive = unaryPrimitive('neg', (x) => -x, (ct) => [neg(ct)], (x) => keepsFloat32`(-${x})`);
export const neg = unaryOp(negPrimitive);
