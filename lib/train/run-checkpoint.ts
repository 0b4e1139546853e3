// A run's checkpoint: the training state (parameters, batch-norm statistics, optimiser state)
// as tensors, and in the metadata everything else a resumed run needs to continue exactly:
// where it stopped (epoch, step, optimiser step, the epoch's loss so far), the seed, the
// options, the metrics so far and an md5 of the training images.

import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CheckpointError, checkpointError } from '../checkpoint/errors.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint/checkpoint.ts';
import type { StoredTensor } from '../checkpoint/safetensors.ts';
import { type EpochRecord, parseMetrics } from './metrics.ts';
import type { RecordedOptions } from './options.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const CHECKPOINT_FORMAT = 'tensorspread-training-checkpoint/1';

export const checkpointPath = (out: string): string => path.join(out, CHECKPOINT_FILE);

/** Where a run stands. */
export interface RunPosition {
  /** Epochs completed, evaluation included. */
  readonly epoch: number;
  /** Steps done in the next epoch (0 at an epoch boundary). */
  readonly stepInEpoch: number;
  /** Optimiser steps done since the start. */
  readonly optimizerStep: number;
  /** Sum of the losses of the steps done in the next epoch, and their seconds. */
  readonly epochLossSum: number;
  readonly epochSeconds: number;
  /** Of those steps, the ones that also traced and built kernels (the first of each process), and their seconds, not in `epochSeconds`. */
  readonly epochBuildSteps: number;
  readonly epochBuildSeconds: number;
}

export interface SavedRun {
  readonly position: RunPosition;
  readonly options: RecordedOptions;
  readonly metrics: EpochRecord[];
  readonly trainMd5: string;
  readonly tensors: ReadonlyMap<string, StoredTensor>;
}

export interface TrainingState {
  readonly params: unknown;
  readonly state: unknown;
  readonly optimizerState: unknown;
}

export const writeRunCheckpoint = (
  out: string,
  training: TrainingState,
  { position, options, metrics, trainMd5 }: Omit<SavedRun, 'tensors'>,
): Promise<void> =>
  writeCheckpoint(checkpointPath(out), training, {
    format: CHECKPOINT_FORMAT,
    epoch: String(position.epoch),
    step_in_epoch: String(position.stepInEpoch),
    optimizer_step: String(position.optimizerStep),
    epoch_loss_sum: JSON.stringify(position.epochLossSum),
    epoch_seconds: JSON.stringify(position.epochSeconds),
    epoch_build_steps: String(position.epochBuildSteps),
    epoch_build_seconds: JSON.stringify(position.epochBuildSeconds),
    seed: String(options.seed),
    options: JSON.stringify(options),
    metrics: JSON.stringify(metrics),
    train_md5: trainMd5,
  });

const naturalNumber = (metadata: Readonly<Record<string, string>>, key: string, file: string): E.Either<CheckpointError, number> => {
  const text = metadata[key];
  const n = Number(text);
  return text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(n) ? E.right(n)
    : E.left(checkpointError(file, undefined, `metadata "${key}" is ${text === undefined ? 'missing' : JSON.stringify(text)}, expected a natural number`));
};

const finiteNumber = (metadata: Readonly<Record<string, string>>, key: string, file: string): E.Either<CheckpointError, number> => {
  const text = metadata[key];
  let n: unknown;
  try {
    n = text === undefined ? undefined : JSON.parse(text);
  } catch {
    n = undefined;
  }
  return typeof n === 'number' && Number.isFinite(n) ? E.right(n)
    : E.left(checkpointError(file, undefined, `metadata "${key}" is ${text === undefined ? 'missing' : JSON.stringify(text)}, expected a number`));
};

/** Read a run's checkpoint and check its metadata; every error names the file. */
export const readRunCheckpoint = (file: string): TE.TaskEither<CheckpointError, SavedRun> => async () => {
  const read = await readCheckpoint(file)();
  if (E.isLeft(read)) return read;
  const { metadata, tensors } = read.right;
  if (metadata.format !== CHECKPOINT_FORMAT)
    return E.left(checkpointError(file, undefined, `metadata "format" is ${JSON.stringify(metadata.format ?? null)}, expected "${CHECKPOINT_FORMAT}" (not a training checkpoint of this project?)`));
  const numbers = [
    naturalNumber(metadata, 'epoch', file), naturalNumber(metadata, 'step_in_epoch', file), naturalNumber(metadata, 'optimizer_step', file),
    finiteNumber(metadata, 'epoch_loss_sum', file), finiteNumber(metadata, 'epoch_seconds', file),
    // Absent from checkpoints written before builds were timed apart.
    metadata.epoch_build_steps === undefined ? E.right(0) : naturalNumber(metadata, 'epoch_build_steps', file),
    metadata.epoch_build_seconds === undefined ? E.right(0) : finiteNumber(metadata, 'epoch_build_seconds', file),
  ];
  const bad = numbers.find(E.isLeft);
  if (bad !== undefined) return bad as E.Left<CheckpointError>;
  const [epoch, stepInEpoch, optimizerStep, epochLossSum, epochSeconds, epochBuildSteps, epochBuildSeconds] = numbers.map((n) => (n as E.Right<number>).right);
  let options: RecordedOptions;
  try {
    options = JSON.parse(metadata.options ?? '');
  } catch {
    return E.left(checkpointError(file, undefined, `metadata "options" is ${JSON.stringify(metadata.options ?? null)}, expected the run's options as JSON`));
  }
  if (typeof options !== 'object' || options === null || typeof options.seed !== 'number')
    return E.left(checkpointError(file, undefined, `metadata "options" is ${metadata.options}, expected the run's options as a JSON object`));
  const metrics = parseMetrics(metadata.metrics ?? '', `${file}: metadata "metrics"`);
  if (E.isLeft(metrics)) return E.left(checkpointError(file, undefined, metrics.left.slice(file.length + 2)));
  if (typeof metadata.train_md5 !== 'string') return E.left(checkpointError(file, undefined, 'metadata "train_md5" is missing, expected the md5 of the training images'));
  return E.right({
    position: { epoch, stepInEpoch, optimizerStep, epochLossSum, epochSeconds, epochBuildSteps, epochBuildSeconds },
    options,
    metrics: metrics.right,
    trainMd5: metadata.train_md5,
    tensors,
  });
};
