// The two pictures of a run, written atomically into its folder after every epoch:
// curves.png (loss and kNN accuracy per epoch, with curves.vl.json, the Vega-Lite spec it was
// drawn from) and neighbours.png (test images and their nearest training images in the current
// embedding).

import * as path from 'node:path';
import { type AtomicWriteIo, writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { IMAGE_SIDE } from '../data/cifar10-types.ts';
import { curvesFigure } from '../report/curves-chart.ts';
import { chartPng, type SizedChart } from '../report/render-chart.ts';
import { neighboursGrid } from '../report/neighbours-grid.ts';
import type { NeighbourList } from './evaluation.ts';
import { curvesOf, type EpochRecord } from './metrics.ts';

export const CURVES_FILE = 'curves.png';
/** The curves' Vega-Lite spec, data included: open it in a Vega-Lite editor to restyle the chart. */
export const CURVES_SPEC_FILE = 'curves.vl.json';
export const NEIGHBOURS_FILE = 'neighbours.png';

export const writeCurves = async (out: string, records: readonly EpochRecord[], title: string, io?: AtomicWriteIo): Promise<string> => {
  const file = path.join(out, CURVES_FILE);
  // Wide enough for the title (about 8 pixels a character) on one line, and for a third panel
  // (the unseen classes') at the two panels' width each.
  const panels = records.some((record) => record.recall_at_1 !== undefined) ? 3 : 2;
  await writeChart(file, path.join(out, CURVES_SPEC_FILE), curvesFigure({ epochs: curvesOf(records), title, width: Math.max(450 * panels, 8 * title.length + 40) }), io);
  return file;
};

/** A chart's Vega-Lite spec (to open and restyle) and the PNG drawn from that same spec. */
export const writeChart = async (pictureFile: string, specFile: string, chart: SizedChart, io?: AtomicWriteIo): Promise<void> => {
  await writeFileAtomic(specFile, `${JSON.stringify(chart.spec, null, 2)}\n`, io);
  await writeFileAtomic(pictureFile, await chartPng(chart), io);
};

export interface NeighboursPicture {
  readonly lists: readonly NeighbourList[];
  readonly trainBytes: Uint8Array;
  readonly trainLabels: Uint8Array;
  readonly testBytes: Uint8Array;
  readonly testLabels: Uint8Array;
  readonly classNames: readonly string[];
  readonly title: string;
  /** The images' height and width (32); the picture shows each at 32x32. */
  readonly side?: number;
}

/**
 * Image `index` of `bytes` (CHW, side x side) at the picture's 32x32: each pixel the mean of the
 * block it covers (an STL-10 image's 3x3 blocks), so a thumbnail keeps the image's colours.
 */
export const thumbnailAt = (bytes: Uint8Array, index: number, side: number): Uint8Array => {
  const image = bytes.subarray(index * 3 * side * side, (index + 1) * 3 * side * side);
  if (side === IMAGE_SIDE) return image;
  // The source rows (or columns) that thumbnail row i covers; at least one, for a smaller image.
  const span = (i: number): [number, number] => {
    const first = Math.floor((i * side) / IMAGE_SIDE);
    return [first, Math.max(first + 1, Math.floor(((i + 1) * side) / IMAGE_SIDE))];
  };
  const out = new Uint8Array(3 * IMAGE_SIDE * IMAGE_SIDE);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < IMAGE_SIDE; y++)
      for (let x = 0; x < IMAGE_SIDE; x++) {
        const [[top, bottom], [left, right]] = [span(y), span(x)];
        let sum = 0;
        for (let v = top; v < bottom; v++) for (let u = left; u < right; u++) sum += image[(c * side + v) * side + u];
        out[(c * IMAGE_SIDE + y) * IMAGE_SIDE + x] = Math.round(sum / ((bottom - top) * (right - left)));
      }
  return out;
};

export const writeNeighbours = async (out: string, picture: NeighboursPicture): Promise<string> => {
  const file = path.join(out, NEIGHBOURS_FILE);
  const side = picture.side ?? IMAGE_SIDE;
  const rows = picture.lists.map(({ query, neighbours }) => ({
    query: { image: thumbnailAt(picture.testBytes, query, side), label: picture.testLabels[query] },
    neighbours: neighbours.map(({ index, similarity }) => ({
      image: thumbnailAt(picture.trainBytes, index, side), label: picture.trainLabels[index], similarity,
    })),
  }));
  await writeFileAtomic(file, neighboursGrid({ rows, classNames: picture.classNames, title: picture.title }));
  return file;
};
