// Compiled equals interpreted: every primitive's gradient case and random programs, forward
// and gradient, run as gpu.js kernels on each backend this machine has, and agree with the
// float64 interpreter within float32 tolerance. Also: kernels are built once per shape, an
// elementwise chain is one kernel, and a backend that cannot run is an error, not a fallback.

import { test } from 'node:test';
import { availableParallelism } from 'node:os';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GPU } from 'gpu.js';
import {
  add, awkwardShapes, conv2d, exp, grad, matmul, interpret, max, maximum, maxPool2d, mul, neg, pad, programArbitrary, relu, reshape, runProgram, sum, tanh, tensor, type Tensor, transpose, type Value,
} from '../lib/index.ts';
import { compile, webgpuDevice } from '../lib/compile/index.ts';
import { capabilitiesOf, lowered } from '../lib/compile/capabilities.ts';
import { uncopied } from '../lib/compile/uncopied-arguments.ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { uniformNumbers } from '../lib/check/sample.ts';
import { randomBits } from '../lib/primitives/random-bits.ts';
import { gradientCases } from './gradient-cases.ts';
import { runs } from './runs.ts';
import { backendsNamed, testBackends, testLimits } from './backends.ts';

const limits = testLimits;

/** float32 against float64: relative to the magnitude of the whole result, and per element. */
const assertClose = (what: string, compiled: Float32Array, reference: Float64Array) => {
  assert.equal(compiled.length, reference.length, `${what}: length`);
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  reference.forEach((r, i) => {
    const c = compiled[i];
    if (Number.isNaN(r)) assert.ok(Number.isNaN(c), `${what}[${i}]: expected NaN, got ${c}`);
    else if (!Number.isFinite(r)) assert.equal(c, r, `${what}[${i}]`);
    else assert.ok(Math.abs(c - r) <= 1e-4 * scale + 1e-4 * Math.abs(r), `${what}[${i}]: compiled ${c}, interpreted ${r} (scale ${scale})`);
  });
};

/** The case's value and the gradient of its contraction with fixed random weights. */
const valueAndGradient = (f: (inputs: any) => Tensor) => (inputs: any) => {
  const value = f(inputs);
  const weights = tensor(uniformNumbers(7, value.size, -1, 1), value.shape);
  return { value, gradient: grad((x: any) => sum(mul(f(x), weights)))(inputs) };
};

const leafPairs = (compiled: unknown, reference: unknown, path = ''): [string, Float32Array, Float64Array][] => {
  if (reference && typeof reference === 'object' && 'data' in reference && (reference as Value).data instanceof Float64Array)
    return [[path, (compiled as { data: Float32Array }).data, (reference as Value).data]];
  if (reference && typeof reference === 'object')
    return Object.keys(reference).flatMap((k) => leafPairs((compiled as any)[k], (reference as any)[k], `${path}.${k}`));
  return [];
};

