// neg: -x. VJP: -ct.
import { unaryOp, unaryPrimitive } from './elementwise.ts';

export const negPrimitive = unaryPrimitive('neg', (x) => -x, (ct) => [neg(ct)], (x) => `(-${x})`);
export const neg = unaryOp(negPrimitive);
