// One gradient case per primitive of the registry: an arbitrary over random shapes (broadcasting
// included) and values in a domain that avoids kinks and poles, and a function that applies the
// primitive. The suite checks each case against finite differences, and the harness's own tests
// plant wrong VJP rules into the same cases to prove they are caught.

import fc from 'fast-check';
import {
  abs, add, avgPool2d, broadcastTo, concat, conv2d, customVjp, div, equal, exp, flip, floor, gather, greater, less, log,
  matmul, max, maximum, maxPool2d, minimum, mul, neg, pad, reshape, scatterAdd, select, slice, sqrt, stopGradient, sub,
  sum, tensor, transpose, type Tensor,
} from '../lib/index.ts';
import {
  broadcastPairArbitrary, shapeArbitrary, tensorArbitrary, type ValueOptions, valuesArbitrary,
} from '../lib/check/index.ts';
import { topKIndices } from '../lib/primitives/top-k-indices.ts';
import { topK } from '../lib/composites/top-k.ts';
import { randomBits } from '../lib/primitives/random-bits.ts';
import { maxPoolGradient } from '../lib/primitives/max-pool-gradient.ts';
import { mean } from '../lib/composites/statistics.ts';

export interface GradientCase {
  readonly arbitrary: fc.Arbitrary<any>;
  readonly f: (inputs: any) => Tensor;
}

const unary = (f: (x: Tensor) => Tensor, values: ValueOptions = {}): GradientCase => ({
  arbitrary: shapeArbitrary({ maxRank: 3 }).chain((s) => tensorArbitrary(s, values)).map((x) => ({ x })),
  f: ({ x }) => f(x),
});

const binary = (f: (a: Tensor, b: Tensor) => Tensor, bValues: ValueOptions = {}, aValues: ValueOptions = {}): GradientCase => ({
  arbitrary: broadcastPairArbitrary({ maxRank: 3 }).chain(([sa, sb]) =>
    fc.record({ a: tensorArbitrary(sa, aValues), b: tensorArbitrary(sb, bValues) }),
  ),
  f: ({ a, b }) => f(a, b),
});

const axesOf = (rank: number) => fc.subarray(Array.from({ length: rank }, (_, i) => i));

const reduction = (f: (x: Tensor, axes: number[], keepdims: boolean) => Tensor, values: ValueOptions = {}): GradientCase => ({
  arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.record({ x: tensorArbitrary(s, values), axes: axesOf(s.length), keepdims: fc.boolean() }),
  ),
  f: ({ x, axes, keepdims }) => f(x, axes, keepdims),
});

const axisSlice = (d: number) =>
  fc.record(
    { start: fc.integer({ min: -d, max: d }), stop: fc.integer({ min: -d, max: d }), step: fc.constantFrom(1, 2, 3, -1, -2) },
    { requiredKeys: ['step'] },
  );

const conv2dCase: GradientCase = {
  arbitrary: fc
    .record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), o: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 3, max: 7 }), w: fc.integer({ min: 3, max: 7 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      padding: fc.tuple(fc.tuple(fc.nat(2), fc.nat(2)), fc.tuple(fc.nat(2), fc.nat(2))),
    })
    .filter(({ h, w, kh, kw, dilation, padding }) =>
      h + padding[0][0] + padding[0][1] >= dilation[0] * (kh - 1) + 1 && w + padding[1][0] + padding[1][1] >= dilation[1] * (kw - 1) + 1)
    .chain((p) =>
      fc.record({ x: tensorArbitrary([p.n, p.c, p.h, p.w]), weight: tensorArbitrary([p.o, p.c, p.kh, p.kw]), options: fc.constant(p) }),
    ),
  f: ({ x, weight, options }) => conv2d(x, weight, options),
};

export interface PoolParameters {
  readonly kind: 'max' | 'avg';
  readonly window: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

/**
 * Windows of 1..3 with strides of 1..3 (overlapping, abutting and gapped) and padding that fits,
 * and as often windows that tile the input (stride = window, no padding; rows past the last
 * window included), whose VJP is elementwise over a reshaped view; batch 2.
 */
export const poolParametersArbitrary = (kinds: readonly PoolParameters['kind'][] = ['max', 'avg']): fc.Arbitrary<PoolParameters> => {
  const window = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }));
  const any = fc
    .record({
      kind: fc.constantFrom(...kinds),
      window,
      stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      padding: fc.tuple(fc.nat(1), fc.nat(1)),
      h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }), c: fc.integer({ min: 1, max: 2 }),
    })
    .map((p) => ({ ...p, padding: [Math.min(p.padding[0], p.window[0] - 1), Math.min(p.padding[1], p.window[1] - 1)] as [number, number] }));
  const tiling = fc
    .record({ kind: fc.constantFrom(...kinds), window, h: fc.integer({ min: 3, max: 7 }), w: fc.integer({ min: 3, max: 7 }), c: fc.integer({ min: 1, max: 2 }) })
    .map((p) => ({ ...p, stride: p.window, padding: [0, 0] as [number, number] }));
  return fc.oneof(any, tiling);
};

