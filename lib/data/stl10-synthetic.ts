// Small synthetic STL-10 in the exact official binary layout (column-major channels, labels
// 1..10), for tests and for runs without the 2.6 GB download. Every pixel carries its own noise,
// so an image is never its own transpose and a reader that swaps rows and columns is caught; the
// base colour depends on the class, so a learner can tell classes apart.
import { encodeClassNames } from './cifar10-records.ts';
import { mulberry32 } from './synthetic.ts';
import { encodeStl10Images, encodeStl10Labels } from './stl10-records.ts';
import { writeDatasetArchive, writeDatasetFolder } from './synthetic-files.ts';
import { STL10_CHANNEL_BYTES, STL10_CLASS_NAMES, STL10_CLASSES, STL10_FILES, STL10_FOLDER, STL10_IMAGE_BYTES, type Stl10Split, type UnlabeledImages } from './stl10-types.ts';

export interface SyntheticStl10Options {
  readonly train: number;
  readonly test: number;
  readonly unlabeled: number;
  readonly seed: number;
}

/** What the generator wrote (images CHW row-major, labels 0..9), and each file's exact bytes. */
export interface SyntheticStl10 {
  train: Stl10Split;
  test: Stl10Split;
  unlabeled: UnlabeledImages;
  classNames: string[];
  files: Array<{ name: string; bytes: Uint8Array }>;
}

const images = (count: number, labels: Uint8Array | undefined, random: () => number): Uint8Array => {
  const out = new Uint8Array(count * STL10_IMAGE_BYTES);
  for (let i = 0; i < count; i++)
    for (let c = 0; c < 3; c++) {
      const base = labels === undefined ? 128 : 20 + ((labels[i] * 47 + c * 90) % 200);
      for (let p = 0; p < STL10_CHANNEL_BYTES; p++) out[i * STL10_IMAGE_BYTES + c * STL10_CHANNEL_BYTES + p] = base + Math.floor(random() * 36);
    }
  return out;
};

const split = (count: number, random: () => number): Stl10Split => {
  const labels = Uint8Array.from({ length: count }, (_, i) => i % STL10_CLASSES);
  return { images: images(count, labels, random), labels, count };
};

export const makeSyntheticStl10 = ({ train, test, unlabeled, seed }: SyntheticStl10Options): SyntheticStl10 => {
  const random = mulberry32(seed);
  const data = { train: split(train, random), test: split(test, random), unlabeled: { images: images(unlabeled, undefined, random), count: unlabeled } };
  const classNames = [...STL10_CLASS_NAMES];
  const files = [
    { name: STL10_FILES.trainImages, bytes: encodeStl10Images(data.train.images, train) },
    { name: STL10_FILES.trainLabels, bytes: encodeStl10Labels(data.train.labels) },
    { name: STL10_FILES.testImages, bytes: encodeStl10Images(data.test.images, test) },
    { name: STL10_FILES.testLabels, bytes: encodeStl10Labels(data.test.labels) },
    { name: STL10_FILES.unlabeledImages, bytes: encodeStl10Images(data.unlabeled.images, unlabeled) },
    { name: STL10_FILES.classNames, bytes: new TextEncoder().encode(encodeClassNames(classNames)) },
  ];
  return { ...data, classNames, files };
};

/** Writes `dir/stl10_binary/` in the official layout; returns what was written and that folder. */
export const writeStl10Folder = async (dir: string, options: SyntheticStl10Options): Promise<SyntheticStl10 & { folder: string }> => {
  const data = makeSyntheticStl10(options);
  return { ...data, folder: await writeDatasetFolder(dir, STL10_FOLDER, data.files) };
};

/** Writes a .tar.gz holding stl10_binary/ like the official archive; returns what was written, the path and its md5. */
export const makeStl10Archive = async (archivePath: string, options: SyntheticStl10Options): Promise<SyntheticStl10 & { archive: string; md5: string }> => {
  const data = makeSyntheticStl10(options);
  return { ...data, archive: archivePath, md5: await writeDatasetArchive(archivePath, STL10_FOLDER, data.files) };
};
