// Every primitive's VJP against finite differences, over random shapes and values; and the tie
// rules, with two-way ties planted where finite differences can judge them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gradientProperty, primitives } from '../lib/index.ts';
import { gradientCases } from './gradient-cases.ts';
import { tieCases } from './tie-cases.ts';
import { runs } from './runs.ts';

test('every primitive of the registry has a gradient property', () => {
  const missing = primitives.filter((p) => !p.leaf && !(p.name in gradientCases)).map((p) => p.name);
  assert.deepEqual(missing, [], `primitives without a gradient case: ${missing.join(', ')}`);
  const unknown = [...Object.keys(gradientCases), ...Object.keys(tieCases)].filter((name) => !primitives.some((p) => p.name === name));
  assert.deepEqual(unknown, [], `gradient cases for no primitive: ${unknown.join(', ')}`);
});

for (const [name, { arbitrary, f }] of Object.entries(gradientCases))
  test(`gradient of ${name} matches finite differences`, () => {
    fc.assert(gradientProperty(f, arbitrary), { numRuns: runs(100) });
  });

for (const [name, { arbitrary, f }] of Object.entries(tieCases))
  test(`gradient of ${name} matches finite differences at two-way ties`, () => {
    fc.assert(gradientProperty(f, arbitrary), { numRuns: runs(100) });
  });
