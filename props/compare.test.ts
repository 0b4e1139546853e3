// The comparison command's own flags and what it writes: the table's figures come from each
// run's records, the chart is a PNG with a line per objective, and bad flags are one clear line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import * as E from 'fp-ts/lib/Either.js';
import { comparisonChart, comparisonTable } from '../lib/train/comparison-report.ts';
import { COMPARISON_COLORS } from '../lib/report/comparison-chart.ts';
import { parseCompareArguments, runFolderName } from '../lib/train/compare-command.ts';
import type { EpochRecord } from '../lib/train/metrics.ts';

const record = (epoch: number, knn_top1: number): EpochRecord => ({
  epoch, loss: epoch === 0 ? null : 1, knn_top1, knn_top5: 0.5, seconds: 30, instances_per_second: null, backend: 'native', learning_rate: 0.01, steps: 4, eval_seconds: 1,
});

test('the comparison table and chart hold each objective\'s kNN top-1 per epoch', async () => {
  const runs = [{ objective: 'a', metrics: [record(0, 0.1), record(1, 0.2512)] }, { objective: 'memory-bank', metrics: [record(0, 0.1), record(1, 0.3)] }];
  const table = comparisonTable(runs, '# title');
  assert.match(table, /^\| epoch \| a \| memory-bank \|$/m);
  assert.match(table, /^\| 1 \| 25\.12 \| 30\.00 \|$/m);
  assert.match(table, /^\| training minutes \| 1\.0 \| 1\.0 \|$/m);
  const png = PNG.sync.read(await comparisonChart(runs, 'title'));
  assert.deepEqual([png.width, png.height], [900, 480]);
  // Each objective's line is drawn in its own colour.
  const count = ([r, g, b]: readonly number[]) => {
    let n = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n++;
    return n;
  };
  for (const color of COMPARISON_COLORS.slice(0, 2)) assert.ok(count(color) > 50, `colour ${color} drawn`);
  assert.equal(count(COMPARISON_COLORS[2]), 0, 'no third line');
});

test('compare\'s flags: --objectives required and without repeats, --objective refused, the rest passed to every run', () => {
  const parsed = parseCompareArguments(['--objectives', 'invariant-spreading,memory-bank', '--epochs', '2', '--out=x', '--resume']);
  assert.ok(E.isRight(parsed) && parsed.right !== 'help');
  const { objectives, shared, resume, out } = parsed.right as Exclude<typeof parsed.right, 'help'>;
  assert.deepEqual([objectives, shared, resume, out.endsWith('/x')], [['invariant-spreading', 'memory-bank'], ['--epochs', '2'], true, true]);
  for (const [argv, pattern] of [
    [['--epochs', '2'], /^--objectives: name the objectives/],
    [['--objectives', 'a,,b'], /comma-separated/],
    [['--objectives', 'a,a'], /names an objective twice/],
    [['--objectives', 'a', '--objective', 'b'], /^--objective: a comparison takes its objectives as --objectives/],
  ] as const) {
    const result = parseCompareArguments(argv);
    assert.ok(E.isLeft(result) && pattern.test(result.left), JSON.stringify(result));
  }
  assert.equal(runFolderName('/some/where/my-loss.mts'), 'my-loss');
});
