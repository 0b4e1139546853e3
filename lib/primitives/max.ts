// max over axes. VJP: the cotangent goes to the elements equal to the maximum, shared equally
// among ties (so the rule is a valid subgradient and symmetric in tied elements).

import { sizeOf } from '../shape.ts';
import type { Primitive, Tensor } from '../tensor.ts';
import { broadcastTo } from './broadcast-to.ts';
import { reshape } from './reshape.ts';
import { reducedShape, reduceEvaluate, type ReduceParams, reductionOp } from './reduction.ts';
import { equal } from './equal.ts';
import { div } from './div.ts';
import { mul } from './mul.ts';
import { sum } from './sum.ts';

export const maxPrimitive: Primitive<ReduceParams> = {
  name: 'max',
  flops: ([x]) => sizeOf(x),
  shape: ([x], params) => reducedShape(x, params),
  evaluate: reduceEvaluate(-Infinity, (a, v) => (v > a || Number.isNaN(v) ? v : a)),
  vjp: (ct, node) => {
    const [x] = node.inputs;
    const kept = reducedShape(x.shape, { ...node.params, keepdims: true });
    const spread = (t: Tensor) => broadcastTo(reshape(t, kept), x.shape);
    const isMax = equal(x, spread(node));
    const ties = sum(isMax, node.params.axes, true);
    return [mul(spread(ct), div(isMax, broadcastTo(ties, x.shape)))];
  },
};

/** Maximum over `axes` (all when omitted); `keepdims` leaves the reduced axes as size 1. */
export const max = reductionOp(maxPrimitive);
