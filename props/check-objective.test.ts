// The objective battery (`npm run check-objective`): the built-in objectives pass it; objectives
// broken on purpose (props/fixtures/) fail the property that should catch them, with a shrunk
// counterexample that names the element and both values; a stopGradient that decides the gradient
// is reported, and judged by a reference where there is one; the CLI's exit statuses and text; and
// examples/custom-objective.ts checks a new objective and trains with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import {
  alignmentUniformityLoss, checkObjective, formatObjectiveReport, invariantSpreadingLoss, loadObjective, mean, ntXentLoss, type ObjectiveDefinition,
  objectiveFromModule, type ObjectiveReport, type ObjectivePropertyResult,
} from '../lib/index.ts';
import { runs } from './runs.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (name: string) => join('props', 'fixtures', name);

const batteryRuns = runs(10);

const check = (definition: ObjectiveDefinition, seed = 11): Promise<ObjectiveReport> => checkObjective(definition, { runs: batteryRuns, seed });

const load = async (file: string): Promise<ObjectiveDefinition> => {
  const loaded = await loadObjective(join(root, file));
  if (isLeft(loaded)) assert.fail(loaded.left);
  return loaded.right;
};

const property = (report: ObjectiveReport, name: RegExp): ObjectivePropertyResult[] => {
  const found = report.properties.filter((p) => name.test(p.name));
  assert.ok(found.length > 0, `no property matches ${name}: ${report.properties.map((p) => p.name).join('; ')}`);
  return found;
};

const kinds = {
  gradient: /^gradient matches finite differences/,
  compiled: /^compiled loss and gradient/,
  finite: /^loss and gradient are finite/,
  permutation: /^permuting the instances/,
  swap: /^swapping the two views/,
};

// ---- the built-in objectives pass ----

const builtIns: [string, ObjectiveDefinition][] = [
  ['invariantSpreadingLoss, stopGradientOnTargets true', { objective: invariantSpreadingLoss }],
  ['invariantSpreadingLoss, stopGradientOnTargets false', { objective: invariantSpreadingLoss, options: { stopGradientOnTargets: false } }],
  ['ntXentLoss', { objective: ntXentLoss }],
  ['alignmentUniformityLoss', { objective: alignmentUniformityLoss }],
];

