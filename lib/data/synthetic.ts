// Small synthetic CIFAR-10 in the exact official binary layout, for tests and
// for other modules that need data without the real download. Each class has
// its own colour and stripe pattern (plus noise), so a learner can separate
// the classes; everything is deterministic by seed.
import {
  BATCHES_FOLDER, CHANNEL_BYTES, CIFAR10_CLASS_NAMES, type CifarSplit, IMAGE_BYTES, IMAGE_SIDE,
  META_FILE, NUM_CLASSES, TEST_FILE, trainFileName,
} from './cifar10-types.ts';
import { concatSplits, encodeClassNames, encodeCifarRecords } from './cifar10-records.ts';
import { writeDatasetArchive, writeDatasetFolder } from './synthetic-files.ts';

export interface SyntheticCifar10Options {
  /** Records in data_batch_1.bin, data_batch_2.bin, ...; the list length is the number of batch files. */
  trainPerBatch: number[];
  /** Records in test_batch.bin. */
  test: number;
  seed: number;
  /** Noise amplitude in pixel levels (default 24). */
  noise?: number;
}

/** What the generator wrote, for comparison with what a reader returns. */
export interface SyntheticCifar10 {
  train: CifarSplit;
  test: CifarSplit;
  /** The training split of each batch file, in order. */
  trainBatches: CifarSplit[];
  classNames: string[];
  trainFiles: string[];
  /** File name -> exact bytes, in the order they are written. */
  files: Array<{ name: string; bytes: Uint8Array }>;
}

/** mulberry32: tiny, fast and good enough for test data. */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** FNV-1a, to give every file its own stream from one seed. */
const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/** Ten well-separated base colours, in label order. */
const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [220, 60, 60], [60, 200, 60], [60, 80, 220], [220, 200, 50], [200, 60, 200],
  [50, 200, 210], [240, 140, 40], [130, 70, 30], [150, 150, 150], [30, 30, 30],
];

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Write one CHW image of class `label` at `out[at..at+3072)`. */
const drawImage = (label: number, rng: () => number, noise: number, out: Uint8Array, at: number): void => {
  const base = PALETTE[label];
  // Even classes get horizontal stripes, odd ones vertical; the period also depends on the class.
  const vertical = label % 2 === 1;
  const period = 3 + (label >> 1);
  const phase = rng() * 2 * Math.PI;
  const brightness = 0.85 + 0.3 * rng();
  for (let y = 0; y < IMAGE_SIDE; y++) {
    for (let x = 0; x < IMAGE_SIDE; x++) {
      const t = vertical ? x : y;
      const stripe = 0.5 + 0.5 * Math.cos((2 * Math.PI * t) / period + phase);
      const shade = brightness * (0.55 + 0.45 * stripe);
      const p = y * IMAGE_SIDE + x;
      for (let c = 0; c < 3; c++) {
        out[at + c * CHANNEL_BYTES + p] = clampByte(base[c] * shade + (rng() * 2 - 1) * noise);
      }
    }
  }
};

/** A split with balanced labels (i mod 10, then shuffled) and class-dependent images. */
export const makeSyntheticSplit = (count: number, seed: number, noise = 24): CifarSplit => {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`record count must be a natural number, got ${count}`);
  const rng = mulberry32(seed);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % NUM_CLASSES;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = labels[i];
    labels[i] = labels[j];
    labels[j] = t;
  }
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < count; i++) drawImage(labels[i], rng, noise, images, i * IMAGE_BYTES);
  return { images, labels, count };
};

/** Generate everything in memory; the folder and archive writers use this. */
export const makeSyntheticCifar10 = (options: SyntheticCifar10Options): SyntheticCifar10 => {
  const noise = options.noise ?? 24;
  const trainFiles = options.trainPerBatch.map((_, i) => trainFileName(i + 1));
  const trainBatches = options.trainPerBatch.map((n, i) =>
    makeSyntheticSplit(n, (options.seed ^ hashString(trainFiles[i])) >>> 0, noise));
  const test = makeSyntheticSplit(options.test, (options.seed ^ hashString(TEST_FILE)) >>> 0, noise);
  const classNames = [...CIFAR10_CLASS_NAMES];
  const files = [
    { name: META_FILE, bytes: new TextEncoder().encode(encodeClassNames(classNames)) },
    ...trainBatches.map((b, i) => ({ name: trainFiles[i], bytes: encodeCifarRecords(b) })),
    { name: TEST_FILE, bytes: encodeCifarRecords(test) },
  ];
  return { train: concatSplits(trainBatches), test, trainBatches, classNames, trainFiles, files };
};

/**
 * Write `dir/cifar-10-batches-bin/` in the official layout. Returns what was
 * written plus `folder`, the cifar-10-batches-bin path.
 */
export const writeCifar10Folder = async (
  dir: string,
  options: SyntheticCifar10Options,
): Promise<SyntheticCifar10 & { folder: string }> => {
  const data = makeSyntheticCifar10(options);
  return { ...data, folder: await writeDatasetFolder(dir, BATCHES_FOLDER, data.files) };
};

/**
 * Write a .tar.gz holding cifar-10-batches-bin/ like the official archive.
 * Returns what was written plus the archive path and its md5 (for download tests).
 */
export const makeCifar10Archive = async (
  archivePath: string,
  options: SyntheticCifar10Options,
): Promise<SyntheticCifar10 & { archive: string; md5: string }> => {
  const data = makeSyntheticCifar10(options);
  return { ...data, archive: archivePath, md5: await writeDatasetArchive(archivePath, BATCHES_FOLDER, data.files) };
};
