// sqrt. VJP: ct / (2 sqrt(x)), reusing the node's own output.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { code, withTree } from '../codegen/expression.ts';
import { div } from './div.ts';
import { mul } from './mul.ts';

export const sqrtPrimitive = unaryPrimitive('sqrt', Math.sqrt, (ct, node) => [div(ct, mul(node, 2))], (x) => withTree(code`Math.sqrt(${x})`, { op: 'sqrt', x }));
export const sqrt = unaryOp(sqrtPrimitive);
