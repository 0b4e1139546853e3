// The native kernels against plain references: the GEMM on every block shape it is given,
// max pooling over tiling windows and its gradient (windows of every tie, of -Infinity and NaN),
// and conv2d and matmul over random geometry (strides, per-side padding, dilation, kernels larger
// than their output, which take the by-channel form), operands read through transposes and
// flips, and pools of 1 to 3 threads (more threads than work included).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assembleModule } from '../lib/native/wasm-assembler.ts';
import { gemmKernel } from '../lib/native/gemm-kernel.ts';
import { transposeTapsKernel } from '../lib/native/transpose-kernel.ts';
import { multiplyAdd } from '../lib/native/relaxed-simd.ts';
import { NativePool } from '../lib/native/native-pool.ts';
import { conv2dNative, convForm, convForms } from '../lib/native/conv2d-native.ts';
import { matmulNative } from '../lib/native/matmul-native.ts';
import { maxPoolNative } from '../lib/native/max-pool-native.ts';
import { maxPoolGradientNative } from '../lib/native/max-pool-gradient-native.ts';
import { maxPool2d, maxPoolGradient, tensor } from '../lib/index.ts';
import { evaluateNodes } from '../lib/interpret.ts';
import { type NativeOperand, type StridedView } from '../lib/native/strided-view.ts';
import { stridesOf } from '../lib/shape.ts';
import { type Conv2dParams, conv2dPrimitive } from '../lib/primitives/conv2d.ts';
import { matmulPrimitive } from '../lib/primitives/matmul.ts';
import type { Shape } from '../lib/shape.ts';
import { runs } from './runs.ts';
import { sharedFloatArena } from '../lib/native/float-arena.ts';

const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** float32 sums in another order than float64's: close relative to the result's magnitude. */
const assertClose = (what: string, got: Float32Array, want: ArrayLike<number>) => {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * scale, `${what}[${i}]: ${got[i]} against ${want[i]}`);
};

/**
 * A float32 sum of `terms` products against the float64 one: within the bound any summation order
 * meets, (terms + 1) float32 roundings of the sum of the products' magnitudes (`magnitude`, the
 * same sum over |x| and |w|). A sum of 200 products of order 1 that cancels to 0.87 may be some
 * 1e-5 off in float32 in any order, so a bound relative to the largest result is no bound.
 */
const assertWithinSumBound = (what: string, got: Float32Array, want: ArrayLike<number>, magnitude: ArrayLike<number>, terms: number) => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= (terms + 1) * 2 ** -24 * magnitude[i], `${what}[${i}]: ${got[i]} against ${want[i]} (the sum's magnitude ${magnitude[i]})`);
};

/** The elements of a view, row-major, as the interpreter's float64 values. */
const materialize = ({ data, view }: NativeOperand) => {
  const out = new Float64Array(sizeOf(view.shape));
  let k = 0;
  const walk = (axis: number, offset: number): void => {
    if (axis === view.shape.length) {
      out[k++] = data[offset];
      return;
    }
    for (let i = 0; i < view.shape[axis]; i++) walk(axis + 1, offset + i * view.strides[axis]);
  };
  walk(0, view.offset);
  return { shape: view.shape as Shape, data: out };
};

/** An operand of `shape`, stored in the permuted order `storage` and read back as a view; optionally flipped along `flips`. */
const operandArbitrary = (shape: readonly number[], seed: number) =>
  fc.record({ storage: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }), flips: fc.subarray([...shape.keys()]) }).map(({ storage, flips }) => {
    const stored = storage.map((axis) => shape[axis]);
    const storedStrides = stridesOf(stored);
    const strides = shape.map((_, axis) => storedStrides[storage.indexOf(axis)]);
    let offset = 0;
    for (const axis of flips) {
      offset += (shape[axis] - 1) * strides[axis];
      strides[axis] = -strides[axis];
    }
    const view: StridedView = { offset, shape, strides };
    return { data: values(sizeOf(shape), seed), view };
  });

/**
 * With `inArena`, the operands copied into float-arena arrays (read in place by the jobs) and
 * results allocated there (written by the workers), all given back after; otherwise as they are.
 */
