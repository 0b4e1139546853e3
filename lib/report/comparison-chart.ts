// Objectives side by side: kNN top-1 per epoch, a line per objective, as a Vega-Lite spec (written
// beside the PNG, to open and restyle) drawn by render-chart.ts.

import { epochAxis } from './epoch-axis.ts';
import { hexColor, TABLEAU_10 } from './palette.ts';
import { CHART_FONT, type ChartSpec, chartPng, type SizedChart } from './render-chart.ts';

/** One objective's line: its name and its top-1 (in percent) per epoch. */
export interface ComparedLine {
  readonly name: string;
  readonly points: readonly { readonly epoch: number; readonly top1: number }[];
}

/** A colour per line, in order. */
export const COMPARISON_COLORS = TABLEAU_10;

const comparisonSpec = (lines: readonly ComparedLine[], title: string, width: number, height: number): ChartSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: title, anchor: 'start', fontSize: 15 },
  config: { font: CHART_FONT, legend: { orient: 'right', title: null } },
  width: Math.max(100, width - 260),
  height: Math.max(100, height - 110),
  data: {
    values: lines.flatMap((line) => line.points.map(({ epoch, top1 }) => ({ objective: line.name, epoch, top1: Number.isFinite(top1) ? top1 : null }))),
  },
  mark: { type: 'line', strokeWidth: 2, invalid: 'break-paths-filter-domains', point: { size: 30, filled: true } },
  encoding: {
    x: epochAxis(lines.flatMap((line) => line.points.map((point) => point.epoch))),
    y: { field: 'top1', type: 'quantitative', title: 'kNN top-1 (%)', scale: { zero: false } },
    color: {
      field: 'objective',
      type: 'nominal',
      scale: { domain: lines.map((line) => line.name), range: lines.map((_, i) => hexColor(COMPARISON_COLORS[i % COMPARISON_COLORS.length])) },
    },
  },
} as ChartSpec);

/** The comparison's spec and picture size. */
export const comparisonFigure = (lines: readonly ComparedLine[], title: string, width = 900, height = 480): SizedChart => ({
  width,
  height,
  spec: comparisonSpec(lines, title, width, height),
});

/** PNG (default 900x480) of the comparison. */
export const comparisonChart = (lines: readonly ComparedLine[], title: string, width = 900, height = 480): Promise<Buffer> =>
  chartPng(comparisonFigure(lines, title, width, height));
