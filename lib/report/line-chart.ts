// A small multi-panel line chart: panels side by side, each with its own axes,
// nice ticks, light grid, axis titles, a legend row and marked points.
// Generic over the data; curves-chart.ts maps training history onto it.
import { Raster, WHITE, type RGB } from './raster.ts';
import { drawText, textHeight, textWidth } from './font.ts';
import { formatTick, niceTicks, type Ticks } from './ticks.ts';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly color: RGB;
  /** Points with a non-finite x or y are skipped and break the line there. */
  readonly points: readonly Point[];
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Whole-number x ticks (epochs). */
  readonly integerX?: boolean;
  /** X values the axis must include even without data there, so side-by-side panels can share an x range. */
  readonly xInclude?: readonly number[];
}

export interface LineChartOptions {
  readonly panels: readonly Panel[];
  readonly width?: number;
  readonly height?: number;
  /** Optional heading across the whole picture. */
  readonly title?: string;
}

const INK: RGB = [30, 30, 30];
const MUTED: RGB = [90, 90, 90];
const AXIS: RGB = [110, 110, 110];
const GRID: RGB = [228, 228, 228];

// Text sizes (integer font magnification). Titles are larger so the eye finds them first.
const TITLE_SCALE = 2;
const LABEL_SCALE = 2;
const TICK_SCALE = 2;

const PAD = 12;
const TICK_LEN = 4;
/** Data never touches the frame: markers at the extremes stay whole. */
const INSET = 8;
const LINE_WIDTH = 2;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function finitePoints(s: Series): Point[] {
  return s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
}

