// The native kernels' SIMD element loops (simd-kernel.ts) against the same kernels' JavaScript
// loops, bit for bit: a value one kernel stores and another computes again must be equal (a max
// pool's tie mask compares them), so the WebAssembly lanes keep JavaScript's float64 meaning of
// every unrounded value and float32's of every rounded one. Programs are drawn from the
// operations that carry trees, over special float32s (NaN, both zeros, the infinities,
// subnormals, the largest), run in shares cut anywhere so that vectors start and end anywhere.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { abs, add, broadcastTo, div, equal, flip, floor, gather, greater, less, maximum, maxPool2d, maxPoolGradient, minimum, mul, neg, reshape, select, slice, sqrt, sub, tensor, transpose } from '../lib/index.ts';
import { planKernels } from '../lib/compile/compile.ts';
import { capabilitiesOf } from '../lib/compile/capabilities.ts';
import { JavascriptKernel, javascriptKernelSource, runsFlat } from '../lib/native/javascript-kernel.ts';
import { code, knownFloat32, name, parameter, roundedToFloat32, threadPosition, withTree } from '../lib/codegen/expression.ts';
import { FLAT_POSITION, type Statement } from '../lib/codegen/statements.ts';
import { NativePool } from '../lib/native/native-pool.ts';
import { sharedFloatArena } from '../lib/native/float-arena.ts';
import { sharedFloats } from '../lib/native/shared-floats.ts';
import type { KernelPlan } from '../lib/compile/plan.ts';
import { maxPoolNative } from '../lib/native/max-pool-native.ts';
import { maxPoolGradientNative } from '../lib/native/max-pool-gradient-native.ts';
import { stridesOf } from '../lib/shape.ts';
import type { Tensor } from '../lib/tensor.ts';
import { runs } from './runs.ts';

/** Float32s that find the edges: NaN, both zeros, the infinities, the largest, subnormals, and ordinary values. */
const specialFloat = fc.oneof(
  fc.constantFrom(NaN, 0, -0, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.1754942106924411e-38, 1, -1, 0.5),
  fc.float({ noDefaultInfinity: false }),
  fc.float({ min: -4, max: 4, noNaN: true }),
  fc.integer({ min: -3, max: 3 }),
);

/** A program as operations on x, y (the same shape) and a per-channel bias: each step an operation taking earlier values. */
type Operation = { readonly kind: string; readonly a: number; readonly b: number };
const unaries: Record<string, (x: Tensor) => Tensor> = { neg, abs, floor, sqrt, relu: (x) => maximum(x, 0), negativePart: (x) => minimum(x, 0), scaled: (x) => mul(x, 0.9), shifted: (x) => add(x, 0.1) };
const binaries: Record<string, (a: Tensor, b: Tensor) => Tensor> = { add, sub, mul, div, maximum, minimum, equal, greater, less };
const choices = ['select', 'perImage', 'alongX', 'alongY', 'flipX', 'firstChannel', 'gather', 'gatherAnywhere'];
const operation = fc.record({ kind: fc.constantFrom(...Object.keys(unaries), ...Object.keys(binaries), 'byBias', 'overBias', ...choices), a: fc.nat(), b: fc.nat() });

const build = (operations: readonly Operation[], x: Tensor, y: Tensor, bias: Tensor, row: Tensor, column: Tensor, image: Tensor): Tensor => {
  const channel = broadcastTo(reshape(bias, [1, bias.shape[0], 1, 1]), x.shape);
  const values: Tensor[] = [x, y];
  for (const { kind, a, b } of operations) {
    const [p, q] = [values[a % values.length], values[b % values.length]];
    // A per-channel value is computed once a plane; dividing by one multiplies by its reciprocal.
    if (kind === 'byBias') values.push(mul(p, add(channel, 1)));
    else if (kind === 'overBias') values.push(div(p, sqrt(add(mul(channel, channel), 1e-5))));
    // A choice element by element (both sides computed, each lane its own), and one per image (a branch).
    else if (kind === 'select') values.push(select(greater(p, q), sub(p, q), mul(q, 0.5)));
    else if (kind === 'perImage') values.push(select(broadcastTo(reshape(image, [x.shape[0], 1, 1, 1]), x.shape), add(p, 1), neg(q)));
    // Read along x (a run of the row, read by every row), and once a row.
    else if (kind === 'alongX') values.push(mul(p, broadcastTo(reshape(row, [1, 1, 1, row.shape[0]]), x.shape)));
    else if (kind === 'alongY') values.push(add(p, broadcastTo(reshape(column, [1, 1, column.shape[0], 1]), x.shape)));
    // Read backwards along x (a horizontal flip): each vector loaded from the top down and turned round.
    else if (kind === 'flipX') values.push(mul(flip(p, [3]), q));
    // A read of y at positions an element computes (a crop's bilinear sampling): whole positions
    // in and past its bounds, and any value at all (fractions, NaN, -0, infinities), which
    // the kernel reads as NaN (a comparison of two such reads is false, as of NaNs).
    else if (kind === 'gather') values.push(add(gather(reshape(y, [y.shape.reduce((m, n) => m * n, 1)]), floor(mul(abs(p), 3))), q));
    else if (kind === 'gatherAnywhere') values.push(gather(reshape(y, [y.shape.reduce((m, n) => m * n, 1)]), p));
    // Another plane of the same size (each image's first channel): the flat position plus a plane's offset.
    else if (kind === 'firstChannel') values.push(sub(p, broadcastTo(slice(q, [undefined, { start: 0, stop: 1 }]), x.shape)));
    else if (kind in unaries) values.push(unaries[kind](p));
    else values.push(binaries[kind](p, q));
  }
  return values[values.length - 1];
};

