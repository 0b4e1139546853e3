// Gradient cases with ties planted, for every primitive whose VJP has a tie rule. The cases of
// gradient-cases.ts keep values apart (finite differences are wrong across a kink), so without
// these no test ever meets a tie and any tie rule passes. At a two-way tie the central difference
// is the even split: raising one of two tied maxima by h raises the maximum by h, lowering it by
// h leaves the other one, so the slope is 1/2 (and |x| at 0 has slope 0). A rule that gives all
// of the cotangent to each tied value, or 1 to one and 1/2 to the other, fails the same gradient
// property. Three or more tied values are left out on purpose: there the central difference is
// still 1/2, not 1/k, so props/ties.test.ts states the rule for them instead.

import fc from 'fast-check';
import { abs, maximum, maxPool2d, max, minimum, sizeOf, tensor, type Tensor } from '../lib/index.ts';
import { broadcastShapes, stridesOf } from '../lib/shape.ts';
import { broadcastPairArbitrary, shapeArbitrary, valuesArbitrary } from '../lib/check/index.ts';
import { type GradientCase, type PoolParameters, poolParametersArbitrary } from './gradient-cases.ts';

/** The primitives whose VJP decides how a cotangent is shared among tied values. */
export const primitivesWithTieRules = ['max', 'maximum', 'minimum', 'pool2d', 'abs'] as const;

type Windows = readonly (readonly number[])[];

/** The flat indices of x that meet in each output of a reduction over `axes`. */
export const reductionWindows = (shape: readonly number[], axes: readonly number[]): number[][] => {
  const kept = shape.map((d, axis) => (axes.includes(axis) ? 1 : d));
  const keptStrides = stridesOf(kept);
  const strides = stridesOf(shape);
  const windows: number[][] = Array.from({ length: sizeOf(kept) }, () => []);
  for (let i = 0; i < sizeOf(shape); i++) {
    const target = shape.reduce((t, d, axis) => t + (axes.includes(axis) ? 0 : (Math.floor(i / strides[axis]) % d) * keptStrides[axis]), 0);
    windows[target].push(i);
  }
  return windows;
};

/** The flat indices of an [n, c, h, w] input under each pooling window, padded positions left out. */
export const poolWindows = (n: number, { c, h, w, window, stride, padding }: PoolParameters): number[][] => {
  const size = (axis: 0 | 1, extent: number) => Math.floor((extent + 2 * padding[axis] - window[axis]) / stride[axis]) + 1;
  const windows: number[][] = [];
  for (let plane = 0; plane < n * c; plane++)
    for (let i = 0; i < size(0, h); i++)
      for (let j = 0; j < size(1, w); j++) {
        const taps: number[] = [];
        for (let p = 0; p < window[0]; p++)
          for (let q = 0; q < window[1]; q++) {
            const [row, column] = [i * stride[0] + p - padding[0], j * stride[1] + q - padding[1]];
            if (row >= 0 && row < h && column >= 0 && column < w) taps.push((plane * h + row) * w + column);
          }
        windows.push(taps);
      }
  return windows;
};

const tiedAtMaximum = (values: readonly number[], window: readonly number[]): number => {
  const top = Math.max(...window.map((i) => values[i]));
  return window.filter((i) => values[i] === top).length;
};

/**
 * Raises the runner-up of each chosen window to the window's maximum: a two-way tie at the
 * maximum. A raise that would tie three values at the maximum of any window (windows overlap in
 * pooling) is undone, so every tie is two-way.
 */
export const plantTwoWayTies = (values: readonly number[], windows: Windows, chosen: readonly boolean[]): number[] => {
  const out = [...values];
  const windowsHolding = new Map<number, (readonly number[])[]>();
  for (const window of windows) for (const i of window) windowsHolding.set(i, [...(windowsHolding.get(i) ?? []), window]);
  windows.forEach((window, w) => {
    if (!chosen[w] || window.length < 2) return;
    const [first, second] = [...window].sort((i, j) => out[j] - out[i]);
    if (out[first] === out[second]) return;
    const before = out[second];
    out[second] = out[first];
    if (windowsHolding.get(second)!.some((other) => tiedAtMaximum(out, other) > 2)) out[second] = before;
  });
  return out;
};

