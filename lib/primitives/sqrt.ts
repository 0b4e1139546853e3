// sqrt. VJP: ct / (2 sqrt(x)), reusing the node's own output.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { code } from '../codegen/expression.ts';
import { div } from './div.ts';
import { mul } from './mul.ts';

export const sqrtPrimitive = unaryPrimitive('sqrt', Math.sqrt, (ct, node) => [div(ct, mul(node, 2))], (x) => code`Math.sqrt(${x})`);
export const sqrt = unaryOp(sqrtPrimitive);
