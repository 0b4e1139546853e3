// Properties of the report pictures, checked on the decoded PNG pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import {
  curvesChart,
  LOSS_COLOR,
  TOP1_COLOR,
  TOP5_COLOR,
  BACKBONE_TOP1_COLOR,
  neighboursGrid,
  neighboursGridLayout,
  MATCH_COLOR,
  MISMATCH_COLOR,
  QUERY_COLOR,
  Raster,
  drawText,
  glyph,
  textWidth,
  textHeight,
  GLYPH_WIDTH,
  GLYPH_HEIGHT,
  curvesSpec,
  hexColor,
  type EpochMetrics,
  type NeighboursRow,
  type RGB,
} from '../lib/report/index.ts';

interface Decoded {
  width: number;
  height: number;
  at(x: number, y: number): RGB;
}

function decode(buf: Buffer): Decoded {
  assert.ok(Buffer.isBuffer(buf));
  // PNG signature, so callers can write the buffer straight to a .png file.
  assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const png = PNG.sync.read(buf);
  return {
    width: png.width,
    height: png.height,
    at(x, y) {
      const i = (y * png.width + x) * 4;
      return [png.data[i], png.data[i + 1], png.data[i + 2]];
    },
  };
}

const same = (a: RGB, b: RGB): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

function pixelsOf(img: Decoded, c: RGB, x0 = 0, x1 = img.width): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let y = 0; y < img.height; y++) for (let x = x0; x < x1; x++) if (same(img.at(x, y), c)) out.push([x, y]);
  return out;
}

// ---------------------------------------------------------------- font

test('font: every printable ASCII character except space has ink; space has none', () => {
  for (let code = 33; code <= 126; code++) {
    const g = glyph(String.fromCharCode(code));
    assert.equal(g.length, GLYPH_HEIGHT);
    assert.ok(g.every((row) => row.length === GLYPH_WIDTH));
    assert.ok(g.flat().some(Boolean), `glyph ${JSON.stringify(String.fromCharCode(code))} is blank`);
  }
  assert.ok(!glyph(' ').flat().some(Boolean));
});

test('font: digits are pairwise distinct, and so are all printable glyphs', () => {
  const key = (ch: string): string => glyph(ch).map((r) => r.map(Number).join('')).join('/');
  const digits = '0123456789'.split('').map(key);
  assert.equal(new Set(digits).size, 10);
  const all = Array.from({ length: 95 }, (_, i) => key(String.fromCharCode(32 + i)));
  assert.equal(new Set(all).size, 95);
});

test('font: drawText inks exactly inside its measured box, scaled by an integer factor', () => {
  for (const scale of [1, 2, 3]) {
    const r = new Raster(200, 40);
    const text = 'Ag|9%';
    const w = drawText(r, text, 5, 6, [0, 0, 0], { scale });
    assert.equal(w, textWidth(text, scale));
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let y = 0; y < r.height; y++)
      for (let x = 0; x < r.width; x++)
        if (r.getPixel(x, y)[0] === 0) {
          minX = Math.min(minX, x); maxX = Math.max(maxX, x);
          minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        }
    assert.ok(minX >= 5 && maxX < 5 + w && minY >= 6 && maxY < 6 + textHeight(scale), `scale ${scale}`);
    // 'A' starts in column 0 and '%' ends in the last column, so the box is tight horizontally.
    assert.equal(minX, 5);
    assert.equal(maxX, 5 + w - 1);
  }
});

// ---------------------------------------------------------------- neighbours grid

/** A CIFAR-layout image whose pixel (x, y) has a known, position-dependent colour. */
function cifarImage(seed: number): Uint8Array {
  const img = new Uint8Array(3072);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) {
      const i = y * 32 + x;
      img[i] = (x * 8 + seed * 17) & 255; // red plane
      img[1024 + i] = (y * 8 + seed * 29) & 255; // green plane
      img[2048 + i] = (x * y + seed * 53) & 255; // blue plane
    }
  return img;
}

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function gridRows(nRows: number, k: number, withSimilarity = true): NeighboursRow[] {
  return Array.from({ length: nRows }, (_, q) => ({
    query: { image: cifarImage(100 + q), label: q % 10 },
    neighbours: Array.from({ length: k }, (_, j) => ({
      image: cifarImage(q * 10 + j),
      // Even ranks share the query's label, odd ranks do not.
      label: j % 2 === 0 ? q % 10 : (q + 1) % 10,
      ...(withSimilarity ? { similarity: 0.9 - j / 100 } : {}),
    })),
  }));
}

