// Crop each image to its own box and resize the crop to size x size by bilinear sampling, as
// torch's interpolate(mode='bilinear', align_corners=False, antialias=False) does on the crop:
// output pixel centre x + 1/2 maps to the box coordinate (x + 1/2) * (box width / size) - 1/2,
// clamped to [0, box width - 1], so the edges repeat the box's own border pixels (the crop never
// reads outside its box). Downscaling is not antialiased (torchvision's tensor path now is by
// default, PIL always was); for CIFAR's 32 -> 32 resizes of crops of 14 pixels or more that
// mostly upsamples anyway.
// Sampling in the language: the four neighbours' flat positions in a [C, N * H * W] view of the
// batch (one gather reads the same positions for every channel), blended by the fractions.

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

export const resizedCrop = (images: Images, boxes: CropBoxes, size: number): Images => {
  const [count, channels, height, width] = imageShape('resizedCrop', images);
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`resizedCrop: size ${size} is not a positive integer`);
  const rows = sourceCoordinates(boxes.top, boxes.height, size, count);
  const columns = sourceCoordinates(boxes.left, boxes.width, size, count);
  // Flat position n H W + row W + column, as [N, size, 1] + [N, 1, size] -> [N, size, size].
  const imageOffset = reshape(mul(arange(count), height * width), [count, 1]);
  const rowStart = (row: Tensor) => reshape(add(mul(row, width), imageOffset), [count, size, 1]);
  const column = (c: Tensor) => reshape(c, [count, 1, size]);
  const flat = reshape(transpose(images as Tensor, [1, 0, 2, 3]), [channels, count * height * width]);
  const read = (row: Tensor, c: Tensor) => gather(flat, add(rowStart(row), column(c)), 1); // [C, N, size, size]
  const rowWeight = reshape(rows.weight, [1, count, size, 1]);
  const columnWeight = reshape(columns.weight, [1, count, 1, size]);
  const firstRow = lerp(read(rows.first, columns.first), read(rows.first, columns.second), columnWeight);
  const secondRow = lerp(read(rows.second, columns.first), read(rows.second, columns.second), columnWeight);
  return transpose(lerp(firstRow, secondRow, rowWeight), [1, 0, 2, 3]) as Tensor as Images;
};
