// The native pool's JavaScript kernels (lib/native/javascript-kernel.ts): what may run once a row,
// that a kernel run in any shares writes exactly what it writes run whole, which primitives'
// expressions need no rounding to float32, and that a kernel that fails is named. Compiled equals
// interpreted on the native backend (compile.test.ts, training-step.test.ts) runs these kernels for every
// primitive; gpu.js's own webasm kernels are checked there with `javascriptKernels: false`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hoistable, JavascriptKernel, levels, runsFlat } from '../lib/native/javascript-kernel.ts';
import type { Statement } from '../lib/codegen/statements.ts';
import { code, type Expression, literal, type Name, name, parameter, roundedToFloat32, threadPosition } from '../lib/codegen/expression.ts';
import { NativePool } from '../lib/native/native-pool.ts';
import { sharedFloats } from '../lib/native/shared-floats.ts';
import { planKernels } from '../lib/compile/compile.ts';
import { capabilitiesOf } from '../lib/compile/capabilities.ts';
import { add, broadcastTo, concat, div, exp, interpret, max, maximum, mul, neg, reshape, select, sub, sum, tensor, transpose } from '../lib/index.ts';
import { greater } from '../lib/primitives/greater.ts';
import type { Primitive, Tensor } from '../lib/tensor.ts';
import { primitives } from '../lib/primitives/registry.ts';
import { addPrimitive } from '../lib/primitives/add.ts';
import { mulPrimitive } from '../lib/primitives/mul.ts';
import { expPrimitive } from '../lib/primitives/exp.ts';
import { maximumPrimitive } from '../lib/primitives/maximum.ts';
import { minimumPrimitive } from '../lib/primitives/minimum.ts';
import { floorPrimitive } from '../lib/primitives/floor.ts';
import { absPrimitive } from '../lib/primitives/abs.ts';
import { negPrimitive } from '../lib/primitives/neg.ts';
import { equalPrimitive } from '../lib/primitives/equal.ts';
import { greaterPrimitive } from '../lib/primitives/greater.ts';
import { lessPrimitive } from '../lib/primitives/less.ts';
import { selectPrimitive } from '../lib/primitives/select.ts';
import type { KernelPlan } from '../lib/compile/plan.ts';
import { runs } from './runs.ts';

test('a statement runs once a row only when nothing it reads depends on x', () => {
  const [x, y, z] = ['x', 'y', 'z'].map(threadPosition);
  const [b0, b1] = [parameter('b0'), parameter('b1')];
  const [t1, t2, t3, t4, t7, t9, t10] = ['t1', 't2', 't3', 't4', 't7', 't9', 't10'].map((text) => name(text, true));
  const [a5, k6, c8] = [name('a5', false), name('k6', false), name('c8', true)];
  const constant = ({ name }: Name, expression: Expression): Statement => ({ kind: 'const', name, expression });
  const statements: Statement[] = [
    constant(t1, roundedToFloat32(code`${y} * 2`)), // row-invariant
    constant(t2, code`${x}`), // x itself
    constant(t3, code`${b0}[${t1} * 8 + 3]`), // a read at a row-invariant position: hoisted
    constant(t4, roundedToFloat32(code`${t3} + ${t2}`)), // depends on x through t2
    { kind: 'let', name: a5.name, initial: literal(0) }, // an accumulator: never hoisted
    { kind: 'loop', counter: k6.name, count: 9, body: [{ kind: 'assign', name: a5.name, operator: '=', expression: code`${a5} + ${b1}[${k6}]` }] },
    constant(t7, roundedToFloat32(code`${a5} * 2`)), // reads the accumulator
    { kind: 'let', name: c8.name },
    {
      kind: 'if',
      condition: code`${t1} < 3`,
      then: [{ kind: 'assign', name: c8.name, operator: '=', expression: t1 }],
      otherwise: [{ kind: 'assign', name: c8.name, operator: '=', expression: t3 }],
    },
    constant(t9, roundedToFloat32(code`${c8} + ${z}`)), // reads a chosen value
    constant(t10, roundedToFloat32(code`${t1} + ${z}`)), // row-invariant again, after all of those
  ];
  assert.deepEqual(hoistable(statements), [true, false, true, false, false, false, false, false, false, false, true]);
});

