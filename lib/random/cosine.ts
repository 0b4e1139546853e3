// cos(2 pi t) from primitives, for Box-Muller: the language has no trigonometric primitive.
// Range reduction by symmetry to an angle in [0, pi/2], then the Taylor series of cos to the
// x^20 term there (truncation error below 2e-17, under float64's rounding).

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { abs } from '../primitives/abs.ts';
import { add } from '../primitives/add.ts';
import { floor } from '../primitives/floor.ts';
import { greater } from '../primitives/greater.ts';
import { minimum } from '../primitives/minimum.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';

const TAYLOR_TERMS = 11;

/** cos(x) for x in [0, pi/2]: sum over k of (-1)^k x^(2k) / (2k)!, by Horner's rule in x^2. */
const cosineNearZero = (x: Tensor): Tensor => {
  const x2 = mul(x, x);
  let coefficient = 1;
  const coefficients = [1];
  for (let k = 1; k < TAYLOR_TERMS; k++) coefficients.push((coefficient /= -((2 * k - 1) * (2 * k))));
  let total: Tensor = mul(x2, coefficients[TAYLOR_TERMS - 1]);
  for (let k = TAYLOR_TERMS - 2; k >= 1; k--) total = mul(x2, add(total, coefficients[k]));
  return add(total, 1);
};

/** cos(2 pi t) for any t (in turns). */
export const cosineOfTurns = <S extends Shape>(t: Tensor<S>): Tensor<S> => {
  const fraction = sub(t as Tensor, floor(t as Tensor)); // cos has period 1 in turns
  const fromHalf = abs(sub(fraction, 0.5)); // cos(2 pi f) = -cos(2 pi |f - 1/2|), |f - 1/2| in [0, 1/2]
  const folded = minimum(fromHalf, sub(0.5, fromHalf)); // cos(2 pi w) = -cos(2 pi (1/2 - w)), into [0, 1/4]
  const magnitude = cosineNearZero(mul(folded, 2 * Math.PI));
  return select(greater(fromHalf, 0.25), magnitude, mul(magnitude, -1)) as Tensor<S>;
};
