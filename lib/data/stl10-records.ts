// Pure byte-level parsing and encoding of STL-10's .bin files. No I/O here, so that it can be
// property-tested directly. An image file is a whole number of 27648-byte images, each three
// 96x96 channels stored column-major: byte (channel c, row r, column x) sits at
// c * 9216 + x * 96 + r. A label file is one byte per image, 1 to 10.
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, dataError } from './errors.ts';
import { STL10_CHANNEL_BYTES, STL10_CLASSES, STL10_IMAGE_BYTES, STL10_SIDE, type UnlabeledImages } from './stl10-types.ts';

/** Transposes every channel of `count` images between column-major (the file's) and row-major (CHW). */
const transposeChannels = (from: Uint8Array, count: number): Uint8Array => {
  const out = new Uint8Array(count * STL10_IMAGE_BYTES);
  for (let plane = 0; plane < 3 * count; plane++) {
    const at = plane * STL10_CHANNEL_BYTES;
    for (let a = 0; a < STL10_SIDE; a++)
      for (let b = 0; b < STL10_SIDE; b++) out[at + b * STL10_SIDE + a] = from[at + a * STL10_SIDE + b];
  }
  return out;
};

/**
 * The images of an image file, CHW row-major. `bytes` may be a prefix of the file (the first
 * images of the 2.8 GB unlabeled file); `size` is the whole file's, checked for whole images.
 * `name` starts every message; `file` (default `name`) is the full location in the error.
 */
export const parseStl10Images = (name: string, bytes: Uint8Array, size: number = bytes.length, file: string = name): E.Either<DataError, UnlabeledImages> => {
  const whole = Math.floor(size / STL10_IMAGE_BYTES);
  const leftover = size - whole * STL10_IMAGE_BYTES;
  if (leftover !== 0) {
    const offset = whole * STL10_IMAGE_BYTES;
    return E.left(dataError('bad-size', file,
      `${name}: size ${size} bytes is not a multiple of the ${STL10_IMAGE_BYTES}-byte image (3 channels of ${STL10_SIDE}x${STL10_SIDE}); ` +
      `${leftover} bytes left over at offset ${offset}, after ${whole} whole image${whole === 1 ? '' : 's'}`, offset));
  }
  const count = Math.floor(bytes.length / STL10_IMAGE_BYTES);
  return E.right({ images: transposeChannels(bytes, count), count });
};

/** The labels of a label file as 0..9 (the file's 1..10 less one); the first byte outside 1..10 is an error with its offset. */
export const parseStl10Labels = (name: string, bytes: Uint8Array, file: string = name): E.Either<DataError, Uint8Array> => {
  const labels = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] < 1 || bytes[i] > STL10_CLASSES)
      return E.left(dataError('bad-label', file, `${name}: label byte ${bytes[i]} at offset ${i} (image ${i}) is not a class in 1..${STL10_CLASSES}`, i));
    labels[i] = bytes[i] - 1;
  }
  return E.right(labels);
};

/** The inverse of parseStl10Images: CHW row-major images to the file's column-major channels. */
export const encodeStl10Images = (images: Uint8Array, count: number): Uint8Array => transposeChannels(images, count);

/** The inverse of parseStl10Labels: labels 0..9 to bytes 1..10. */
export const encodeStl10Labels = (labels: Uint8Array): Uint8Array => labels.map((label) => label + 1);
