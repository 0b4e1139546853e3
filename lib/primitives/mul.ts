// a * b. VJP: the product rule, ct * b and ct * a.
import { binaryOp, binaryPrimitive } from './elementwise.ts';

export const mulPrimitive = binaryPrimitive(
  'mul',
  (a, b) => a * b,
  (ct, { inputs: [a, b] }) => [mul(ct, b), mul(ct, a)],
  (a, b) => `(${a} * ${b})`,
);
export const mul = binaryOp(mulPrimitive);
