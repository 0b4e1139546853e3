// The stateful objectives: the memory bank and the exemplar classifier against their equations
// worked by hand in plain numbers (loss and next bank), the battery passing on both, and the
// battery failing objectives broken on purpose where it should: a bank written without
// stopGradient, a loss scored against the updated bank, a stopGradient that silences the
// exemplar weights' gradient. A stateful file is checked by check-objective and trains.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  add, checkObjective, exemplarObjective, formatObjectiveReport, interpret, l2Normalize, memoryBankObjective, mul, type ObjectiveReport, rowsAt,
  type StatefulObjective, stopGradient, type Tensor, tensor, withRowsAt,
} from '../lib/index.ts';
import { builtInStatefulDefinitions } from '../lib/check/built-in-stateful-objectives.ts';
import { trainCifar10 } from '../lib/train/run.ts';
import { dataset, inTemporaryFolder, quiet, tinyOptions } from './tiny-runs.ts';
import { runs } from './runs.ts';

type Rows = number[][];
const fromRows = (rows: Rows) => tensor(rows.flat(), [rows.length, rows[0].length]);
const rowsOf = (t: Tensor): Rows => {
  const { data, shape } = interpret(t);
  return Array.from({ length: shape[0] }, (_, i) => Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
};
const unit = (row: number[]) => row.map((v) => v / Math.hypot(...row));
const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
const closeTo = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${actual} is not ${expected}`);

/** -mean_b log(exp(c_b . x_b / t) / sum_j exp(c_j . x_b / t)) with the class rows c. */
const crossEntropyByHand = (x: Rows, classes: Rows, indices: number[], t: number) =>
  -x.reduce((s, row, b) => s + dot(row, classes[indices[b]]) / t - Math.log(classes.reduce((z, c) => z + Math.exp(dot(row, c) / t), 0)), 0) / x.length;

const features: Rows = [[0.3, -1.2, 0.4], [0.9, 0.2, -0.5]];
const bank: Rows = [[1, 0, 0], [0, 1, 0], [0, 0.6, 0.8], [0.48, 0.6, 0.64]];
const indices = [3, 1];

test('memory bank worked by hand: the loss scores the old bank, and the batch rows become normalise(0.5 old + 0.5 new)', () => {
  const x = features.map(unit);
  const { loss, state } = memoryBankObjective.loss(fromRows(features), { temperature: 0.07, momentum: 0.5 },
    { indices: tensor(indices, [2]), state: { bank: fromRows(bank) }, params: {} });
  closeTo(interpret(loss).data[0], crossEntropyByHand(x, bank, indices, 0.07));
  const next = rowsOf(state.bank);
  const expected = bank.map((row, i) => (indices.includes(i) ? unit(row.map((v, k) => 0.5 * v + 0.5 * x[indices.indexOf(i)][k])) : row));
  next.forEach((row, i) => row.forEach((v, k) => closeTo(v, expected[i][k])));
  assert.deepEqual(next[0], bank[0], 'rows outside the batch are kept exactly');
  assert.deepEqual(next[2], bank[2]);
});

test('exemplar classifier worked by hand: cosine (rows and features normalised) and plain', () => {
  const weights: Rows = [[2, 0, 1], [0, -1, 0.5], [1, 1, 1], [0.2, 0.1, -3]];
  const run = (cosine: boolean) => exemplarObjective.loss(fromRows(features), { temperature: 0.5, cosine },
    { indices: tensor(indices, [2]), state: {}, params: { weights: fromRows(weights) } });
  closeTo(interpret(run(true).loss).data[0], crossEntropyByHand(features.map(unit), weights.map(unit), indices, 0.5));
  closeTo(interpret(run(false).loss).data[0], crossEntropyByHand(features, weights, indices, 0.5));
  assert.deepEqual(run(true).state, {});
});

const batteryRuns = runs(10);
const check = (definition: Parameters<typeof checkObjective>[0]): Promise<ObjectiveReport> =>
  checkObjective(definition, { runs: batteryRuns, seed: 7, backend: 'native' });

const failed = (report: ObjectiveReport) => report.properties.filter((p) => p.outcome === 'failed').map((p) => p.name);

for (const definition of [
  builtInStatefulDefinitions['memory-bank'], builtInStatefulDefinitions.exemplar,
  { ...builtInStatefulDefinitions.exemplar, name: 'exemplar, plain softmax', options: { temperature: 0.5, cosine: false } },
])
  test(`${definition.name} passes the stateful battery, its state's update checked against the reference`, async () => {
    const report = await check(definition);
    assert.ok(report.passed, formatObjectiveReport(report));
    assert.ok(report.properties.some((p) => /^loss, gradients and next state equal the reference/.test(p.name) && p.outcome === 'passed'));
    assert.ok(report.properties.some((p) => /^no gradient flows through the next state/.test(p.name) && p.outcome === 'passed'));
  });