test('grid: size is a function of rows, k and scale', () => {
  const size = (rows: number, k: number, scale: number): [number, number] => {
    const img = decode(neighboursGrid({ rows: gridRows(rows, k), classNames: CLASSES, scale, title: 'T' }));
    return [img.width, img.height];
  };
  const [w1, h1] = size(1, 8, 2);
  const [w3, h3] = size(3, 8, 2);
  const [w5k, h5k] = size(3, 5, 2);
  const [ws3, hs3] = size(3, 8, 3);
  const cell2 = 32 * 2 + 2 * 2; // scaled image plus a 2 px border on each side
  const cell3 = 32 * 3 + 2 * 2;
  assert.equal(w3, w1, 'more rows do not widen');
  assert.equal(w3 - w5k, 3 * (cell2 + 4), 'each neighbour adds a cell and a 4 px gap');
  assert.equal(h3, h5k, 'k does not change height');
  assert.equal(ws3 - w3, 9 * (cell3 - cell2), 'query + 8 neighbour cells grow with scale');
  const pitch = (h3 - h1) / 2;
  assert.ok(Number.isInteger(pitch) && pitch > cell2, 'rows are evenly spaced and taller than a cell');
  assert.equal(hs3 - h3, 3 * (cell3 - cell2));
  // Exact width from the documented formula: margins 12, label column, query, 16 px gap, k cells, gaps.
  const labelW = textWidth('automobile', 2) + 10;
  assert.equal(w3, 12 + labelW + cell2 + 16 + 8 * cell2 + 7 * 4 + 12);
  const layout = neighboursGridLayout({ rows: gridRows(3, 8), classNames: CLASSES, scale: 2, title: 'T' });
  assert.deepEqual([layout.width, layout.height, layout.rowPitch], [w3, h3, pitch]);
});

test('grid: a long title widens the picture instead of being clipped', () => {
  const title = 'x'.repeat(120);
  const img = decode(neighboursGrid({ rows: gridRows(1, 2), classNames: CLASSES, title }));
  assert.ok(img.width >= textWidth(title, 2) + 24);
});

test('grid: neighbour borders are green when labels match, red otherwise; the query border is neutral', () => {
  const rows = gridRows(3, 6);
  const opts = { rows, classNames: CLASSES, scale: 2 };
  const img = decode(neighboursGrid(opts));
  const layout = neighboursGridLayout(opts);
  rows.forEach((row, i) => {
    const q = layout.rows[i].query;
    for (const [dx, dy] of [[0, 0], [1, layout.cell >> 1], [layout.cell - 1, layout.cell - 1]])
      assert.deepEqual(img.at(q.x + dx, q.y + dy), QUERY_COLOR);
    row.neighbours.forEach((n, j) => {
      const b = layout.rows[i].neighbours[j];
      const want = n.label === row.query.label ? MATCH_COLOR : MISMATCH_COLOR;
      // Top edge, left edge (inner border pixel) and bottom-right corner.
      for (const [dx, dy] of [[layout.cell >> 1, 0], [1, 20], [layout.cell - 1, layout.cell - 1]])
        assert.deepEqual(img.at(b.x + dx, b.y + dy), want, `row ${i} neighbour ${j}`);
    });
  });
  // Both outcomes actually occur in this input.
  assert.ok(pixelsOf(img, MATCH_COLOR).length > 0 && pixelsOf(img, MISMATCH_COLOR).length > 0);
});

test('grid: query and neighbour pixels appear scaled exactly (CHW -> nearest-neighbour blocks)', () => {
  for (const scale of [1, 2, 3]) {
    const rows = gridRows(2, 3, false);
    const opts = { rows, classNames: CLASSES, scale };
    const img = decode(neighboursGrid(opts));
    const layout = neighboursGridLayout(opts);
    const check = (src: Uint8Array, box: { x: number; y: number }, sx: number, sy: number): void => {
      const want: RGB = [src[sy * 32 + sx], src[1024 + sy * 32 + sx], src[2048 + sy * 32 + sx]];
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++)
          assert.deepEqual(img.at(box.x + 2 + sx * scale + dx, box.y + 2 + sy * scale + dy), want, `scale ${scale} (${sx},${sy})`);
    };
    for (const [sx, sy] of [[0, 0], [31, 31], [5, 27], [20, 3], [31, 0]]) {
      check(rows[1].query.image, layout.rows[1].query, sx, sy);
      check(rows[0].neighbours[2].image, layout.rows[0].neighbours[2], sx, sy);
    }
  }
});

