// Reads STL-10 from the stl10_binary folder, a folder containing it, or the official
// .tar.gz (streamed into memory, never unpacked to disk; see dataset-files.ts): the labelled
// train and test splits, the unlabeled images (all 100,000, or the first N asked for), and the
// class names, every image turned from the file's column-major channels into CHW row-major.
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type DataError, dataError, describeCause } from './errors.ts';
import { parseClassNames } from './cifar10-records.ts';
import { type DatasetFiles, missingFile, readDatasetFiles } from './dataset-files.ts';
import { parseStl10Images, parseStl10Labels } from './stl10-records.ts';
import { describeStl10, isStl10FileName, type Stl10, STL10_FILES, STL10_FOLDER, STL10_IMAGE_BYTES, type Stl10Split, type UnlabeledImages } from './stl10-types.ts';

export interface ReadStl10Options {
  /** Called with one line saying what was found. */
  onInfo?: (line: string) => void;
  /** How many unlabeled images to read, from the first (all by default; 0 skips the 2.8 GB file). */
  unlabeled?: number;
}

/** A labelled split from its image and label files, which must hold the same number of images. */
const labelledSplit = (raw: DatasetFiles, imagesName: string, labelsName: string): E.Either<DataError, Stl10Split> => {
  const imageFile = raw.files.get(imagesName);
  if (imageFile === undefined) return E.left(missingFile(raw, imagesName));
  const labelFile = raw.files.get(labelsName);
  if (labelFile === undefined) return E.left(missingFile(raw, labelsName));
  const images = parseStl10Images(imagesName, imageFile.bytes, imageFile.size, imageFile.location);
  if (E.isLeft(images)) return images;
  const labels = parseStl10Labels(labelsName, labelFile.bytes, labelFile.location);
  if (E.isLeft(labels)) return labels;
  const count = images.right.count;
  if (labels.right.length !== count)
    return E.left(dataError('bad-size', labelFile.location,
      `${labelsName}: ${labels.right.length} labels for the ${count} images of ${imagesName}` +
      (labels.right.length > count ? `; the first extra label is at offset ${count}` : `; the labels end at offset ${labels.right.length}`),
      Math.min(count, labels.right.length)));
  return E.right({ images: images.right.images, labels: labels.right, count });
};

/** Parse the collected files into Stl10; pure apart from the byte copies. */
export const assembleStl10 = (raw: DatasetFiles, unlabeledWanted: boolean): E.Either<DataError, Stl10> => {
  const train = labelledSplit(raw, STL10_FILES.trainImages, STL10_FILES.trainLabels);
  if (E.isLeft(train)) return train;
  const test = labelledSplit(raw, STL10_FILES.testImages, STL10_FILES.testLabels);
  if (E.isLeft(test)) return test;
  const names = raw.files.get(STL10_FILES.classNames);
  if (names === undefined) return E.left(missingFile(raw, STL10_FILES.classNames));
  const classNames = parseClassNames(STL10_FILES.classNames, new TextDecoder().decode(names.bytes), names.location);
  if (E.isLeft(classNames)) return classNames;
  let unlabeled: UnlabeledImages = { images: new Uint8Array(0), count: 0 };
  if (unlabeledWanted) {
    const file = raw.files.get(STL10_FILES.unlabeledImages);
    if (file === undefined) return E.left(missingFile(raw, `${STL10_FILES.unlabeledImages} (read no unlabeled images to do without it)`));
    const parsed = parseStl10Images(STL10_FILES.unlabeledImages, file.bytes, file.size, file.location);
    if (E.isLeft(parsed)) return parsed;
    unlabeled = parsed.right;
  }
  return E.right({ train: train.right, test: test.right, unlabeled, classNames: classNames.right, source: raw.source });
};

/**
 * Read STL-10 from `source`: the stl10_binary folder, a folder containing it, or a tar archive
 * (.tar.gz/.tgz/.tar; any regular file is tried as one).
 */
export const readStl10 = (source: string, options: ReadStl10Options = {}): TE.TaskEither<DataError, Stl10> => {
  const { unlabeled = Infinity } = options;
  if (!(unlabeled >= 0) || (unlabeled !== Infinity && !Number.isInteger(unlabeled)))
    throw new RangeError(`readStl10: unlabeled = ${unlabeled} must be a natural number of images`);
  return async () => {
    try {
      const raw = await readDatasetFiles(source, {
        folder: STL10_FOLDER,
        wanted: (name) => isStl10FileName(name) && (name !== STL10_FILES.unlabeledImages || unlabeled > 0),
        keep: (name, size) => (name === STL10_FILES.unlabeledImages ? Math.min(size, unlabeled * STL10_IMAGE_BYTES) : size),
      });
      const result = E.isLeft(raw) ? raw : assembleStl10(raw.right, unlabeled > 0);
      if (E.isRight(result)) options.onInfo?.(describeStl10(result.right));
      return result;
    } catch (cause) {
      // Keep the TaskEither contract: unexpected I/O failures become Left, never a rejection.
      return E.left(dataError('io-error', source, `${source}: ${describeCause(cause)}`));
    }
  };
};