const inArenaWhen = async (
  inArena: boolean,
  operands: readonly NativeOperand[],
  body: (operands: readonly NativeOperand[], allocate: ((length: number) => Float32Array) | undefined) => Promise<void>,
) => {
  if (!inArena) return body(operands, undefined);
  const arena = sharedFloatArena();
  const taken: Float32Array[] = [];
  const take = (length: number) => {
    const array = arena.take(length);
    taken.push(array);
    return array;
  };
  try {
    const copies = operands.map(({ data, view }) => {
      const array = take(data.length);
      array.set(data);
      return { data: array, view };
    });
    assert.ok(copies.every(({ data }) => arena.holds(data)));
    await body(copies, take);
  } finally {
    taken.forEach((array) => arena.give(array));
  }
};

/**
 * One pool per thread count for the whole file, as a run keeps its pool: each check finds the
 * scratch block the last one left, and first fills it with NaN, so that a kernel that reads
 * memory it did not write (a sum begun on what was there) fails instead of finding the zeros of a
 * fresh pool.
 */
const pools = new Map<number, NativePool>();
after(() => Promise.all([...pools.values()].map((pool) => pool.destroy())));
const withPool = async (threads: number, body: (pool: NativePool) => Promise<void>) => {
  let pool = pools.get(threads);
  if (pool === undefined) pools.set(threads, (pool = new NativePool(threads)));
  // reserve(0) answers the scratch block as it stands; a larger one a job takes may hold anything.
  await pool.exclusive(async () => {
    const { memory, base, length } = pool.reserve(0);
    memory.fill(NaN, base, base + length);
  });
  await body(pool);
};

// Both forms of the kernel: multiply-adds separate, and fused where the engine has relaxed SIMD
// (the form the pool runs here; Node 20 has it behind a flag that relaxed-simd.ts turns on).
const fusedHere = multiplyAdd();
for (const fusedMultiplyAdd of [false, true]) {
  test(`the GEMM kernel computes C = A . B and C += A . B on every block shape (multiply-adds ${fusedMultiplyAdd ? 'fused' : 'separate'})`, { skip: fusedMultiplyAdd && !fusedHere.fused && `relaxed SIMD is not here: ${(fusedHere as { reason: string }).reason}` }, async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(assembleModule([{ name: 'gemm', body: gemmKernel({ fusedMultiplyAdd }) }], 64)), { env: { memory } });
    const gemm = instance.exports.gemm as (...args: number[]) => void;
    const f32 = new Float32Array(memory.buffer);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 13 }), fc.nat(3), fc.boolean(), (mb, nb, k, extra, accumulate) => {
        const m = 4 * mb;
        const n = 8 * nb;
        // Row strides wider than the rows, as where the GEMM writes into a larger matrix.
        const lda = k + extra;
        const ldc = n + 8 * extra;
        const a = 0;
        const b = m * lda + 4;
        const c = b + k * n + 4;
        f32.set(values(m * lda, 1), a);
        f32.set(values(k * n, 2), b);
        const before = values(m * ldc, 3);
        f32.set(before, c);
        gemm(a * 4, lda * 4, b * 4, n * 4, c * 4, ldc * 4, m, n, k, accumulate ? 1 : 0);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let want = accumulate ? before[i * ldc + j] : 0;
            for (let p = 0; p < k; p++) want += f32[a + i * lda + p] * f32[b + p * n + j];
            assert.ok(Math.abs(f32[c + i * ldc + j] - want) <= 1e-5 * (1 + Math.abs(want)), `C[${i}, ${j}] = ${f32[c + i * ldc + j]}, expected ${want}`);
          }
        // Past each row's n columns nothing is written.
        for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) assert.equal(f32[c + i * ldc + j], before[i * ldc + j]);
      }),
      { numRuns: runs(60) },
    );
  });
}