for (const [name, definition] of builtIns)
  test(`${name} passes the battery`, async () => {
    const report = await check({ name, ...definition });
    assert.ok(report.passed, formatObjectiveReport(report));
    assert.ok(report.properties.every((p) => p.outcome === 'passed' && p.runs === batteryRuns), formatObjectiveReport(report));
    for (const kind of Object.values(kinds)) property(report, kind);
    // The softmax objectives take a temperature: it is detected and 0.05 is checked.
    const softmax = name !== 'alignmentUniformityLoss';
    assert.equal(report.optionSets.some((o) => o.temperature === 0.05), softmax);
    assert.equal(property(report, kinds.gradient).length, 2 * report.optionSets.length);
    assert.match(property(report, kinds.compiled)[0].note ?? '', /backend \w+/);
    // Only the detached targets decide the gradient; the shifts inside log-sum-exp cancel and are not counted.
    const detached = name === 'invariantSpreadingLoss, stopGradientOnTargets true';
    assert.deepEqual([report.stopGradientNodes, report.reference], [detached ? 1 : 0, false]);
    assert.equal(/not judged: where the loss's 1 stopGradient node sits \(no `reference`/.test(formatObjectiveReport(report)), detached);
  });

// ---- where a stopGradient sits: a reference judges it ----

const referenceKind = /^loss and gradient equal the reference's/;

test('invariantSpreadingLoss with the authors\' BatchCriterion as its reference passes the battery, the reference checked at every option set', async () => {
  const report = await check(await load(fixture('invariant-spreading-with-reference.ts')));
  assert.ok(report.passed, formatObjectiveReport(report));
  assert.deepEqual([report.stopGradientNodes, report.reference], [1, true]);
  assert.equal(property(report, referenceKind)[0].outcome, 'passed');
  assert.ok(report.optionSets.length === 3, 'the reference is checked with the detected temperatures too');
  const text = formatObjectiveReport(report);
  assert.match(text, /1 stopGradient node the loss depends on: finite differences hold it fixed, so the gradient is also checked against `reference`/);
  assert.doesNotMatch(text, /not judged/);
});

test('the stopGradient on the scored rows instead of the targets passes every finite-difference property and fails the reference', async () => {
  const report = await check(await load(fixture('scored-rows-detached.ts')));
  const failed = report.properties.filter((p) => p.outcome === 'failed');
  assert.deepEqual(failed.map((p) => p.name), property(report, referenceKind).map((p) => p.name), formatObjectiveReport(report));
  for (const result of property(report, kinds.gradient)) assert.equal(result.outcome, 'passed');
  assert.match(failed[0].failure!.message, /the gradient at element \d+ \[\d+, \d+\] is -?[\d.e-]+, the reference's -?[\d.e-]+ \(tolerance/);
});

// ---- broken objectives fail the property that catches them ----

test('a custom VJP 2% off fails the gradient property, naming an element and both values', async () => {
  const report = await check(await load(fixture('wrong-vjp.ts')));
  assert.equal(report.passed, false);
  for (const result of property(report, kinds.gradient)) {
    assert.equal(result.outcome, 'failed');
    const { gradCheckFailure, counterexample, message } = result.failure!;
    assert.equal(gradCheckFailure?.kind, 'mismatch', message);
    if (gradCheckFailure?.kind !== 'mismatch') return;
    assert.equal(gradCheckFailure.input, 'features');
    assert.ok(Math.abs(gradCheckFailure.analytic - gradCheckFailure.numeric) > gradCheckFailure.tolerance);
    // Shrunk to a small batch whose shape is the gradient's.
    assert.ok(counterexample !== undefined && counterexample.m <= 2, message);
    assert.deepEqual(gradCheckFailure.shape, [2 * counterexample!.m, counterexample!.d]);
    assert.equal(counterexample!.rows.length, 2 * counterexample!.m);
    assert.match(message, /at element \d+ \[\d+, \d+\] \(value [^)]+\): reverse mode -?[\d.e-]+, finite differences -?[\d.e-]+/);
  }
  // The rest holds: the wrong rule is consistent, compiled or not, and invariant.
  for (const kind of [kinds.compiled, kinds.finite, kinds.permutation, kinds.swap]) assert.equal(property(report, kind)[0].outcome, 'passed');
  const text = formatObjectiveReport(report);
  assert.match(text, /FAIL {2}gradient matches finite differences \(float64\), random unit features, options \{\}/);
  assert.match(text, /counterexample: m \d, d \d, random unit features\n {10}\[ ?-?\d\.\d{5}, /);
  assert.match(text, new RegExp(`regenerate: fast-check seed ${report.seed}, path "[\\d:]+"`));
  // The same seed regenerates the same counterexample.
  const again = await check(await load(fixture('wrong-vjp.ts')));
  assert.deepEqual(property(again, kinds.gradient)[0].failure, property(report, kinds.gradient)[0].failure);
});

test('an objective that mixes up the views (row i + 1 as the positive) fails permutation invariance', async () => {
  const report = await check(await load(fixture('mixed-up-views.ts')));
  assert.equal(report.passed, false);
  const [permutation] = property(report, kinds.permutation);
  assert.equal(permutation.outcome, 'failed');
  assert.ok(permutation.failure!.counterexample!.m >= 2);
  assert.deepEqual([...permutation.failure!.counterexample!.order!].sort(), Array.from({ length: permutation.failure!.counterexample!.m }, (_, i) => i));
  assert.match(permutation.failure!.message, /putting the instances in the order \[[\d, ]+\]/);
  // Its gradient is right: only the invariance catches it.
  for (const result of property(report, kinds.gradient)) assert.equal(result.outcome, 'passed');
});

test('an objective whose gradient is NaN where the views coincide fails the finite property', async () => {
  const report = await check(await load(fixture('nan-when-coincident.ts')));
  const [finite] = property(report, kinds.finite);
  assert.equal(finite.outcome, 'failed');
  assert.match(finite.failure!.message, /the gradient at element \d+ \[\d+, \d+\] is NaN/);
  assert.match(finite.failure!.counterexample!.kind, /nearly coincident|antipodal/);
});

test('a log-sum-exp without its shift by the maximum fails only the compiled property (float32 overflows)', async () => {
  const report = await check(await load(fixture('unshifted-log-sum-exp.ts')));
  const failed = report.properties.filter((p) => p.outcome === 'failed');
  assert.deepEqual(failed.map((p) => p.name), property(report, kinds.compiled).map((p) => p.name));
  assert.match(failed[0].failure!.message, /compiled loss Infinity, interpreted 99\.\d+/);
});

test('symmetric: false makes the swap information; extra properties run, and fail when false or throwing', async () => {
  const report = await check(await load(fixture('one-directional.ts')));
  assert.ok(report.passed, formatObjectiveReport(report));
  const [swap] = property(report, kinds.swap);
  assert.deepEqual([swap.outcome, swap.required, swap.holds], ['info', false, false]);
  assert.match(formatObjectiveReport(report), /INFO {2}swapping the two views[^\n]*\n.*not required: the objective declares `symmetric: false`\n.*it does not hold:/);
  assert.equal(property(report, /^the loss is at least 0/)[0].outcome, 'passed');
  assert.deepEqual(report.optionSets, [{ temperature: 0.2 }, { temperature: 0.05 }]);

  const withBadProperties = await check({
    objective: ntXentLoss,
    temperatures: [],
    properties: [
      { name: 'the loss is negative', property: (_features, { loss }) => loss < 0 },
      { name: 'throws', property: ({ shape }) => { throw new Error(`no good at ${shape}`); } },
    ],
  });
  assert.equal(withBadProperties.passed, false);
  assert.equal(withBadProperties.optionSets.length, 1);
  assert.match(property(withBadProperties, /^the loss is negative/)[0].failure!.message, /returned false \(the loss is [\d.]+\)/);
  assert.match(property(withBadProperties, /^throws/)[0].failure!.message, /no good at \d,\d/);
});

test('exports that are not an objective are a clear error naming the file and what was expected', async () => {
  const notFunction = objectiveFromModule({ default: 42 }, 'a.ts');
  assert.ok(isLeft(notFunction) && /a\.ts: expected the objective, a function .* exported as `default` or as `objective`; the default export is a number/.test(notFunction.left));
  const nothing = objectiveFromModule({ loss: 1 }, 'b.ts');
  assert.ok(isLeft(nothing) && /b\.ts: .*the file exports `loss`/.test(nothing.left));
  const notScalar = objectiveFromModule({ objective: (x: any) => mean(x, 0) }, 'c.ts');
  assert.ok(isLeft(notScalar) && /c\.ts: the objective must return a scalar Tensor; for features \[4, 3\] it returned shape \[3\]/.test(notScalar.left));
  const badReference = objectiveFromModule({ default: ntXentLoss, reference: 'ntXent' }, 'f.ts');
  assert.ok(isLeft(badReference) && /f\.ts: `reference` must be a second implementation of the objective, a function .*; got a string/.test(badReference.left));
  const badTemperatures = objectiveFromModule({ default: ntXentLoss, temperatures: 0.05 }, 'd.ts');
  assert.ok(isLeft(badTemperatures) && /d\.ts: `temperatures` must be a list of option objects/.test(badTemperatures.left));
  // A module compiled as CommonJS arrives with its exports under `default`.
  assert.ok(isRight(objectiveFromModule({ default: { objective: ntXentLoss, symmetric: true } }, 'e.ts')));
  await assert.rejects(checkObjective({ objective: 'ntXent' as never }), TypeError);
  const missing = await loadObjective(join(root, fixture('no-such-objective.ts')));
  assert.ok(isLeft(missing) && /no-such-objective\.ts: no such file/.test(missing.left));
});

// ---- the command line ----

const cli = (...args: string[]) => {
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--import', 'tsx', 'bin/check-objective.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status, stdout, stderr };
};

test('the CLI exits 0 on a good objective, naming every property', () => {
  const { status, stdout, stderr } = cli(fixture('nt-xent.ts'), '--runs', '5', '--seed', '3');
  assert.equal(status, 0, stdout + stderr);
  assert.match(stdout, /^check-objective: props\/fixtures\/nt-xent\.ts\n/);
  assert.match(stdout, /5 runs a property, seed 3/);
  for (const name of ['gradient matches finite differences (float64), random unit features, options { temperature: 0.05 }', 'gradient matches finite differences (float64), nearly coincident features', 'compiled loss and gradient equal the interpreted ones', 'loss and gradient are finite on nearly coincident and on antipodal features', 'permuting the instances', 'swapping the two views'])
    assert.ok(stdout.includes(`PASS  ${name}`), `${name} in\n${stdout}`);
  assert.match(stdout, /10 passed, 0 failed, 0 for information, in [\d.]+ s: every required property holds\n$/);
});

test('the CLI exits 1 on a broken objective, with the counterexample and how to rerun it', () => {
  const { status, stdout, stderr } = cli(fixture('wrong-vjp.ts'), '--runs', '5', '--seed', '3');
  assert.equal(status, 1, stdout + stderr);
  assert.match(stdout, /FAIL {2}gradient matches finite differences[^\n]*\n {8}gradient of input features \[\d+, \d+\] at element \d+ \[\d+, \d+\]/);
  assert.match(stdout, /rerun: npm run check-objective -- props\/fixtures\/wrong-vjp\.ts --runs 5 --seed 3/);
  assert.match(stdout, /FAILED: a required property does not hold\n$/);
});

test('the CLI exits 2 with a clear message for a missing file, exports that are not an objective, or bad arguments', () => {
  const missing = cli(fixture('no-such-objective.ts'), '--runs', '5');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /check-objective: props\/fixtures\/no-such-objective\.ts: no such file \(looked for \/.*no-such-objective\.ts\)/);
  const notFunction = cli(fixture('not-a-function.ts'));
  assert.equal(notFunction.status, 2);
  assert.match(notFunction.stderr, /not-a-function\.ts: expected the objective, a function .*; the default export is a number/);
  for (const args of [[], ['--runs', '0', 'x.ts'], ['--bogus', 'x.ts'], ['--backend', 'tpu', 'x.ts'], ['a.ts', 'b.ts']]) {
    const { status, stderr } = cli(...args);
    assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, /^check-objective: .*\n\(npm run check-objective -- --help for the usage\)/);
  }
  const help = cli('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: npm run check-objective -- FILE \[--runs N\] \[--seed S\]/);
});

