// gradientProperty: checkGrad as a fast-check property, so an objective is checked over random
// inputs and a failure shrinks to a minimal counterexample whose report names the input, the
// element and both values.

import fc from 'fast-check';
import type { Tensor } from '../tensor.ts';
import { checkGrad, type CheckGradOptions, formatGradCheckFailure } from './check-grad.ts';

export const gradientProperty = <T,>(
  f: (inputs: T) => Tensor,
  arbitrary: fc.Arbitrary<T>,
  options: CheckGradOptions = {},
): fc.IPropertyWithHooks<[T]> =>
  fc.property(arbitrary, (inputs) => {
    const result = checkGrad(f, inputs, options);
    if (result._tag === 'Left') throw new Error(formatGradCheckFailure(result.left));
  });
