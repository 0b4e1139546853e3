// The training augmentation of Ye et al. (CVPR 2019) with each part switchable, for the paper's
// ablations: RandomResizedCrop(size, scale=(0.2, 1)), ColorJitter(0.4, 0.4, 0.4, 0.4),
// RandomGrayscale(0.2), RandomHorizontalFlip, then normalisation. The parts always run in that
// order, whatever order they are named in, and each keeps its own slot of the split key, so
// dropping one leaves the others' draws as they were and all four are cifarTrainAugmentation.

import * as E from 'fp-ts/lib/Either.js';
import { fill } from '../constants.ts';
import { type Key, split } from '../random/key.ts';
import { colorJitter } from './color-jitter.ts';
import type { Augmentation } from './compose.ts';
import { randomGrayscale } from './grayscale.ts';
import { imageShape, type Images } from './images.ts';
import { normalize, type NormalizeOptions } from './normalize.ts';
import { randomHorizontalFlip } from './random-horizontal-flip.ts';
import { randomResizedCrop } from './random-resized-crop.ts';
import { resizedCrop } from './resized-crop.ts';

/** The switchable parts, in the order they run. */
export const augmentationNames = ['crop', 'jitter', 'gray', 'flip'] as const;
export type AugmentationName = (typeof augmentationNames)[number];

export interface TrainAugmentationOptions {
  /** The parts that run; default all four. */
  readonly augmentations?: readonly AugmentationName[];
  /** The views' height and width (32). Without the crop an image of another size is resized whole. */
  readonly size?: number;
  /** The statistics to normalise by; default CIFAR-10's. */
  readonly normalize?: NormalizeOptions;
}

/** The whole image, resized when its size is not `size`: the views without the crop, and the evaluation's input at another size. */
export const wholeImage = (images: Images, size: number): Images => {
  const [count, , height, width] = imageShape('trainAugmentation', images);
  if (height === size && width === size) return images;
  return resizedCrop(images, { top: fill([count], 0), left: fill([count], 0), height: fill([count], height), width: fill([count], width) }, size);
};

const parts: Record<AugmentationName, (key: Key, images: Images, size: number) => Images> = {
  crop: (key, images, size) => randomResizedCrop(key, images, { size, scale: [0.2, 1] }),
  jitter: (key, images) => colorJitter(key, images, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 }),
  gray: (key, images) => randomGrayscale(key, images, { p: 0.2 }),
  flip: (key, images) => randomHorizontalFlip(key, images, { p: 0.5 }),
};

export const trainAugmentation = ({
  augmentations = augmentationNames, size = 32, normalize: statistics = {},
}: TrainAugmentationOptions = {}): Augmentation => {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`trainAugmentation: size ${size} is not a positive integer`);
  for (const name of augmentations)
    if (!augmentationNames.includes(name)) throw new RangeError(`trainAugmentation: unknown augmentation "${name}"; choose from ${augmentationNames.join(', ')}`);
  return (key, images) => {
    // One slot per part and one for the normalisation, as compose would split for all five.
    const keys = split(key, augmentationNames.length + 1);
    const cropped = augmentations.includes('crop') ? images : wholeImage(images, size);
    const augmented = augmentationNames.reduce(
      (x, name, i) => (augmentations.includes(name) ? parts[name](keys[i], x, size) : x),
      cropped,
    );
    return normalize(augmented, statistics);
  };
};

/**
 * The parts named in a comma list ("crop,jitter,gray,flip", any subset in any order; "none" for
 * no part), or a sentence saying which word is wrong.
 */
export const parseAugmentations = (text: string): E.Either<string, AugmentationName[]> => {
  const words = text.split(',').map((word) => word.trim());
  if (words.length === 1 && words[0] === 'none') return E.right([]);
  for (const word of words) {
    if (!(augmentationNames as readonly string[]).includes(word))
      return E.left(`augmentations "${text}": "${word}" is not one of ${augmentationNames.join(', ')} (or "none" alone)`);
    if (words.indexOf(word) !== words.lastIndexOf(word)) return E.left(`augmentations "${text}": "${word}" is named twice`);
  }
  return E.right(augmentationNames.filter((name) => words.includes(name)));
};
