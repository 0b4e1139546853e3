// Natural log. VJP: ct / x.
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { code } from '../codegen/expression.ts';
import { div } from './div.ts';

export const logPrimitive = unaryPrimitive('log', Math.log, (ct, node) => [div(ct, node.inputs[0])], (x) => code`Math.log(${x})`);
export const log = unaryOp(logPrimitive);
