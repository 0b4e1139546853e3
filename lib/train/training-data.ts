// The images a run trains and evaluates on: the first N of each split, kept as bytes (CHW per
// image, as the files hold them) and turned into float32 in [0, 1] a batch or a chunk at a time,
// since STL-10's 105,000 training images as float32 would be 11.6 GB; with an md5 of each slice,
// so a resumed run can tell that it has the same data. A run on some classes (--train-classes)
// keeps those classes' images of both slices for training and kNN, and sets the test slice's
// other images apart as the unseen categories. On STL-10 the steps also draw from the unlabeled
// images, after the labelled ones, while kNN's memory bank is the labelled training images.

import { createHash } from 'node:crypto';
import { type Cifar10, type CifarSplit, IMAGE_SIDE } from '../data/cifar10-types.ts';
import { type Stl10, STL10_SIDE } from '../data/stl10-types.ts';
import type { NormalizeOptions } from '../augment/normalize.ts';
import { rowsOfClasses, unseenClasses } from './unseen-classes.ts';

export interface SplitData {
  readonly count: number;
  /** count images of 3 x side x side bytes (CHW). */
  readonly bytes: Uint8Array;
  readonly labels: Uint8Array;
}

/** What the training steps draw from: the training split's images, then (STL-10) unlabeled ones. */
export interface StepImages {
  readonly count: number;
  /** The bytes of image `index`. */
  readonly image: (index: number) => Uint8Array;
}

export interface TrainingData {
  /** The labelled training images: kNN's memory bank and the linear probe's training set. */
  readonly train: SplitData;
  readonly test: SplitData;
  /** The test images of the classes not trained on, with --train-classes; absent otherwise. */
  readonly unseen?: SplitData;
  readonly steps: StepImages;
  /** The images' height and width as stored (32 for CIFAR-10, 96 for STL-10). */
  readonly side: number;
  /** The per-channel statistics both the augmentation and the evaluation normalise by. */
  readonly normalization: NormalizeOptions;
  readonly classNames: readonly string[];
  /** md5 of the training slice's labels and pixels (and of the unlabeled images trained on), and of the test slice's. */
  readonly trainMd5: string;
  readonly testMd5: string;
  /** One line saying what is used, for the run's output. */
  readonly description: string;
}

export type RunDataset = Cifar10 | Stl10;

export const isStl10 = (dataset: RunDataset): dataset is Stl10 => 'unlabeled' in dataset;

const firstImages = (split: CifarSplit, count: number, imageBytes: number): SplitData =>
  ({ count, bytes: split.images.subarray(0, count * imageBytes), labels: split.labels.subarray(0, count) });

/** The images of `split` whose label is among `classes`, in order. */
const imagesOfClasses = (split: SplitData, classes: readonly number[], imageBytes: number): SplitData => {
  const rows = rowsOfClasses(split.labels, classes);
  const bytes = new Uint8Array(rows.length * imageBytes);
  rows.forEach((row, i) => bytes.set(split.bytes.subarray(row * imageBytes, (row + 1) * imageBytes), i * imageBytes));
  return { count: rows.length, bytes, labels: Uint8Array.from(rows, (row) => split.labels[row]) };
};

const sizeOf = (what: string, flag: string, requested: number | undefined, available: number): number => {
  if (requested === undefined) return available;
  if (requested > available) throw new RangeError(`${flag} ${requested}: the data has only ${available} ${what} images`);
  return requested;
};

const md5Of = (split: SplitData, more?: Uint8Array): string => {
  const hash = createHash('md5').update(split.labels).update(split.bytes);
  if (more !== undefined) hash.update(more);
  return hash.digest('hex');
};

const stepsOf = (split: SplitData, imageBytes: number, unlabeled?: Uint8Array): StepImages => {
  const labelled = split.count;
  return {
    count: labelled + (unlabeled?.length ?? 0) / imageBytes,
    image: (index) => index < labelled ? split.bytes.subarray(index * imageBytes, (index + 1) * imageBytes)
      : unlabeled!.subarray((index - labelled) * imageBytes, (index - labelled + 1) * imageBytes),
  };
};

/**
 * STL-10's statistics, computed from its labelled training images (mean and standard deviation of
 * each channel in [0, 1]): the standard figures are quoted inconsistently, and these are the
 * data's own. CIFAR-10 keeps normalize's constants.
 */
