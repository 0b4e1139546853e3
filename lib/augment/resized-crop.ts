// Crop each image to its own box and resize the crop to size x size by bilinear sampling, as
// torch's interpolate(mode='bilinear', align_corners=False, antialias=False) does on the crop:
// output pixel centre x + 1/2 maps to the box coordinate (x + 1/2) * (box width / size) - 1/2,
// clamped to [0, box width - 1], so the edges repeat the box's own border pixels (the crop never
// reads outside its box). Downscaling is not antialiased (torchvision's tensor path now is by
// default, PIL always was); for CIFAR's 32 -> 32 resizes of crops of 14 pixels or more that
// mostly upsamples anyway.
// Sampling in the language: the four neighbours' flat positions in the batch, blended by the
// fractions. The positions index the batch as it lies, [N * C * H * W], so the native kernel
// reads each neighbour at its position directly; through a [C, N * H * W] view (one index per
// pixel for every channel) it took each position apart into image, row and column to find it
// in the transposed layout, and the result was transposed back. Positions are floats, exact up
// to 2^24: a batch with more elements than that takes the per-channel view, whose positions go
// up to N * H * W only.

import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { floor } from '../primitives/floor.ts';
import { gather } from '../primitives/gather.ts';
import { maximum } from '../primitives/maximum.ts';
import { minimum } from '../primitives/minimum.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { sub } from '../primitives/sub.ts';
import { transpose } from '../primitives/transpose.ts';
import type { CropBoxes } from './crop-boxes.ts';
import { imageShape, type Images } from './images.ts';

/** For one axis: each output pixel's two source neighbours (floor and the next, in image coordinates) and the second one's weight, all [N, size]. */
const sourceCoordinates = (start: Tensor, length: Tensor, size: number, count: number) => {
  const boxStart = reshape(start, [count, 1]);
  const boxLength = reshape(length, [count, 1]);
  const centres = reshape(add(arange(size), 0.5), [1, size]);
  const coordinate = minimum(maximum(sub(mul(centres, div(boxLength, size)), 0.5), 0), sub(boxLength, 1));
  const first = floor(coordinate);
  const second = minimum(add(first, 1), sub(boxLength, 1));
  return { first: add(first, boxStart), second: add(second, boxStart), weight: sub(coordinate, first) };
};

const lerp = (a: Tensor, b: Tensor, t: Tensor): Tensor => add(a, mul(sub(b, a), t));

/**
 * The positions' layout: 'batch' indexes [N * C * H * W], 'channels' a [C, N * H * W] view. Both
 * give the same values; resizedCrop takes 'batch' where its positions are exact floats.
 */
export type CropLayout = 'batch' | 'channels';

export const resizedCrop = (images: Images, boxes: CropBoxes, size: number): Images => {
  const elements = images.shape.reduce((a, b) => a * b, 1);
  return resizedCropIn(elements <= 2 ** 24 ? 'batch' : 'channels', images, boxes, size);
};

export const resizedCropIn = (layout: CropLayout, images: Images, boxes: CropBoxes, size: number): Images => {
  const [count, channels, height, width] = imageShape('resizedCrop', images);
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`resizedCrop: size ${size} is not a positive integer`);
  const rows = sourceCoordinates(boxes.top, boxes.height, size, count);
  const columns = sourceCoordinates(boxes.left, boxes.width, size, count);
  const rowWeight = reshape(rows.weight, [count, 1, size, 1]);
  const columnWeight = reshape(columns.weight, [count, 1, 1, size]);
  const sample = (read: (row: Tensor, column: Tensor) => Tensor, along: (weight: Tensor) => Tensor): Tensor => {
    const firstRow = lerp(read(rows.first, columns.first), read(rows.first, columns.second), along(columnWeight));
    const secondRow = lerp(read(rows.second, columns.first), read(rows.second, columns.second), along(columnWeight));
    return lerp(firstRow, secondRow, along(rowWeight));
  };
  const column = (c: Tensor) => reshape(c, [count, 1, 1, size]);
  if (layout === 'batch') {
    // Flat position n C H W + c H W + row W + column, as [N, 1, size, 1] + [1, C, 1, 1] + [N, 1, 1, size].
    const imageOffset = reshape(mul(arange(count), channels * height * width), [count, 1]);
    const channelOffset = reshape(mul(arange(channels), height * width), [1, channels, 1, 1]);
    const rowStart = (row: Tensor) => add(reshape(add(mul(row, width), imageOffset), [count, 1, size, 1]), channelOffset);
    const flat = reshape(images as Tensor, [count * channels * height * width]);
    return sample((row, c) => gather(flat, add(rowStart(row), column(c)), 0), (weight) => weight) as Images; // [N, C, size, size]
  }
  // Flat position n H W + row W + column, as [N, size, 1] + [N, 1, size] -> [N, size, size].
  const imageOffset = reshape(mul(arange(count), height * width), [count, 1]);
  const rowStart = (row: Tensor) => reshape(add(mul(row, width), imageOffset), [count, 1, size, 1]);
  const flat = reshape(transpose(images as Tensor, [1, 0, 2, 3]), [channels, count * height * width]);
  const read = (row: Tensor, c: Tensor) => gather(flat, reshape(add(rowStart(row), column(c)), [count, size, size]), 1); // [C, N, size, size]
  const channelsFirst = (weight: Tensor) => reshape(weight, [1, count, ...weight.shape.slice(2)]);
  return transpose(sample(read, channelsFirst), [1, 0, 2, 3]) as Tensor as Images;
};
