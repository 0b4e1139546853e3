// The training augmentation of Ye et al. (CVPR 2019) on CIFAR-10, as in the authors' code:
// RandomResizedCrop(32, scale=(0.2, 1)), ColorJitter(0.4, 0.4, 0.4, 0.4), RandomGrayscale(0.2),
// RandomHorizontalFlip, then normalisation with the CIFAR-10 statistics: every part of
// trainAugmentation switched on.

import type { Augmentation } from './compose.ts';
import { trainAugmentation } from './train-augmentation.ts';

export const cifarTrainAugmentation: Augmentation = trainAugmentation();