function extent(values: number[]): [number, number] {
  if (values.length === 0) return [NaN, NaN];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function drawLegend(r: Raster, panel: Panel, cx: number, y: number): void {
  const swatch = 22;
  const gap = 6;
  const between = 20;
  const widths = panel.series.map((s) => swatch + gap + textWidth(s.name, LABEL_SCALE));
  const total = widths.reduce((a, b) => a + b, 0) + between * Math.max(0, widths.length - 1);
  let x = Math.round(cx - total / 2);
  const mid = y + textHeight(LABEL_SCALE) / 2 - 1;
  panel.series.forEach((s, i) => {
    r.line(x, mid, x + swatch, mid, s.color, LINE_WIDTH);
    r.fillCircle(x + swatch / 2, mid, 3.5, s.color);
    drawText(r, s.name, x + swatch + gap, y, INK, { scale: LABEL_SCALE });
    x += widths[i] + between;
  });
}

function drawPanel(r: Raster, panel: Panel, box: Box): void {
  const all = panel.series.map(finitePoints);
  const [xlo, xhi] = extent([...all.flatMap((ps) => ps.map((p) => p.x)), ...(panel.xInclude ?? []).filter(Number.isFinite)]);
  const [ylo, yhi] = extent(all.flatMap((ps) => ps.map((p) => p.y)));
  const hasData = all.some((ps) => ps.length > 0);

  // Vertical budget: title, legend, plot, tick labels, x-axis title.
  const titleY = box.y + PAD;
  const legendY = titleY + textHeight(TITLE_SCALE) + 8;
  const plotTop = legendY + textHeight(LABEL_SCALE) + 12;
  const xTitleY = box.y + box.h - PAD - textHeight(LABEL_SCALE);
  const xTickY = xTitleY - 6 - textHeight(TICK_SCALE);
  const plotBottom = xTickY - 4 - TICK_LEN;
  const plotH = Math.max(10, plotBottom - plotTop);

  // Y ticks depend only on the data and the height, so their labels fix the left margin.
  const yTicks: Ticks = niceTicks(ylo, yhi, Math.max(2, Math.min(8, Math.floor(plotH / 40))));
  const yLabels = yTicks.values.map((v) => formatTick(v, yTicks.decimals));
  const yLabelW = Math.max(...yLabels.map((s) => textWidth(s, TICK_SCALE)));
  const plotLeft = box.x + PAD + textHeight(LABEL_SCALE) + 8 + yLabelW + 4 + TICK_LEN;
  // Leave room on the right for half of the last x tick label.
  const plotRight = box.x + box.w - PAD - 8;
  const plotW = Math.max(10, plotRight - plotLeft);

  // Rough widest x label (integer part plus room for a sign or decimals) to space the ticks.
  const xMaxLabelW = textWidth(String(Math.round(Math.max(Math.abs(xlo || 0), Math.abs(xhi || 0)))), TICK_SCALE) + 12;
  const xTicks: Ticks = niceTicks(xlo, xhi, Math.max(1, Math.min(10, Math.floor(plotW / (xMaxLabelW + 30)))), {
    integer: panel.integerX,
  });

  const sx = (x: number): number => plotLeft + INSET + ((x - xTicks.min) / (xTicks.max - xTicks.min)) * (plotW - 2 * INSET);
  const sy = (y: number): number => plotBottom - INSET - ((y - yTicks.min) / (yTicks.max - yTicks.min)) * (plotH - 2 * INSET);

  // Grid first so everything else draws over it.
  for (const v of yTicks.values) r.fillRect(plotLeft + 1, Math.round(sy(v)), plotW - 1, 1, GRID);
  for (const v of xTicks.values) r.fillRect(Math.round(sx(v)), plotTop + 1, 1, plotH - 1, GRID);
  r.strokeRect(plotLeft, plotTop, plotW + 1, plotH + 1, AXIS, 1);

  const tickH = textHeight(TICK_SCALE);
  yTicks.values.forEach((v, i) => {
    const py = Math.round(sy(v));
    r.fillRect(plotLeft - TICK_LEN, py, TICK_LEN, 1, AXIS);
    // Centre on the glyphs' cap height (7 of 8 rows), not the descender cell.
    drawText(r, yLabels[i], plotLeft - TICK_LEN - 4, py - Math.floor((tickH * 7) / 16), MUTED, {
      scale: TICK_SCALE,
      align: 'right',
    });
  });
  for (const v of xTicks.values) {
    const px = Math.round(sx(v));
    r.fillRect(px, plotBottom + 1, 1, TICK_LEN, AXIS);
    drawText(r, formatTick(v, xTicks.decimals), px + 1, xTickY, MUTED, { scale: TICK_SCALE, align: 'center' });
  }

  const centreX = Math.round(plotLeft + plotW / 2);
  drawText(r, panel.title, Math.round(box.x + box.w / 2), titleY, INK, { scale: TITLE_SCALE, align: 'center' });
  drawText(r, panel.xLabel, centreX, xTitleY, INK, { scale: LABEL_SCALE, align: 'center' });
  drawText(r, panel.yLabel, box.x + PAD, Math.round(plotTop + plotH / 2), INK, {
    scale: LABEL_SCALE,
    align: 'center',
    vertical: true,
  });
  drawLegend(r, panel, box.x + box.w / 2, legendY);

  if (!hasData) {
    drawText(r, 'no data', centreX, Math.round(plotTop + plotH / 2 - 7), MUTED, { scale: 2, align: 'center' });
    return;
  }

  // Dense runs (hundreds of epochs) get smaller markers so the line stays legible.
  const maxPoints = Math.max(...all.map((ps) => ps.length));
  const spacing = maxPoints > 1 ? (plotW - 2 * INSET) / (maxPoints - 1) : Infinity;
  const markerR = Math.max(1.5, Math.min(3.5, spacing * 0.3));

  panel.series.forEach((s) => {
    // Sort by x but keep non-finite entries in place as line breaks.
    const seq = [...s.points].sort((a, b) => (Number.isFinite(a.x) && Number.isFinite(b.x) ? a.x - b.x : 0));
    let prev: Point | null = null;
    for (const p of seq) {
      const ok = Number.isFinite(p.x) && Number.isFinite(p.y);
      if (ok && prev) r.line(sx(prev.x), sy(prev.y), sx(p.x), sy(p.y), s.color, LINE_WIDTH);
      prev = ok ? p : null;
    }
    for (const p of seq) {
      if (Number.isFinite(p.x) && Number.isFinite(p.y)) r.fillCircle(sx(p.x), sy(p.y), markerR, s.color);
    }
  });
}

/** Renders the panels side by side into a canvas (see lineChart for the PNG). */
export function lineChartRaster(options: LineChartOptions): Raster {
  const width = Math.round(options.width ?? 900);
  const height = Math.round(options.height ?? 400);
  const r = new Raster(width, height, WHITE);
  let top = 0;
  if (options.title) {
    drawText(r, options.title, Math.round(width / 2), PAD, INK, { scale: TITLE_SCALE, align: 'center' });
    top = PAD + textHeight(TITLE_SCALE);
  }
  const n = Math.max(1, options.panels.length);
  const w = width / n;
  options.panels.forEach((panel, i) => {
    drawPanel(r, panel, { x: Math.round(i * w), y: top, w: Math.round(w), h: height - top });
  });
  return r;
}

/** Renders the panels side by side as a PNG. */
export function lineChart(options: LineChartOptions): Buffer {
  return lineChartRaster(options).toPng();
}
