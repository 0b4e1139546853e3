// Pure byte-level parsing and encoding of CIFAR-10 .bin files and the class
// name list. No I/O here so that it can be property-tested directly.
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, dataError } from './errors.ts';
import {
  type CifarSplit, IMAGE_BYTES, NUM_CLASSES, RECORD_BYTES,
} from './cifar10-types.ts';

export const emptySplit = (): CifarSplit => ({ images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 });

/**
 * Split a .bin file into labels and images. `name` is the short file name
 * that starts every message; `file` (default `name`) is the full location
 * recorded in the error.
 */
export const parseCifarRecords = (
  name: string,
  bytes: Uint8Array,
  file: string = name,
): E.Either<DataError, CifarSplit> => {
  const count = Math.floor(bytes.length / RECORD_BYTES);
  const leftover = bytes.length - count * RECORD_BYTES;
  if (leftover !== 0) {
    const offset = count * RECORD_BYTES;
    return E.left(dataError('bad-size', file,
      `${name}: size ${bytes.length} bytes is not a multiple of the ${RECORD_BYTES}-byte record ` +
      `(1 label byte + ${IMAGE_BYTES} pixels); ${leftover} bytes left over at offset ${offset}, ` +
      `after ${count} whole record${count === 1 ? '' : 's'}`, offset));
  }
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let r = 0; r < count; r++) {
    const offset = r * RECORD_BYTES;
    const label = bytes[offset];
    if (label >= NUM_CLASSES) {
      return E.left(dataError('bad-label', file,
        `${name}: label byte ${label} at offset ${offset} (record ${r}) is above ${NUM_CLASSES - 1}`, offset));
    }
    labels[r] = label;
    images.set(bytes.subarray(offset + 1, offset + RECORD_BYTES), r * IMAGE_BYTES);
  }
  return E.right({ images, labels, count });
};

/** The inverse of parseCifarRecords: interleave labels and pixels into records. */
export const encodeCifarRecords = (split: CifarSplit): Uint8Array => {
  const out = new Uint8Array(split.count * RECORD_BYTES);
  for (let r = 0; r < split.count; r++) {
    out[r * RECORD_BYTES] = split.labels[r];
    out.set(split.images.subarray(r * IMAGE_BYTES, (r + 1) * IMAGE_BYTES), r * RECORD_BYTES + 1);
  }
  return out;
};

/** Join splits in order (training batches become one training split). */
export const concatSplits = (splits: readonly CifarSplit[]): CifarSplit => {
  const count = splits.reduce((n, s) => n + s.count, 0);
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of splits) {
    images.set(s.images, at * IMAGE_BYTES);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { images, labels, count };
};

/**
 * batches.meta.txt: one class name per line; the official file ends with
 * blank lines, so blank lines are dropped. Exactly ten names are expected.
 */
export const parseClassNames = (name: string, text: string, file: string = name): E.Either<DataError, string[]> => {
  const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  return names.length === NUM_CLASSES
    ? E.right(names)
    : E.left(dataError('bad-meta', file,
      `${name}: expected ${NUM_CLASSES} class names, one per line, found ${names.length}` +
      (names.length > 0 ? ` (${names.join(', ')})` : '')));
};

/** The official file's format: names one per line, then a blank line. */
export const encodeClassNames = (names: readonly string[]): string => `${names.join('\n')}\n\n`;
