// Grayscale: the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B (PIL's "L" conversion; torchvision's
// tensor path rounds the red weight to 0.2989). The weights sum to just under 1 in float64, so
// the luma of images in [0, 1] stays in [0, 1] exactly.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { broadcastTo } from '../primitives/broadcast-to.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { bernoulli } from '../random/distributions.ts';
import type { Key } from '../random/key.ts';
import { channel, imageShape, type Images } from './images.ts';

export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;

/** The luma of RGB images: [N, 3, H, W] -> [N, 1, H, W]. */
export const luma = (images: Images): Tensor => {
  imageShape('luma', images, 3);
  const [red, green, blue] = LUMA_WEIGHTS.map((weight, c) => mul(channel(images, c), weight));
  return add(add(red, green), blue);
};

/** The luma repeated in all three channels. */
export const grayscale = <S extends Images>(images: S): S => broadcastTo(luma(images), images.shape) as Tensor as S;

export interface RandomGrayscaleOptions {
  /** The probability that an image turns gray. Default 0.2. */
  readonly p?: number;
}

/** Per image, with probability p, its grayscale; otherwise the image unchanged. */
export const randomGrayscale = <S extends Images>(key: Key, images: S, { p = 0.2 }: RandomGrayscaleOptions = {}): S => {
  const [count] = imageShape('randomGrayscale', images, 3);
  return select(bernoulli(key, [count, 1, 1, 1], p), grayscale(images), images) as Tensor as S;
};