test('the CLI stops an objective that never returns, or whose import never finishes, within the time limit it states, and says so', () => {
  // Each of these hung, or said nothing and exited 0, before the check had a time limit.
  const started = performance.now();
  const loops = cli(fixture('loops-when-called.ts'), '--time-limit', '2', '--runs', '3');
  assert.equal(loops.status, 1, loops.stdout + loops.stderr);
  assert.match(loops.stderr, /^(the objective loops from here\n)+check-objective: the objective in props\/fixtures\/loops-when-called\.ts did not return within 2 s \(a loop that never ends\?\); nothing further was checked \(--time-limit SECONDS gives it longer\)\n$/);
  assert.doesNotMatch(loops.stdout, /PASS|FAIL|holds/);
  const atImport = cli(fixture('loops-at-import.ts'), '--time-limit', '2');
  assert.equal(atImport.status, 2, atImport.stdout + atImport.stderr);
  assert.match(atImport.stderr, /^check-objective: props\/fixtures\/loops-at-import\.ts: its import did not finish within 2 s \(a loop, or a wait, at the top level of the module\?\); --time-limit SECONDS gives it longer\n/);
  const awaits = cli(fixture('awaits-forever-at-import.ts'));
  assert.equal(awaits.status, 2, awaits.stdout + awaits.stderr);
  assert.match(awaits.stderr, /^check-objective: props\/fixtures\/awaits-forever-at-import\.ts: its import never finishes: it awaits, at the top level, a promise that nothing will settle\n/);
  assert.ok(performance.now() - started < 40_000, `took ${Math.round(performance.now() - started)} ms`);
  const bad = cli(fixture('nt-xent.ts'), '--time-limit', '0');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^check-objective: --time-limit must be a positive number of seconds; got "0"\n/);
  assert.match(cli('--help').stdout, /--time-limit SECONDS\n +how long FILE's import, and each call of its objective, reference or\n +properties, may take before the check stops it \(default 60\)/);
});

