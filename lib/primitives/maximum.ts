// Elementwise maximum. VJP: the cotangent to the larger operand, split evenly on ties.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';
import { withZero } from './branch-free.ts';
import { tieSplit } from './tie-split.ts';
import { greater } from './greater.ts';

export const maximumPrimitive = binaryPrimitive(
  'maximum',
  (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  (ct, { inputs: [a, b] }) => tieSplit(ct, greater(a, b), a, b),
  (a, b) => withTree(keepsFloat32`Math.max(${a}, ${b})`, { op: 'max', a, b }),
  (a, b) => withTree(withZero('max')(a, b) ?? keepsFloat32`Math.max(${a}, ${b})`, { op: 'max', a, b }),
);
export const maximum = binaryOp(maximumPrimitive);
