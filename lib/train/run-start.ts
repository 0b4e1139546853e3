// Where a run starts: in a fresh folder, or from the checkpoint of the run it resumes. A resumed
// run must have the options, the training images and the test images its checkpoint recorded,
// and its position must fit the data's epoch; each difference is refused in one line naming
// the folder and what differs.

import * as path from 'node:path';
import { existsSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { CheckpointErrorException } from '../checkpoint/errors.ts';
import { treeOfTensors } from '../checkpoint/checkpoint.ts';
import { evaluateNodes } from '../interpret.ts';
import { flattenTree, unflattenTree } from '../tree.ts';
import { flagName } from './cli-options.ts';
import { conflictsWithRecorded, type TrainOptions } from './options.ts';
import { checkpointPath, readRunCheckpoint, type RunPosition, type SavedRun, type TrainingState } from './run-checkpoint.ts';
import type { TrainingData } from './training-data.ts';

export const orThrowCheckpoint = <A>(result: E.Either<{ file: string; message: string; offset?: number }, A>): A => {
  if (E.isLeft(result)) throw new CheckpointErrorException(result.left);
  return result.right;
};

/** The position of a run that has done nothing yet. */
export const startPosition: RunPosition = { epoch: 0, stepInEpoch: 0, optimizerStep: 0, epochLossSum: 0, epochSeconds: 0, epochBuildSteps: 0, epochBuildSeconds: 0 };

/**
 * The checkpoint of the run in `out` when resuming, checked against the options; undefined for a
 * new run, which `out` must not already hold.
 */
export const savedRunToContinue = async (options: TrainOptions, out: string): Promise<SavedRun | undefined> => {
  const file = checkpointPath(out);
  if (!options.resume) {
    if (existsSync(file)) throw new Error(`${out} already holds a run (${path.basename(file)}); pass --resume to continue it, or choose another --out`);
    return undefined;
  }
  const saved = orThrowCheckpoint(await readRunCheckpoint(file)());
  const conflicts = conflictsWithRecorded(options, saved.options);
  if (conflicts.length > 0)
    throw new Error(`cannot resume ${out}: ${conflicts.map(([name, given, recorded]) =>
      `${flagName(name)} ${JSON.stringify(given ?? null)} differs from the checkpoint's ${JSON.stringify(recorded ?? null)}`).join('; ')}`);
  if (options.epochs < saved.position.epoch)
    throw new Error(`cannot resume ${out}: its checkpoint has ${saved.position.epoch} epochs done, more than --epochs ${options.epochs}`);
  return saved;
};

/** Refuses a resumed run whose data is not its checkpoint's: one curve must come from one data set. */
export const checkResumedData = (saved: SavedRun, data: TrainingData, stepsPerEpoch: number, out: string, log: (line: string) => void): void => {
  if (saved.trainMd5 !== data.trainMd5)
    throw new Error(`cannot resume ${out}: the training images differ from the checkpoint's (md5 ${data.trainMd5}, checkpoint ${saved.trainMd5}); give the same --data`);
  if (saved.testMd5 === undefined) log(`the checkpoint in ${out} predates test-image md5s: the test images cannot be checked against it`);
  else if (saved.testMd5 !== data.testMd5)
    throw new Error(`cannot resume ${out}: the test images differ from the checkpoint's (md5 ${data.testMd5}, checkpoint ${saved.testMd5}); give the same --data`);
  if (saved.position.stepInEpoch > stepsPerEpoch)
    throw new Error(`cannot resume ${out}: its checkpoint is at step ${saved.position.stepInEpoch} of an epoch of ${stepsPerEpoch} steps`);
};

/** A tree of graphs evaluated once into float32 host values, as the compiled step takes and gives them. */
const hostValues = <T>(tree: T): unknown => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(tree, evaluateNodes(leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) })));
};

/** The training state to start from: the initialisation, or the checkpoint's tensors in its structure. */
export const startingState = (template: TrainingState, saved: SavedRun | undefined, out: string): TrainingState =>
  saved === undefined
    ? (hostValues(template) as TrainingState)
    : (orThrowCheckpoint(treeOfTensors(template, saved.tensors, checkpointPath(out))) as TrainingState);
