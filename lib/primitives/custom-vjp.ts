// customVjp: give a composite its own reverse rule (for numerical stability, or a cheaper
// formula). The node's inputs are the primals followed by the composite's traced output; its
// value is that output, and its VJP is the user's rule for the primals and nothing for the
// output, so differentiation never walks into the composite's inside.

import type { Shape } from '../shape.ts';
import { apply, type Cotangents, type Primitive, shapeError, type Tensor } from '../tensor.ts';

export interface CustomVjpParams {
  readonly name: string;
  readonly rule: (cotangent: Tensor, primals: readonly Tensor[], output: Tensor) => Cotangents;
}

export const customVjpPrimitive: Primitive<CustomVjpParams> = {
  name: 'customVjp',
  movesDataOnly: true,
  valueInputs: (inputs) => inputs.slice(-1),
  shape: (inputs) => inputs[inputs.length - 1],
  evaluate: (inputs) => inputs[inputs.length - 1].data,
  vjp: (ct, node) => {
    const primals = node.inputs.slice(0, -1);
    const cotangents = node.params.rule(ct, primals, node.inputs[node.inputs.length - 1]);
    if (cotangents.length !== primals.length)
      throw shapeError(`customVjp(${node.params.name})`, `the rule returned ${cotangents.length} cotangents for ${primals.length} inputs`, primals.map((p) => p.shape));
    return [...cotangents, null];
  },
  elementwise: (args) => args[args.length - 1],
};

/**
 * `customVjp(name, forward, rule)`: a function that computes `forward(...args)` but whose gradient
 * is `rule(cotangent, args, output)`: one cotangent (or null) per argument, built from primitives.
 */
export const customVjp =
  <Args extends Tensor[], S extends Shape>(
    name: string,
    forward: (...args: Args) => Tensor<S>,
    rule: (cotangent: Tensor<S>, args: Args, output: Tensor<S>) => Cotangents,
  ) =>
  (...args: Args): Tensor<S> =>
    apply<S, CustomVjpParams>(customVjpPrimitive, [...args, forward(...args)], {
      name,
      rule: rule as CustomVjpParams['rule'],
    });
