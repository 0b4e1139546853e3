// Public surface of the report pictures: data in, PNG Buffer (or a chart's Vega-Lite spec) out.
// Callers decide where (and whether) to write the files.
export {
  BACKBONE_TOP1_COLOR, curvesChart, curvesSpec, hexColor, LOSS_COLOR, NMI_BACKBONE_COLOR, NMI_COLOR, RECALL_BACKBONE_COLOR, RECALL_COLOR, TOP1_COLOR, TOP5_COLOR,
} from './curves-chart.ts';
export type { CurvesChartOptions, EpochMetrics } from './curves-chart.ts';
export {
  neighboursGrid,
  neighboursGridLayout,
  neighboursGridRaster,
  MATCH_COLOR,
  MISMATCH_COLOR,
  QUERY_COLOR,
  IMAGE_BYTES,
  IMAGE_SIDE,
} from './neighbours-grid.ts';
export type { NeighboursGridOptions, NeighboursGridLayout, NeighboursRow, Neighbour, LabelledImage } from './neighbours-grid.ts';
export { chartPng, chartSvg, CHART_FONT } from './render-chart.ts';
export type { ChartSpec, SizedChart } from './render-chart.ts';
export { TABLEAU_10 } from './palette.ts';
export { Raster, WHITE, BLACK } from './raster.ts';
export type { RGB } from './raster.ts';
export { drawText, glyph, textWidth, textHeight, GLYPH_WIDTH, GLYPH_HEIGHT, GLYPH_ADVANCE } from './font.ts';