test('Ctrl-C stops the CLI within seconds while the objective loops', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/check-objective.ts', fixture('loops-when-called.ts')], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const loading = performance.now();
  while (performance.now() - loading < 40_000 && child.exitCode === null && !stderr.includes('the objective loops from here')) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(stderr.includes('the objective loops from here'), stdout + stderr);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const sent = performance.now();
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  assert.equal(code, 130, stdout + stderr);
  assert.ok(performance.now() - sent < 3000, `ended ${Math.round(performance.now() - sent)} ms after Ctrl-C`);
  assert.match(stderr, /\ncheck-objective: Ctrl-C while the objective in props\/fixtures\/loops-when-called\.ts ran: stopped it there; nothing further was checked\n$/);
});

// ---- the example ----

test('examples/custom-objective.ts checks a debiased contrastive loss and trains with it, the loss falling', () => {
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--import', 'tsx', 'examples/custom-objective.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CHECK_RUNS: String(runs(10)) },
  });
  assert.equal(status, 0, stdout + stderr);
  assert.match(stdout, /PASS {2}with positivePrior 0 it is NT-Xent/);
  assert.match(stdout, /every required property holds/);
  const [, first, last] = stdout.match(/loss (\d+\.\d+) -> (\d+\.\d+)/) ?? assert.fail(stdout);
  assert.ok(Number(last) < Number(first) - 0.05, `loss ${first} -> ${last}`);
});
