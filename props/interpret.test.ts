// The interpreter is the specification, so its primitives are checked against independent,
// differently written references: per-element index arithmetic instead of strided walks,
// Python's slice rules, direct convolution sums, sorting-free maxima.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  add, avgPool2d, broadcastPairArbitrary, concat, conv2d, flip, gather, interpret, matmul, max, maxPool2d, pad, scatterAdd,
  shapeArbitrary, slice, sum, tensor, transpose, type Tensor, valuesArbitrary,
} from '../lib/index.ts';
import { runs } from './runs.ts';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** The multi-index of a flat row-major position. */
const unravel = (flat: number, shape: readonly number[]) => {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis];
    flat = Math.floor(flat / shape[axis]);
  }
  return index;
};
const ravel = (index: readonly number[], shape: readonly number[]) => index.reduce((flat, i, axis) => flat * shape[axis] + i, 0);
const randomTensor = (shape: number[]) => valuesArbitrary(size(shape)).map((v) => tensor(v, shape));
const values = (t: Tensor) => Array.from(interpret(t).data);

test('broadcasting add: every output element adds the elements its index maps to', () => {
  fc.assert(
    fc.property(broadcastPairArbitrary({ maxRank: 4 }).chain(([a, b]) => fc.tuple(randomTensor(a), randomTensor(b))), ([a, b]) => {
      const out = interpret(add(a, b));
      const rank = out.shape.length;
      const read = (t: Tensor, index: number[]) => {
        const own = index.slice(rank - t.rank).map((i, axis) => (t.shape[axis] === 1 ? 0 : i));
        return interpret(t).data[ravel(own, t.shape)];
      };
      out.data.forEach((v, flat) => {
        const index = unravel(flat, out.shape);
        assert.equal(v, read(a, index) + read(b, index));
      });
    }),
    { numRuns: runs(100) },
  );
});

test('transpose puts x[i] at out[permuted i]', () => {
  fc.assert(
    fc.property(
      shapeArbitrary({ minRank: 1, maxRank: 4 }).chain((s) => fc.tuple(randomTensor(s), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length }))),
      ([x, p]) => {
        const out = interpret(transpose(x, p));
        const source = interpret(x);
        out.data.forEach((v, flat) => {
          const index = unravel(flat, out.shape);
          const from = new Array<number>(p.length);
          p.forEach((axis, i) => (from[axis] = index[i]));
          assert.equal(v, source.data[ravel(from, x.shape)]);
        });
      },
    ),
    { numRuns: runs(100) },
  );
});

/** Python's slice.indices, then range(): the reference for negative and clamped bounds. */
const pythonRange = (length: number, start: number | undefined, stop: number | undefined, step: number): number[] => {
  const [lower, upper] = step > 0 ? [0, length] : [-1, length - 1];
  const resolve = (v: number | undefined, fallback: number) =>
    v === undefined ? fallback : v < 0 ? Math.max(v + length, lower) : Math.min(v, upper);
  const from = resolve(start, step > 0 ? lower : upper);
  const to = resolve(stop, step > 0 ? upper : lower);
  const out: number[] = [];
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
  return out;
};

test('slice follows Python slicing, negative steps and out-of-range bounds included', () => {
  const bound = (d: number) => fc.option(fc.integer({ min: -d - 2, max: d + 2 }), { nil: undefined });
  fc.assert(
    fc.property(
      shapeArbitrary({ minRank: 1, maxRank: 3, maxDim: 6 }).chain((s) =>
        fc.tuple(randomTensor(s), fc.tuple(...s.map((d) => fc.record({ start: bound(d), stop: bound(d), step: fc.constantFrom(1, 2, 3, -1, -2, -3) })))),
      ),
      ([x, axes]) => {
        const ranges = axes.map(({ start, stop, step }, axis) => pythonRange(x.shape[axis], start, stop, step));
        const out = interpret(slice(x, axes));
        assert.deepEqual(out.shape, ranges.map((r) => r.length));
        const source = interpret(x);
        out.data.forEach((v, flat) => {
          const index = unravel(flat, out.shape);
          assert.equal(v, source.data[ravel(index.map((i, axis) => ranges[axis][i]), x.shape)]);
        });
      },
    ),
    { numRuns: runs(200) },
  );
});

test('concat, pad and flip place every element where their definitions say', () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tensor([7, 8], [2, 1]);
  assert.deepEqual(interpret(concat([a, b], 1)), { shape: [2, 4], data: Float64Array.from([1, 2, 3, 7, 4, 5, 6, 8]) });
  assert.deepEqual(values(concat([a, a], 0)), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(interpret(pad(b, [[1, 0], [0, 2]], 9)), { shape: [3, 3], data: Float64Array.from([9, 9, 9, 7, 9, 9, 8, 9, 9]) });
  assert.deepEqual(values(flip(a, 1)), [3, 2, 1, 6, 5, 4]);
  assert.deepEqual(values(flip(a, [0, 1])), [6, 5, 4, 3, 2, 1]);
});

