// The nearest-neighbours picture: each row is a test query image followed by
// its k nearest training images in the learned embedding. Borders say at a
// glance whether each neighbour shares the query's class (green) or not (red).
import { Raster, WHITE, type RGB } from './raster.ts';
import { drawText, textHeight, textWidth } from './font.ts';

/** CIFAR-10 images: 32x32 RGB stored CHW (1024 red, 1024 green, 1024 blue bytes). */
export const IMAGE_SIDE = 32;
export const IMAGE_BYTES = 3 * IMAGE_SIDE * IMAGE_SIDE;

export const MATCH_COLOR: RGB = [22, 163, 74];
export const MISMATCH_COLOR: RGB = [220, 38, 38];
export const QUERY_COLOR: RGB = [120, 120, 120];

/** Border thickness around each image, in pixels. */
export const BORDER = 2;
/** Gap between neighbouring cells in a row. */
export const CELL_GAP = 4;
/** Wider gap between the query and its first neighbour, so the query reads as separate. */
export const QUERY_GAP = 16;
/** Outer margin on every side. */
export const MARGIN = 12;
/** Vertical gap between rows (below the captions). */
export const ROW_GAP = 8;

const INK: RGB = [30, 30, 30];
const MUTED: RGB = [90, 90, 90];
const BIG = 2;
const CAPTION = 1;
const LINE_GAP = 2;

export interface LabelledImage {
  /** 3072 bytes, CHW. */
  readonly image: Uint8Array;
  readonly label: number;
}

export interface Neighbour extends LabelledImage {
  /** Similarity to the query (e.g. cosine); printed under the image when given. */
  readonly similarity?: number;
}

export interface NeighboursRow {
  readonly query: LabelledImage;
  /** Nearest first. */
  readonly neighbours: readonly Neighbour[];
}

export interface NeighboursGridOptions {
  readonly rows: readonly NeighboursRow[];
  /** Index = label; missing names print as "#label". */
  readonly classNames: readonly string[];
  /** Integer magnification of each image (nearest neighbour). Default 2. */
  readonly scale?: number;
  /** Header; defaults to a sentence naming what the grid shows. */
  readonly title?: string;
}

export interface CellBox {
  /** Top-left of the cell's outer border. */
  readonly x: number;
  readonly y: number;
}

export interface NeighboursGridLayout {
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  /** Side of one cell: the scaled image plus its border on both sides. */
  readonly cell: number;
  /** Largest neighbour count over the rows: the number of neighbour columns. */
  readonly k: number;
  /** Distance between the tops of consecutive rows. */
  readonly rowPitch: number;
  readonly labelWidth: number;
  /** Top of the first row of cells. */
  readonly gridTop: number;
  readonly title: string;
  readonly rows: ReadonlyArray<{ readonly query: CellBox; readonly neighbours: readonly CellBox[] }>;
}

export function className(classNames: readonly string[], label: number): string {
  return classNames[label] ?? `#${label}`;
}

function captionLines(rows: readonly NeighboursRow[]): number {
  // One line for the neighbour's class name, one more if any similarity is given.
  const anySimilarity = rows.some((r) => r.neighbours.some((n) => n.similarity !== undefined && Number.isFinite(n.similarity)));
  return anySimilarity ? 2 : 1;
}

/**
 * Where everything goes. Exported so callers and tests can find cells without
 * re-deriving the arithmetic. Width = MARGIN + labelWidth + cell + QUERY_GAP
 * + k*cell + (k-1)*CELL_GAP + MARGIN (or wider if the header needs it);
 * height = header + rows*rowPitch - ROW_GAP + MARGIN.
 */
export function neighboursGridLayout(options: NeighboursGridOptions): NeighboursGridLayout {
  const scale = Math.max(1, Math.round(options.scale ?? 2));
  const k = Math.max(0, ...options.rows.map((r) => r.neighbours.length));
  const cell = IMAGE_SIDE * scale + 2 * BORDER;
  const title = options.title ?? `Nearest training neighbours of test images (k = ${k})`;

  const names = [...options.classNames, ...options.rows.map((r) => className(options.classNames, r.query.label))];
  const labelWidth = Math.max(0, ...names.map((n) => textWidth(n, BIG))) + 10;

  const captionH = captionLines(options.rows) * (textHeight(CAPTION) + LINE_GAP) + LINE_GAP;
  const rowPitch = cell + captionH + ROW_GAP;

  // Header: title, a one-line key to the border colours, then column captions.
  const titleH = textHeight(BIG);
  const keyH = textHeight(CAPTION) + 2;
  const columnsH = textHeight(CAPTION);
  const gridTop = MARGIN + titleH + 8 + keyH + 10 + columnsH + 4;

  const gridWidth = MARGIN + labelWidth + cell + (k > 0 ? QUERY_GAP + k * cell + (k - 1) * CELL_GAP : 0) + MARGIN;
  const width = Math.max(gridWidth, textWidth(title, BIG) + 2 * MARGIN, keyWidth() + 2 * MARGIN);
  const height = gridTop + Math.max(1, options.rows.length) * rowPitch - ROW_GAP + MARGIN;

  const queryX = MARGIN + labelWidth;
  const rows = options.rows.map((r, i) => {
    const y = gridTop + i * rowPitch;
    return {
      query: { x: queryX, y },
      neighbours: r.neighbours.map((_, j) => ({ x: queryX + cell + QUERY_GAP + j * (cell + CELL_GAP), y })),
    };
  });
  return { width, height, scale, cell, k, rowPitch, labelWidth, gridTop, title, rows };
}

