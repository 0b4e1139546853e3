// Shapes and constants of the official CIFAR-10 binary release, shared by the
// parser, the reader, the downloader and the synthetic generator.

/** One split (train or test), images kept exactly as in the file. */
export interface CifarSplit {
  /** count*3072 bytes; per image 1024 red, 1024 green, 1024 blue, each 32x32 row-major (CHW). */
  images: Uint8Array;
  /** count bytes, each 0..9. */
  labels: Uint8Array;
  count: number;
}

export interface Cifar10 {
  train: CifarSplit;
  test: CifarSplit;
  /** Ten names in label order, from batches.meta.txt. */
  classNames: string[];
  /** The folder or archive that was read. */
  source: string;
  /** The data_batch_N.bin files that were found, in batch order. */
  trainFiles: string[];
}

export const IMAGE_SIDE = 32;
export const CHANNEL_BYTES = IMAGE_SIDE * IMAGE_SIDE; // 1024
export const IMAGE_BYTES = 3 * CHANNEL_BYTES; // 3072
export const RECORD_BYTES = 1 + IMAGE_BYTES; // 3073: label byte then pixels
export const NUM_CLASSES = 10;

export const BATCHES_FOLDER = 'cifar-10-batches-bin';
export const TEST_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';
/** data_batch_1.bin .. data_batch_5.bin officially; any N is accepted. */
export const TRAIN_FILE_PATTERN = /^data_batch_([0-9]+)\.bin$/;
export const trainFileName = (batch: number): string => `data_batch_${batch}.bin`;

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_ARCHIVE_NAME = 'cifar-10-binary.tar.gz';

export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** Files the reader cares about; everything else in a folder or archive is ignored. */
export const isCifarFileName = (name: string): boolean =>
  name === TEST_FILE || name === META_FILE || TRAIN_FILE_PATTERN.test(name);

/** Batch number of a training file name, or undefined for other names. */
export const trainBatchNumber = (name: string): number | undefined => {
  const m = TRAIN_FILE_PATTERN.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** One line saying what was loaded, for scripts to print. */
export const describeCifar10 = (data: Cifar10): string =>
  `CIFAR-10 from ${data.source}: ${data.train.count} training images from ${data.trainFiles.length} ` +
  `file${data.trainFiles.length === 1 ? '' : 's'} (${data.trainFiles.join(', ')}), ` +
  `${data.test.count} test images (${TEST_FILE}), ${data.classNames.length} classes`;
