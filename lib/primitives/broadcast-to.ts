// broadcastTo: stretch size-1 axes and prepend new leading axes (numpy rules).
// Its VJP sums the cotangent back over every axis that was stretched or added.

import { formatShape, type Shape, sameShape, stridesOf } from '../shape.ts';
import { stridedView } from './strided-view.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { reshape } from './reshape.ts';
import { sum } from './sum.ts';

export interface BroadcastParams {
  readonly shape: Shape;
}

/** The axes of `to` that broadcasting `from` stretched or added. */
export const broadcastAxes = (from: Shape, to: Shape): { added: number[]; stretched: number[] } => {
  const lead = to.length - from.length;
  const added = Array.from({ length: lead }, (_, i) => i);
  const stretched = from.flatMap((d, i) => (d === 1 && to[lead + i] !== 1 ? [lead + i] : []));
  return { added, stretched };
};

export const broadcastToPrimitive: Primitive<BroadcastParams> = {
  name: 'broadcastTo',
  movesDataOnly: true,
  remapsIndexOnly: true,
  shape: ([x], { shape }) => {
    const lead = shape.length - x.length;
    if (lead < 0 || x.some((d, i) => d !== 1 && d !== shape[lead + i]))
      throw shapeError('broadcastTo', `cannot broadcast to ${formatShape(shape)}`, [x]);
    return shape;
  },
  evaluate: ([x], _params, shape) => {
    const lead = shape.length - x.shape.length;
    const inner = stridesOf(x.shape);
    // Added and stretched axes read the same element again: stride 0.
    const strides = shape.map((_, axis) => (axis < lead || x.shape[axis - lead] === 1 ? 0 : inner[axis - lead]));
    return stridedView(x.data, shape, strides, 0);
  },
  vjp: (ct, node) => {
    const from = node.inputs[0].shape;
    const { added, stretched } = broadcastAxes(from, node.shape);
    if (added.length === 0 && stretched.length === 0) return [ct];
    return [reshape(sum(ct, [...added, ...stretched]), from)];
  },
};

export const broadcastTo = <const S extends Shape>(x: Tensor, shape: S): Tensor<S> =>
  sameShape(x.shape, shape) ? (x as Tensor<S>) : apply<S, BroadcastParams>(broadcastToPrimitive, [x], { shape: [...shape] });
