// The harness's own power, measured two ways.
//  1. A wrong VJP rule planted into each primitive through the registry: the same gradient
//     property that passes for the right rule must fail. Kinds of wrong rule: scaled by 1.01, the
//     wrong sign, a missing term (one input's cotangent dropped, as when a product rule forgets a
//     term), a dropped broadcast reduction, a transposed matmul factor, and a gradient leaking
//     through a primitive that must block it.
//  2. Realistic wrong edits of the source (source-mutants.ts): a wrong tie rule, a moved
//     stopGradient, a dropped epsilon, a form that overflows; in the native path, a gap between
//     threads' shares, a job that does not wait for the others, a division one short, memory read
//     before it is written. Each is made, as text, in a copy of the project, and the suite's tests
//     named for it must fail there and pass on a copy without it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Cotangents, gradientProperty, matmul, matrixTranspose, mul, neg, primitiveByName, reshape, slice, type Tensor, type VjpRule,
} from '../lib/index.ts';
import { broadcastAxes } from '../lib/primitives/broadcast-to.ts';
import { gradientCases } from './gradient-cases.ts';
import { runs } from './runs.ts';
import { copyProject, nativeMutants, plant, runTests, sourceMutants, type TestOutcome } from './source-mutants.ts';

type Mutation = (rule: VjpRule<any>) => VjpRule<any>;

const mapCotangents = (f: (c: Tensor) => Tensor): Mutation => (rule) => (ct, node) => rule(ct, node).map((c) => (c === null ? null : f(c)));

const scaled = mapCotangents((c) => mul(c, 1.01));
const negated = mapCotangents((c) => neg(c));
const droppedTerm: Mutation = (rule) => (ct, node) => {
  const cotangents = [...rule(ct, node)];
  const last = cotangents.map((c) => c !== null).lastIndexOf(true);
  cotangents[last] = null;
  return cotangents;
};
/** For primitives whose gradient is zero: pass the cotangent through as if they were the identity. */
const leaking: Mutation = () => (ct, node) => node.inputs.map((input) => (input.shape.length === ct.shape.length ? ct : null));

const zeroGradient = new Set(['floor', 'less', 'greater', 'equal', 'stopGradient', 'topKIndices', 'randomBits']);
const differentiableInputs: Record<string, number> = { add: 2, sub: 2, mul: 2, div: 2, maximum: 2, minimum: 2, select: 2, matmul: 2, conv2d: 2, concat: 2 };

/** broadcastTo's reduction dropped: take the first element of each stretched run instead of the sum. */
const droppedBroadcastReduction: VjpRule<any> = (ct, node): Cotangents => {
  const from = node.inputs[0].shape;
  const { added, stretched } = broadcastAxes(from, node.shape);
  const firsts = slice(ct, ct.shape.map((_, axis) => (added.includes(axis) || stretched.includes(axis) ? { stop: 1 } : undefined)));
  return [reshape(firsts, from)];
};

/** matmul's first factor not transposed: ct x b instead of ct x b^T (wrong unless b is symmetric). */
const transposedMatmulFactor: VjpRule<any> = (ct, { inputs: [a, b] }) => [matmul(ct, b), matmul(matrixTranspose(a), ct)];

const mutants: { primitive: string; kind: string; rule: VjpRule<any> }[] = [];
for (const name of Object.keys(gradientCases)) {
  const rule = primitiveByName.get(name)!.vjp;
  if (zeroGradient.has(name)) mutants.push({ primitive: name, kind: 'gradient leaks through', rule: leaking(rule) });
  else {
    mutants.push({ primitive: name, kind: 'scaled by 1.01', rule: scaled(rule) });
    mutants.push({ primitive: name, kind: 'wrong sign', rule: negated(rule) });
  }
  if ((differentiableInputs[name] ?? 1) > 1) mutants.push({ primitive: name, kind: 'missing term', rule: droppedTerm(rule) });
}
mutants.push({ primitive: 'broadcastTo', kind: 'dropped broadcast reduction', rule: droppedBroadcastReduction });
mutants.push({ primitive: 'matmul', kind: 'transposed matmul factor', rule: transposedMatmulFactor });

test('every listed kind of wrong rule is planted somewhere', () => {
  const kinds = new Set(mutants.map((m) => m.kind));
  for (const kind of ['scaled by 1.01', 'wrong sign', 'missing term', 'dropped broadcast reduction', 'transposed matmul factor'])
    assert.ok(kinds.has(kind), kind);
});

for (const { primitive, kind, rule } of mutants)
  test(`a ${primitive} VJP ${kind} is caught`, () => {
    const { arbitrary, f } = gradientCases[primitive];
    const property = gradientProperty(f, arbitrary, { rules: new Map([[primitive, rule]]) });
    // No shrinking: only whether the property can tell, within its usual run count.
    const result = fc.check(property, { numRuns: runs(100), endOnFailure: true });
    assert.ok(result.failed, `the wrong ${primitive} rule (${kind}) passed ${result.numRuns} runs`);
    assert.match(String(result.errorInstance), /gradient|error/);
  });

// ---- 2. wrong edits of the source ----

let project: { folder: string; remove: () => void };
before(() => {
  project = copyProject();
});
after(() => project?.remove());

/** Each named test's outcome in the copy as it stands, by test file, on `backends` where given. */
const outcomesOf = (caughtBy: Readonly<Record<string, readonly string[]>>, backends?: string): { file: string; name: string; outcome: TestOutcome | 'absent' }[] =>
  Object.entries(caughtBy).flatMap(([file, names]) => {
    const outcomes = runTests(project.folder, file, names, backends);
    return names.map((name) => ({ file, name, outcome: outcomes.get(name) ?? ('absent' as const) }));
  });

const planted = [...sourceMutants, ...nativeMutants];

test('the five edits that survived the suite, the three that one example caught, the tiled pooling VJP\'s tie split, and seventeen in the native path are all planted', () => {
  assert.equal(sourceMutants.length, 9);
  assert.equal(nativeMutants.length, 17);
  assert.equal(new Set(planted.map((m) => m.name)).size, 26);
});

test('the tests named to catch the planted edits pass on a copy without them', () => {
  // Grouped by the backends they run on, then by file, so that each file runs once a group.
  const groups = new Map<string | undefined, Record<string, string[]>>();
  for (const { caughtBy, backends } of planted) {
    const named = groups.get(backends) ?? {};
    groups.set(backends, named);
    for (const [file, names] of Object.entries(caughtBy)) named[file] = [...new Set([...(named[file] ?? []), ...names])];
  }
  const wrong = [...groups].flatMap(([backends, named]) => outcomesOf(named, backends)).filter(({ outcome }) => outcome !== 'passed');
  assert.deepEqual(wrong, [], wrong.map(({ file, name, outcome }) => `${file}: "${name}" ${outcome} on the unedited copy`).join('; '));
});

for (const mutant of planted)
  test(`planted in ${mutant.file}: ${mutant.name}; caught`, () => {
    const restore = plant(project.folder, mutant);
    try {
      const missed = outcomesOf(mutant.caughtBy, mutant.backends).filter(({ outcome }) => outcome !== 'failed');
      assert.deepEqual(missed, [], missed.map(({ file, name, outcome }) => `${file}: "${name}" ${outcome} with the edit`).join('; '));
    } finally {
      restore();
    }
  });
