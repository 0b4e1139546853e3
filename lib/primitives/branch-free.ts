// Branch-free forms of comparisons and of a maximum or minimum with 0 for the native pool's
// JavaScript kernels (`Primitive.javascriptElementwise`). V8 compiles `a == b ? 1 : 0` and
// Math.max to conditional jumps; where the outcome is a coin toss (a ReLU's sign, a max pool's
// tie mask) mispredictions dominate: a max pool's gradient over [256, 32, 32, 32] ran 1.3 times
// faster with the comparisons as `+(a == b)` (a set-on-condition, no jump), and 1.7 times with
// its ReLU as below too.

import { type Expression, keepsFloat32, withTree } from '../codegen/expression.ts';

/** A comparison as 0 or 1 without a jump: the boolean converted to a number. */
export const comparedAsNumber = (operator: '==' | '>' | '<') => (a: Expression, b: Expression): Expression =>
  withTree(operator === '==' ? keepsFloat32`(+(${a} == ${b}))` : operator === '>' ? keepsFloat32`(+(${a} > ${b}))` : keepsFloat32`(+(${a} < ${b}))`, { op: operator, a, b });

const isPositiveZero = (e: Expression): boolean => e.constant !== undefined && Object.is(e.constant, 0);

/**
 * max(x, 0) as (m + |m|) / 2 with m = max(x, -largest float32), and min(x, 0) as (m - |m|) / 2
 * with m = min(x, largest): exactly the same for every float32 x (2x and its half are exact in
 * float64; -0 gives +0 for the maximum and -0 for the minimum, as Math.max and Math.min do; NaN
 * stays NaN; the clamp to the largest float32 keeps an infinity out of the sum), and the clamp's jump is one whose outcome almost never changes. Undefined unless
 * one operand is the literal +0.
 */
export const withZero = (kind: 'max' | 'min') => (a: Expression, b: Expression): Expression | undefined => {
  const x = isPositiveZero(b) ? a : isPositiveZero(a) ? b : undefined;
  if (x === undefined) return undefined;
  const m = kind === 'max' ? keepsFloat32`Math.max(${x}, -3.4028234663852886e+38)` : keepsFloat32`Math.min(${x}, 3.4028234663852886e+38)`;
  return kind === 'max' ? keepsFloat32`((${m} + Math.abs(${m})) * 0.5)` : keepsFloat32`((${m} - Math.abs(${m})) * 0.5)`;
};
