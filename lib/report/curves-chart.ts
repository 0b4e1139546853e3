// The training-curves picture: training loss per epoch beside kNN top-1 and
// top-5 accuracy per epoch (epoch 0 = the random encoder before training), and the backbone's
// top-1 where it was measured. It is a Vega-Lite spec (written beside the PNG, so that it can be
// opened and restyled in any Vega-Lite editor), drawn by `render-chart.ts`.
import { epochAxis } from './epoch-axis.ts';
import { hexColor, TABLEAU_10 } from './palette.ts';
import { CHART_FONT, type ChartSpec, chartPng, type SizedChart } from './render-chart.ts';
import type { RGB } from './raster.ts';

/** One epoch's numbers; a missing or NaN value is simply not drawn. */
export interface EpochMetrics {
  readonly epoch: number;
  /** Mean training loss over the epoch (absent for epoch 0). */
  readonly loss?: number;
  /** kNN top-1 accuracy on the test set, in percent (0..100). */
  readonly top1?: number;
  /** kNN top-5 accuracy on the test set, in percent (0..100). */
  readonly top5?: number;
  /** kNN top-1 accuracy of the backbone's features (before the projection), in percent; drawn when given. */
  readonly backboneTop1?: number;
  /** On the unseen categories of a run on some classes, in percent: Recall@1 and NMI (x 100), of the embedding and of the backbone. */
  readonly recallAt1?: number;
  readonly nmi?: number;
  readonly recallAt1Backbone?: number;
  readonly nmiBackbone?: number;
}

export interface CurvesChartOptions {
  readonly epochs: readonly EpochMetrics[];
  readonly width?: number;
  readonly height?: number;
  /** Optional heading across the whole picture. */
  readonly title?: string;
}

// Tableau-10's first eight, one a series, exported so tests (and legends elsewhere) can refer to
// the same colours: loss, top-1, top-5 and the backbone's top-1, then the unseen-category panel's.
export const [LOSS_COLOR, TOP1_COLOR, TOP5_COLOR, BACKBONE_TOP1_COLOR, RECALL_COLOR, NMI_COLOR, RECALL_BACKBONE_COLOR, NMI_BACKBONE_COLOR] = TABLEAU_10;
export { hexColor };

interface SeriesSpec {
  readonly name: string;
  readonly color: RGB;
  readonly pick: (m: EpochMetrics) => number | undefined;
}

interface PanelSpec {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly SeriesSpec[];
}

/** The panels of these epochs: loss, kNN accuracy, and the unseen classes' metrics when measured. */
const panelsOf = (epochs: readonly EpochMetrics[]): PanelSpec[] => [
  { title: 'Training loss', yLabel: 'loss', series: [{ name: 'train loss', color: LOSS_COLOR, pick: (m) => m.loss }] },
  {
    title: 'kNN accuracy (test)',
    yLabel: 'accuracy (%)',
    series: [
      { name: 'top-1', color: TOP1_COLOR, pick: (m) => m.top1 },
      { name: 'top-5', color: TOP5_COLOR, pick: (m) => m.top5 },
      ...(epochs.some((m) => m.backboneTop1 !== undefined) ? [{ name: 'top-1 backbone', color: BACKBONE_TOP1_COLOR, pick: (m: EpochMetrics) => m.backboneTop1 }] : []),
    ],
  },
  ...(epochs.some((m) => m.recallAt1 !== undefined)
    ? [{
        title: 'Unseen classes (test)',
        yLabel: 'percent',
        series: [
          { name: 'Recall@1', color: RECALL_COLOR, pick: (m: EpochMetrics) => m.recallAt1 },
          { name: 'NMI x100', color: NMI_COLOR, pick: (m: EpochMetrics) => m.nmi },
          ...(epochs.some((m) => m.recallAt1Backbone !== undefined)
            ? [
                { name: 'R@1 backbone', color: RECALL_BACKBONE_COLOR, pick: (m: EpochMetrics) => m.recallAt1Backbone },
                { name: 'NMI backbone', color: NMI_BACKBONE_COLOR, pick: (m: EpochMetrics) => m.nmiBackbone },
              ]
            : []),
        ],
      }]
    : []),
];

/** Where a chart's panels sit: the room their titles, axes and legends take around them. */
const MARGIN = { width: 110, height: 110 };

/**
 * The curves as one Vega-Lite spec: a panel per kind of metric, side by side, every panel over
 * the same epochs (loss has no epoch 0) so that they line up by eye. A value that is missing or
 * not finite is left out of its line, which breaks there.
 */
export const curvesFigure = (options: CurvesChartOptions): SizedChart => {
  const { epochs } = options;
  const panels = panelsOf(epochs);
  const [width, height] = [options.width ?? 900, options.height ?? 400];
  const values = panels.flatMap((panel) =>
    panel.series.flatMap((series) =>
      epochs.map((m) => {
        const value = series.pick(m);
        // JSON has no NaN or infinity: a value not drawn is null, which breaks the line.
        return { panel: panel.title, series: series.name, epoch: m.epoch, value: value !== undefined && Number.isFinite(value) ? value : null };
      }),
    ),
  );
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(options.title === undefined ? {} : { title: { text: options.title, anchor: 'start', fontSize: 15 } }),
    data: { values },
    config: { font: CHART_FONT, legend: { orient: 'bottom', direction: 'horizontal', title: null } },
    resolve: { scale: { color: 'independent', y: 'independent' } },
    hconcat: panels.map((panel) => ({
      title: panel.title,
      width: Math.max(60, Math.floor((width - MARGIN.width * panels.length) / panels.length)),
      height: Math.max(60, height - MARGIN.height - (options.title === undefined ? 0 : 25)),
      transform: [{ filter: { field: 'panel', equal: panel.title } }],
      // Points mark each epoch (and keep a lone finite value visible) while there is room for them.
      mark: { type: 'line', strokeWidth: 2, invalid: 'break-paths-filter-domains', point: epochs.length <= 60 ? { size: 30, filled: true } : false },
      encoding: {
        x: epochAxis(epochs.map((m) => m.epoch)),
        y: { field: 'value', type: 'quantitative', title: panel.yLabel, scale: { zero: false } },
        color: {
          field: 'series',
          type: 'nominal',
          scale: { domain: panel.series.map((s) => s.name), range: panel.series.map((s) => hexColor(s.color)) },
        },
      },
    })),
  } as ChartSpec;
  return { spec, width, height };
};

export const curvesSpec = (options: CurvesChartOptions): ChartSpec => curvesFigure(options).spec;

/** PNG (default 900x400) of the loss panel and the kNN accuracy panel, and a panel of the unseen categories' metrics when there are any. */
export const curvesChart = (options: CurvesChartOptions): Promise<Buffer> => chartPng(curvesFigure(options));
