// expm1(x) = exp(x) - 1, accurate for tiny x where exp(x) rounds to 1 (tanh needs it near 0).
// Forward: Kahan's trick, (u - 1) * x / log(u) with u = exp(x), which cancels the rounding of u;
// exactly x where u rounds to 1, and -1 where u - 1 does. VJP given directly: ct * exp(x).

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { customVjp } from '../primitives/custom-vjp.ts';
import { div } from '../primitives/div.ts';
import { equal } from '../primitives/equal.ts';
import { exp } from '../primitives/exp.ts';
import { log } from '../primitives/log.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';

const kahanExpm1 = (x: Tensor): Tensor => {
  const u = exp(x);
  const roundsToOne = equal(u, 1);
  const uMinusOne = sub(u, 1);
  // The discarded branches divide by log(1) = 0; select keeps x or -1 there, and the custom VJP never looks.
  const general = div(mul(uMinusOne, x), log(select(roundsToOne, 2, u)));
  return select(roundsToOne, x, select(equal(uMinusOne, -1), -1, general));
};

const expm1Custom = customVjp('expm1', kahanExpm1, (ct, [x]) => [mul(ct, exp(x))]);

export const expm1 = <S extends Shape>(x: Tensor<S>): Tensor<S> => expm1Custom(x) as Tensor<S>;
