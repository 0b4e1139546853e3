// Activations, written in their numerically stable forms: every exponential sees a non-positive
// argument, so nothing overflows and no branch that a select discards can poison a gradient.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { abs } from '../primitives/abs.ts';
import { add } from '../primitives/add.ts';
import { exp } from '../primitives/exp.ts';
import { maximum } from '../primitives/maximum.ts';
import { mul } from '../primitives/mul.ts';
import { neg } from '../primitives/neg.ts';
import { sub } from '../primitives/sub.ts';
import { log1p } from './log1p.ts';
import { expm1 } from './expm1.ts';
import { customVjp } from '../primitives/custom-vjp.ts';
import { div } from '../primitives/div.ts';
import { less } from '../primitives/less.ts';
import { select } from '../primitives/select.ts';

// Generic code widens to `Tensor` before calling broadcasting operations: their shape checks
// cannot be decided for an unknown `S`, and the result keeps `x`'s shape anyway.

export const relu = <S extends Shape>(x: Tensor<S>): Tensor<S> => maximum(x as Tensor, 0) as Tensor<S>;

/** log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)). */
export const softplus = <S extends Shape>(x: Tensor<S>): Tensor<S> => add(maximum(x as Tensor, 0), log1p(exp(neg(abs(x as Tensor))))) as Tensor<S>;

/** 1 / (1 + exp(-x)) = exp(-softplus(-x)), finite for every finite x. */
export const sigmoid = <S extends Shape>(x: Tensor<S>): Tensor<S> => exp(neg(softplus(neg(x))));

/** log(sigmoid(x)) = -softplus(-x). */
export const logSigmoid = <S extends Shape>(x: Tensor<S>): Tensor<S> => neg(softplus(neg(x)));

/**
 * tanh(x) = sign(x) * -expm1(-2|x|) / (2 + expm1(-2|x|)): no overflow, and full relative precision
 * near 0 where 2 sigmoid(2x) - 1 would cancel. The VJP, 1 - tanh^2, is given directly so the
 * sign's kink at 0 does not zero the gradient there.
 */
const tanhCustom = customVjp(
  'tanh',
  (x: Tensor) => {
    const e = expm1(mul(abs(x), -2));
    const magnitude = div(neg(e), add(e, 2));
    return select(less(x, 0), neg(magnitude), magnitude);
  },
  (ct, _x, y) => [mul(ct, sub(1, mul(y, y)))],
);

export const tanh = <S extends Shape>(x: Tensor<S>): Tensor<S> => tanhCustom(x as Tensor) as Tensor<S>;

export const square = <S extends Shape>(x: Tensor<S>): Tensor<S> => mul(x as Tensor, x as Tensor) as Tensor<S>;
