// a / b. VJP: ct / b and -ct * (a / b) / b, reusing the node's own output a / b.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { quotient } from '../codegen/expression.ts';
import { mul } from './mul.ts';
import { neg } from './neg.ts';

export const divPrimitive = binaryPrimitive(
  'div',
  (a, b) => a / b,
  (ct, node) => {
    const [, b] = node.inputs;
    return [div(ct, b), neg(div(mul(ct, node), b))];
  },
  quotient,
);
export const div = binaryOp(divPrimitive);