test('the weight gradient\'s tap transpose moves every tap to its row and output channel: 4 x 4 blocks where the layout allows, one float at a time elsewhere', () => {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(assembleModule([{ name: 'transposeTaps', body: transposeTapsKernel() }], 64)), { env: { memory } });
  const transposeTaps = instance.exports.transposeTaps as (...args: number[]) => void;
  const f32 = new Float32Array(memory.buffer);
  let blocked = 0;
  fc.assert(
    fc.property(
      // Output channels and a row's taps in fours half the time (the blocked path), any count else.
      fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(1, 1, 2), fc.nat(4),
      (fours, o4, anyO, c4, anyC, rows, columnStep, extra) => {
        const outChannels = fours ? 4 * o4 : anyO;
        const columns = fours ? 4 * c4 : anyC;
        if (columnStep === 1 && columns % 4 === 0 && outChannels % 4 === 0) blocked++;
        // Source: taps (o, i, j) at o * oStep + i * rowStep + j * columnStep, rows and planes padded apart.
        const rowStep = columns * columnStep + extra;
        const oStep = rows * rowStep + extra;
        const src = 8;
        const dstRowStep = outChannels + 4 * extra;
        const dst = src + outChannels * oStep + 8;
        const size = rows * columns * dstRowStep;
        f32.set(values(outChannels * oStep, 4), src);
        f32.fill(-7, dst, dst + size + 8);
        transposeTaps(dst * 4, dstRowStep * 4, src * 4, outChannels, rows, columns, oStep * 4, rowStep * 4, columnStep * 4);
        for (let k = 0; k < size + 8; k++) {
          const [position, o] = [Math.floor(k / dstRowStep), k % dstRowStep];
          const [i, j] = [Math.floor(position / columns), position % columns];
          const want = k < size && o < outChannels ? f32[src + o * oStep + i * rowStep + j * columnStep] : -7;
          assert.equal(f32[dst + k], want, `${outChannels} x ${rows} x ${columns} (column step ${columnStep}): element ${k}`);
        }
      },
    ),
    { numRuns: runs(100) },
  );
  assert.ok(blocked >= runs(100) / 8, `${blocked} draws took the blocked path`);
});

const convArbitrary = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    channels: fc.integer({ min: 1, max: 4 }),
    outChannels: fc.integer({ min: 1, max: 6 }),
    height: fc.integer({ min: 1, max: 9 }),
    width: fc.integer({ min: 1, max: 9 }),
    kernel: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.tuple(fc.nat(2), fc.nat(2)), fc.tuple(fc.nat(2), fc.nat(2))),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    threads: fc.integer({ min: 1, max: 3 }),
    // Results into an array of the caller's in shared memory (the workers write it), or not.
    shared: fc.boolean(),
    // Stride 1 and output rows of 8 or 16 (the implicit form's), which other draws seldom give.
    wholeRows: fc.constantFrom(0, 0, 0, 1, 2),
  })
  .map(({ wholeRows, ...g }) =>
    wholeRows === 0 ? g : { ...g, stride: [1, 1] as [number, number], width: 8 * wholeRows - g.padding[1][0] - g.padding[1][1] + g.dilation[1] * (g.kernel[1] - 1) },
  )
  .filter(({ height, width, kernel, padding, dilation }) => height + padding[0][0] + padding[0][1] >= dilation[0] * (kernel[0] - 1) + 1 && width + padding[1][0] + padding[1][1] >= dilation[1] * (kernel[1] - 1) + 1)
  .chain((g) =>
    fc.record({
      g: fc.constant(g),
      x: operandArbitrary([g.batch, g.channels, g.height, g.width], 1),
      w: operandArbitrary([g.outChannels, g.channels, g.kernel[0], g.kernel[1]], 2),
    }),
  );