const pool2dCase: GradientCase = {
  arbitrary: poolParametersArbitrary()
    .chain((p) => fc.record({ x: tensorArbitrary([2, p.c, p.h, p.w], { distinct: 0.01 }), options: fc.constant(p) })),
  f: ({ x, options }) => (options.kind === 'max' ? maxPool2d : avgPool2d)(x, options),
};

/**
 * Max pooling's gradient over windows of 1..3 that tile the input, differentiated with respect to
 * the cotangent it shares out (it is linear in it). The input travels as plain numbers (checkGrad
 * differentiates every tensor it is given, and the gradient is a step function of the input), half
 * the time small integers, so that windows hold ties of every size and the compiled kernels'
 * shares of 1/k are checked against the interpreter's.
 */
const maxPoolGradientCase: GradientCase = {
  arbitrary: fc
    .record({ kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), ho: fc.integer({ min: 1, max: 3 }), wo: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 2 }) })
    .chain(({ kh, kw, ho, wo, c }) => {
      const shape = [2, c, ho * kh, wo * kw];
      const size = shape.reduce((a, b) => a * b, 1);
      const values = fc.oneof(fc.array(fc.integer({ min: -2, max: 1 }), { minLength: size, maxLength: size }), valuesArbitrary(size, { distinct: 0.01 }));
      return fc.record({ ct: tensorArbitrary([2, c, ho, wo]), x: values.map((numbers) => ({ values: numbers, shape })), window: fc.constant([kh, kw] as [number, number]) });
    }),
  f: ({ ct, x, window }) => {
    const input = tensor(x.values, x.shape);
    return maxPoolGradient(ct, input, maxPool2d(input, { window }), window);
  },
};

const gatherCase: GradientCase = {
  arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
      shapeArbitrary({ minRank: 0, maxRank: 2 }).chain((indexShape) =>
        fc.record({
          x: tensorArbitrary(s),
          axis: fc.constant(axis),
          // Integer data travels as plain arrays: checkGrad differentiates every tensor it is given.
          indices: fc
            .array(fc.nat(s[axis] - 1), { minLength: indexShape.reduce((a, b) => a * b, 1), maxLength: indexShape.reduce((a, b) => a * b, 1) })
            .map((values) => ({ values, shape: indexShape })),
        }),
      ),
    ),
  ),
  f: ({ x, indices, axis }) => gather(x, tensor(indices.values, indices.shape), axis),
};

const scatterAddCase: GradientCase = {
  arbitrary: fc
    .record({ before: shapeArbitrary({ maxRank: 1 }), after: shapeArbitrary({ maxRank: 1 }), count: fc.integer({ min: 1, max: 5 }), size: fc.integer({ min: 1, max: 4 }) })
    .chain(({ before, after, count, size }) =>
      fc.record({
        source: tensorArbitrary([...before, count, ...after]),
        indices: fc.array(fc.nat(size - 1), { minLength: count, maxLength: count }),
        axis: fc.constant(before.length),
        size: fc.constant(size),
      }),
    ),
  f: ({ source, indices, axis, size }) => scatterAdd(source, tensor(indices, [indices.length]), axis, size),
};

const log1pKahan = customVjp(
  'softplus-by-hand',
  (x: Tensor) => log(add(exp(x), 1)),
  (ct, [x]) => [div(mul(ct, exp(x)), add(exp(x), 1))],
);

