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
  /** The gpu.js backend the compiled programs ran on. */
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
}

const fields: readonly (keyof EpochRecord)[] = [
  'epoch', 'loss', 'knn_top1', 'knn_top5', 'seconds', 'instances_per_second', 'backend', 'learning_rate', 'steps', 'eval_seconds', 'build_seconds',
  'knn_top1_backbone', 'knn_top5_backbone',
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

/** The records as the curves picture takes them (accuracy in percent). */
export const curvesOf = (records: readonly EpochRecord[]): EpochMetrics[] =>
  records.map((r) => ({
    epoch: r.epoch, loss: r.loss ?? undefined, top1: 100 * r.knn_top1, top5: 100 * r.knn_top5,
    backboneTop1: r.knn_top1_backbone === undefined ? undefined : 100 * r.knn_top1_backbone,
  }));

/** One line for the terminal. */
export const describeRecord = (record: EpochRecord, epochs: number): string => {
  const percent = (fraction: number) => `${(100 * fraction).toFixed(2)}%`;
  const accuracy = `kNN top-1 ${percent(record.knn_top1)}, top-5 ${percent(record.knn_top5)}` +
    (record.knn_top1_backbone === undefined ? '' : ` (backbone ${percent(record.knn_top1_backbone)}, ${percent(record.knn_top5_backbone!)})`);
  if (record.epoch === 0) return `epoch 0/${epochs} (random encoder): ${accuracy} (evaluation ${record.eval_seconds.toFixed(1)} s)`;
  const build = (record.build_seconds ?? 0) > 0 ? ` + ${record.build_seconds!.toFixed(1)} s building kernels` : '';
  return `epoch ${record.epoch}/${epochs}: loss ${record.loss?.toFixed(4)}, ${accuracy} ` +
    `(${record.steps} steps in ${record.seconds.toFixed(1)} s${build}, ${record.instances_per_second?.toFixed(1) ?? '-'} images/s; ` +
    `evaluation ${record.eval_seconds.toFixed(1)} s)`;
};