test('native conv2d equals the interpreter: any geometry, operands as views, each GEMM form that can compute it', async () => {
  const forms = new Set<string>();
  const chosen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(convArbitrary, async ({ g, x, w }) => {
      const params: Conv2dParams = { stride: g.stride, padding: g.padding, dilation: g.dilation };
      const xs = materialize(x);
      const ws = materialize(w);
      const shape = conv2dPrimitive.shape([xs.shape, ws.shape], params);
      chosen.add(convForm(xs.shape, ws.shape, g.stride, shape));
      const want = conv2dPrimitive.evaluate([xs, ws], params, shape);
      const magnitude = conv2dPrimitive.evaluate([xs, ws].map(({ shape, data }) => ({ shape, data: data.map(Math.abs) })), params, shape);
      const terms = g.channels * g.kernel[0] * g.kernel[1];
      // Every form on the same draw, not only the one the planner picks for it.
      for (const form of convForms(g.stride, shape)) {
        forms.add(form);
        // Shared: the operands in the float arena, read in place, and the result written there by the workers.
        await withPool(g.threads, async (pool) =>
          inArenaWhen(g.shared, [x, w], async ([xa, wa], allocate) =>
            assertWithinSumBound(`conv2d ${form}`, await conv2dNative(pool, xa, wa, params, shape, allocate, form), want, magnitude, terms),
          ),
        );
      }
    }),
    { numRuns: runs(60) },
  );
  assert.deepEqual([...forms].sort(), ['by channel', 'by image', 'by shifts', 'implicit by channel', 'implicit by image']);
  assert.deepEqual([...chosen].sort(), ['by image', 'by shifts', 'implicit by channel', 'implicit by image']);
});

test('a native convolution asked for the implicit form by image where its stride is not 1 says so', async () => {
  const x = { data: new Float32Array(2 * 16 * 16), view: { offset: 0, shape: [1, 2, 16, 16], strides: [512, 256, 16, 1] } };
  const w = { data: new Float32Array(2 * 2 * 9), view: { offset: 0, shape: [2, 2, 3, 3], strides: [18, 9, 3, 1] } };
  await withPool(1, async (pool) => {
    await assert.rejects(
      conv2dNative(pool, x, w, { stride: [2, 2], padding: [[1, 1], [1, 1]], dilation: [1, 1] }, [1, 2, 8, 8], undefined, 'implicit by image'),
      /conv2d: the implicit by image form cannot compute a convolution of stride \[2,2\] into \[1,2,8,8\]/,
    );
  });
});

test('native matmul equals the interpreter: batched, operands as views, rows or products shared among threads', async () => {
  const arbitrary = fc
    .record({
      batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      m: fc.integer({ min: 1, max: 11 }), k: fc.integer({ min: 0, max: 9 }), n: fc.integer({ min: 1, max: 17 }), threads: fc.integer({ min: 1, max: 3 }),
      shared: fc.boolean(),
    })
    .chain((g) => fc.record({ g: fc.constant(g), a: operandArbitrary([...g.batch, g.m, g.k], 1), b: operandArbitrary([...g.batch, g.k, g.n], 2) }));
  await fc.assert(
    fc.asyncProperty(arbitrary, async ({ g, a, b }) => {
      const as = materialize(a);
      const bs = materialize(b);
      const shape = matmulPrimitive.shape([as.shape, bs.shape], {});
      const want = matmulPrimitive.evaluate([as, bs], {}, shape);
      await withPool(g.threads, async (pool) =>
        inArenaWhen(g.shared, [a, b], async ([aa, ba], allocate) => assertClose('matmul', await matmulNative(pool, aa, ba, shape, allocate), want)),
      );
    }),
    { numRuns: runs(60) },
  );
});

test('a pool grows its memory for a large job and still computes small ones after it', async () => {
  await withPool(2, async (pool) => {
    for (const n of [4, 700, 5]) {
      const shape = [n, n];
      const a = { data: values(n * n, 1), view: { offset: 0, shape, strides: stridesOf(shape) } };
      const b = { data: values(n * n, 2), view: { offset: 0, shape, strides: stridesOf(shape) } };
      const got = await matmulNative(pool, a, b, shape);
      const want = matmulPrimitive.evaluate([materialize(a), materialize(b)], {}, shape);
      assertClose(`matmul ${n}`, got, want);
    }
  });
});