const memoryBank = memoryBankObjective as StatefulObjective;

test('a bank written without stopGradient fails "no gradient flows through the next state", and only that', async () => {
  const leaky: StatefulObjective = {
    ...memoryBank,
    loss: (f, options, context) => {
      const { loss } = memoryBank.loss(f, options, context);
      const own = rowsAt(context.state.bank, context.indices);
      const bank = withRowsAt(context.state.bank, context.indices, l2Normalize(add(mul(own, 0.5), mul(l2Normalize(f as Tensor), 0.5))));
      return { loss, state: { bank } };
    },
  };
  const report = await check({ ...builtInStatefulDefinitions['memory-bank'], name: 'leaky bank', objective: leaky });
  assert.deepEqual(failed(report), ['no gradient flows through the next state (its derivative with respect to the features and parameters is 0)']);
  assert.match(report.properties.find((p) => p.outcome === 'failed')!.failure!.message, /depends differentiably on features/);
});

test('a loss scored against the updated bank passes the finite differences and fails the reference', async () => {
  const late: StatefulObjective = {
    ...memoryBank,
    loss: (f, options, context) => {
      const { state } = memoryBank.loss(f, options, context);
      return { loss: memoryBank.loss(f, options, { ...context, state }).loss, state };
    },
  };
  const report = await check({ ...builtInStatefulDefinitions['memory-bank'], name: 'late bank', objective: late });
  assert.deepEqual(failed(report), ['loss, gradients and next state equal the reference\'s (float64), random unit features']);
});

test('exemplar weights held by stopGradient in the target pass the finite differences and fail the reference', async () => {
  const exemplar = exemplarObjective as StatefulObjective;
  const frozen: StatefulObjective = {
    ...exemplar,
    loss: (f, options, context) => exemplar.loss(f, options, { ...context, params: { weights: stopGradient(context.params.weights) } }),
  };
  const report = await check({ ...builtInStatefulDefinitions.exemplar, name: 'frozen weights', objective: frozen });
  assert.deepEqual(failed(report), ['loss, gradients and next state equal the reference\'s (float64), random unit features']);
  assert.match(report.properties.find((p) => p.outcome === 'failed')!.failure!.message, /gradient\.params\.weights at element \d+ is 0, the reference/);
});

test('check-objective: a stateful file passes (exit 0); a stateful file without a loss is a usage error naming it (exit 2)', async () => {
  const cli = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/check-objective.ts', file, '--runs', '3', '--seed', '1', '--backend', 'native'], { encoding: 'utf8' });
  const good = cli('examples/stateful-objective.ts');
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /PASS {2}no gradient flows through the next state/);
  await inTemporaryFolder('no-loss', async (folder) => {
    const file = path.join(folder, 'no-loss.mts');
    await fsp.writeFile(file, 'export const init = () => ({ state: {}, params: {} });\nexport const views = 1;\n');
    const bad = cli(file);
    assert.equal(bad.status, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /no-loss\.mts: exports `init`, so it is a stateful objective, but no loss/);
  });
});

test('a run trains with the stateful objective file, its bank checkpointed as objective.state.bank', () =>
  inTemporaryFolder('stateful-file', async (folder) => {
    const file = path.resolve('examples/stateful-objective.ts');
    const result = await trainCifar10(tinyOptions(path.join(folder, 'run'), { objective: file, epochs: 1 }), { ...quiet, dataset });
    assert.equal(result.status, 'finished');
    assert.ok(Number.isFinite(result.metrics[1].loss), JSON.stringify(result.metrics[1]));
  }));
