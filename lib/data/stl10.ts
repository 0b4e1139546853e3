// STL-10 from an explicit path, else from the cache, else downloaded from the official release
// (2.6 GB), verified by md5 and unpacked into the cache (see ensure-dataset.ts).
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type DataError, orThrowTask } from './errors.ts';
import { type DatasetRelease, type EnsureDatasetOptions, ensureDataset } from './ensure-dataset.ts';
import { readStl10 } from './stl10-read.ts';
import { describeStl10, type Stl10, STL10_ARCHIVE_NAME, STL10_FOLDER, STL10_MD5, STL10_URL } from './stl10-types.ts';

export interface EnsureStl10Options extends EnsureDatasetOptions {
  /** How many unlabeled images to read (all by default; 0 skips them). */
  unlabeled?: number;
}

const stl10Release = (unlabeled: number | undefined): DatasetRelease<Stl10> => ({
  name: 'stl10',
  folder: STL10_FOLDER,
  archiveName: STL10_ARCHIVE_NAME,
  url: STL10_URL,
  md5: STL10_MD5,
  read: (source, onInfo) => readStl10(source, { onInfo, unlabeled }),
  describe: describeStl10,
});

/** Get STL-10 from `data`, the cache, or the network, in that order. */
export const ensureStl10 = (options: EnsureStl10Options = {}): TE.TaskEither<DataError, Stl10> => ensureDataset(stl10Release(options.unlabeled), options);

/** For scripts that would rather throw: `const data = await loadStl10OrThrow({...})`. */
export const loadStl10OrThrow = (options: EnsureStl10Options = {}): Promise<Stl10> => orThrowTask(ensureStl10(options));