/** The kernels a drawn program is planned as: most are one. */
const kernelsOf = (operations: readonly Operation[], shape: readonly number[]): KernelPlan[] => {
  const size = shape.reduce((a, b) => a * b, 1);
  const args = {
    x: { shape, data: new Float32Array(size) }, y: { shape, data: new Float32Array(size) }, bias: { shape: [shape[1]], data: new Float32Array(shape[1]) },
    row: { shape: [shape[3]], data: new Float32Array(shape[3]) }, column: { shape: [shape[2]], data: new Float32Array(shape[2]) }, image: { shape: [shape[0]], data: new Float32Array(shape[0]) },
  };
  const plan = planKernels(
    ({ x, y, bias, row, column, image }: Record<string, Tensor>) => build(operations, x, y, bias, row, column, image),
    args as never,
    capabilitiesOf('native'),
  );
  return plan.segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
};

const kernelOf = (operations: readonly Operation[], shape: readonly number[]): KernelPlan => {
  const kernels = kernelsOf(operations, shape);
  assert.equal(kernels.length, 1, 'one kernel');
  return kernels[0];
};

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** The arguments as arena arrays in the kernel's buffer order. */
const arenaBuffers = (kernel: KernelPlan, data: Record<string, Float32Array>): Float32Array[] =>
  kernel.buffers.map((buffer) => {
    const source = data[String((buffer.params as { path?: string }).path).replace(/^\./, '')];
    assert.ok(source !== undefined, `buffer ${buffer} is an argument`);
    const array = sharedFloatArena().take(source.length);
    array.set(source);
    return array;
  });

test('SIMD element loops equal the JavaScript loops bit for bit: rounded and float64 values, comparisons, reciprocals, special floats, shares cut anywhere', () => {
  const arena = sharedFloatArena();
  let simdKernels = 0;
  let simdGathers = 0;
  fc.assert(
    fc.property(
      fc.array(operation, { minLength: 1, maxLength: 6 }),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 })),
      fc.array(specialFloat, { minLength: 1, maxLength: 64 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
      (operations, shape, pool, cuts) => {
        // A value read at another plane and by several operations gets a buffer of its own
        // (schedule.ts), so a few programs are two kernels: they are not this property's.
        const kernels = kernelsOf(operations, shape);
        fc.pre(kernels.length === 1);
        const kernel = kernels[0];
        assert.ok(kernel.simd !== undefined, 'a native kernel says whether it has a SIMD loop');
        if (!('module' in kernel.simd)) return;
        simdKernels++;
        if (operations[operations.length - 1].kind.startsWith('gather')) simdGathers++;
        const size = shape.reduce((a, b) => a * b, 1);
        const draw = (seed: number, length: number) => Float32Array.from({ length }, (_, i) => pool[(i * 7 + seed * 13) % pool.length]);
        const buffers = arenaBuffers(kernel, { x: draw(1, size), y: draw(2, size), bias: draw(3, shape[1]), row: draw(4, shape[3]), column: draw(5, shape[2]), image: draw(6, shape[0]) });
        const cells = kernel.layout[0] * kernel.layout[1] * kernel.layout[2];
        const run = new JavascriptKernel(kernel.source, kernel.passes, String(kernel.node), kernel.simd.module);
        const bounds = [0, ...cuts.map((cut) => Math.floor(cut * cells)).sort((a, b) => a - b), cells];
        const [javascript, simd] = [arena.take(cells), arena.take(cells)];
        try {
          javascript.fill(NaN);
          run.runHere(javascript, buffers, 0, cells, false);
          for (let i = 0; i + 1 < bounds.length; i++) {
            // Each share writes its own positions and no others: the last vector stores only its lanes inside.
            simd.fill(7);
            run.runHere(simd, buffers, bounds[i], bounds[i + 1], true);
            simd.forEach((v, f) => {
              if (f >= bounds[i] && f < bounds[i + 1])
                assert.ok(same(v, javascript[f]), `${JSON.stringify(operations)} ${JSON.stringify(shape)} at ${f}: SIMD ${v}, JavaScript ${javascript[f]}`);
              else assert.equal(v, 7, `the share [${bounds[i]}, ${bounds[i + 1]}) wrote ${f}`);
            });
          }
        } finally {
          [javascript, simd, ...buffers].forEach((array) => arena.give(array));
        }
      },
    ),
    { numRuns: runs(300) },
  );
  // Most drawn programs have a SIMD loop; the property is not met by having none.
  assert.ok(simdKernels >= runs(300) / 2, `${simdKernels} of ${runs(300)} programs had a SIMD loop`);
  // About one program in nine ends in a gather; most of those must have run as SIMD too.
  assert.ok(simdGathers >= runs(300) / 30, `${simdGathers} programs ending in a gather had a SIMD loop`);
});