test('a statement runs once a plane when it reads z at most, once a row when it reads y too', () => {
  const [x, y, z] = ['x', 'y', 'z'].map(threadPosition);
  const b0 = parameter('b0');
  const [t1, t2, t3, t4, t5] = ['t1', 't2', 't3', 't4', 't5'].map((text) => name(text, true));
  const constant = ({ name }: Name, expression: Expression): Statement => ({ kind: 'const', name, expression });
  const statements: Statement[] = [
    constant(t1, code`(${z} & 3)`), // a channel: once a plane
    constant(t2, code`${b0}[${t1}]`), // a bias read there: once a plane
    constant(t3, code`${y} * 5 + ${t1}`), // reads y: once a row
    constant(t4, roundedToFloat32(code`${b0}[${t3} + ${x}] + ${t2}`)), // reads x: each element
    constant(t5, roundedToFloat32(code`${t2} * 2`)), // once a plane again, after all of those
  ];
  assert.deepEqual(levels(statements), ['plane', 'plane', 'row', 'element', 'plane']);
});

/**
 * Each form of a kernel, checked against the interpreter: one flat loop over the whole output (an
 * elementwise pass over buffers of its own shape), one flat loop a plane (a per-channel bias, its
 * reads hoisted out once a plane), and row by row (a bias along x, a transposed read). Shapes of
 * odd extents, run in shares cut anywhere, in the middle of rows and planes.
 */
