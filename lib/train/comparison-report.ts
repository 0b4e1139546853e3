// What a comparison of objectives writes beside their runs: one chart of kNN top-1 per epoch with
// a line per objective (comparison.png), and the same figures as a markdown table (comparison.md),
// epochs down, objectives across.

import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { lineChart } from '../report/line-chart.ts';
import type { RGB } from '../report/raster.ts';
import type { EpochRecord } from './metrics.ts';

export const COMPARISON_CHART = 'comparison.png';
export const COMPARISON_TABLE = 'comparison.md';

export interface ComparedRun {
  readonly objective: string;
  readonly metrics: readonly EpochRecord[];
}

// A colour per line, told apart also in grey (matplotlib's first colours).
const lineColors: readonly RGB[] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]];

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

export const comparisonChart = (runs: readonly ComparedRun[], title: string): Buffer =>
  lineChart({
    title,
    width: 900,
    height: 480,
    panels: [{
      title: 'kNN top-1 per epoch',
      xLabel: 'epoch',
      yLabel: 'top-1 (%)',
      integerX: true,
      series: runs.map((run, i) => ({
        name: run.objective,
        color: lineColors[i % lineColors.length],
        points: run.metrics.map((record) => ({ x: record.epoch, y: 100 * record.knn_top1 })),
      })),
    }],
  });

/** Writes comparison.png and comparison.md into `out`; returns their paths. */
export const writeComparison = async (out: string, runs: readonly ComparedRun[], title: string): Promise<{ chart: string; table: string }> => {
  const [chart, table] = [path.join(out, COMPARISON_CHART), path.join(out, COMPARISON_TABLE)];
  await writeFileAtomic(chart, comparisonChart(runs, title));
  await writeFileAtomic(table, comparisonTable(runs, `# ${title}`));
  return { chart, table };
};