test('jobs started together on one pool (two compiled functions called at once) each get their own result', async () => {
  await withPool(2, async (pool) => {
    const shapes = [[40, 24, 32], [16, 48, 8], [33, 7, 65], [64, 64, 64]];
    const cases = shapes.map(([m, k, n], i) => {
      const a = { data: values(m * k, 2 * i), view: { offset: 0, shape: [m, k], strides: stridesOf([m, k]) } };
      const b = { data: values(k * n, 2 * i + 1), view: { offset: 0, shape: [k, n], strides: stridesOf([k, n]) } };
      return { a, b, shape: [m, n] };
    });
    const results = await Promise.all(cases.map(({ a, b, shape }) => matmulNative(pool, a, b, shape)));
    results.forEach((got, i) => assertClose(`product ${i}`, got, matmulPrimitive.evaluate([materialize(cases[i].a), materialize(cases[i].b)], {}, cases[i].shape)));
  });
});

/**
 * Values for pooling windows: small integers, so that windows are all negative and hold ties of
 * every size, and now and then -Infinity or NaN, as the interpreter's reference must see them too.
 */
const windowValues = (count: number, seed: number) =>
  Float32Array.from({ length: count }, (_, i) => {
    const draw = Math.abs(Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453) % 1;
    return draw < 0.02 ? -Infinity : draw < 0.03 ? NaN : Math.floor(draw * 4) - 2;
  });

test('native max pooling over tiling windows and its gradient equal the interpreter: operands as views, ties of every size, -Infinity and NaN, 1 to 3 threads', async () => {
  const arbitrary = fc
    .record({
      n: fc.integer({ min: 1, max: 8 }), c: fc.integer({ min: 1, max: 8 }), ho: fc.integer({ min: 1, max: 24 }), wo: fc.integer({ min: 1, max: 24 }),
      kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), extra: fc.nat(2), threads: fc.integer({ min: 1, max: 3 }), seed: fc.nat(1000),
    })
    .chain((p) => {
      // Rows and columns past the last whole window too, which pooling leaves out.
      const xShape = [p.n, p.c, p.ho * p.kh + p.extra, p.wo * p.kw];
      const rows = Math.floor(xShape[2] / p.kh);
      return fc.record({ p: fc.constant({ ...p, ho: rows }), x: operandArbitrary(xShape, p.seed), ct: operandArbitrary([p.n, p.c, rows, p.wo], p.seed + 1) });
    });
  await fc.assert(
    fc.asyncProperty(arbitrary, async ({ p, x, ct }) => {
      const window: [number, number] = [p.kh, p.kw];
      const xData = windowValues(x.data.length, p.seed);
      const cotangent = { ...ct, data: values(ct.data.length, p.seed + 2) };
      const xValue = materialize({ data: xData, view: x.view });
      const pooled = maxPool2d(tensor(xValue.data, xValue.shape), { window });
      const covered = { ...x.view, shape: [p.n, p.c, p.ho * p.kh, p.wo * p.kw] };
      const coveredValue = materialize({ data: xData, view: covered });
      const ctValue = materialize(cotangent);
      const [wantPooled, wantGradient] = evaluateNodes([pooled, maxPoolGradient(tensor(ctValue.data, ctValue.shape), tensor(coveredValue.data, coveredValue.shape), pooled, window)]);
      await withPool(p.threads, async (pool) => {
        const gotPooled = await maxPoolNative(pool, [{ data: xData, view: x.view }], pooled);
        assert.deepEqual([...gotPooled], [...wantPooled.data].map(Math.fround), 'pooled');
        const yOperand = { data: gotPooled, view: { offset: 0, shape: pooled.shape, strides: stridesOf(pooled.shape) } };
        const node = maxPoolGradient(tensor(ctValue.data, ctValue.shape), tensor(coveredValue.data, coveredValue.shape), pooled, window);
        const gotGradient = await maxPoolGradientNative(pool, [cotangent, { data: xData, view: covered }, yOperand], node);
        wantGradient.data.forEach((want, i) => {
          const got = gotGradient[i];
          assert.ok(Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) <= 1e-6 * Math.abs(want), `gradient[${i}]: ${got} against ${want}`);
        });
      });
    }),
    { numRuns: runs(40) },
  );
});