test('grid: odd inputs: unknown labels, rows with fewer neighbours, no neighbours', () => {
  const rows: NeighboursRow[] = [
    { query: { image: cifarImage(1), label: 42 }, neighbours: [{ image: cifarImage(2), label: 42, similarity: NaN }] },
    { query: { image: cifarImage(3), label: 0 }, neighbours: [] },
  ];
  const img = decode(neighboursGrid({ rows, classNames: CLASSES }));
  const layout = neighboursGridLayout({ rows, classNames: CLASSES });
  assert.equal(layout.k, 1);
  assert.deepEqual(img.at(layout.rows[0].neighbours[0].x, layout.rows[0].neighbours[0].y), MATCH_COLOR);
  assert.doesNotThrow(() => decode(neighboursGrid({ rows: [], classNames: CLASSES })));
});

test('grid: images of the wrong size are rejected with a clear error', () => {
  const rows: NeighboursRow[] = [{ query: { image: new Uint8Array(3071), label: 0 }, neighbours: [] }];
  assert.throws(() => neighboursGrid({ rows, classNames: CLASSES }), /3072 bytes/);
});

// ---------------------------------------------------------------- curves chart

function run(n: number): EpochMetrics[] {
  return Array.from({ length: n + 1 }, (_, e) => ({
    epoch: e,
    loss: e === 0 ? undefined : 8 - (2 * (e - 1)) / Math.max(1, n - 1),
    top1: 34 + (16 * e) / n,
    top5: 80 + (10 * e) / n,
  }));
}

test('curves: default and custom sizes', async () => {
  const a = decode(await curvesChart({ epochs: run(10) }));
  assert.deepEqual([a.width, a.height], [900, 400]);
  const b = decode(await curvesChart({ epochs: run(10), width: 640, height: 300, title: 'run 7' }));
  assert.deepEqual([b.width, b.height], [640, 300]);
});

/** Pixels of a colour in the plot areas: above the legends along the bottom. */
const plotted = (img: Decoded, c: RGB, x0 = 0, x1 = img.width) => pixelsOf(img, c, x0, x1).filter(([, y]) => y < img.height - 45);

test('curves: each series colour is drawn, in its own panel, with the expected trend', async () => {
  const img = decode(await curvesChart({ epochs: run(10) }));
  const half = img.width / 2;
  const loss = plotted(img, LOSS_COLOR, 0, half);
  const top1 = plotted(img, TOP1_COLOR, half, img.width);
  const top5 = plotted(img, TOP5_COLOR, half, img.width);
  for (const [name, px] of [['loss', loss], ['top-1', top1], ['top-5', top5]] as const) assert.ok(px.length > 50, name);
  // Series stay in their panel (and so do their legends, under it).
  assert.equal(pixelsOf(img, LOSS_COLOR, half, img.width).length, 0);
  assert.equal(pixelsOf(img, TOP1_COLOR, 0, half).length, 0);
  // Loss falls: its leftmost pixels sit higher (smaller y) than its rightmost.
  const meanY = (px: Array<[number, number]>): number => px.reduce((s, [, y]) => s + y, 0) / px.length;
  const xs = loss.map(([x]) => x);
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  const left = loss.filter(([x]) => x < lo + 20);
  const right = loss.filter(([x]) => x > hi - 20);
  assert.ok(meanY(left) < meanY(right) - 100, 'loss curve falls from left to right');
  // Top-5 is drawn above top-1 (higher accuracy = smaller y).
  assert.ok(meanY(top5) < meanY(top1) - 50);
});

test("curves: the backbone's top-1 is drawn in the accuracy panel when measured, and only then", async () => {
  const withBackbone = run(10).map((m) => ({ ...m, backboneTop1: (m.top1 ?? 0) + 3 }));
  const img = decode(await curvesChart({ epochs: withBackbone }));
  const half = img.width / 2;
  assert.ok(plotted(img, BACKBONE_TOP1_COLOR, half, img.width).length > 50);
  assert.equal(pixelsOf(img, BACKBONE_TOP1_COLOR, 0, half).length, 0);
  assert.equal(pixelsOf(decode(await curvesChart({ epochs: run(10) })), BACKBONE_TOP1_COLOR).length, 0);
});

test('curves: white background and dark text in the font shipped with the project', async () => {
  const img = decode(await curvesChart({ epochs: run(10), title: 'a title' }));
  assert.deepEqual(img.at(0, 0), [255, 255, 255]);
  assert.deepEqual(img.at(img.width - 1, img.height - 1), [255, 255, 255]);
  const dark = (picture: Decoded) => {
    let count = 0;
    for (let y = 0; y < picture.height; y++) for (let x = 0; x < picture.width; x++) if (picture.at(x, y)[0] < 60) count++;
    return count;
  };
  assert.ok(dark(img) > 500, 'titles, labels and tick numbers are drawn');
  // A longer title puts more ink on the picture: text is really rendered, not left out for want of a font.
  assert.ok(dark(decode(await curvesChart({ epochs: run(10), title: 'a much longer title, with many more letters in it' }))) > dark(img) + 100);
});

