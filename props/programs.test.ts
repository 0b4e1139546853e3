// Random programs, end to end: the gradient of a random well-shaped composition of operations
// with respect to its input and every parameter matches finite differences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkGrad, formatGradCheckFailure, interpret, planProgram, programArbitrary, programOperations, runProgram } from '../lib/index.ts';
import { runs } from './runs.ts';

test('random programs: gradients match finite differences', () => {
  fc.assert(
    fc.property(programArbitrary(), ({ description, inputs }) => {
      const result = checkGrad((p: typeof inputs) => runProgram(description, p), inputs, { maxElementsPerInput: 24 });
      if (result._tag === 'Left') throw new Error(formatGradCheckFailure(result.left));
    }),
    { numRuns: runs(150) },
  );
});

test('the program arbitrary reaches every operation and builds finite values', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(programArbitrary(), ({ description, inputs }) => {
      description.steps.forEach((step) => seen.add(step.operation));
      assert.equal(planProgram(description).length, inputs.parameters.length);
      assert.ok(interpret(runProgram(description, inputs)).data.every(Number.isFinite));
    }),
    { numRuns: 200 },
  );
  assert.deepEqual([...seen].sort(), [...programOperations].sort());
});