const channelStatistics = (bytes: Uint8Array, count: number, side: number): NormalizeOptions => {
  const plane = side * side;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < count; i++)
      for (let p = (i * 3 + c) * plane, end = p + plane; p < end; p++) {
        sum += bytes[p];
        squares += bytes[p] * bytes[p];
      }
    const n = count * plane;
    mean.push(sum / n / 255);
    std.push(Math.sqrt(Math.max(squares / n - (sum / n) ** 2, 1e-12)) / 255);
  }
  return { mean, std };
};

export interface TrainingDataOptions {
  /** The first N training images: on STL-10, of the labelled ones followed by the unlabeled ones. */
  readonly trainSize?: number;
  readonly testSize?: number;
  readonly trainClasses?: readonly number[];
}

/**
 * The first `trainSize` training and `testSize` test images; with `trainClasses`, those of the
 * first that show these classes, and the test images of the other classes apart. The test md5
 * covers the whole test slice, so it also pins down the unseen images.
 */
export const trainingData = (dataset: RunDataset, { trainSize, testSize, trainClasses }: TrainingDataOptions = {}): TrainingData => {
  const stl10 = isStl10(dataset);
  const side = stl10 ? STL10_SIDE : IMAGE_SIDE;
  const imageBytes = 3 * side * side;
  if (stl10 && trainClasses !== undefined)
    throw new RangeError('--train-classes: STL-10\'s unlabeled training images have no class to choose by; use it with CIFAR-10');
  const available = dataset.train.count + (stl10 ? dataset.unlabeled.count : 0);
  const stepCount = sizeOf('training', '--train-size', trainSize, available);
  const train = firstImages(dataset.train, Math.min(stepCount, dataset.train.count), imageBytes);
  const test = firstImages(dataset.test, sizeOf('test', '--test-size', testSize, dataset.test.count), imageBytes);
  const common = {
    classNames: dataset.classNames, testMd5: md5Of(test), side,
    normalization: stl10 ? channelStatistics(dataset.train.images, dataset.train.count, side) : {},
  };
  if (stl10) {
    const unlabeled = dataset.unlabeled.images.subarray(0, (stepCount - train.count) * imageBytes);
    return {
      ...common, train, test, steps: stepsOf(train, imageBytes, unlabeled), trainMd5: md5Of(train, unlabeled),
      description: `using ${stepCount} of ${available} training images (${train.count} labelled, ${stepCount - train.count} unlabeled) ` +
        `at ${side}x${side} and ${test.count} of ${dataset.test.count} test images; kNN classifies the test images among the ${train.count} labelled ones`,
    };
  }
  const counts = `of ${dataset.train.count} training images and ${test.count} of ${dataset.test.count} test images`;
  if (trainClasses === undefined)
    return { ...common, train, test, steps: stepsOf(train, imageBytes), trainMd5: md5Of(train), description: `using ${train.count} ${counts}` };
  const seen = { train: imagesOfClasses(train, trainClasses, imageBytes), test: imagesOfClasses(test, trainClasses, imageBytes) };
  const others = unseenClasses(trainClasses, dataset.classNames.length);
  const unseen = imagesOfClasses(test, others, imageBytes);
  // Recall@K needs a second image of a class to find, and k-means a point per cluster.
  if (unseen.count < Math.max(2, others.length))
    throw new RangeError(`--train-classes ${trainClasses.join(',')}: the ${test.count} test images hold ${unseen.count} of the unseen classes ${others.join(',')}; ` +
      `Recall@K and k-means need at least ${Math.max(2, others.length)} (a larger --test-size)`);
  if (seen.test.count === 0) throw new RangeError(`--train-classes ${trainClasses.join(',')}: none of the ${test.count} test images is of these classes, so kNN has nothing to classify`);
  return {
    ...common, ...seen, unseen, steps: stepsOf(seen.train, imageBytes), trainMd5: md5Of(seen.train),
    description: `using ${train.count} ${counts}; training on the ${seen.train.count} training images of classes ${trainClasses.join(',')} ` +
      `and classifying their ${seen.test.count} test images by kNN; the ${unseen.count} test images of classes ${others.join(',')} are the unseen categories`,
  };
};

/** The step images at `indices`, gathered into one batch of float32 in [0, 1]. */
export const gatherImages = (steps: StepImages, indices: ArrayLike<number>, imageBytes: number): Float32Array => {
  const into = new Float32Array(indices.length * imageBytes);
  for (let i = 0; i < indices.length; i++) {
    const bytes = steps.image(indices[i]);
    for (let j = 0, o = i * imageBytes; j < imageBytes; j++) into[o + j] = bytes[j] / 255;
  }
  return into;
};