for (const backend of testBackends) {
  const native = capabilitiesOf(backend).nativeKernels && limits.nativeKernels !== false;
  const tiled = capabilitiesOf(backend).tiledKernels && limits.tiledKernels !== false;
  // Where convolutions and matmuls run on the native or the tiled kernels, their gpu.js kernels
  // are still what `nativeKernels: false` or `tiledKernels: false` runs, and are checked too.
  const variants = [
    ...Object.entries(gradientCases).map(([name, c]) => ({ name, ...c, limits })),
    ...(native || tiled
      ? (['conv2d', 'matmul'] as const).map((name) => ({ name: `${name} on gpu.js's own kernels`, ...gradientCases[name], limits: { ...limits, nativeKernels: false, tiledKernels: false } }))
      : []),
    // Where the other kernels run as the native pool's JavaScript, gpu.js's pipelines are still
    // what `javascriptKernels: false` runs (with the native GEMMs), and are checked too.
    ...(lowered(capabilitiesOf(backend), limits).javascriptKernels
      ? Object.entries(gradientCases).map(([name, c]) => ({ name: `${name} in gpu.js's pipelines`, ...c, limits: { ...limits, javascriptKernels: false } }))
      : []),
  ];
  for (const { name, arbitrary, f, limits } of variants)
    test(`${backend}: ${name} compiled equals interpreted, forward and gradient`, async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (inputs) => {
          const program = valueAndGradient(f);
          const compiled = compile(program, { backend, limits, onWarning: () => {} });
          try {
            const out = await compiled(inputs);
            for (const [path, c, r] of leafPairs(out, interpret(program(inputs)))) assertClose(`${name}${path}`, c, r);
          } finally {
            await compiled.destroy();
          }
        }),
        { numRuns: runs(6) },
      );
    });

  // Inputs of awkward shapes (primes, odd sizes, tens of thousands of elements): what index
  // division, layouts and thread shares branch on. Shrinking moves towards the small sizes.
  // Where every program's kernels are built through a driver (software GL and Vulkan on a CPU
  // machine: about 4 s and 1.6 s a program), fewer programs, so that the property ends in its time.
  const awkwardRuns = backend === 'headlessgl' ? 8 : backend === 'webgpu' ? 12 : 40;
  test(`${backend}: random programs of awkward shapes compiled equal interpreted, forward and gradient`, async () => {
    await fc.assert(
      fc.asyncProperty(programArbitrary(8, awkwardShapes), async ({ description, inputs }) => {
        const program = valueAndGradient((p) => runProgram(description, p));
        const compiled = compile(program, { backend, limits });
        try {
          const out = await compiled(inputs);
          for (const [path, c, r] of leafPairs(out, interpret(program(inputs)))) assertClose(`program${path}`, c, r);
        } finally {
          await compiled.destroy();
        }
      }),
      { numRuns: runs(awkwardRuns) },
    );
  });

  test(`${backend}: a second call with the same shapes builds nothing; new shapes trace again`, async () => {
    const compiled = compile((p: { x: Tensor; w: Tensor }) => sum(tanh(mul(p.x, p.w)), 1), { backend, limits });
    const args = (n: number) => ({ x: { shape: [n, 3], data: new Float32Array(n * 3).fill(0.5) }, w: { shape: [3], data: Float32Array.of(1, 2, 3) } });
    const first = await compiled(args(4));
    const built = compiled.stats();
    const second = await compiled(args(4));
    assert.deepEqual(compiled.stats(), built);
    assert.deepEqual(second, first);
    assert.equal(built.traces, 1);
    await compiled(args(5));
    assert.equal(compiled.stats().traces, 2);
    const report = compiled.report()!;
    assert.equal(report.backend, backend);
    assert.equal(report.kernelMode, lowered(capabilitiesOf(backend), limits).javascriptKernels ? 'javascript' : backend === 'headlessgl' ? 'gpu' : backend);
    assert.equal(report.fallbackReason, null);
    await compiled.destroy();
  });

  test(`${backend}: random numbers drawn in a kernel equal the interpreter's bit for bit`, async () => {
    const compiled = compile((k: Tensor) => randomBits(k, [3, 1000]), { backend, limits });
    for (const words of [[123, 4567890, 16777215, 0], [0, 0, 0, 0], [16777215, 1, 2, 3]]) {
      const out = await compiled({ shape: [4], data: Float32Array.from(words) });
      const reference = interpret(randomBits(tensor(words, [4]), [3, 1000])).data;
      const differing = out.data.filter((v, i) => v !== reference[i]).length;
      assert.equal(differing, 0, `${differing} of ${reference.length} values differ for key [${words}]`);
    }
    assert.deepEqual(compiled.report()!.hostSteps, []);
    await compiled.destroy();
  });

  test(`${backend}: a tensor longer than a texture side (16384 on WebGL) compiles`, async () => {
    const f = (x: Tensor) => ({ y: exp(mul(x, 0.5)), total: sum(x, 1), transposed: add(transpose(x), 1) });
    const n = 40_000;
    const data = Float32Array.from({ length: 2 * n }, (_, i) => ((i * 7919) % 1000) / 1000);
    const compiled = compile(f, { backend, limits });
    const out = await compiled({ shape: [2, n], data });
    const reference = interpret(f(tensor(data, [2, n])));
    assertClose('y', out.y.data, reference.y.data);
    assertClose('total', out.total.data, reference.total.data);
    assertClose('transposed', out.transposed.data, reference.transposed.data);
    await compiled.destroy();
  });

  test(`${backend}: leading axes past a dispatch's 65535 workgroups (WebGPU's z) compile`, async () => {
    const f = (x: Tensor) => ({ y: exp(mul(x, 0.5)), total: sum(tanh(x), 2) });
    const shape = [70_000, 3, 2];
    const data = Float32Array.from({ length: 420_000 }, (_, i) => ((i * 7919) % 1000) / 1000);
    const compiled = compile(f, { backend, limits });
    const out = await compiled({ shape, data });
    const reference = interpret(f(tensor(data, shape)));
    assertClose('y', out.y.data, reference.y.data);
    assertClose('total', out.total.data, reference.total.data);
    await compiled.destroy();
  });

  test(`${backend}: a chain of elementwise operations is one kernel`, async () => {
    let listing = '';
    const compiled = compile((x: Tensor) => exp(neg(add(mul(tanh(x), 2), 1))), { backend, limits, debug: (text) => (listing = text) });
    const out = await compiled({ shape: [3, 5], data: new Float32Array(15).fill(0.25) });
    assert.equal(compiled.stats().kernelsBuilt, 1);
    assert.equal((listing.match(/^\/\/ kernel for/gm) ?? []).length, 1);
    assert.match(listing, /from exp#\d+.*neg#\d+.*add#\d+.*mul#\d+/);
    assertClose('chain', out.data, Float64Array.from({ length: 15 }, () => Math.exp(-(Math.tanh(0.25) * 2 + 1))));
    await compiled.destroy();
  });

  test(`${backend}: conv2d followed by its bias and relu is one kernel (after the padded copy of its input)`, async () => {
    let listing = '';
    const layer = (p: { x: Tensor; w: Tensor; b: Tensor }) => relu(add(conv2d(p.x, p.w, { padding: 1 }), reshape(p.b, [1, 2, 1, 1])));
    const compiled = compile(layer, { backend, limits: { ...limits, nativeKernels: false, tiledKernels: false }, debug: (text) => (listing = text) });
    const args = { x: { shape: [1, 3, 4, 4], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) }, w: { shape: [2, 3, 3, 3], data: Float32Array.from({ length: 54 }, (_, i) => Math.cos(i)) }, b: { shape: [2], data: Float32Array.of(0.5, -0.5) } };
    const out = await compiled(args);
    assert.equal(compiled.stats().kernelsBuilt, 2, listing);
    assert.match(listing, /^\/\/ kernel for pad#\d+/m);
    assert.match(listing, /^\/\/ kernel for maximum#\d+.* from maximum#\d+.*add#\d+.*conv2d#\d+/m);
    assertClose('layer', out.data, interpret(layer({ x: tensor(args.x.data, [1, 3, 4, 4]), w: tensor(args.w.data, [2, 3, 3, 3]), b: tensor(args.b.data, [2]) })).data);
    await compiled.destroy();
  });

  if (native || tiled)
    test(`${backend}: conv2d runs on the ${tiled ? 'tiled' : 'native'} kernels, reading its operands' views in place; its bias and relu are one kernel`, async () => {
      let listing = '';
      // The weight gradient is a convolution of two transposes: read as views, they need no kernels.
      const layer = (p: { x: Tensor; w: Tensor; b: Tensor }) => relu(add(conv2d(p.x, p.w, { padding: 1 }), reshape(p.b, [1, 2, 1, 1])));
      const f = (p: { x: Tensor; w: Tensor; b: Tensor }) => ({ y: layer(p), dw: grad((w: Tensor) => sum(layer({ ...p, w })))(p.w) });
      const compiled = compile(f, { backend, limits, debug: (text) => (listing = text) });
      const args = { x: { shape: [2, 3, 5, 4], data: Float32Array.from({ length: 120 }, (_, i) => Math.sin(i)) }, w: { shape: [2, 3, 3, 3], data: Float32Array.from({ length: 54 }, (_, i) => Math.cos(i)) }, b: { shape: [2], data: Float32Array.of(0.5, -0.5) } };
      const out = await compiled(args);
      const report = compiled.report()!;
      // y's convolution, the same again inside grad (traced twice), and the weight gradient's.
      if (tiled) assert.equal(report.device?.tiledSteps, 3, listing);
      else {
        assert.equal(report.native?.steps, 3, listing);
        assert.ok(report.native!.threads >= 1);
      }
      assert.doesNotMatch(listing, /^\/\/ kernel for (pad|conv2d)#/m, listing);
      // The one transpose kernel lays out the weight gradient's result; none copies an operand.
      for (const [, reads] of listing.matchAll(/^\/\/ kernel for transpose#.*\n\/\/ reads (.*)$/gm)) assert.match(reads, /^conv2d#\d+\[[\d, ]+\]$/, listing);
      assert.match(listing, /^\/\/ kernel for maximum#\d+.* from maximum#\d+.*add#\d+/m);
      const reference = interpret(f({ x: tensor(args.x.data, [2, 3, 5, 4]), w: tensor(args.w.data, [2, 3, 3, 3]), b: tensor(args.b.data, [2]) }));
      assertClose('y', out.y.data, reference.y.data);
      assertClose('dw', out.dw.data, reference.dw.data);
      await compiled.destroy();
    });

  test(`${backend}: every array a call returns is the caller's own (arguments, repeated outputs and earlier calls' results are not shared)`, async () => {
    const f = (p: { x: Tensor; w: Tensor }) => {
      const y = matmul(p.x, p.w);
      return { x: p.x, y, again: y, z: exp(p.x) };
    };
    const compiled = compile(f, { backend, limits });
    const args = { x: { shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, i) => i / 32) }, w: { shape: [8, 8], data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)) } };
    const first = await compiled(args);
    const second = await compiled(args);
    const arrays = [first.x.data, first.y.data, first.again.data, first.z.data, second.x.data, second.y.data, second.again.data, second.z.data, args.x.data];
    assert.equal(new Set(arrays.map((a) => a.buffer)).size, arrays.length, 'two results share memory');
    assert.deepEqual(first.y.data, second.y.data);
    await compiled.destroy();
  });

  test(`${backend}: flat indices near 2^24 are divided exactly (float32 division alone rounds them one off)`, async () => {
    // [262146, 32] transposed and flattened: 2^23 + 64 elements, each output's index unravelled
    // through divisions that float32 gets wrong past 2^23 without the remainder correction.
    const rows = 262_146;
    const data = Float32Array.from({ length: rows * 32 }, (_, i) => i % 1009);
    const compiled = compile((x: Tensor) => reshape(transpose(x, [1, 0]), [rows * 32]), { backend, limits });
    const out = await compiled({ shape: [rows, 32], data });
    for (const flat of [0, 1, rows * 32 - 1, rows * 32 - 2, 2 ** 23 + 1, 2 ** 23 + 63, 4_194_305]) {
      const column = Math.floor(flat / rows);
      const row = flat % rows;
      assert.equal(out.data[flat], data[row * 32 + column], `element ${flat}`);
    }
    await compiled.destroy();
    if (backend === 'cpu') return; // JavaScript kernels index in float64
    const tooLarge = compile((x: Tensor) => mul(x, 2), { backend, limits });
    await assert.rejects(
      tooLarge({ shape: [2 ** 24 + 1], data: new Float32Array(2 ** 24 + 1) }),
      // Thread indices, or a wrapped buffer's flat positions where the backend wraps long buffers.
      /the kernel for mul#\d+\[16777217\] computes (thread indices in x|wrapped flat positions) up to \d+, more than the 16777216 its float32 index arithmetic holds exactly/,
    );
    await tooLarge.destroy();
  });

  test(`${backend}: infinite and NaN constants, and maxima over -Infinity, equal the interpreter's`, async () => {
    const f = (x: Tensor) => ({
      shifted: add(x, Infinity),
      scaled: mul(x, Number.NaN),
      floor: maximum(x, -Infinity),
      rowMax: max(x, [1]),
      padded: pad(x, [[0, 0], [1, 1]], -Infinity),
      pooled: maxPool2d(reshape(x, [1, 1, 2, 4]), { window: 3, stride: 1, padding: 1 }),
    });
    const data = Float32Array.of(1, -Infinity, 3, -2, -Infinity, -Infinity, -Infinity, -Infinity);
    const compiled = compile(f, { backend, limits });
    const out = await compiled({ shape: [2, 4], data });
    const reference = interpret(f(tensor(data, [2, 4])));
    for (const [path, c, r] of leafPairs(out, reference)) assertClose(`constants${path}`, c, r);
    await compiled.destroy();
  });

  test(`${backend}: a kernel that would read more buffers than allowed is split, and computes the same`, async () => {
    const f = (xs: Tensor[]) => xs.slice(1).reduce((total, x, i) => add(mul(total, tanh(x)), i), xs[0]);
    const inputs = Array.from({ length: 11 }, (_, k) => ({ shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(k * 12 + i)) }));
    let listing = '';
    const compiled = compile(f, { backend, limits: { storageBuffersPerKernel: 4 }, debug: (text) => (listing = text) });
    const out = await compiled(inputs);
    const reads = [...listing.matchAll(/^\/\/ reads (.*)$/gm)].map((m) => (m[1].match(/#\d+\[/g) ?? []).length);
    assert.ok(reads.length > 1 && reads.every((n) => n <= 3), `buffers read by each kernel: ${reads}`);
    assertClose('split', out.data, interpret(f(inputs.map((x) => tensor(x.data, [3, 4])))).data);
    await compiled.destroy();
  });

}

test('native: a profiled call gives each JavaScript kernel its elements, passes and threads, and other kernels none', async () => {
  // bench:step reads these as nanoseconds a float a thread beside a memory copy.
  const compiled = compile((p: { x: Tensor }) => sum(exp(mul(p.x, 2)), 1), { backend: 'native', profile: true });
  await compiled({ x: { shape: [64, 4096], data: new Float32Array(64 * 4096).fill(0.25) } });
  const profile = compiled.report()!.profile!;
  const timed = profile.filter((k) => k.work !== undefined);
  assert.ok(timed.length > 0, JSON.stringify(profile));
  for (const { work } of timed) {
    assert.ok(work!.elements >= 1 && work!.passes >= 1, JSON.stringify(work));
    assert.ok(work!.threads >= 1 && work!.threads <= availableParallelism(), JSON.stringify(work));
  }
  // The sum's kernel: 64 rows of 4096 passes each, large enough to be split among the pool's threads.
  assert.ok(timed.some(({ work }) => work!.elements === 64 && work!.passes > 4096 - 1 && (availableParallelism() === 1 || work!.threads > 1)), JSON.stringify(timed));
  await compiled.destroy();
});

test('plain data in the arguments is part of what a compiled program is traced for', async () => {
  const compiled = compile((p: { x: Tensor; scale: number }) => mul(p.x, p.scale), { backend: 'cpu' });
  const x = { shape: [2], data: Float32Array.of(1, 2) };
  assert.deepEqual(Array.from((await compiled({ x, scale: 2 } as never)).data), [2, 4]);
  assert.deepEqual(Array.from((await compiled({ x, scale: 3 } as never)).data), [3, 6]);
  assert.equal(compiled.stats().traces, 2);
  await compiled.destroy();
});

test('arguments: what the types accept runs; the rest is refused naming the argument and what was expected', async () => {
  const compiled = compile((p: { x: Tensor }) => mul(p.x, 2), { backend: 'cpu' });
  const typed = (await compiled({ x: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } })).data;
  // A plain array, any array-like and a Float64Array of float32-sized values are data too.
  for (const data of [[1, 2, 3, 4], { length: 4, 0: 1, 1: 2, 2: 3, 3: 4 }, Float64Array.of(1, 2, 3, 4), Int8Array.of(1, 2, 3, 4)])
    assert.deepEqual(Array.from((await compiled({ x: { shape: [2, 2], data } })).data), Array.from(typed), JSON.stringify(data));
  const refused = async (x: unknown, pattern: RegExp) =>
    assert.rejects(compiled({ x } as never), (error: Error) => {
      assert.match(error.message, pattern);
      return true;
    });
  await refused({ shape: [2.5], data: [1, 2] }, /^compile: argument x has shape \[2\.5\]; expected a list of non-negative integers$/);
  await refused({ shape: [-1], data: [] }, /^compile: argument x has shape \[-1\]; expected a list of non-negative integers$/);
  await refused({ shape: [2], data: 'ab' }, /^compile: argument x has shape \[2\] and data "ab"; expected data: a typed array or an array of numbers$/);
  await refused({ shape: [3], data: [1, 2] }, /^compile: argument x has 2 values for shape \[3\]$/);
  await refused({ shape: [2], data: [1, '2'] }, /^compile: argument x holds "2" at index 1; expected a number$/);
  // float32 cannot hold 1e300: refused rather than run as Infinity; an infinity given is kept.
  await refused({ shape: [2], data: Float64Array.of(1, 1e300) }, /^compile: argument x holds 1e\+300 at index 1, beyond float32's range/);
  assert.deepEqual(Array.from((await compiled({ x: { shape: [1], data: Float64Array.of(-Infinity) } })).data), [-Infinity]);
  // The path names the argument deep in the tree.
  const nested = compile((p: { layers: { w: Tensor }[] }) => add(p.layers[0].w, p.layers[1].w), { backend: 'cpu' });
  await assert.rejects(nested({ layers: [{ w: { shape: [1], data: [1] } }, { w: { shape: [1.5], data: [1] } }] } as never),
    /^TypeError: compile: argument layers\[1\]\.w has shape \[1\.5\]/);
  await compiled.destroy();
  await nested.destroy();
});

test('headlessgl is covered where CI promises it', () => {
  // .ci/run sets REQUIRE_HEADLESSGL when it provides a display and the gl package: coverage of
  // the backend must not vanish silently if the gl build breaks.
  // The promise is about the default backends; a run that names its own (npm run test:webgpu) is not bound by it.
  if (process.env.REQUIRE_HEADLESSGL && !backendsNamed) assert.ok(GPU.isHeadlessGLSupported, 'no GL context answered: is the optional gl package built?');
});

test('a requested backend that cannot run is an error that says why', async () => {
  const webgpu = await webgpuDevice();
  if (!isLeft(webgpu)) return;
  const compiled = compile((x: Tensor) => x, { backend: 'webgpu' });
  // The loader's own reason (e.g. Dawn's binary needs a newer glibc), not a guess.
  await assert.rejects(compiled({ shape: [1], data: Float32Array.of(1) }), (error: Error) => {
    assert.ok(error.message.startsWith(`compile: the requested backend "webgpu" cannot run here: ${webgpu.left}`), error.message);
    return true;
  });
  assert.throws(() => compile((x: Tensor) => x, { backend: 'metal' as never }), /compile: unknown backend "metal"; choose one of webgpu, headlessgl, native, cpu/);
});

test("arguments handed to gpu.js pipelines pass its snapshot (slice(0)) uncopied, and every other slice copies", () => {
  const data = Float32Array.from([1, 2, 3, 4]);
  const view = uncopied(data);
  assert.equal(view.slice(0), view);
  assert.equal(view.buffer, data.buffer);
  const part = view.slice(1, 3);
  assert.notEqual(part.buffer, data.buffer);
  assert.deepEqual([...part], [2, 3]);
  assert.notEqual(view.slice().buffer, data.buffer);
});
