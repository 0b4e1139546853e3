// exp. VJP: ct * exp(x), reusing the node's own output.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { code } from '../codegen/expression.ts';
import { mul } from './mul.ts';

export const expPrimitive = unaryPrimitive('exp', Math.exp, (ct, node) => [mul(ct, node)], (x) => code`Math.exp(${x})`);
export const exp = unaryOp(expPrimitive);
