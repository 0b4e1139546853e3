// The two pictures of a run, written atomically into its folder after every epoch:
// curves.png (loss and kNN accuracy per epoch) and neighbours.png (test images and their
// nearest training images in the current embedding).

import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { IMAGE_BYTES } from '../data/cifar10-types.ts';
import { curvesChart } from '../report/curves-chart.ts';
import { textWidth } from '../report/font.ts';
import { neighboursGrid } from '../report/neighbours-grid.ts';
import type { NeighbourList } from './evaluation.ts';
import { curvesOf, type EpochRecord } from './metrics.ts';

export const CURVES_FILE = 'curves.png';
export const NEIGHBOURS_FILE = 'neighbours.png';

export const writeCurves = async (out: string, records: readonly EpochRecord[], title: string): Promise<string> => {
  const file = path.join(out, CURVES_FILE);
  // Wide enough for the title (2x glyphs) on one line, and for a third panel (the unseen classes') at the two panels' width each.
  const panels = records.some((record) => record.recall_at_1 !== undefined) ? 3 : 2;
  const width = Math.max(450 * panels, textWidth(title, 2) + 40);
  await writeFileAtomic(file, curvesChart({ epochs: curvesOf(records), title, width }));
  return file;
};

export interface NeighboursPicture {
  readonly lists: readonly NeighbourList[];
  readonly trainBytes: Uint8Array;
  readonly trainLabels: Uint8Array;
  readonly testBytes: Uint8Array;
  readonly testLabels: Uint8Array;
  readonly classNames: readonly string[];
  readonly title: string;
}

const imageAt = (bytes: Uint8Array, index: number): Uint8Array => bytes.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES);

export const writeNeighbours = async (out: string, picture: NeighboursPicture): Promise<string> => {
  const file = path.join(out, NEIGHBOURS_FILE);
  const rows = picture.lists.map(({ query, neighbours }) => ({
    query: { image: imageAt(picture.testBytes, query), label: picture.testLabels[query] },
    neighbours: neighbours.map(({ index, similarity }) => ({
      image: imageAt(picture.trainBytes, index), label: picture.trainLabels[index], similarity,
    })),
  }));
  await writeFileAtomic(file, neighboursGrid({ rows, classNames: picture.classNames, title: picture.title }));
  return file;
};
