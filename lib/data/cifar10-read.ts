// Reads CIFAR-10 from the cifar-10-batches-bin folder, a folder containing it,
// or a .tar.gz/.tgz archive (streamed into memory with node-tar, never unpacked
// to disk). Accepts whichever data_batch_N.bin files are present and reports them.
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type DataError, dataError, describeCause } from './errors.ts';
import {
  BATCHES_FOLDER, type Cifar10, type CifarSplit, META_FILE, TEST_FILE,
  describeCifar10, isCifarFileName, trainBatchNumber,
} from './cifar10-types.ts';
import { concatSplits, parseCifarRecords, parseClassNames } from './cifar10-records.ts';
import { type DatasetFiles, missingFile, readDatasetFiles } from './dataset-files.ts';

export interface ReadOptions {
  /** Called with one line saying how many images and which files were found. */
  onInfo?: (line: string) => void;
}

/** Parse the collected files into a Cifar10; pure apart from the byte copies. */
export const assembleCifar10 = (raw: DatasetFiles): E.Either<DataError, Cifar10> => {
  const trainNames = [...raw.files.keys()]
    .filter((n) => trainBatchNumber(n) !== undefined)
    .sort((a, b) => trainBatchNumber(a)! - trainBatchNumber(b)!);
  if (trainNames.length === 0) return E.left(missingFile(raw, 'data_batch_N.bin training file'));
  const test = raw.files.get(TEST_FILE);
  if (test === undefined) return E.left(missingFile(raw, TEST_FILE));
  const meta = raw.files.get(META_FILE);
  if (meta === undefined) return E.left(missingFile(raw, META_FILE));

  const classNames = parseClassNames(META_FILE, new TextDecoder().decode(meta.bytes), meta.location);
  if (E.isLeft(classNames)) return classNames;
  const trainSplits: CifarSplit[] = [];
  for (const name of trainNames) {
    const f = raw.files.get(name)!;
    const split = parseCifarRecords(name, f.bytes, f.location);
    if (E.isLeft(split)) return split;
    trainSplits.push(split.right);
  }
  const testSplit = parseCifarRecords(TEST_FILE, test.bytes, test.location);
  if (E.isLeft(testSplit)) return testSplit;
  return E.right({
    // One batch needs no copy; several are joined in batch order.
    train: trainSplits.length === 1 ? trainSplits[0] : concatSplits(trainSplits),
    test: testSplit.right,
    classNames: classNames.right,
    source: raw.source,
    trainFiles: trainNames,
  });
};

/**
 * Read CIFAR-10 from `source`: the cifar-10-batches-bin folder, a folder
 * containing it, or a tar archive (.tar.gz/.tgz/.tar; any regular file is
 * tried as one). The result's `trainFiles` and `onInfo` say what was found.
 */
export const readCifar10 = (source: string, options: ReadOptions = {}): TE.TaskEither<DataError, Cifar10> =>
  async () => {
    try {
      const raw = await readDatasetFiles(source, { folder: BATCHES_FOLDER, wanted: isCifarFileName });
      const result = E.isLeft(raw) ? raw : assembleCifar10(raw.right);
      if (E.isRight(result)) options.onInfo?.(describeCifar10(result.right));
      return result;
    } catch (cause) {
      // Keep the TaskEither contract: unexpected I/O failures become Left, never a rejection.
      return E.left(dataError('io-error', source, `${source}: ${describeCause(cause)}`));
    }
  };
