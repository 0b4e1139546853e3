// Generalisation to unseen categories, as Ye et al. (CVPR 2019) measure it: train on some
// classes, then embed the test images of the others and score the embedding by retrieval
// (Recall@K) and by clustering (k-means with k the number of unseen classes, then NMI against
// the labels). This module is the run's side of it: which classes a run trains on, which test
// rows are unseen, and the metrics of an embedding of those rows, named as metrics.jsonl names them.

import * as E from 'fp-ts/lib/Either.js';
import type { Key } from '../random/key.ts';
import type { BackendName } from '../compile/index.ts';
import type { HostArray } from '../eval/chunk-program.ts';
import { defaultRecallKs, type RecallAtK, recallAtK } from '../eval/recall-at-k.ts';
import { kMeans } from '../eval/k-means.ts';
import { normalizedMutualInformation } from '../eval/normalized-mutual-information.ts';

/**
 * The classes named by a list of numbers and ranges ("0-4", "0,2,5-7"), sorted, each once, all in
 * [0, classes); or a sentence saying what is wrong. Some class must stay unseen.
 */
export const parseClassList = (text: string, classes = 10): E.Either<string, number[]> => {
  const chosen = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (match === null) return E.left(`classes "${text}": "${part}" is not a class number or a range like 0-4`);
    const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
    if (last < first) return E.left(`classes "${text}": the range ${part} runs backwards`);
    if (last >= classes) return E.left(`classes "${text}": ${last} is not a class in 0..${classes - 1}`);
    // Named twice is a slip (as an augmentation named twice is refused): said, not merged.
    for (let c = first; c <= last; c++) {
      if (chosen.has(c)) return E.left(`classes "${text}": class ${c} is named twice`);
      chosen.add(c);
    }
  }
  if (chosen.size === classes) return E.left(`classes "${text}": every class is named, so none is left unseen to evaluate on`);
  return E.right([...chosen].sort((a, b) => a - b));
};

/** The positions of the rows whose label is among `classes` (in order), as a subset of a split takes them. */
export const rowsOfClasses = (labels: ArrayLike<number>, classes: readonly number[]): number[] => {
  const wanted = new Set(classes);
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (wanted.has(labels[i])) rows.push(i);
  return rows;
};

/** The classes of [0, classes) that are not in `seen`. */
export const unseenClasses = (seen: readonly number[], classes = 10): number[] =>
  Array.from({ length: classes }, (_, c) => c).filter((c) => !seen.includes(c));

export interface UnseenClassMetrics {
  readonly recall: readonly RecallAtK[];
  readonly nmi: number;
}

export interface UnseenClassOptions {
  /** The k-means seeding's key (a run derives one per epoch, so the figure is reproducible). */
  readonly key: Key;
  readonly ks?: readonly number[];
  readonly restarts?: number;
  readonly backend?: BackendName;
  readonly onWarning?: (message: string) => void;
}

/**
 * Recall@K and NMI of the embedding `features` [n, d] of the unseen classes' images with their
 * `labels`: k-means with k the number of distinct labels, compiled, as is the retrieval.
 */
export const unseenClassMetrics = async (features: HostArray, labels: ArrayLike<number>, options: UnseenClassOptions): Promise<UnseenClassMetrics> => {
  const evaluation = { backend: options.backend, onWarning: options.onWarning };
  const recall = await recallAtK(features, labels, options.ks ?? defaultRecallKs, evaluation);
  const k = new Set(Array.from(labels)).size;
  const { assignments } = await kMeans(features, k, { ...evaluation, key: options.key, restarts: options.restarts });
  return { recall, nmi: normalizedMutualInformation(labels, assignments) };
};

/** The metrics as metrics.jsonl fields: recall_at_1 ... and nmi, with a suffix (`_backbone`) for the other representation. */
export const unseenClassFields = ({ recall, nmi }: UnseenClassMetrics, suffix = ''): Record<string, number> => ({
  ...Object.fromEntries(recall.map(({ k, recall: value }) => [`recall_at_${k}${suffix}`, value])),
  [`nmi${suffix}`]: nmi,
});

/** The embedding's and the backbone's metrics of the same images, as one record's fields (the same k-means key for both). */
export const unseenClassRecord = async (
  features: { readonly embedding: HostArray; readonly backbone: HostArray },
  labels: ArrayLike<number>,
  options: UnseenClassOptions,
): Promise<Record<string, number>> => ({
  ...unseenClassFields(await unseenClassMetrics(features.embedding, labels, options)),
  ...unseenClassFields(await unseenClassMetrics(features.backbone, labels, options), '_backbone'),
});
