// The tiny CIFAR-10 runs the run tests share: generated images in memory and options that train
// in seconds.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSyntheticCifar10 } from '../lib/data/synthetic.ts';
import type { Cifar10 } from '../lib/data/cifar10-types.ts';
import { defaultTrainOptions, type TrainOptions } from '../lib/train/options.ts';

export const synthetic = makeSyntheticCifar10({ trainPerBatch: [200], test: 40, seed: 11 });
export const dataset: Cifar10 = { train: synthetic.train, test: synthetic.test, classNames: synthetic.classNames, source: 'synthetic', trainFiles: synthetic.trainFiles };

/**
 * Tiny: 200 images, 12 steps of 16 per epoch (8 images dropped), a narrow encoder. On the native backend,
 * which every Node has, so that speed and numbers do not depend on the GL or GPU a machine has.
 */
export const tinyOptions = (out: string, changes: Partial<TrainOptions> = {}): TrainOptions => ({
  ...defaultTrainOptions(2),
  backend: 'native',
  batchSize: 16,
  widths: [4, 8, 8],
  featureDimension: 16,
  learningRate: 0.03,
  learningRateMilestones: [1],
  seed: 5,
  out,
  ...changes,
});

export const quiet = { log: () => undefined, warn: () => undefined };

export const temporaryFolder = (name: string) => fsp.mkdtemp(path.join(os.tmpdir(), `cifar10-run-${name}-`));

/** `body` run in a fresh temporary folder, removed afterwards whatever happens. */
export const inTemporaryFolder = async <T>(name: string, body: (folder: string) => Promise<T>): Promise<T> => {
  const folder = await temporaryFolder(name);
  try {
    return await body(folder);
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
};
