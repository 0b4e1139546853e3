// CIFAR-10 from an explicit path, else from the cache, else downloaded from the official
// release, verified by md5 and unpacked into the cache (see ensure-dataset.ts).
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type DataError, orThrowTask } from './errors.ts';
import {
  BATCHES_FOLDER, CIFAR10_ARCHIVE_NAME, CIFAR10_MD5, CIFAR10_URL, type Cifar10, describeCifar10,
} from './cifar10-types.ts';
import { readCifar10 } from './cifar10-read.ts';
import { type DatasetRelease, type EnsureDatasetOptions, ensureDataset } from './ensure-dataset.ts';

export type EnsureCifar10Options = EnsureDatasetOptions;

const cifar10Release: DatasetRelease<Cifar10> = {
  name: 'cifar10',
  folder: BATCHES_FOLDER,
  archiveName: CIFAR10_ARCHIVE_NAME,
  url: CIFAR10_URL,
  md5: CIFAR10_MD5,
  read: (source, onInfo) => readCifar10(source, { onInfo }),
  describe: describeCifar10,
};

/** Get CIFAR-10 from `data`, the cache, or the network, in that order. */
export const ensureCifar10 = (options: EnsureCifar10Options = {}): TE.TaskEither<DataError, Cifar10> => ensureDataset(cifar10Release, options);

/** Alias that reads better in scripts: `const data = orThrow(await loadCifar10({...})())`. */
export const loadCifar10 = ensureCifar10;

/** For scripts that would rather throw: `const data = await loadCifar10OrThrow({...})`. */
export const loadCifar10OrThrow = (options: EnsureCifar10Options = {}): Promise<Cifar10> =>
  orThrowTask(ensureCifar10(options));
