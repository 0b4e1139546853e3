// Compiled equals interpreted at the sizes compiled code branches on, where easy sizes pass by
// luck: flat positions divided by primes and odd sizes (49 and 103 are where a reciprocal
// multiply falls one short), buffers the planner lays out with a long axis in x, kernels shared
// among threads over cell counts that no thread count divides, into arrays that still hold the
// last call's values, and several compiled functions of every job kind (JavaScript kernels,
// GEMMs, the three forms of convolution) running on one pool at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, conv2d, exp, flip, interpret, matmul, mul, reshape, sum, tanh, tensor, type Tensor, transpose } from '../lib/index.ts';
import { compile } from '../lib/compile/index.ts';
import { capabilitiesOf, lowered } from '../lib/compile/capabilities.ts';
import { planKernels } from '../lib/compile/compile.ts';
import { sharedNativePool } from '../lib/native/native-pool.ts';
import { uniformNumbers } from '../lib/check/sample.ts';
import { runs } from './runs.ts';
import { testBackends, testLimits } from './backends.ts';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** An argument of `shape` with values in [-1.5, 1.5] from `seed` (large arguments shrink by their shape, not value by value). */
const argument = (shape: readonly number[], seed: number) => ({ shape: [...shape], data: Float32Array.from(uniformNumbers(seed, sizeOf(shape), -1.5, 1.5)) });
const asTensor = ({ shape, data }: { shape: number[]; data: Float32Array }) => tensor(data, shape);

/** float32 against float64, relative to the result's magnitude; NaN where the interpreter has none fails. */
const assertClose = (what: string, compiled: Float32Array, reference: Float64Array) => {
  assert.equal(compiled.length, reference.length, `${what}: length`);
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  let wrong = 0;
  let first = -1;
  reference.forEach((r, i) => {
    if (!(Math.abs(compiled[i] - r) <= 1e-4 * scale + 1e-4 * Math.abs(r)) && wrong++ === 0) first = i;
  });
  assert.equal(wrong, 0, `${what}: ${wrong} of ${reference.length} elements differ, the first at ${first}: compiled ${compiled[first]}, interpreted ${reference[first]}`);
};

const assertTreesClose = (what: string, compiled: Record<string, { data: Float32Array }>, reference: Record<string, { data: Float64Array }>) => {
  for (const key of Object.keys(reference)) assertClose(`${what}.${key}`, compiled[key].data, reference[key].data);
};

/** Small sizes first (shrinking moves towards them), then the awkward ones. */
const axisSize = fc.constantFrom(1, 2, 3, 7, 16, 17, 49, 97, 103);

/**
 * [leading, divisor, rows, columns], at most 60,000 elements: kernels lay the last axis in x,
 * the one before in y, and flatten the two leading axes into z, so the thread's z is divided by
 * `divisor` (from 2 x divisor on, where a quotient one short first shows).
 */
const awkwardShape = fc
  .tuple(fc.constantFrom(2, 3, 7, 17), fc.constantFrom(7, 49, 97, 103), axisSize, axisSize)
  .filter((shape) => sizeOf(shape) <= 60_000);

/**
 * Each output divides flat positions by the shape's sizes: a broadcast bias, a reshape that
 * merges the leading axes (read back by dividing), a reversal of the axes, and a reduction read
 * back through a flip, whose buffer the planner lays out with its long axis in x when its last
 * axis is short (a [49, 16, 3] sum).
 */
const divided = ({ x, bias }: { x: Tensor; bias: Tensor }) => {
  const [leading, divisor, rows, columns] = x.shape;
  const reduced = sum(exp(mul(x, 0.5)), 0);
  return {
    biased: add(x, bias),
    merged: reshape(tanh(x), [leading * divisor, rows * columns]),
    reversed: transpose(x, [3, 2, 1, 0]),
    reduced: add(reduced, flip(reduced, [0])),
  };
};

for (const backend of testBackends)
  test(`${backend}: kernels that divide flat positions by 7, 49, 97 and 103, and buffers of every layout the planner chooses, equal the interpreter`, async () => {
    const layouts = new Set<string>();
    const javascriptKernels = lowered(capabilitiesOf(backend), testLimits).javascriptKernels;
    await fc.assert(
      fc.asyncProperty(awkwardShape, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(), async (shape, broadcast, seed) => {
        const args = { x: argument(shape, seed), bias: argument(shape.map((d, axis) => (broadcast[axis] ? 1 : d)), seed + 1) };
        const plan = planKernels(divided, args as never, lowered(capabilitiesOf(backend), testLimits));
        layouts.add(plan.layouts.size > 0 ? 'long axis in x' : 'row-major');
        const compiled = compile(divided, { backend, limits: testLimits });
        try {
          assertTreesClose(JSON.stringify(shape), await compiled(args), interpret(divided({ x: asTensor(args.x), bias: asTensor(args.bias) })));
        } finally {
          await compiled.destroy();
        }
      }),
      { numRuns: runs(12) },
    );
    // Where the native pool's kernels run, both of the layouts their buffers take were met.
    if (javascriptKernels) assert.deepEqual([...layouts].sort(), ['long axis in x', 'row-major']);
  });