test('every form of kernel, flat or row by row, run in shares cut anywhere, equals the interpreter', () => {
  type Program = { readonly name: string; readonly flat?: (plane: readonly [number, number]) => boolean; readonly f: (x: Tensor, bias: Tensor, row: Tensor, column: Tensor) => Tensor };
  const programs: Program[] = [
    { name: 'elementwise', flat: () => true, f: (x) => maximum(mul(x, exp(x)), add(x, x)) },
    {
      name: 'a bias per channel',
      flat: () => true,
      f: (x, bias) => div(sub(x, broadcastTo(reshape(bias, [1, bias.shape[0], 1, 1]), x.shape)), add(broadcastTo(reshape(bias, [1, bias.shape[0], 1, 1]), x.shape), 3)),
    },
    { name: 'a bias along x', flat: ([, width]) => width === 1, f: (x, _bias, row) => mul(x, broadcastTo(reshape(row, [1, 1, 1, row.shape[0]]), x.shape)) },
    // A reshape into pairs and back (a max pool's windows): read at the output's own position.
    { name: 'pairs and back', flat: () => true, f: (x) => reshape(exp(reshape(x, [x.shape[0], x.shape[1], x.shape[2], x.shape[3] / 2, 2])), x.shape) },
    // Reductions whose innermost loop, of even length, takes pairs into two accumulators.
    { name: 'a sum in pairs', f: (x) => sum(mul(x, x), [0, 3]) },
    { name: 'a maximum in pairs', f: (x) => max(neg(x), [1, 3]) },
    // Read once a row, and used by every element of it with no index arithmetic.
    { name: 'a bias along y', flat: ([height]) => height === 1, f: (x, _bias, _row, column) => mul(x, broadcastTo(reshape(column, [1, 1, column.shape[0], 1]), x.shape)) },
    { name: 'a transposed read', flat: ([height]) => height === 1, f: (x) => add(transpose(x, [0, 1, 3, 2]), 1) },
  ];
  const extent = fc.integer({ min: 1, max: 7 });
  fc.assert(
    fc.property(
      fc.nat(programs.length - 1), fc.tuple(extent, extent, extent, extent), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
      (p, shape, cuts) => {
        const program = programs[p];
        // The transpose needs a square plane to keep the output's shape the input's.
        // Pairs need an even width: 8 or more takes a reduction's pairs into two accumulators.
        const [n, c, h, w] =
          program.name === 'a transposed read' ? [shape[0], shape[1], shape[2], shape[2]] : program.name === 'pairs and back' || program.name.endsWith('in pairs') ? [shape[0], shape[1], shape[2], 2 * shape[3]] : shape;
        const data = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => Math.sin(i * 1.3 + seed) * 2);
        const args = { x: { shape: [n, c, h, w], data: data(n * c * h * w, 1) }, bias: { shape: [c], data: data(c, 2) }, row: { shape: [w], data: data(w, 3) }, column: { shape: [h], data: data(h, 4) } };
        const plan = planKernels(({ x, bias, row, column }: { x: Tensor; bias: Tensor; row: Tensor; column: Tensor }) => program.f(x, bias, row, column), args as never, capabilitiesOf('native'));
        const kernels = plan.segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));
        assert.equal(kernels.length, 1, `${program.name}: one kernel`);
        const [kernel] = kernels;
        if (program.flat !== undefined)
          assert.equal(runsFlat({ statements: kernel.statements, result: kernel.result, parameters: [], layout: kernel.layout }), program.flat([h, w]), `${program.name}: flat`);
        // A divisor computed once a plane is divided by once a plane, as its reciprocal.
        if (program.name === 'a bias per channel') assert.match(kernel.source, /\(1 \/ /, `${program.name}: a reciprocal`);
        const byPath = new Map(Object.entries(args).map(([path, value]) => [path, value.data]));
        const buffers = kernel.buffers.map((buffer) => byPath.get(String((buffer.params as { path?: string }).path).replace(/^\./, ''))!);
        assert.ok(buffers.every((buffer) => buffer !== undefined), `${program.name}: buffers are the arguments`);
        const cells = kernel.layout[0] * kernel.layout[1] * kernel.layout[2];
        const out = new Float32Array(cells).fill(NaN);
        const run = new JavascriptKernel(kernel.source, kernel.passes, String(kernel.node));
        const bounds = [0, ...cuts.map((cut) => Math.floor(cut * cells)).sort((a, b) => a - b), cells];
        for (let i = 0; i + 1 < bounds.length; i++) {
          // Each share writes its own positions and no others (two threads write one array).
          const share = new Float32Array(cells).fill(NaN);
          run.runHere(share, buffers, bounds[i], bounds[i + 1]);
          share.forEach((v, f) => assert.ok((f >= bounds[i] && f < bounds[i + 1]) || Number.isNaN(v), `${program.name}: the share [${bounds[i]}, ${bounds[i + 1]}) wrote ${f}`));
          out.set(share.subarray(bounds[i], bounds[i + 1]), bounds[i]);
        }
        const value = (argument: { shape: number[]; data: Float32Array }) => tensor(argument.data, argument.shape);
        const reference = interpret(program.f(value(args.x), value(args.bias), value(args.row), value(args.column)));
        reference.data.forEach((r, i) => assert.ok(Math.abs(out[i] - r) <= 1e-5 * (1 + Math.abs(r)), `${program.name} [${n}, ${c}, ${h}, ${w}] at ${i}: ${out[i]}, interpreted ${r}`));
        if (program.name === 'a bias per channel') {
          // Each node rounded to float32, as the native kernels store it: the quotient by the
          // reciprocal is the quotient, bit for bit.
          const channel = (i: number) => Math.floor(i / (h * w)) % c;
          args.x.data.forEach((v, i) => {
            const bias = args.bias.data[channel(i)];
            const exact = Math.fround(Math.fround(v - bias) / Math.fround(bias + 3));
            assert.ok(Object.is(out[i], exact), `${program.name} at ${i}: ${out[i]}, each node rounded ${exact}`);
          });
        }
      },
    ),
    { numRuns: runs(80) },
  );
});

test('a float32 quotient rounded to float32 is the dividend times the divisor\'s float64 reciprocal rounded, on every kind of float32', () => {
  // The native kernels divide so where the divisor is computed less often than the quotient (emitter.ts, byReciprocal).
  const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  const check = (dividend: number, divisor: number) =>
    assert.ok(same(Math.fround(dividend * (1 / divisor)), Math.fround(dividend / divisor)), `${dividend} / ${divisor}`);
  fc.assert(fc.property(fc.float(), fc.float(), check), { numRuns: runs(20000) });
  // Random bit patterns: every exponent, subnormals, and significands near the ends of their range.
  const bits = new Uint32Array(2);
  const floats = new Float32Array(bits.buffer);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < runs(200000); i++) {
    bits[0] = next() ^ (next() << 16);
    bits[1] = next() ^ (next() << 16);
    check(floats[0], floats[1]);
  }
});