test('a kernel keeps its JavaScript loop, and says why, where an element reads something the SIMD loop cannot', () => {
  // A read transposed within the plane needs index arithmetic an element.
  const args = { x: { shape: [2, 3, 4, 4], data: new Float32Array(96) } };
  const plan = planKernels(({ x }: { x: Tensor }) => add(x, transpose(x, [0, 1, 3, 2])), args as never, capabilitiesOf('native'));
  const [kernel] = plan.segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
  assert.ok(kernel.simd !== undefined && 'whyNot' in kernel.simd, 'no SIMD loop');
  assert.match(kernel.simd.whyNot, /flat loop|thread's position|not computed once a plane|no tree/);
});

test('on the pool, a kernel with a SIMD loop runs it where every array is in the arena and its JavaScript loop elsewhere, with the same result', async () => {
  const pool = new NativePool(2);
  const arena = sharedFloatArena();
  try {
    const shape = [4, 3, 33, 31];
    const kernel = kernelOf([{ kind: 'overBias', a: 0, b: 0 }, { kind: 'relu', a: 2, b: 0 }, { kind: 'add', a: 3, b: 1 }], shape);
    assert.ok(kernel.simd !== undefined && 'module' in kernel.simd, 'a SIMD loop');
    const run = new JavascriptKernel(kernel.source, 1 << 20, String(kernel.node), kernel.simd.module);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = { x: Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 3), y: Float32Array.from({ length: size }, (_, i) => Math.cos(i)), bias: Float32Array.from([0.5, -2, 3]) };
    const inArena = arenaBuffers(kernel, data);
    const elsewhere = inArena.map((array) => {
      const copy = sharedFloats(array.length);
      copy.set(array);
      return copy;
    });
    const [a, b] = [arena.take(size), sharedFloats(size)];
    assert.deepEqual(await pool.runKernel(run, a, inArena, size), { threads: 2, simd: true });
    assert.deepEqual(await pool.runKernel(run, b, elsewhere, size), { threads: 2, simd: false });
    a.forEach((v, i) => assert.ok(same(v, b[i]), `at ${i}: ${v} and ${b[i]}`));
    [a, ...inArena].forEach((array) => arena.give(array));
  } finally {
    await pool.destroy();
  }
});

