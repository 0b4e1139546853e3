// Public surface of the CIFAR-10 data layer.
export {
  type DataError, type DataErrorKind, DataErrorException, dataError, formatDataError, isDataError,
  orThrow, orThrowTask,
} from './errors.ts';
export {
  type Cifar10, type CifarSplit, BATCHES_FOLDER, CHANNEL_BYTES, CIFAR10_CLASS_NAMES, CIFAR10_MD5, CIFAR10_URL,
  IMAGE_BYTES, IMAGE_SIDE, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, describeCifar10, trainFileName,
} from './cifar10-types.ts';
export {
  concatSplits, encodeCifarRecords, encodeClassNames, parseCifarRecords, parseClassNames,
} from './cifar10-records.ts';
export { type ReadOptions, readCifar10 } from './cifar10-read.ts';
export { type DownloadOptions, type DownloadResult, downloadFile, md5OfFile } from './download.ts';
export { PROJECT_NAME, defaultCacheDir } from './cache.ts';
export { type EnsureCifar10Options, ensureCifar10, loadCifar10, loadCifar10OrThrow } from './cifar10.ts';
export {
  type SyntheticCifar10, type SyntheticCifar10Options, makeCifar10Archive, makeSyntheticCifar10,
  makeSyntheticSplit, mulberry32, writeCifar10Folder,
} from './synthetic.ts';