/** Odd sizes with no factor below 17: a product of them is divided by no thread count up to 16. */
const primeSize = fc.constantFrom(17, 19, 23, 29, 31, 97, 101, 103);

/** Kernels of tens of thousands of passes, enough to be shared among the pool's threads. */
const shared = ({ x, bias }: { x: Tensor; bias: Tensor }) => ({
  scaled: exp(mul(x, 0.5)),
  biased: add(x, bias),
  rowSums: sum(tanh(x), 2),
});

for (const backend of testBackends.filter((backend) => lowered(capabilitiesOf(backend), testLimits).javascriptKernels))
  test(`${backend}: kernels shared among threads over cell counts no thread count divides equal the interpreter, into arrays that held NaN`, async () => {
    const threads = sharedNativePool().threads;
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(primeSize, primeSize, primeSize).filter((shape) => sizeOf(shape) >= 40_000 && sizeOf(shape) <= 120_000),
        fc.nat(),
        async (shape, seed) => {
          const args = { x: argument(shape, seed), bias: argument([shape[1], 1], seed + 1) };
          const compiled = compile(shared, { backend, limits: testLimits });
          try {
            // A first call on NaN leaves NaN in the arrays the program recycles: a cell the next
            // call does not write stays NaN.
            await compiled({ x: { shape: args.x.shape, data: new Float32Array(args.x.data.length).fill(NaN) }, bias: { shape: args.bias.shape, data: new Float32Array(args.bias.data.length).fill(NaN) } });
            assertTreesClose(JSON.stringify(shape), await compiled(args), interpret(shared({ x: asTensor(args.x), bias: asTensor(args.bias) })));
            if (threads > 1) assert.ok((compiled.report()!.pipelineThreads ?? 1) > 1, 'no kernel was shared among threads');
          } finally {
            await compiled.destroy();
          }
        },
      ),
      { numRuns: runs(4) },
    );
  });

/** Functions of every kind of job the pool runs, each large enough that its work goes to the workers. */
const jobKinds: { name: string; f: (p: { a: Tensor; b: Tensor }) => Tensor; shapes: [number[], number[]] }[] = [
  { name: 'a JavaScript kernel', f: ({ a, b }) => add(exp(mul(a, 0.5)), b), shapes: [[101, 997], [997]] },
  { name: 'a GEMM, then a kernel of its result', f: ({ a, b }) => tanh(matmul(a, b)), shapes: [[193, 67], [67, 181]] },
  { name: 'a batch of GEMMs', f: ({ a, b }) => matmul(a, b), shapes: [[3, 37, 29], [3, 29, 41]] },
  { name: 'a convolution by image', f: ({ a, b }) => conv2d(a, b, { padding: 1 }), shapes: [[3, 3, 17, 19], [5, 3, 3, 3]] },
  { name: 'a convolution by shifts', f: ({ a, b }) => conv2d(a, b, { padding: 1 }), shapes: [[3, 6, 17, 19], [2, 6, 3, 3]] },
  { name: 'a convolution by channel', f: ({ a, b }) => conv2d(a, b), shapes: [[3, 4, 13, 11], [5, 4, 11, 9]] },
];

for (const backend of testBackends.filter((backend) => capabilitiesOf(backend).nativeKernels && testLimits.nativeKernels !== false))
  test(`${backend}: compiled functions of every job kind called at once, again and again, each equal the interpreter`, async () => {
    const compiled = jobKinds.map(({ f }) => compile(f, { backend, limits: testLimits }));
    try {
      await fc.assert(
        fc.asyncProperty(fc.shuffledSubarray(jobKinds.map((_, i) => i), { minLength: 2 }), fc.nat(), async (chosen, seed) => {
          // Each chosen function twice, all started before any ends.
          const calls = [...chosen, ...chosen].map((i, k) => {
            const [aShape, bShape] = jobKinds[i].shapes;
            const args = { a: argument(aShape, seed + 2 * k), b: argument(bShape, seed + 2 * k + 1) };
            return { i, args, result: compiled[i](args) };
          });
          for (const { i, args, result } of calls)
            assertClose(jobKinds[i].name, (await result).data, interpret(jobKinds[i].f({ a: asTensor(args.a), b: asTensor(args.b) })).data);
        }),
        { numRuns: runs(6) },
      );
    } finally {
      await Promise.all(compiled.map((c) => c.destroy()));
    }
  });
