// The images a run trains and evaluates on: the first N of each split, converted once to
// float32 in [0, 1] (NCHW, as the encoder takes them), with the bytes kept for the pictures
// and an md5 of each slice, so a resumed run can tell that it has the same data. A run on some
// classes (--train-classes) keeps those classes' images of both slices for training and kNN,
// and sets the test slice's other images apart as the unseen categories.

import { createHash } from 'node:crypto';
import type { Cifar10, CifarSplit } from '../data/cifar10-types.ts';
import { IMAGE_BYTES } from '../data/cifar10-types.ts';
import { rowsOfClasses, unseenClasses } from './unseen-classes.ts';

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
  /** The test images of the classes not trained on, with --train-classes; absent otherwise. */
  readonly unseen?: SplitData;
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

/** The images of `split` whose label is among `classes`, in order. */
const imagesOfClasses = (split: SplitData, classes: readonly number[]): SplitData => {
  const rows = rowsOfClasses(split.labels, classes);
  const bytes = new Uint8Array(rows.length * IMAGE_BYTES);
  rows.forEach((row, i) => bytes.set(split.bytes.subarray(row * IMAGE_BYTES, (row + 1) * IMAGE_BYTES), i * IMAGE_BYTES));
  return { count: rows.length, images: unitFloatImages(bytes), bytes, labels: Uint8Array.from(rows, (row) => split.labels[row]) };
};

const sizeOf = (what: string, flag: string, requested: number | undefined, available: number): number => {
  if (requested === undefined) return available;
  if (requested > available) throw new RangeError(`${flag} ${requested}: the data has only ${available} ${what} images`);
  return requested;
};

const md5Of = (split: SplitData): string => createHash('md5').update(split.labels).update(split.bytes).digest('hex');

/**
 * The first `trainSize` training and `testSize` test images; with `trainClasses`, those of the
 * first that show these classes, and the test images of the other classes apart. The test md5
 * covers the whole test slice, so it also pins down the unseen images.
 */
export const trainingData = (
  cifar: Cifar10, trainSize: number | undefined, testSize: number | undefined, trainClasses?: readonly number[],
): TrainingData => {
  const train = firstImages(cifar.train, sizeOf('training', '--train-size', trainSize, cifar.train.count));
  const test = firstImages(cifar.test, sizeOf('test', '--test-size', testSize, cifar.test.count));
  const counts = `of ${cifar.train.count} training images and ${test.count} of ${cifar.test.count} test images`;
  const common = { classNames: cifar.classNames, testMd5: md5Of(test) };
  if (trainClasses === undefined)
    return { ...common, train, test, trainMd5: md5Of(train), description: `using ${train.count} ${counts}` };
  const seen = { train: imagesOfClasses(train, trainClasses), test: imagesOfClasses(test, trainClasses) };
  const others = unseenClasses(trainClasses, cifar.classNames.length);
  const unseen = imagesOfClasses(test, others);
  // Recall@K needs a second image of a class to find, and k-means a point per cluster.
  if (unseen.count < Math.max(2, others.length))
    throw new RangeError(`--train-classes ${trainClasses.join(',')}: the ${test.count} test images hold ${unseen.count} of the unseen classes ${others.join(',')}; ` +
      `Recall@K and k-means need at least ${Math.max(2, others.length)} (a larger --test-size)`);
  if (seen.test.count === 0) throw new RangeError(`--train-classes ${trainClasses.join(',')}: none of the ${test.count} test images is of these classes, so kNN has nothing to classify`);
  return {
    ...common, ...seen, unseen, trainMd5: md5Of(seen.train),
    description: `using ${train.count} ${counts}; training on the ${seen.train.count} training images of classes ${trainClasses.join(',')} ` +
      `and classifying their ${seen.test.count} test images by kNN; the ${unseen.count} test images of classes ${others.join(',')} are the unseen categories`,
  };
};

/** The images at `indices`, gathered into one batch (count x 3072 values). */
export const gatherImages = (images: Float32Array, indices: ArrayLike<number>, into = new Float32Array(indices.length * IMAGE_BYTES)): Float32Array => {
  for (let i = 0; i < indices.length; i++)
    into.set(images.subarray(indices[i] * IMAGE_BYTES, (indices[i] + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
  return into;
};