test('the primitives that keep float32 operands float32 say so; arithmetic, float64 literals and accumulators do not', () => {
  const [t1, t2, t3] = ['t1', 't2', 't3'].map((text) => name(text, true));
  const a4 = name('a4', false);
  const expression = (primitive: Primitive<{}>, ...args: Expression[]) => primitive.elementwise!(args, {});
  const kept = [
    expression(maximumPrimitive, t1, literal(0)), expression(minimumPrimitive, t1, t2), expression(floorPrimitive, t3), expression(absPrimitive, t1),
    expression(negPrimitive, t3), expression(equalPrimitive, t1, t2), expression(greaterPrimitive, t1, literal(-0.5)), expression(lessPrimitive, t2, t1),
    expression(selectPrimitive, t1, t2, literal(0.5)),
  ];
  const rounded = [
    expression(addPrimitive, t1, t2), expression(mulPrimitive, t1, literal(0.5)), expression(maximumPrimitive, t1, literal(0.1)), expression(expPrimitive, t1),
    expression(maximumPrimitive, a4, t1), expression(selectPrimitive, t1, t2, literal(0.1)), expression(negPrimitive, a4),
  ];
  for (const e of kept) assert.equal(e.float32, true, e.text);
  for (const e of rounded) assert.equal(e.float32, false, e.text);
  // And the claim itself, for every registered primitive that makes it: on float32 operands its
  // float64 reference gives float32 results.
  const operands = ['t0', 't1', 't2'].map((text) => name(text, true));
  const claiming = primitives.filter((primitive) => primitive.elementwise?.(operands, {} as never).float32 === true);
  assert.deepEqual(
    claiming.map((primitive) => primitive.name).sort(),
    ['abs', 'customVjp', 'equal', 'floor', 'greater', 'less', 'maximum', 'minimum', 'neg', 'select', 'stopGradient'],
  );
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 3, maxLength: 3 }), (values) => {
      const inputs = values.map((v) => ({ shape: [1], data: Float64Array.of(v) }));
      for (const primitive of claiming) {
        const [result] = primitive.evaluate(inputs, {} as never, [1]);
        assert.equal(Math.fround(result), result, `${primitive.name}(${values.join(', ')})`);
      }
    }),
    { numRuns: runs(200) },
  );
});

/** The planned JavaScript kernels of a function of one [2, 3, 5, 7] argument. */
const kernelsOf = (f: (x: Tensor) => Tensor): KernelPlan[] =>
  planKernels(f, { shape: [2, 3, 5, 7], data: new Float32Array(210) } as never, capabilitiesOf('native')).segments.flatMap((s) => (s.kind === 'pipeline' ? [...s.steps] : []));

test('a kernel run in shares that split rows anywhere writes what it writes run whole', () => {
  const programs: ((x: Tensor) => Tensor)[] = [
    // Elementwise with a broadcast; a transposed read; a reduction; a choice; a concatenation.
    (x) => maximum(mul(x, exp(x)), add(x, x)),
    (x) => transpose(x, [0, 3, 2, 1]),
    (x) => sum(x, [1, 3]),
    (x) => select(greater(x, mul(x, x)), exp(x), x),
    (x) => concat([x, mul(x, x), reshape(sum(x, [1], true), [2, 1, 5, 7])], 1),
  ];
  const kernels = programs.flatMap(kernelsOf);
  assert.ok(kernels.length >= programs.length);
  fc.assert(
    fc.property(fc.nat(kernels.length - 1), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (k, cuts) => {
      const plan = kernels[k];
      const kernel = new JavascriptKernel(plan.source, plan.passes, String(plan.node));
      const cells = plan.layout[0] * plan.layout[1] * plan.layout[2];
      const buffers = plan.inputLayouts.map(([w, h, d]) => Float32Array.from({ length: w * h * d }, (_, i) => Math.sin(i * 1.7 + k)));
      const whole = new Float32Array(cells);
      kernel.runHere(whole, buffers, 0, cells);
      const pieces = new Float32Array(cells).fill(NaN);
      const bounds = [0, ...cuts.map((c) => Math.floor(c * cells)).sort((a, b) => a - b), cells];
      for (let i = 0; i + 1 < bounds.length; i++) kernel.runHere(pieces, buffers, bounds[i], bounds[i + 1]);
      assert.deepEqual(pieces, whole);
    }),
    { numRuns: runs(60) },
  );
});

