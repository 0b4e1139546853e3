// The VJP shared by maximum and minimum: `wins` is 1 where the first operand was chosen; on a tie
// each operand gets half, which keeps the rule symmetric.
import type { Cotangents, Tensor } from '../tensor.ts';
import { add } from './add.ts';
import { equal } from './equal.ts';
import { mul } from './mul.ts';
import { sub } from './sub.ts';

export const tieSplit = (ct: Tensor, wins: Tensor, a: Tensor, b: Tensor): Cotangents => {
  const share = add(wins, mul(equal(a, b), 0.5));
  return [mul(ct, share), mul(ct, sub(1, share))];
};