const KEY_SWATCH = 10;
const KEY_ITEMS: ReadonlyArray<readonly [RGB, string]> = [
  [QUERY_COLOR, 'query'],
  [MATCH_COLOR, 'same class as query'],
  [MISMATCH_COLOR, 'different class'],
];

function keyWidth(): number {
  return KEY_ITEMS.reduce((w, [, text]) => w + KEY_SWATCH + 4 + textWidth(text, CAPTION) + 16, -16);
}

function checkImage(img: Uint8Array, what: string): void {
  if (!(img instanceof Uint8Array) || img.length !== IMAGE_BYTES) {
    throw new RangeError(`neighboursGrid: ${what} must be a Uint8Array of ${IMAGE_BYTES} bytes (32x32 CHW RGB), got ${img?.length}`);
  }
}

/** Truncates text to fit `maxWidth` pixels, marking the cut with '.'. */
function fit(text: string, maxWidth: number, scale: number): string {
  if (textWidth(text, scale) <= maxWidth) return text;
  let t = text;
  while (t.length > 1 && textWidth(t + '.', scale) > maxWidth) t = t.slice(0, -1);
  return t + '.';
}

function drawCell(r: Raster, img: Uint8Array, box: CellBox, layout: NeighboursGridLayout, border: RGB): void {
  r.strokeRect(box.x, box.y, layout.cell, layout.cell, border, BORDER);
  r.blitPlanarRgb(img, IMAGE_SIDE, IMAGE_SIDE, box.x + BORDER, box.y + BORDER, layout.scale);
}

/** Renders the grid into a canvas (see neighboursGrid for the PNG). */
export function neighboursGridRaster(options: NeighboursGridOptions): Raster {
  options.rows.forEach((row, i) => {
    checkImage(row.query.image, `rows[${i}].query.image`);
    row.neighbours.forEach((n, j) => checkImage(n.image, `rows[${i}].neighbours[${j}].image`));
  });
  const layout = neighboursGridLayout(options);
  const r = new Raster(layout.width, layout.height, WHITE);
  const { cell } = layout;

  // Header.
  let y = MARGIN;
  drawText(r, layout.title, MARGIN, y, INK, { scale: BIG });
  y += textHeight(BIG) + 8;
  let x = MARGIN;
  for (const [color, text] of KEY_ITEMS) {
    r.strokeRect(x, y, KEY_SWATCH, KEY_SWATCH - 2, color, BORDER);
    x += KEY_SWATCH + 4;
    x += drawText(r, text, x, y, MUTED, { scale: CAPTION }) + 16;
  }
  const columnsY = layout.gridTop - 4 - textHeight(CAPTION);
  const queryX = MARGIN + layout.labelWidth;
  drawText(r, 'query', queryX + Math.floor(cell / 2), columnsY, MUTED, { scale: CAPTION, align: 'center' });
  if (layout.k > 0) {
    const left = queryX + cell + QUERY_GAP;
    const span = layout.k * cell + (layout.k - 1) * CELL_GAP;
    const text = fit('nearest training images, most similar first ->', span, CAPTION);
    drawText(r, text, left, columnsY, MUTED, { scale: CAPTION });
  }

  options.rows.forEach((row, i) => {
    const boxes = layout.rows[i];
    const qName = className(options.classNames, row.query.label);
    // Row label: the query's class, vertically centred on the image.
    drawText(r, qName, MARGIN, boxes.query.y + Math.floor((cell - textHeight(BIG)) / 2), INK, { scale: BIG });
    drawCell(r, row.query.image, boxes.query, layout, QUERY_COLOR);
    row.neighbours.forEach((n, j) => {
      const box = boxes.neighbours[j];
      const same = n.label === row.query.label;
      drawCell(r, n.image, box, layout, same ? MATCH_COLOR : MISMATCH_COLOR);
      const cx = box.x + Math.floor(cell / 2);
      let ty = box.y + cell + LINE_GAP;
      const name = fit(className(options.classNames, n.label), cell, CAPTION);
      drawText(r, name, cx, ty, same ? MUTED : MISMATCH_COLOR, { scale: CAPTION, align: 'center' });
      ty += textHeight(CAPTION) + LINE_GAP;
      if (n.similarity !== undefined && Number.isFinite(n.similarity)) {
        drawText(r, n.similarity.toFixed(3), cx, ty, MUTED, { scale: CAPTION, align: 'center' });
      }
    });
  });
  return r;
}

/** PNG grid: one row per query, the query then its nearest neighbours, borders coloured by label agreement. */
export function neighboursGrid(options: NeighboursGridOptions): Buffer {
  return neighboursGridRaster(options).toPng();
}
