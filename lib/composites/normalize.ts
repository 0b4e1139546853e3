// L2 normalisation along an axis: x / max(|x|, eps), so a zero row stays finite.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { div } from '../primitives/div.ts';
import { maximum } from '../primitives/maximum.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { sum } from '../primitives/sum.ts';
import { square } from './activations.ts';

export const l2Normalize = <S extends Shape>(x: Tensor<S>, axis = -1, epsilon = 1e-12): Tensor<S> =>
  div(x as Tensor, maximum(sqrt(sum(square(x as Tensor), axis, true)), epsilon)) as Tensor<S>;
