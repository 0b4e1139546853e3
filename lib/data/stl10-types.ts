// Shapes and constants of the official STL-10 binary release (Coates, Lee and Ng 2011), shared by
// the parser, the reader, the downloader and the synthetic generator. The release stores each
// image channel by channel, each channel column-major (MATLAB's order); the reader turns them into
// this project's layout, the one CIFAR-10 images have: channel by channel, each row-major (CHW).

import type { CifarSplit } from './cifar10-types.ts';

/** One labelled split: count*27648 bytes of CHW row-major 96x96 images, and count labels 0..9. */
export type Stl10Split = CifarSplit;

/** Images without labels: count*27648 bytes, CHW row-major. */
export interface UnlabeledImages {
  images: Uint8Array;
  count: number;
}

export interface Stl10 {
  /** 5,000 images officially. */
  train: Stl10Split;
  /** 8,000 images officially. */
  test: Stl10Split;
  /** 100,000 officially; as many as were asked for. */
  unlabeled: UnlabeledImages;
  /** Ten names in label order, from class_names.txt. */
  classNames: string[];
  /** The folder or archive that was read. */
  source: string;
}

export const STL10_SIDE = 96;
export const STL10_CHANNEL_BYTES = STL10_SIDE * STL10_SIDE; // 9216
export const STL10_IMAGE_BYTES = 3 * STL10_CHANNEL_BYTES; // 27648
export const STL10_CLASSES = 10;

export const STL10_FOLDER = 'stl10_binary';
export const STL10_FILES = {
  trainImages: 'train_X.bin',
  trainLabels: 'train_y.bin',
  testImages: 'test_X.bin',
  testLabels: 'test_y.bin',
  unlabeledImages: 'unlabeled_X.bin',
  classNames: 'class_names.txt',
} as const;

// The official archive and its md5, as torchvision's STL10 dataset has them.
export const STL10_URL = 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz';
export const STL10_MD5 = '91f7769df0f17e558f3565bffb0c7dfb';
export const STL10_ARCHIVE_NAME = 'stl10_binary.tar.gz';

export const STL10_CLASS_NAMES: readonly string[] = [
  'airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck',
];

/** Files the reader cares about; everything else (fold_indices.txt) is ignored. */
export const isStl10FileName = (name: string): boolean => (Object.values(STL10_FILES) as string[]).includes(name);

/** One line saying what was loaded, for scripts to print. */
export const describeStl10 = (data: Stl10): string =>
  `STL-10 from ${data.source}: ${data.train.count} training images, ${data.test.count} test images, ` +
  `${data.unlabeled.count} unlabeled images, ${data.classNames.length} classes, ${STL10_SIDE}x${STL10_SIDE}`;
