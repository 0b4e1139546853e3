// The encoder a run trains, from its options.

import type { TensorTree } from '../tree.ts';
import type { Encoder } from '../nn/encoder.ts';
import { resnet18Cifar } from '../nn/resnet18-cifar.ts';
import { smallCifarEncoder } from '../nn/small-cifar-encoder.ts';
import type { TrainOptions } from './options.ts';

export const encoderFor = ({ encoder, widths, featureDimension }: Pick<TrainOptions, 'encoder' | 'widths' | 'featureDimension'>): Encoder<TensorTree, TensorTree> => {
  switch (encoder) {
    case 'small':
      return smallCifarEncoder({ widths, featureDimension }) as unknown as Encoder<TensorTree, TensorTree>;
    case 'resnet18':
      if (widths !== undefined && widths.length !== 4) throw new RangeError(`--widths: resnet18 has 4 stages, got ${widths.length} widths (${widths.join(',')})`);
      return resnet18Cifar({ widths, featureDimension }) as unknown as Encoder<TensorTree, TensorTree>;
  }
};

/** One line naming the encoder, for the run's output and the pictures' titles. */
export const describeEncoder = ({ encoder, widths, featureDimension }: Pick<TrainOptions, 'encoder' | 'widths' | 'featureDimension'>): string =>
  `${encoder === 'small' ? 'small CIFAR encoder' : 'CIFAR ResNet18 encoder'}` +
  `${widths === undefined ? '' : ` widths ${widths.join(',')}`}, ${featureDimension}-d features`;

/**
 * The smallest height and width the encoder takes. The small encoder's stages each end in a 2x2
 * max pool without padding, which needs at least 2x2: k stages need 2^k. ResNet18's strided 3x3
 * convolutions are padded, so any size reaches its global pool.
 */
export const smallestImageSize = ({ encoder, widths }: Pick<TrainOptions, 'encoder' | 'widths'>): number =>
  encoder === 'small' ? 2 ** (widths ?? [32, 64, 128]).length : 1;
