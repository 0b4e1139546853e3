// a * b. VJP: the product rule, ct * b and ct * a.
import type { Primitive } from '../tensor.ts';
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { code, withTree } from '../codegen/expression.ts';

export const mulPrimitive: Primitive<{}> = {
  ...binaryPrimitive(
    'mul',
    (a, b) => a * b,
    (ct, { inputs: [a, b] }) => [mul(ct, b), mul(ct, a)],
    (a, b) => withTree(code`(${a} * ${b})`, { op: '*', a, b }),
  ),
  identity: 1,
};
export const mul = binaryOp(mulPrimitive);
