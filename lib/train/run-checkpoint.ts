// A run's checkpoint: the training state (parameters, batch-norm statistics, optimiser state)
// as tensors, and in the metadata everything else a resumed run needs to continue exactly:
// where it stopped (epoch, step, optimiser step, the epoch's loss so far), the seed, the
// options, the metrics so far and md5s of the training and test images. Reading one checks the
// header against itself, its options by the command line's checks, and every tensor against its
// checksum and for non-finite values, so a damaged or edited file is refused at load, by name,
// rather than trained on.

import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CheckpointError, checkpointError } from '../checkpoint/errors.ts';
import type { AtomicWriteIo } from '../checkpoint/atomic-write.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint/checkpoint.ts';
import type { StoredTensor } from '../checkpoint/safetensors.ts';
import { type EpochRecord, parseMetrics } from './metrics.ts';
import { optionProblem } from './cli-options.ts';
import { completeRecordedOptions, type RecordedOptions } from './options.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const CHECKPOINT_FORMAT = 'tensorspread-training-checkpoint/1';

export const checkpointPath = (out: string): string => path.join(out, CHECKPOINT_FILE);

/** Where a run stands. */
export interface RunPosition {
  /** Epochs completed, evaluation included (0 also before epoch 0's evaluation: then the metrics are empty). */
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
  /** Absent in checkpoints written before it was recorded. */
  readonly testMd5: string | undefined;
  readonly tensors: ReadonlyMap<string, StoredTensor>;
}

export interface TrainingState {
  readonly params: unknown;
  readonly state: unknown;
  readonly optimizerState: unknown;
  /** A stateful objective's state, parameters and their optimiser slots (tensors named `objective.*`); absent otherwise. */
  readonly objective?: unknown;
}

export const writeRunCheckpoint = (
  out: string,
  training: TrainingState,
  { position, options, metrics, trainMd5, testMd5 }: Omit<SavedRun, 'tensors'>,
  io?: AtomicWriteIo,
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
    ...(testMd5 === undefined ? {} : { test_md5: testMd5 }),
  }, io);

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
  // The options pass the command line's own checks: an edited -5 is refused as `--lr -5` is.
  const completed = completeRecordedOptions(options);
  const problem = optionProblem(completed as unknown as Record<string, unknown>);
  if (problem !== undefined) return E.left(checkpointError(file, undefined, `metadata "options": ${problem} (edited or damaged?)`));
  const saved: SavedRun = {
    position: { epoch, stepInEpoch, optimizerStep, epochLossSum, epochSeconds, epochBuildSteps, epochBuildSeconds },
    options: completed,
    metrics: metrics.right,
    trainMd5: metadata.train_md5,
    testMd5: metadata.test_md5,
    tensors,
  };
  const contradiction = headerContradiction(saved, metadata.seed);
  if (contradiction !== undefined) return E.left(checkpointError(file, undefined, `${contradiction} (edited or damaged?)`));
  const nonFinite = firstNonFinite(tensors);
  if (nonFinite !== undefined) return E.left(checkpointError(file, undefined, nonFinite));
  return E.right(saved);
};

/**
 * Where the header's fields disagree with one another, in words; undefined when they agree.
 * The metrics hold one record per epoch done, 0 to "epoch" (none before epoch 0's evaluation),
 * and the optimiser has taken every step of those epochs plus "step_in_epoch".
 */
const headerContradiction = ({ position, options, metrics }: SavedRun, seed: string | undefined): string | undefined => {
  const { epoch, stepInEpoch, optimizerStep, epochBuildSteps } = position;
  if (seed !== String(options.seed)) return `metadata "seed" is ${JSON.stringify(seed ?? null)} but "options" has seed ${options.seed}`;
  const epochs = metrics.map((record) => record.epoch);
  const expected = metrics.length === 0 && epoch === 0 ? [] : Array.from({ length: epoch + 1 }, (_, e) => e);
  if (JSON.stringify(epochs) !== JSON.stringify(expected))
    return `metadata "epoch" is ${epoch} but "metrics" holds epochs [${epochs.join(', ')}], expected [${expected.join(', ')}]`;
  if (metrics.length === 0 && (stepInEpoch > 0 || optimizerStep > 0))
    return `metadata "step_in_epoch" is ${stepInEpoch} and "optimizer_step" ${optimizerStep} before epoch 0 was evaluated, expected 0`;
  if (epochBuildSteps > stepInEpoch) return `metadata "epoch_build_steps" is ${epochBuildSteps}, more than "step_in_epoch" ${stepInEpoch}`;
  // Records of the epochs trained each say how many steps they took (epoch 0 took none).
  const trained = metrics.slice(1);
  if (trained.every((record) => Number.isSafeInteger(record.steps))) {
    const steps = trained.reduce((sum, record) => sum + record.steps, 0) + stepInEpoch;
    if (steps !== optimizerStep)
      return `metadata "optimizer_step" is ${optimizerStep}, expected ${steps}: the ${steps - stepInEpoch} steps of the epochs in "metrics" and "step_in_epoch" ${stepInEpoch}`;
  }
  return undefined;
};

/** The first tensor holding NaN or an infinity, in words; a run cannot continue from it. */
const firstNonFinite = (tensors: ReadonlyMap<string, StoredTensor>): string | undefined => {
  for (const [name, tensor] of tensors) {
    const index = tensor.data.findIndex((x) => !Number.isFinite(x));
    if (index >= 0)
      return `tensor "${name}" holds ${tensor.data[index]} at index ${index}; expected finite values (the run diverged before this checkpoint, or the file is damaged)`;
  }
  return undefined;
};
