// The training augmentation of Ye et al. (CVPR 2019) on CIFAR-10, as in the authors' code:
// RandomResizedCrop(32, scale=(0.2, 1)), ColorJitter(0.4, 0.4, 0.4, 0.4), RandomGrayscale(0.2),
// RandomHorizontalFlip, then normalisation with the CIFAR-10 statistics.

import { colorJitter } from './color-jitter.ts';
import { type Augmentation, compose } from './compose.ts';
import { randomGrayscale } from './grayscale.ts';
import { normalize } from './normalize.ts';
import { randomHorizontalFlip } from './random-horizontal-flip.ts';
import { randomResizedCrop } from './random-resized-crop.ts';

export const cifarTrainAugmentation: Augmentation = compose(
  (key, images) => randomResizedCrop(key, images, { size: 32, scale: [0.2, 1] }),
  (key, images) => colorJitter(key, images, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 }),
  (key, images) => randomGrayscale(key, images, { p: 0.2 }),
  (key, images) => randomHorizontalFlip(key, images, { p: 0.5 }),
  (_key, images) => normalize(images),
);
