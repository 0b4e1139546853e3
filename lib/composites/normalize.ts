// L2 normalisation along an axis: x / sqrt(max(|x|^2, eps^2)). The clamp sits inside the square
// root so that sqrt never sees 0: its VJP divides by its output, and 0/0 would poison the
// gradient of a zero row.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { div } from '../primitives/div.ts';
import { maximum } from '../primitives/maximum.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { sum } from '../primitives/sum.ts';
import { square } from './activations.ts';

export const l2Normalize = <S extends Shape>(x: Tensor<S>, axis = -1, epsilon = 1e-12): Tensor<S> =>
  div(x as Tensor, sqrt(maximum(sum(square(x as Tensor), axis, true), epsilon * epsilon))) as Tensor<S>;
