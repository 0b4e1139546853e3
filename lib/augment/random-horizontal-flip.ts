// Horizontal flip: the width axis reversed, chosen per image with probability p by a select.

import type { Tensor } from '../tensor.ts';
import { flip } from '../primitives/flip.ts';
import { select } from '../primitives/select.ts';
import { bernoulli } from '../random/distributions.ts';
import type { Key } from '../random/key.ts';
import { imageShape, type Images } from './images.ts';

export interface RandomHorizontalFlipOptions {
  /** The probability that an image is flipped. Default 0.5. */
  readonly p?: number;
}

export const horizontalFlip = <S extends Images>(images: S): S => flip(images as Tensor, 3) as Tensor as S;

export const randomHorizontalFlip = <S extends Images>(key: Key, images: S, { p = 0.5 }: RandomHorizontalFlipOptions = {}): S => {
  const [count] = imageShape('randomHorizontalFlip', images);
  return select(bernoulli(key, [count, 1, 1, 1], p), horizontalFlip(images), images) as Tensor as S;
};
