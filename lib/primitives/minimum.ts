// Elementwise minimum. VJP: the cotangent to the smaller operand, split evenly on ties.
import { binaryOp, binaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';
import { withZero } from './branch-free.ts';
import { tieSplit } from './tie-split.ts';
import { less } from './less.ts';

export const minimumPrimitive = binaryPrimitive(
  'minimum',
  (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  (ct, { inputs: [a, b] }) => tieSplit(ct, less(a, b), a, b),
  (a, b) => withTree(keepsFloat32`Math.min(${a}, ${b})`, { op: 'min', a, b }),
  (a, b) => withTree(withZero('min')(a, b) ?? keepsFloat32`Math.min(${a}, ${b})`, { op: 'min', a, b }),
);
export const minimum = binaryOp(minimumPrimitive);
