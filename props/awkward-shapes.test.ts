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
