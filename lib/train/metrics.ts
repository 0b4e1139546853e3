// One record per epoch, as the lines of metrics.jsonl: epoch 0 is the random encoder before
// any training (no loss, no speed). Accuracies are fractions in [0, 1]; seconds count the
// training steps of the epoch only, the evaluation has its own figure.

import * as E from 'fp-ts/lib/Either.js';
import type { EpochMetrics } from '../report/curves-chart.ts';

export interface EpochRecord {
  readonly epoch: number;
  /** Mean training loss over the epoch's steps; null for epoch 0. */
  readonly loss: number | null;
  readonly knn_top1: number;
  readonly knn_top5: number;
  /** Wall-clock seconds of the epoch's training steps, less the steps that also built kernels. */
  readonly seconds: number;
  /** Training images per second over the steps in `seconds` (each image is two views); null for epoch 0. */
  readonly instances_per_second: number | null;
  /** The backend the compiled programs ran on (webasm in runs made before it was named native). */
  readonly backend: string;
  readonly learning_rate: number | null;
  readonly steps: number;
  /** Wall-clock seconds of the evaluation (features of both splits, kNN, neighbours). */
  readonly eval_seconds: number;
  /**
   * Wall-clock seconds of the steps that traced and built the step's kernels as well as running
   * them (the first step of a process); 0 when none did. Absent in older records.
   */
  readonly build_seconds?: number;
  /**
   * The same kNN on the encoder's backbone (its pooled output before the projection, L2-normalised):
   * the representation most methods after the paper evaluate. Absent in older records.
   */
  readonly knn_top1_backbone?: number;
  readonly knn_top5_backbone?: number;
  /**
   * With --train-classes, the test images of the other classes as unseen categories: the share
   * found by retrieval among the K nearest (Recall@K), and the NMI of a k-means clustering with
   * k the number of those classes; the embedding's, then the backbone's. Absent otherwise.
   */
  readonly recall_at_1?: number;
  readonly recall_at_2?: number;
  readonly recall_at_4?: number;
  readonly recall_at_8?: number;
  readonly nmi?: number;
  readonly recall_at_1_backbone?: number;
  readonly recall_at_2_backbone?: number;
  readonly recall_at_4_backbone?: number;
  readonly recall_at_8_backbone?: number;
  readonly nmi_backbone?: number;
  /** With --linear-eval, on the last epoch's record: the test top-1 of a linear classifier on the frozen backbone. */
  readonly linear_top1?: number;
}

/** The fields of the unseen-category evaluation, as unseenClassFields names them. */
export const unseenClassFieldNames = [
  'recall_at_1', 'recall_at_2', 'recall_at_4', 'recall_at_8', 'nmi',
  'recall_at_1_backbone', 'recall_at_2_backbone', 'recall_at_4_backbone', 'recall_at_8_backbone', 'nmi_backbone',
] as const satisfies readonly (keyof EpochRecord)[];

export type UnseenClassRecord = Partial<Pick<EpochRecord, (typeof unseenClassFieldNames)[number]>>;

const fields: readonly (keyof EpochRecord)[] = [
  'epoch', 'loss', 'knn_top1', 'knn_top5', 'seconds', 'instances_per_second', 'backend', 'learning_rate', 'steps', 'eval_seconds', 'build_seconds',
  'knn_top1_backbone', 'knn_top5_backbone', ...unseenClassFieldNames, 'linear_top1',
];

/** The lines of metrics.jsonl, fields in a fixed order, one epoch per line. */
export const metricsLines = (records: readonly EpochRecord[]): string =>
  records.map((record) => JSON.stringify(Object.fromEntries(fields.map((f) => [f, record[f]])))).join('\n') + (records.length > 0 ? '\n' : '');

const isRecord = (x: unknown): x is EpochRecord => {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  const numberOrNull = (v: unknown) => v === null || typeof v === 'number';
  return Number.isInteger(r.epoch) && numberOrNull(r.loss) && typeof r.knn_top1 === 'number' && typeof r.knn_top5 === 'number' &&
    typeof r.seconds === 'number' && numberOrNull(r.instances_per_second) && typeof r.backend === 'string';
};

/** Parse metrics (a JSON array, as a checkpoint stores them, or JSON lines); `where` names the source in errors. */
export const parseMetrics = (text: string, where: string): E.Either<string, EpochRecord[]> => {
  let values: unknown[];
  try {
    values = text.trim().startsWith('[') ? JSON.parse(text) : text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  } catch (cause) {
    return E.left(`${where}: metrics are not valid JSON (${(cause as Error).message})`);
  }
  const bad = values.findIndex((v) => !isRecord(v));
  return bad >= 0 ? E.left(`${where}: metrics record ${bad} is ${JSON.stringify(values[bad])}, expected { epoch, loss, knn_top1, knn_top5, seconds, ... }`)
    : E.right(values as EpochRecord[]);
};

const percentOrUndefined = (fraction: number | undefined): number | undefined => (fraction === undefined ? undefined : 100 * fraction);

/** The records as the curves picture takes them (accuracy, recall and NMI in percent). */
export const curvesOf = (records: readonly EpochRecord[]): EpochMetrics[] =>
  records.map((r) => ({
    epoch: r.epoch, loss: r.loss ?? undefined, top1: 100 * r.knn_top1, top5: 100 * r.knn_top5,
    backboneTop1: percentOrUndefined(r.knn_top1_backbone),
    recallAt1: percentOrUndefined(r.recall_at_1), nmi: percentOrUndefined(r.nmi),
    recallAt1Backbone: percentOrUndefined(r.recall_at_1_backbone), nmiBackbone: percentOrUndefined(r.nmi_backbone),
  }));

/** One line for the terminal. */
export const describeRecord = (record: EpochRecord, epochs: number): string => {
  const percent = (fraction: number) => `${(100 * fraction).toFixed(2)}%`;
  const accuracy = `kNN top-1 ${percent(record.knn_top1)}, top-5 ${percent(record.knn_top5)}` +
    (record.knn_top1_backbone === undefined ? '' : ` (backbone ${percent(record.knn_top1_backbone)}, ${percent(record.knn_top5_backbone!)})`);
  const unseen = record.recall_at_1 === undefined ? '' : `; unseen classes: Recall@1 ${percent(record.recall_at_1)}, NMI ${record.nmi!.toFixed(3)}` +
    (record.recall_at_1_backbone === undefined ? '' : ` (backbone ${percent(record.recall_at_1_backbone)}, ${record.nmi_backbone!.toFixed(3)})`);
  if (record.epoch === 0) return `epoch 0/${epochs} (random encoder): ${accuracy}${unseen} (evaluation ${record.eval_seconds.toFixed(1)} s)`;
  const build = (record.build_seconds ?? 0) > 0 ? ` + ${record.build_seconds!.toFixed(1)} s building kernels` : '';
  return `epoch ${record.epoch}/${epochs}: loss ${record.loss?.toFixed(4)}, ${accuracy}${unseen} ` +
    `(${record.steps} steps in ${record.seconds.toFixed(1)} s${build}, ${record.instances_per_second?.toFixed(1) ?? '-'} images/s; ` +
    `evaluation ${record.eval_seconds.toFixed(1)} s)`;
};