test('reductions: sum and max over any axes match direct loops', () => {
  fc.assert(
    fc.property(
      shapeArbitrary({ minRank: 1, maxRank: 4 }).chain((s) => fc.tuple(randomTensor(s), fc.subarray(s.map((_, i) => i)))),
      ([x, axes]) => {
        const source = interpret(x);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const sums = new Array<number>(size(kept)).fill(0);
        const maxima = new Array<number>(size(kept)).fill(-Infinity);
        source.data.forEach((v, flat) => {
          const target = ravel(unravel(flat, x.shape).map((i, axis) => (axes.includes(axis) ? 0 : i)), kept);
          sums[target] += v;
          maxima[target] = Math.max(maxima[target], v);
        });
        values(sum(x, axes, true)).forEach((v, i) => assert.ok(Math.abs(v - sums[i]) < 1e-12));
        assert.deepEqual(values(max(x, axes, true)), maxima);
        assert.deepEqual(interpret(sum(x, axes)).shape, x.shape.filter((_, i) => !axes.includes(i)));
      },
    ),
    { numRuns: runs(100) },
  );
});

test('matmul with a broadcast batch matches the sum of products', () => {
  const a = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3]);
  const b = tensor([1, 0, 0, 1, 1, 1], [3, 2]);
  assert.deepEqual(interpret(matmul(a, b)), { shape: [2, 2, 2], data: Float64Array.from([4, 5, 10, 11, 16, 17, 22, 23]) });
});

test('conv2d equals the direct sum over taps of the padded input, for every stride, padding and dilation', () => {
  fc.assert(
    fc.property(
      fc.record({
        c: fc.integer({ min: 1, max: 2 }), o: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }),
        k: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 2 }), padding: fc.integer({ min: 0, max: 2 }), dilation: fc.integer({ min: 1, max: 2 }),
      }).filter(({ h, w, k, padding, dilation }) => Math.min(h, w) + 2 * padding >= dilation * (k - 1) + 1)
        .chain((p) => fc.tuple(fc.constant(p), randomTensor([1, p.c, p.h, p.w]), randomTensor([p.o, p.c, p.k, p.k]))),
      ([p, x, w]) => {
        const out = interpret(conv2d(x, w, p));
        const xs = interpret(x).data;
        const ws = interpret(w).data;
        const at = (c: number, i: number, j: number) => (i < 0 || j < 0 || i >= p.h || j >= p.w ? 0 : xs[(c * p.h + i) * p.w + j]);
        out.data.forEach((v, flat) => {
          const [, o, i, j] = unravel(flat, out.shape);
          let expected = 0;
          for (let c = 0; c < p.c; c++)
            for (let u = 0; u < p.k; u++)
              for (let q = 0; q < p.k; q++)
                expected += at(c, i * p.stride + u * p.dilation - p.padding, j * p.stride + q * p.dilation - p.padding) * ws[((o * p.c + c) * p.k + u) * p.k + q];
          assert.ok(Math.abs(v - expected) < 1e-12);
        });
      },
    ),
    { numRuns: runs(60) },
  );
});

test('pooling: max never picks padding; average divides by the whole window', () => {
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  assert.deepEqual(values(maxPool2d(tensor([-1, -2, -3, -4], [1, 1, 2, 2]), { window: 2, stride: 1, padding: 1 })), [-1, -1, -2, -1, -1, -2, -3, -3, -4]);
  assert.deepEqual(values(maxPool2d(x, { window: 2, stride: 1 })), [5, 6, 8, 9]);
  assert.deepEqual(values(avgPool2d(x, { window: 2 })), [3]);
  assert.deepEqual(values(avgPool2d(x, { window: 2, stride: 2, padding: 1 })), [0.25, 5 / 4, 11 / 4, 7]);
});

test('gather takes along an axis; scatterAdd adds back, repeated indices accumulating', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(interpret(gather(x, tensor([2, 0, 2], [3]), 1)), { shape: [2, 3], data: Float64Array.from([3, 1, 3, 6, 4, 6]) });
  assert.deepEqual(interpret(gather(x, tensor([[1], [0]], [2, 1]), 0)).shape, [2, 1, 3]);
  assert.deepEqual(values(scatterAdd(tensor([1, 10, 100], [3]), tensor([0, 2, 0], [3]), 0, 4)), [101, 0, 10, 0]);
  assert.throws(() => interpret(gather(x, tensor([3], [1]), 1)), /gather: index 3 at position 0 .* is not an integer in \[0, 3\)/);
});

test('interpret keeps the tree and is deterministic', () => {
  const x = tensor([1, 2], [2]);
  const tree = { a: [x, add(x, 1)], b: { c: sum(x) }, label: 'kept' };
  const out = interpret(tree);
  assert.deepEqual(out.a[1].data, Float64Array.from([2, 3]));
  assert.deepEqual(out.b.c.data, Float64Array.from([3]));
  assert.equal(out.label, 'kept');
  assert.deepEqual(interpret(tree), out);
});
