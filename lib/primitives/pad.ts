// pad: widen every axis by `[before, after]` elements of a constant value. VJP: the cotangent's
// interior, a slice.

import { formatShape, type Shape, stridesOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { slicePrimitive } from './slice.ts';
import { walkStrided } from './strided-view.ts';

export type PadWidths = readonly (readonly [number, number])[];

export interface PadParams {
  readonly widths: PadWidths;
  readonly value: number;
}

export const padPrimitive: Primitive<PadParams> = {
  name: 'pad',
  movesDataOnly: true,
  shape: ([x], { widths }) => {
    if (widths.length !== x.length || widths.some(([b, a]) => !(Number.isInteger(b) && Number.isInteger(a) && b >= 0 && a >= 0)))
      throw shapeError('pad', `widths ${JSON.stringify(widths)} need one non-negative [before, after] pair per axis of ${formatShape(x)}`, [x]);
    return x.map((d, i) => d + widths[i][0] + widths[i][1]);
  },
  evaluate: ([x], { widths, value }, shape) => {
    const out = new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value);
    const outStrides = stridesOf(shape);
    const origin = widths.reduce((o, [before], axis) => o + before * outStrides[axis], 0);
    walkStrided(x.shape, outStrides, origin, (i, target) => (out[target] = x.data[i]));
    return out;
  },
  vjp: (ct, node) => {
    const { widths } = node.params;
    const inputShape = node.inputs[0].shape;
    return [
      apply(slicePrimitive, [ct], {
        starts: widths.map(([before]) => before),
        stops: widths.map(([before], axis) => before + inputShape[axis]),
        steps: widths.map(() => 1),
      }),
    ];
  },
};

export const pad = <S extends Shape>(x: Tensor<S>, widths: PadWidths, value = 0): Tensor<Shape> =>
  widths.every(([b, a]) => b === 0 && a === 0) && widths.length === x.rank
    ? x
    : apply(padPrimitive, [x], { widths: widths.map(([b, a]) => [b, a] as const), value });
