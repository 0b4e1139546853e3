// Public surface of the data layer: CIFAR-10 and STL-10.
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
export { type EnsureDatasetOptions } from './ensure-dataset.ts';
export {
  type Stl10, type Stl10Split, type UnlabeledImages, STL10_CHANNEL_BYTES, STL10_CLASS_NAMES, STL10_FILES, STL10_FOLDER, STL10_IMAGE_BYTES,
  STL10_MD5, STL10_SIDE, STL10_URL, describeStl10,
} from './stl10-types.ts';
export { encodeStl10Images, encodeStl10Labels, parseStl10Images, parseStl10Labels } from './stl10-records.ts';
export { type ReadStl10Options, readStl10 } from './stl10-read.ts';
export { type EnsureStl10Options, ensureStl10, loadStl10OrThrow } from './stl10.ts';
export { type SyntheticStl10, type SyntheticStl10Options, makeStl10Archive, makeSyntheticStl10, writeStl10Folder } from './stl10-synthetic.ts';