test('curves: the spec holds every finite value once, null where a value is missing, and both panels span the same epochs', () => {
  const epochs: EpochMetrics[] = [0, 1, 2, 3].map((e) => ({ epoch: e, loss: e === 0 ? undefined : e === 2 ? NaN : 6 + e, top1: 10 * e, top5: e === 1 ? Infinity : 70 + e }));
  const spec = curvesSpec({ epochs, title: 'run' }) as unknown as {
    data: { values: { panel: string; series: string; epoch: number; value: number | null }[] };
    hconcat: { title: string; encoding: { x: { scale: { domain: number[] } }; color: { scale: { domain: string[]; range: string[] } } } }[];
  };
  const valueOf = (series: string, epoch: number) => spec.data.values.filter((v) => v.series === series && v.epoch === epoch).map((v) => v.value);
  assert.deepEqual(valueOf('train loss', 0), [null]);
  assert.deepEqual(valueOf('train loss', 2), [null]);
  assert.deepEqual(valueOf('train loss', 3), [9]);
  assert.deepEqual(valueOf('top-5', 1), [null]);
  assert.deepEqual(valueOf('top-1', 3), [30]);
  assert.deepEqual(spec.hconcat.map((panel) => panel.title), ['Training loss', 'kNN accuracy (test)']);
  for (const panel of spec.hconcat) assert.deepEqual(panel.encoding.x.scale.domain, [0, 3]);
  assert.deepEqual(spec.hconcat[1].encoding.color.scale, { domain: ['top-1', 'top-5'], range: [hexColor(TOP1_COLOR), hexColor(TOP5_COLOR)] });
  // It survives JSON (the file written beside the picture), and draws the same from there.
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  // A third panel only where the unseen classes were measured.
  assert.equal((curvesSpec({ epochs: epochs.map((m) => ({ ...m, recallAt1: 5, nmi: 6 })) }) as unknown as typeof spec).hconcat.length, 3);
});

test('curves: single point, constant series, NaN values, all-missing and empty inputs do not throw', async () => {
  const inputs: EpochMetrics[][] = [
    [{ epoch: 0, top1: 10, top5: 50 }],
    [{ epoch: 3, loss: 7, top1: 12, top5: 40 }],
    [1, 2, 3, 4].map((e) => ({ epoch: e, loss: 5, top1: 20, top5: 60 })),
    [0, 1, 2, 3].map((e) => ({ epoch: e, loss: e === 2 ? NaN : 6 + e, top1: NaN, top5: e === 1 ? Infinity : 70 + e })),
    [{ epoch: 0, loss: NaN, top1: NaN, top5: NaN }],
    [],
  ];
  for (const epochs of inputs) {
    const img = decode(await curvesChart({ epochs }));
    assert.deepEqual([img.width, img.height], [900, 400]);
  }
  // A single finite point is still marked.
  const one = decode(await curvesChart({ epochs: [{ epoch: 0, top1: 10, top5: 50 }] }));
  assert.ok(plotted(one, TOP1_COLOR, 450, 900).length > 0);
  // The series with NaNs still draws its finite points.
  const gappy = decode(await curvesChart({ epochs: inputs[3] }));
  assert.ok(plotted(gappy, LOSS_COLOR, 0, 450).length > 20);
  assert.ok(plotted(gappy, TOP5_COLOR, 450, 900).length > 20);
});

test('curves: 200 epochs render, with every series visible', async () => {
  const img = decode(await curvesChart({ epochs: run(200) }));
  assert.ok(plotted(img, LOSS_COLOR).length > 200);
  assert.ok(plotted(img, TOP1_COLOR).length > 200);
  assert.ok(plotted(img, TOP5_COLOR).length > 200);
});

// ---------------------------------------------------------------- raster

test('raster: rectangles carry their exact colour; PNG round-trips', () => {
  const r = new Raster(40, 30);
  r.fillRect(2, 4, 35, 2, [10, 20, 30]);
  r.strokeRect(5, 10, 26, 18, [200, 0, 100], 3);
  const img = decode(r.toPng());
  assert.deepEqual([img.width, img.height], [40, 30]);
  assert.deepEqual(img.at(20, 5), [10, 20, 30]);
  assert.deepEqual(img.at(6, 12), [200, 0, 100]);
  assert.deepEqual(img.at(18, 18), [255, 255, 255]);
  assert.deepEqual(img.at(35, 25), [255, 255, 255]);
  assert.deepEqual(img.at(20, 2), [255, 255, 255]);
});
