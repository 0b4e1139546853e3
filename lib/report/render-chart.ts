// A Vega-Lite chart as a PNG: Vega-Lite compiles the spec to Vega, Vega lays it out and draws it
// as SVG (no canvas needed), and resvg rasterises the SVG with DejaVu Sans from the
// `dejavu-fonts-ttf` package, so the picture is the same on every machine, fonts installed or not.
// The PNG has exactly the size asked for: the chart is scaled to fit and centred on white.
//
// Without a canvas, Vega guesses a text's width as 0.8 em a character, a third more than DejaVu
// Sans takes, and lays a long title out that much wider than it is drawn; it measures here with
// the font's own advance widths (opentype.js) instead.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import opentype, { type Font } from 'opentype.js';
import { PNG } from 'pngjs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec as ChartSpec } from 'vega-lite';

/** The font every chart is drawn in (the spec names it; resvg is handed its files). */
export const CHART_FONT = 'DejaVu Sans';
const fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((name) => createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/${name}`));
const [regular, bold] = fontFiles.map((file) => {
  const bytes = readFileSync(file);
  return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
});

interface TextItem {
  readonly text?: unknown;
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
}

const isBold = (weight: TextItem['fontWeight']): boolean => weight === 'bold' || weight === 'bolder' || (typeof weight === 'number' && weight >= 600);

/** A line's width in pixels: the sum of its glyphs' advances (no kerning: a pixel or two at most). */
const lineWidth = (line: string, font: Font, size: number): number =>
  ([...line].reduce((total, character) => total + (font.charToGlyph(character).advanceWidth ?? font.unitsPerEm / 2), 0) * size) / font.unitsPerEm;

// The measure Vega's layout uses for every text mark it places (a mark's text may be lines).
(vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics.width = (item, text) => {
  const value = text ?? item.text;
  const font = isBold(item.fontWeight) ? bold : regular;
  return Math.max(0, ...(Array.isArray(value) ? value : [value]).map((line) => lineWidth(String(line ?? ''), font, item.fontSize ?? 11)));
};

/** The chart as SVG, at the size its spec lays out. */
export const chartSvg = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
};

/** A chart's spec and the size of the picture drawn from it. */
export interface SizedChart {
  readonly spec: TopLevelSpec;
  readonly width: number;
  readonly height: number;
}

/** The chart as a PNG of exactly `width` x `height` pixels. */
export const chartPng = async ({ spec, width, height }: SizedChart): Promise<Buffer> => {
  const svg = await chartSvg(spec);
  const font = { fontFiles, loadSystemFonts: false, defaultFontFamily: CHART_FONT };
  const natural = new Resvg(svg, { font });
  const zoom = Math.min(width / natural.width, height / natural.height);
  const drawn = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: zoom }, font }).render();
  const picture = new PNG({ width, height });
  picture.data.fill(255);
  const chart = PNG.sync.read(drawn.asPng());
  const [left, top] = [Math.floor((width - chart.width) / 2), Math.floor((height - chart.height) / 2)];
  PNG.bitblt(chart, picture, 0, 0, Math.min(chart.width, width), Math.min(chart.height, height), Math.max(0, left), Math.max(0, top));
  return PNG.sync.write(picture);
};
