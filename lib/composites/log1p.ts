// log1p(x) = log(1 + x), accurate for tiny x where 1 + x rounds (log(1 - P) in the objectives
// needs it when P is small). Forward: Kahan's trick, log(u) * x / (u - 1) with u = 1 + x, which
// cancels the rounding of u; exactly x where u rounds to 1. Its VJP is given directly,
// ct / (1 + x), through customVjp, because differentiating the trick would be needlessly long.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { customVjp } from '../primitives/custom-vjp.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { equal } from '../primitives/equal.ts';
import { log } from '../primitives/log.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';

const kahanLog1p = (x: Tensor): Tensor => {
  const u = add(x, 1);
  const roundsToOne = equal(u, 1);
  // The discarded branch divides 0 by 0; select keeps x there, and the custom VJP never looks.
  return select(roundsToOne, x, div(mul(log(u), x), select(roundsToOne, 1, sub(u, 1))));
};

const log1pCustom = customVjp('log1p', kahanLog1p, (ct, [x]) => [div(ct, add(x, 1))]);

export const log1p = <S extends Shape>(x: Tensor<S>): Tensor<S> => log1pCustom(x) as Tensor<S>;
