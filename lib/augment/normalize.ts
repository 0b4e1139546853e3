// Per-channel standardisation, (x - mean) / std, with the CIFAR-10 training set's statistics
// by default, and its inverse (to look at normalised images, or to test the round trip).

import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { mul } from '../primitives/mul.ts';
import { sub } from '../primitives/sub.ts';
import { ShapeError } from '../shape.ts';
import { imageShape, type Images } from './images.ts';

/** The per-channel mean and standard deviation of the CIFAR-10 training images (RGB, in [0, 1]). */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;

export interface NormalizeOptions {
  /** One value per channel. Default CIFAR10_MEAN. */
  readonly mean?: readonly number[];
  /** One value per channel. Default CIFAR10_STD. */
  readonly std?: readonly number[];
}

/** The statistics as [1, C, 1, 1] constants that broadcast over the batch. */
const statistics = (name: string, images: Images, { mean = CIFAR10_MEAN, std = CIFAR10_STD }: NormalizeOptions) => {
  const [, channels] = imageShape(name, images);
  if (mean.length !== channels || std.length !== channels)
    throw new ShapeError(`${name}: ${mean.length} means and ${std.length} standard deviations for ${channels} channels`);
  return { mean: tensor(mean, [1, channels, 1, 1]), std: tensor(std, [1, channels, 1, 1]) };
};

export const normalize = <S extends Images>(images: S, options: NormalizeOptions = {}): S => {
  const { mean, std } = statistics('normalize', images, options);
  return div(sub(images as Tensor, mean), std) as Tensor as S;
};

/** The inverse of `normalize` with the same options: x * std + mean. */
export const denormalize = <S extends Images>(images: S, options: NormalizeOptions = {}): S => {
  const { mean, std } = statistics('denormalize', images, options);
  return add(mul(images as Tensor, std), mean) as Tensor as S;
};
