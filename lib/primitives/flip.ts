// flip: reverse the order along axes. VJP: flip the cotangent back.

import { normalizeAxes, type Shape, stridesOf } from '../shape.ts';
import { apply, type Primitive, type Tensor } from '../tensor.ts';
import { stridedView } from './strided-view.ts';

export interface FlipParams {
  readonly axes: readonly number[];
}

export const flipPrimitive: Primitive<FlipParams> = {
  name: 'flip',
  movesDataOnly: true,
  remapsIndexOnly: true,
  // The far end of every flipped axis is where the view starts, walking backwards.
  view: (input, { axes }) => {
    let offset = input.offset;
    const strides = [...input.strides];
    for (const axis of axes) {
      offset += (input.shape[axis] - 1) * strides[axis];
      strides[axis] = -strides[axis];
    }
    return { offset, shape: input.shape, strides };
  },
  shape: ([x]) => x,
  evaluate: ([x], { axes }, shape) => {
    const strides = stridesOf(shape);
    // Start at the far end of every flipped axis and walk backwards.
    const offset = axes.reduce((o, axis) => o + (shape[axis] - 1) * strides[axis], 0);
    return stridedView(x.data, shape, strides.map((s, axis) => (axes.includes(axis) ? -s : s)), offset);
  },
  vjp: (ct, node) => [flip(ct, node.params.axes)],
};

export const flip = <S extends Shape>(x: Tensor<S>, axes: number | readonly number[]): Tensor<S> =>
  apply(flipPrimitive, [x], { axes: normalizeAxes('flip', typeof axes === 'number' ? [axes] : axes, x.rank, x.shape) });
