// sum over axes. VJP: the cotangent broadcast back over the reduced axes.

import { sizeOf } from '../shape.ts';
import type { Primitive, Tensor } from '../tensor.ts';
import { broadcastTo } from './broadcast-to.ts';
import { reshape } from './reshape.ts';
import { reducedShape, reduceEvaluate, type ReduceParams, reductionOp } from './reduction.ts';

export const sumPrimitive: Primitive<ReduceParams> = {
  name: 'sum',
  flops: ([x]) => sizeOf(x),
  shape: ([x], params) => reducedShape(x, params),
  evaluate: reduceEvaluate(0, (a, v) => a + v),
  vjp: (ct, node) => {
    const { shape } = node.inputs[0];
    return [broadcastTo(reshape(ct, reducedShape(shape, { ...node.params, keepdims: true })), shape)];
  },
};

/** Sum over `axes` (all when omitted); `keepdims` leaves the reduced axes as size 1. */
export const sum = reductionOp(sumPrimitive);
