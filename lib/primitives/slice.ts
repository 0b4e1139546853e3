// slice: a strided window, `start` inclusive to `stop` exclusive with a positive `step` on every
// axis (the op resolves negative and missing bounds first, numpy style). VJP: the cotangent
// spread back to the chosen positions (zeros between steps), then padded to the input's size.

import { formatShape, sizeOf, stridesOf } from '../shape.ts';
import { apply, type Primitive, shapeError, type Tensor } from '../tensor.ts';
import { stridedView } from './strided-view.ts';
import { reshape } from './reshape.ts';
import { flip } from './flip.ts';
import { pad } from './pad.ts';

export interface SliceParams {
  readonly starts: readonly number[];
  readonly stops: readonly number[];
  readonly steps: readonly number[];
}

const lengthOf = (start: number, stop: number, step: number): number => Math.max(0, Math.ceil((stop - start) / step));

export const slicePrimitive: Primitive<SliceParams> = {
  name: 'slice',
  movesDataOnly: true,
  remapsIndexOnly: true,
  shape: ([x], { starts, stops, steps }) => {
    const bad = x.findIndex(
      (d, i) => !(steps[i] >= 1 && starts[i] >= 0 && stops[i] <= d && Number.isInteger(starts[i] + stops[i] + steps[i])),
    );
    if (starts.length !== x.length || stops.length !== x.length || steps.length !== x.length || bad >= 0)
      throw shapeError(
        'slice',
        `bounds start [${starts.join(', ')}] stop [${stops.join(', ')}] step [${steps.join(', ')}] do not fit ${formatShape(x)}`,
        [x],
      );
    return x.map((_, i) => lengthOf(starts[i], stops[i], steps[i]));
  },
  evaluate: ([x], { starts, steps }, shape) => {
    const strides = stridesOf(x.shape);
    const offset = starts.reduce((o, s, axis) => o + s * strides[axis], 0);
    return stridedView(x.data, shape, strides.map((s, axis) => s * steps[axis]), offset);
  },
  vjp: (ct, node) => {
    const { starts, steps } = node.params;
    const inputShape = node.inputs[0].shape;
    const spread = steps.reduce<Tensor>((t, step, axis) => dilate(t, axis, step), ct);
    return [pad(spread, inputShape.map((d, axis) => [starts[axis], d - starts[axis] - spread.shape[axis]] as const))];
  },
};

/** One axis's slice, numpy style: negative indices count from the end; step may be negative. */
export interface AxisSlice {
  readonly start?: number;
  readonly stop?: number;
  readonly step?: number;
}

/**
 * `slice(x, [{ start: 1 }, { step: 2 }])`: one entry per leading axis (missing axes are kept
 * whole). A negative step reads backwards: a flip composed with a positive-step slice.
 */
export const slice = (x: Tensor, axes: readonly (AxisSlice | undefined)[]): Tensor => {
  if (axes.length > x.rank)
    throw shapeError('slice', `${axes.length} axis slices given for rank ${x.rank}`, [x.shape]);
  const clamp = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const flipped: number[] = [];
  const starts: number[] = [];
  const stops: number[] = [];
  const steps: number[] = [];
  x.shape.forEach((d, axis) => {
    const { start, stop, step = 1 } = axes[axis] ?? {};
    if (step === 0 || !Number.isInteger(step)) throw shapeError('slice', `step ${step} on axis ${axis}`, [x.shape]);
    if (step > 0) {
      const from = clamp(start ?? 0, d);
      starts.push(from);
      stops.push(Math.max(from, clamp(stop ?? d, d)));
    } else {
      // Python's bounds for a negative step (start defaults to the last element, a stop of -1
      // means "past the first"), then read forwards in the flipped axis: i -> d - 1 - i.
      const resolve = (v: number | undefined, fallback: number) => (v === undefined ? fallback : v < 0 ? Math.max(v + d, -1) : Math.min(v, d - 1));
      flipped.push(axis);
      const from = d - 1 - resolve(start, d - 1);
      starts.push(from);
      stops.push(Math.max(from, d - 1 - resolve(stop, -1)));
    }
    steps.push(Math.abs(step));
  });
  const source = flipped.length > 0 && sizeOf(x.shape) > 0 ? flip(x, flipped) : x;
  const whole = starts.every((s, i) => s === 0 && stops[i] === x.shape[i] && steps[i] === 1);
  return whole ? source : apply(slicePrimitive, [source], { starts, stops, steps });
};

/**
 * dilate: insert `step - 1` zeros between neighbours along one axis ((n - 1) * step + 1 long).
 * The VJP of a strided slice and of a strided convolution both need it; built from reshape, pad
 * and slice, so it differentiates like any other program.
 */
export const dilate = (x: Tensor, axis: number, step: number): Tensor => {
  const n = x.shape[axis];
  if (step === 1 || n === 0) return x;
  const before = x.shape.slice(0, axis);
  const after = x.shape.slice(axis + 1);
  // [..., n, 1, ...] padded to [..., n, step, ...] puts step-1 zeros after every element.
  const spaced = pad(
    reshape(x, [...before, n, 1, ...after]),
    [...before.map(() => [0, 0] as const), [0, 0] as const, [0, step - 1] as const, ...after.map(() => [0, 0] as const)],
  );
  const flat = reshape(spaced, [...before, n * step, ...after]);
  return slice(flat, [...before.map(() => undefined), { stop: (n - 1) * step + 1 }]);
};
