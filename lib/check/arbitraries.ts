// fast-check arbitraries for tensors: shapes, broadcast-compatible shape pairs, and values kept
// away from kinks and poles (the finite differences of |x| near 0, or of log near 0, are wrong,
// not the gradient).

import fc from 'fast-check';
import type { Shape } from '../shape.ts';
import { tensor } from '../constants.ts';
import type { Tensor } from '../tensor.ts';

export interface ShapeOptions {
  readonly minRank?: number;
  readonly maxRank?: number;
  readonly minDim?: number;
  readonly maxDim?: number;
}

export const shapeArbitrary = ({ minRank = 0, maxRank = 3, minDim = 1, maxDim = 4 }: ShapeOptions = {}): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** A shape and a second one that broadcasts against it: leading axes dropped, some sizes set to 1. */
export const broadcastPairArbitrary = (options: ShapeOptions = {}): fc.Arbitrary<[number[], number[]]> =>
  shapeArbitrary(options).chain((shape) =>
    fc
      .tuple(
        fc.integer({ min: 0, max: shape.length }),
        fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
        fc.boolean(),
      )
      .map(([drop, ones, swap]) => {
        const other = shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
        return (swap ? [other, shape] : [shape, other]) as [number[], number[]];
      }),
  );

export interface ValueOptions {
  readonly min?: number;
  readonly max?: number;
  /** Points to stay away from (kinks, poles), by at least `margin`. */
  readonly avoid?: readonly number[];
  readonly margin?: number;
  /**
   * Keep every pair of values at least this far apart (kinks of max and max pooling sit on
   * ties). Values are pushed upwards in sorted order, so they may exceed `max` slightly.
   */
  readonly distinct?: number;
  /**
   * Put every value on a lattice cell: floor(v) + offset + 0.1 * frac(v). Two operands with
   * offsets 0.2 and 0.6 can never tie (the kink of an elementwise maximum or minimum).
   */
  readonly lattice?: number;
}

/** Moves a value out of the `margin` neighbourhood of every avoided point, within [min, max]. */
const pushAway = (v: number, { min = -2, max = 2, avoid = [], margin = 0.05 }: ValueOptions): number => {
  for (const point of avoid)
    if (Math.abs(v - point) < margin) {
      const up = point + margin;
      v = up <= max ? up : point - margin;
    }
  return v;
};

const spreadApart = (values: number[], gap: number): number[] => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = [...values];
  let previous = -Infinity;
  for (const [v, i] of order) {
    previous = Math.max(v, previous + gap);
    out[i] = previous;
  }
  return out;
};

const onLattice = (v: number, offset: number): number => Math.floor(v) + offset + 0.1 * (v - Math.floor(v));

export const valuesArbitrary = (count: number, options: ValueOptions = {}): fc.Arbitrary<number[]> => {
  const { min = -2, max = 2, distinct, lattice } = options;
  return fc
    .array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: count, maxLength: count })
    .map((values) => {
      const placed = values.map((v) => (lattice === undefined ? pushAway(v, options) : onLattice(v, lattice)));
      return distinct === undefined ? placed : spreadApart(placed, distinct);
    });
};

/** A constant tensor of the given shape with values from `valuesArbitrary`. */
export const tensorArbitrary = <const S extends Shape>(shape: S, options: ValueOptions = {}): fc.Arbitrary<Tensor<S>> =>
  valuesArbitrary(shape.reduce((a, b) => a * b, 1), options).map((values) => tensor(values, shape));

/** A tensor of a random shape. */
export const anyTensorArbitrary = (shape: ShapeOptions = {}, values: ValueOptions = {}): fc.Arbitrary<Tensor> =>
  shapeArbitrary(shape).chain((s) => tensorArbitrary(s, values));

/**
 * L2-normalised rows: `rows` points on the unit sphere in `dimension` dimensions. A row too close
 * to zero to normalise is replaced by a basis vector rather than rejected, so that no draw is
 * thrown away (rejecting a whole batch for one small row made large batches very slow to draw).
 */
export const unitRowsArbitrary = (rows: number, dimension: number): fc.Arbitrary<Tensor<[number, number]>> =>
  valuesArbitrary(rows * dimension, { min: -1, max: 1 }).map((values) => {
    const out = [...values];
    for (let r = 0; r < rows; r++) {
      const row = out.slice(r * dimension, (r + 1) * dimension);
      const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      for (let c = 0; c < dimension; c++) out[r * dimension + c] = norm < 1e-3 ? (c === r % dimension ? 1 : 0) : row[c] / norm;
    }
    return tensor(out, [rows, dimension]);
  });