/** Which windows get a tie: a random choice, the first always, so that every run has one. */
const chosenArbitrary = (count: number): fc.Arbitrary<boolean[]> =>
  fc.array(fc.boolean(), { minLength: count, maxLength: count }).map((chosen) => chosen.map((c, i) => c || i === 0));

/** The flat index into `shape` of each position of the broadcast `out` shape. */
export const broadcastIndex = (shape: readonly number[], out: readonly number[]) => {
  const strides = stridesOf(shape);
  const outStrides = stridesOf(out);
  const offset = out.length - shape.length;
  return (position: number): number =>
    shape.reduce((t, d, axis) => t + (d === 1 ? 0 : (Math.floor(position / outStrides[axis + offset]) % d) * strides[axis]), 0);
};

const maxCase: GradientCase = {
  arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((shape) =>
    fc
      .record({
        axes: fc.subarray(shape.map((_, i) => i), { minLength: 1 }),
        keepdims: fc.boolean(),
        values: valuesArbitrary(sizeOf(shape), { distinct: 0.01 }),
      })
      .chain(({ axes, keepdims, values }) => {
        const windows = reductionWindows(shape, axes);
        return chosenArbitrary(windows.length).map((chosen) => ({ x: tensor(plantTwoWayTies(values, windows, chosen), shape), axes, keepdims }));
      }),
  ),
  f: ({ x, axes, keepdims }) => max(x, axes, keepdims),
};

const pool2dCase: GradientCase = {
  arbitrary: poolParametersArbitrary(['max']).chain((options) =>
    valuesArbitrary(2 * options.c * options.h * options.w, { distinct: 0.01 }).chain((values) => {
      const windows = poolWindows(2, options);
      return chosenArbitrary(windows.length).map((chosen) => ({
        x: tensor(plantTwoWayTies(values, windows, chosen), [2, options.c, options.h, options.w]),
        options,
      }));
    }),
  ),
  f: ({ x, options }) => maxPool2d(x, options),
};

/**
 * Operands on interleaved lattices (never equal), then made equal where chosen: a tie between a
 * and b. The operand that is written is the one as large as the output (one always is), so each
 * written element meets one element of the other: a broadcast one would meet several, some of
 * them within a finite-difference step of its new value without being equal to it.
 */
const tiedOperands = (f: (a: Tensor, b: Tensor) => Tensor): GradientCase => ({
  arbitrary: broadcastPairArbitrary({ maxRank: 3 }).chain(([sa, sb]) => {
    const out = broadcastShapes(sa, sb)!;
    return fc
      .record({
        a: valuesArbitrary(sizeOf(sa), { lattice: 0.2 }),
        b: valuesArbitrary(sizeOf(sb), { lattice: 0.6 }),
        chosen: chosenArbitrary(sizeOf(out)),
      })
      .map(({ a, b, chosen }) => {
        const [ia, ib] = [broadcastIndex(sa, out), broadcastIndex(sb, out)];
        const writeA = sizeOf(sa) === sizeOf(out);
        chosen.forEach((c, position) => {
          if (c && writeA) a[position] = b[ib(position)];
          else if (c) b[position] = a[ia(position)];
        });
        return { a: tensor(a, sa), b: tensor(b, sb) };
      });
  }),
  f: ({ a, b }) => f(a, b),
});

/** |x| where x is exactly 0 at the chosen elements: the tie between x and -x. */
const absCase: GradientCase = {
  arbitrary: shapeArbitrary({ maxRank: 3 }).chain((shape) =>
    fc
      .record({ values: valuesArbitrary(sizeOf(shape), { avoid: [0] }), chosen: chosenArbitrary(sizeOf(shape)) })
      .map(({ values, chosen }) => ({ x: tensor(values.map((v, i) => (chosen[i] ? 0 : v)), shape) })),
  ),
  f: ({ x }) => abs(x),
};

export const tieCases: Record<(typeof primitivesWithTieRules)[number], GradientCase> = {
  max: maxCase,
  maximum: tiedOperands(maximum),
  minimum: tiedOperands(minimum),
  pool2d: pool2dCase,
  abs: absCase,
};
