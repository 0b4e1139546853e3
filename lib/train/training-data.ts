// The images a run trains and evaluates on: the first N of each split, converted once to
// float32 in [0, 1] (NCHW, as the encoder takes them), with the bytes kept for the pictures
// and an md5 of each slice, so a resumed run can tell that it has the same data.

import { createHash } from 'node:crypto';
import type { Cifar10, CifarSplit } from '../data/cifar10-types.ts';
import { IMAGE_BYTES } from '../data/cifar10-types.ts';

export interface SplitData {
  readonly count: number;
  /** count x 3 x 32 x 32 values in [0, 1]. */
  readonly images: Float32Array;
  /** The original bytes (CHW per image), for the neighbours picture. */
  readonly bytes: Uint8Array;
  readonly labels: Uint8Array;
}

export interface TrainingData {
  readonly train: SplitData;
  readonly test: SplitData;
  readonly classNames: readonly string[];
  /** md5 of the training slice's labels and pixels, and of the test slice's. */
  readonly trainMd5: string;
  readonly testMd5: string;
  /** One line saying what is used, for the run's output. */
  readonly description: string;
}

export const unitFloatImages = (bytes: Uint8Array): Float32Array => {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
};

const firstImages = (split: CifarSplit, count: number): SplitData => {
  const bytes = split.images.subarray(0, count * IMAGE_BYTES);
  return { count, images: unitFloatImages(bytes), bytes, labels: split.labels.subarray(0, count) };
};

const sizeOf = (what: string, flag: string, requested: number | undefined, available: number): number => {
  if (requested === undefined) return available;
  if (requested > available) throw new RangeError(`${flag} ${requested}: the data has only ${available} ${what} images`);
  return requested;
};

const md5Of = (split: SplitData): string => createHash('md5').update(split.labels).update(split.bytes).digest('hex');

export const trainingData = (cifar: Cifar10, trainSize: number | undefined, testSize: number | undefined): TrainingData => {
  const train = firstImages(cifar.train, sizeOf('training', '--train-size', trainSize, cifar.train.count));
  const test = firstImages(cifar.test, sizeOf('test', '--test-size', testSize, cifar.test.count));
  return {
    train,
    test,
    classNames: cifar.classNames,
    trainMd5: md5Of(train),
    testMd5: md5Of(test),
    description: `using ${train.count} of ${cifar.train.count} training images and ${test.count} of ${cifar.test.count} test images`,
  };
};

/** The images at `indices`, gathered into one batch (count x 3072 values). */
export const gatherImages = (images: Float32Array, indices: ArrayLike<number>, into = new Float32Array(indices.length * IMAGE_BYTES)): Float32Array => {
  for (let i = 0; i < indices.length; i++)
    into.set(images.subarray(indices[i] * IMAGE_BYTES, (indices[i] + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
  return into;
};
