// RandomResizedCrop: a random box per image (see crop-boxes.ts for how it is drawn, the
// fallback included) resampled bilinearly to size x size (see resized-crop.ts for the pixel
// convention).

import type { Key } from '../random/key.ts';
import { type CropBoxOptions, sampleCropBoxes } from './crop-boxes.ts';
import { imageShape, type Images } from './images.ts';
import { resizedCrop } from './resized-crop.ts';

export interface RandomResizedCropOptions extends CropBoxOptions {
  /** The output's height and width. Default 32. */
  readonly size?: number;
}

export const randomResizedCrop = (key: Key, images: Images, { size = 32, ...boxOptions }: RandomResizedCropOptions = {}): Images => {
  const [count, , height, width] = imageShape('randomResizedCrop', images);
  return resizedCrop(images, sampleCropBoxes(key, count, height, width, boxOptions), size);
};
