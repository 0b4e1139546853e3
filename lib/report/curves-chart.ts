// The training-curves picture: training loss per epoch beside kNN top-1 and
// top-5 accuracy per epoch (epoch 0 = the random encoder before training), and the backbone's
// top-1 where it was measured.
import type { RGB } from './raster.ts';
import { lineChart, type Series } from './line-chart.ts';

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

// Tableau-10 blue/orange/green: distinct for most colour-vision types, and
// exported so tests (and legends elsewhere) can refer to the same colours.
export const LOSS_COLOR: RGB = [31, 119, 180];
export const TOP1_COLOR: RGB = [255, 127, 14];
export const TOP5_COLOR: RGB = [44, 160, 44];
export const BACKBONE_TOP1_COLOR: RGB = [214, 39, 40];
// Tableau-10's next four, for the unseen-category panel.
export const RECALL_COLOR: RGB = [148, 103, 189];
export const NMI_COLOR: RGB = [140, 86, 75];
export const RECALL_BACKBONE_COLOR: RGB = [227, 119, 194];
export const NMI_BACKBONE_COLOR: RGB = [127, 127, 127];

function series(name: string, color: RGB, epochs: readonly EpochMetrics[], pick: (m: EpochMetrics) => number | undefined): Series {
  return { name, color, points: epochs.map((m) => ({ x: m.epoch, y: pick(m) ?? NaN })) };
}

/** PNG (default 900x400) of the loss panel and the kNN accuracy panel, and a panel of the unseen categories' metrics when there are any. */
export function curvesChart(options: CurvesChartOptions): Buffer {
  const { epochs } = options;
  // Both panels span the same epochs (loss has no epoch 0) so they line up by eye.
  const xInclude = epochs.map((m) => m.epoch).filter(Number.isFinite);
  const panel = (title: string, yLabel: string, lines: Series[]) => ({ title, xLabel: 'epoch', yLabel, integerX: true, xInclude, series: lines });
  return lineChart({
    width: options.width ?? 900,
    height: options.height ?? 400,
    title: options.title,
    panels: [
      panel('Training loss', 'loss', [series('train loss', LOSS_COLOR, epochs, (m) => m.loss)]),
      panel('kNN accuracy (test)', 'accuracy (%)', [
        series('top-1', TOP1_COLOR, epochs, (m) => m.top1),
        series('top-5', TOP5_COLOR, epochs, (m) => m.top5),
        ...(epochs.some((m) => m.backboneTop1 !== undefined)
          ? [series('top-1 backbone', BACKBONE_TOP1_COLOR, epochs, (m) => m.backboneTop1)] : []),
      ]),
      ...(epochs.some((m) => m.recallAt1 !== undefined) ? [panel('Unseen classes (test)', 'percent', [
        series('Recall@1', RECALL_COLOR, epochs, (m) => m.recallAt1),
        series('NMI x100', NMI_COLOR, epochs, (m) => m.nmi),
        ...(epochs.some((m) => m.recallAt1Backbone !== undefined) ? [
          series('R@1 backbone', RECALL_BACKBONE_COLOR, epochs, (m) => m.recallAt1Backbone),
          series('NMI backbone', NMI_BACKBONE_COLOR, epochs, (m) => m.nmiBackbone),
        ] : []),
      ])] : []),
    ],
  });
}
