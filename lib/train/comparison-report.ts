// What a comparison of objectives writes beside their runs: one chart of kNN top-1 per epoch with
// a line per objective (comparison.png, with comparison.vl.json, its Vega-Lite spec), and the same
// figures as a markdown table (comparison.md), epochs down, objectives across.

import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { type ComparedLine, comparisonChart as comparisonPicture, comparisonFigure } from '../report/comparison-chart.ts';
import { writeChart } from './report-files.ts';
import type { EpochRecord } from './metrics.ts';

export const COMPARISON_CHART = 'comparison.png';
export const COMPARISON_SPEC = 'comparison.vl.json';
export const COMPARISON_TABLE = 'comparison.md';

export interface ComparedRun {
  readonly objective: string;
  readonly metrics: readonly EpochRecord[];
}

const percent = (fraction: number): string => (100 * fraction).toFixed(2);

export const comparisonTable = (runs: readonly ComparedRun[], caption: string): string => {
  const epochs = [...new Set(runs.flatMap((run) => run.metrics.map((record) => record.epoch)))].sort((a, b) => a - b);
  const cell = (run: ComparedRun, epoch: number) => {
    const record = run.metrics.find((r) => r.epoch === epoch);
    return record === undefined ? '' : percent(record.knn_top1);
  };
  const minutes = (run: ComparedRun) => (run.metrics.reduce((s, r) => s + r.seconds + (r.build_seconds ?? 0), 0) / 60).toFixed(1);
  return [
    caption,
    '',
    `| epoch | ${runs.map((run) => run.objective).join(' | ')} |`,
    `|---:|${runs.map(() => '---:').join('|')}|`,
    ...epochs.map((epoch) => `| ${epoch} | ${runs.map((run) => cell(run, epoch)).join(' | ')} |`),
    `| training minutes | ${runs.map(minutes).join(' | ')} |`,
    '',
    'Weighted-kNN top-1 (%) of the test images among the training images; epoch 0 is the random encoder.',
    '',
  ].join('\n');
};

/** Each run's kNN top-1 per epoch, in percent. */
const linesOf = (runs: readonly ComparedRun[]): ComparedLine[] =>
  runs.map((run) => ({ name: run.objective, points: run.metrics.map((record) => ({ epoch: record.epoch, top1: 100 * record.knn_top1 })) }));

export const comparisonChart = (runs: readonly ComparedRun[], title: string): Promise<Buffer> => comparisonPicture(linesOf(runs), title);

/** Writes comparison.png (and its spec) and comparison.md into `out`; returns their paths. */
export const writeComparison = async (out: string, runs: readonly ComparedRun[], title: string): Promise<{ chart: string; table: string }> => {
  const [chart, table] = [path.join(out, COMPARISON_CHART), path.join(out, COMPARISON_TABLE)];
  await writeChart(chart, path.join(out, COMPARISON_SPEC), comparisonFigure(linesOf(runs), title));
  await writeFileAtomic(table, comparisonTable(runs, `# ${title}`));
  return { chart, table };
};