test('an unrounded value stays a float64 in the SIMD loop: (a + b) - a rounded once equals JavaScript\'s, not float32 arithmetic\'s', () => {
  // The emitter rounds every node's value; this body is written by hand so that a sum is used
  // before rounding, as JavaScript computes it, in float64.
  const read = (buffer: string) => withTree(knownFloat32(code`${parameter(buffer)}[${threadPosition(FLAT_POSITION)}]`), { op: 'read', buffer });
  const [a, b] = [read('b0'), read('b1')];
  const sum = name('t2', false);
  const statements: Statement[] = [
    { kind: 'const', name: 't0', expression: a },
    { kind: 'const', name: 't1', expression: b },
    { kind: 'const', name: 't2', expression: withTree(code`(${name('t0', true)} + ${name('t1', true)})`, { op: '+', a: name('t0', true), b: name('t1', true) }) },
  ];
  const result = roundedToFloat32(withTree(code`(${sum} - ${name('t0', true)})`, { op: '-', a: sum, b: name('t0', true) }));
  const body = { statements, result, parameters: ['b0', 'b1'], layout: [37, 1, 1] as const };
  assert.ok(runsFlat(body));
  const { source, simd, whyNotSimd } = javascriptKernelSource(body);
  assert.ok(simd !== undefined, `a SIMD loop: ${whyNotSimd}`);
  const run = new JavascriptKernel(source, 1, 'sum then difference', simd);
  const arena = sharedFloatArena();
  fc.assert(
    fc.property(fc.array(specialFloat, { minLength: 74, maxLength: 74 }), (values) => {
      const [x, y, javascript, lanes] = [arena.take(37), arena.take(37), arena.take(37), arena.take(37)];
      try {
        x.set(values.slice(0, 37));
        y.set(values.slice(37));
        run.runHere(javascript, [x, y], 0, 37, false);
        run.runHere(lanes, [x, y], 0, 37, true);
        lanes.forEach((v, i) => assert.ok(same(v, javascript[i]), `(${x[i]} + ${y[i]}) - ${x[i]}: SIMD ${v}, JavaScript ${javascript[i]}`));
      } finally {
        [x, y, javascript, lanes].forEach((array) => arena.give(array));
      }
    }),
    { numRuns: runs(200) },
  );
});

test('SIMD max pooling over 2 x 2 windows and its gradient equal the JavaScript loops bit for bit: ties, NaN, both zeros, the infinities, 1 to 3 threads', async () => {
  const arena = sharedFloatArena();
  await fc.assert(
    fc.asyncProperty(
      fc.record({ n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 3 }), ho: fc.integer({ min: 1, max: 5 }), quads: fc.integer({ min: 1, max: 4 }), threads: fc.integer({ min: 1, max: 3 }) }),
      fc.array(fc.oneof(specialFloat, fc.integer({ min: -2, max: 2 })), { minLength: 1, maxLength: 32 }),
      async ({ n, c, ho, quads, threads }, pool) => {
        const wo = 4 * quads;
        const xShape = [n, c, 2 * ho, 2 * wo];
        const view = (shape: readonly number[]) => ({ offset: 0, shape, strides: stridesOf(shape) });
        const draw = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => pool[(i * 5 + seed) % pool.length]);
        const x = draw(xShape.reduce((a, b) => a * b, 1), 1);
        const ct = draw(n * c * ho * wo, 2);
        const pooled = maxPool2d(tensor(x, xShape), { window: [2, 2] });
        const node = maxPoolGradient(tensor(ct, pooled.shape), tensor(x, xShape), pooled, [2, 2]);
        const inArena = (data: Float32Array) => {
          const array = arena.take(data.length);
          array.set(data);
          return array;
        };
        const taken: Float32Array[] = [];
        const take = (length: number) => {
          const array = arena.take(length);
          taken.push(array);
          return array;
        };
        const workers = new NativePool(threads);
        try {
          // The JavaScript loops: operands outside the arena. The SIMD loops: operands and results in it.
          const y = await maxPoolNative(workers, [{ data: x, view: view(xShape) }], pooled);
          const ySimd = await maxPoolNative(workers, [{ data: inArena(x), view: view(xShape) }], pooled, take);
          y.forEach((v, i) => assert.ok(same(v, ySimd[i]), `pooled[${i}]: SIMD ${ySimd[i]}, JavaScript ${v}`));
          const gradient = await maxPoolGradientNative(workers, [{ data: ct, view: view(pooled.shape) }, { data: x, view: view(xShape) }, { data: y, view: view(pooled.shape) }], node);
          const gradientSimd = await maxPoolGradientNative(
            workers,
            [{ data: inArena(ct), view: view(pooled.shape) }, { data: inArena(x), view: view(xShape) }, { data: ySimd, view: view(pooled.shape) }],
            node,
            take,
          );
          gradient.forEach((v, i) => assert.ok(same(v, gradientSimd[i]), `gradient[${i}]: SIMD ${gradientSimd[i]}, JavaScript ${v}`));
        } finally {
          await workers.destroy();
          taken.forEach((array) => arena.give(array));
        }
      },
    ),
    { numRuns: runs(60) },
  );
});