test('a kernel shared among workers writes what it writes on one thread; one that fails is named, and the pool goes on', async () => {
  const pool = new NativePool(3);
  try {
    const [plan] = kernelsOf((x) => mul(exp(x), x));
    const kernel = new JavascriptKernel(plan.source, 1 << 20, String(plan.node));
    const input = sharedFloats(210).map((_, i) => Math.cos(i));
    const here = new Float32Array(210);
    kernel.runHere(here, [input], 0, 210);
    const there = sharedFloats(210);
    assert.equal((await pool.runKernel(kernel, there, [input], 210)).threads, 3);
    assert.deepEqual(there, here);

    const broken = new JavascriptKernel('(function kernel(out, buffers, start, end) { throw new Error("no such value"); })', 1 << 20, 'exp#99[2, 3]');
    await assert.rejects(pool.runKernel(broken, sharedFloats(210), [], 210), /failed on a kernel job for exp#99\[2, 3\]: no such value/);
    // A small kernel runs on the calling thread, and says so when it fails too.
    const small = new JavascriptKernel(broken.source, 1, 'exp#98[2]');
    await assert.rejects(pool.runKernel(small, sharedFloats(2), [], 2), /the kernel for exp#98\[2\] failed: no such value/);
    there.fill(0);
    await pool.runKernel(kernel, there, [input], 210);
    assert.deepEqual(there, here);
  } finally {
    await pool.destroy();
  }
});

test('workers drop the kernels they are told to forget, and compile them again when they come back', async () => {
  const pool = new NativePool(2);
  try {
    const [plan] = kernelsOf((x) => mul(exp(x), x));
    const kernel = new JavascriptKernel(plan.source, 1 << 20, String(plan.node));
    const other = new JavascriptKernel(plan.source, 1 << 20, 'another');
    const input = sharedFloats(210).map((_, i) => Math.cos(i));
    const here = new Float32Array(210);
    kernel.runHere(here, [input], 0, 210);
    const out = sharedFloats(210);
    await pool.runKernel(kernel, out, [input], 210);
    pool.forget([kernel]);
    // The next kernel job tells each worker to drop it: a job naming it without its source fails.
    await pool.runKernel(other, out, [input], 210);
    const bare = { kind: 'kernel', id: kernel.id, out, buffers: [input], start: 0, end: 210, simd: false } as const;
    await assert.rejects(pool.exclusive(() => pool.run([bare, bare])), new RegExp(`kernel ${kernel.id} was never sent`));
    // Run again, it is sent again.
    out.fill(0);
    await pool.runKernel(kernel, out, [input], 210);
    assert.deepEqual(out, here);
  } finally {
    await pool.destroy();
  }
});

test("the native kernels' branch-free forms (comparisons, a maximum or minimum with 0) equal the primitives' references on every kind of float32", () => {
  const [a, b] = [name('a', true), name('b', true)];
  const zero = literal(0);
  const withForm = primitives.filter((primitive) => primitive.javascriptElementwise !== undefined);
  assert.deepEqual(withForm.map((primitive) => primitive.name).sort(), ['equal', 'greater', 'less', 'maximum', 'minimum']);
  // Each form with names for operands, and with the literal 0 on either side (a ReLU).
  const cases = withForm.flatMap((primitive) =>
    [[a, b], [a, zero], [zero, b]].map((args) => {
      const expression = primitive.javascriptElementwise!(args, {});
      assert.equal(expression.float32, true, expression.text);
      return { primitive, args, run: new Function('a', 'b', `return ${expression.text};`) as (a: number, b: number) => number };
    }),
  );
  const special = [0, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.401298464324817e-45, 1, -1];
  const float32 = fc.oneof(fc.constantFrom(...special), fc.float());
  fc.assert(
    fc.property(float32, float32, (x, y) => {
      for (const { primitive, args, run } of cases) {
        const [u, v] = [args[0] === zero ? 0 : x, args[1] === zero ? 0 : y];
        const [expected] = primitive.evaluate([{ shape: [1], data: Float64Array.of(u) }, { shape: [1], data: Float64Array.of(v) }] as never, {} as never, [1]);
        assert.ok(Object.is(run(x, y), expected), `${primitive.name}(${u}, ${v}): ${run(x, y)}, not ${expected}`);
      }
    }),
    { numRuns: runs(2000) },
  );
});