/** Every non-leaf primitive of the registry, by name. */
export const gradientCases: Record<string, GradientCase> = {
  neg: unary(neg),
  exp: unary(exp),
  log: unary(log, { min: 0.1, max: 3 }),
  sqrt: unary(sqrt, { min: 0.1, max: 3 }),
  abs: unary(abs, { avoid: [0] }),
  // floor is flat between integers: its gradient is 0 and must stay 0 when composed.
  floor: unary((x) => mul(floor(x), x), { avoid: [-2, -1, 0, 1, 2] }),
  add: binary(add),
  sub: binary(sub),
  mul: binary(mul),
  div: binary(div, { min: 0.2, max: 3 }),
  // Operands on interleaved lattices never tie, so the kink is never probed.
  maximum: binary(maximum, { lattice: 0.6 }, { lattice: 0.2 }),
  minimum: binary(minimum, { lattice: 0.6 }, { lattice: 0.2 }),
  // Comparisons gate a product: the product differentiates, the gate must not.
  less: binary((a, b) => mul(less(a, b), mul(a, b)), { lattice: 0.6 }, { lattice: 0.2 }),
  greater: binary((a, b) => mul(greater(a, b), mul(a, b)), { lattice: 0.6 }, { lattice: 0.2 }),
  equal: binary((a, b) => mul(equal(a, b), mul(a, b)), { lattice: 0.6 }, { lattice: 0.2 }),
  select: {
    arbitrary: broadcastPairArbitrary({ maxRank: 3 }).chain(([sa, sb]) =>
      fc.record({ condition: tensorArbitrary(sb, { avoid: [0] }), a: tensorArbitrary(sa), b: tensorArbitrary(sb) }),
    ),
    f: ({ condition, a, b }) => select(greater(condition, 0), a, b),
  },
  sum: reduction((x, axes, keepdims) => sum(x, axes, keepdims)),
  max: reduction((x, axes, keepdims) => max(x, axes, keepdims), { distinct: 0.01 }),
  reshape: {
    arbitrary: shapeArbitrary({ maxRank: 3 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s), target: fc.constantFrom([-1], [...s].reverse(), [1, ...s, 1]) }),
    ),
    f: ({ x, target }) => reshape(x, target),
  },
  transpose: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 4 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s), permutation: fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length }) }),
    ),
    f: ({ x, permutation }) => transpose(x, permutation),
  },
  broadcastTo: {
    arbitrary: broadcastPairArbitrary({ maxRank: 3 }).map(([a, b]) => {
      const target = a.length >= b.length ? a : b;
      const source = target === a ? b : a;
      return { target, source };
    }).filter(({ target, source }) => source.every((d, i) => d === 1 || d === target[target.length - source.length + i]))
      .chain(({ target, source }) => fc.record({ x: tensorArbitrary(source), target: fc.constant(target) })),
    f: ({ x, target }) => broadcastTo(x, target),
  },
  slice: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3, maxDim: 6 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s), axes: fc.tuple(...s.map(axisSlice)) }),
    ),
    f: ({ x, axes }) => slice(x, axes),
  },
  concat: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
      fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc.record({
          parts: fc.array(fc.integer({ min: 1, max: 3 }).chain((d) => tensorArbitrary(s.map((x, i) => (i === axis ? d : x)))), { minLength: 2, maxLength: 3 }),
          axis: fc.constant(axis),
        }),
      ),
    ),
    f: ({ parts, axis }) => concat(parts, axis),
  },
  pad: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s), widths: fc.tuple(...s.map(() => fc.tuple(fc.nat(2), fc.nat(2)))), value: fc.double({ min: -1, max: 1, noNaN: true }) }),
    ),
    f: ({ x, widths, value }) => pad(x, widths, value),
  },
  flip: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) => fc.record({ x: tensorArbitrary(s), axes: axesOf(s.length) })),
    f: ({ x, axes }) => flip(x, axes),
  },
  matmul: {
    arbitrary: fc
      .record({ batch: shapeArbitrary({ maxRank: 1, maxDim: 3 }), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }), shared: fc.boolean() })
      .chain(({ batch, m, k, n, shared }) =>
        fc.record({ a: tensorArbitrary([...batch, m, k]), b: tensorArbitrary(shared ? [k, n] : [...batch, k, n]) }),
      ),
    f: ({ a, b }) => matmul(a, b),
  },
  conv2d: conv2dCase,
  pool2d: pool2dCase,
  maxPoolGradient: maxPoolGradientCase,
  gather: gatherCase,
  scatterAdd: scatterAddCase,
  // stopGradient holds its value fixed: d/dx [x * stop(x)] = stop(x), not 2x.
  stopGradient: unary((x) => mul(x, stopGradient(x))),
  customVjp: unary(log1pKahan),
  // The values of topK differentiate through gather; the indices gate them as a factor, so a
  // gradient leaking through topKIndices would show (k = n, a full sort, is drawn often).
  topKIndices: {
    arbitrary: shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s, { distinct: 0.01 }), k: fc.oneof(fc.constant(s[s.length - 1]), fc.integer({ min: 1, max: s[s.length - 1] })) }),
    ),
    f: ({ x, k }) => mul(topK(x, k).values, add(topKIndices(x, k), 1)),
  },
  // Random numbers scale x: the product differentiates, the key must not. The key is read
  // through floor, so here it moves with x by a fraction (integer words + 0.5 + mean(x) / 10)
  // while naming the same key; a gradient leaking into it would reach x. The draw is flat
  // (rank 1, as the key is) so that a leaking rule cannot hide behind a rank mismatch. Words
  // stay below 2^16 so that the fraction survives float32 too (compiled runs use this case).
  randomBits: {
    arbitrary: shapeArbitrary({ maxRank: 3 }).chain((s) =>
      fc.record({ x: tensorArbitrary(s), words: fc.array(fc.nat(2 ** 16 - 1), { minLength: 4, maxLength: 4 }) }),
    ),
    f: ({ x, words }) => {
      const key = add(tensor(words.map((w: number) => w + 0.5), [4]), mul(mean(x), 0.1));
      return mul(reshape(randomBits(key, [x.size]), x.shape), x);
    },
  },
};
