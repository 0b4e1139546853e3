// a * b. VJP: the product rule, ct * b and ct * a.
import type { Primitive } from '../tensor.ts';
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { code } from '../codegen/expression.ts';

export const mulPrimitive: Primitive<{}> = {
  ...binaryPrimitive(
    'mul',
    (a, b) => a * b,
    (ct, { inputs: [a, b] }) => [mul(ct, b), mul(ct, a)],
    (a, b) => code`(${a} * ${b})`,
  ),
  identity: 1,
};
export const mul = binaryOp(mulPrimitive);
