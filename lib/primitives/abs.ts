// abs. VJP: ct * sign(x), with sign(0) = 0 (a valid subgradient).
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';
import { greater } from './greater.ts';
import { less } from './less.ts';
import { mul } from './mul.ts';
import { sub } from './sub.ts';

export const absPrimitive = unaryPrimitive(
  'abs',
  Math.abs,
  (ct, { inputs: [x] }) => [mul(ct, sub(greater(x, 0), less(x, 0)))],
  (x) => withTree(keepsFloat32`Math.abs(${x})`, { op: 'abs', x }),
);
export const abs = unaryOp(absPrimitive);
