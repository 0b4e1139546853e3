// Composing augmentations, and the two views per image that the embedding objectives train on.
// Randomness flows by splitting keys: each augmentation in a composition, and each view, gets a
// key of its own, so the same key always gives the same batch.

import type { Tensor } from '../tensor.ts';
import { concat } from '../primitives/concat.ts';
import { type Key, split } from '../random/key.ts';
import type { Images } from './images.ts';

/** A pure function of a key and a batch of images. */
export type Augmentation = (key: Key, images: Images) => Images;

/** Applies the augmentations in order, the key split once per augmentation. */
export const compose =
  (...augmentations: readonly Augmentation[]): Augmentation =>
  (key, images) => {
    if (augmentations.length === 0) return images;
    const keys = split(key, augmentations.length);
    return augmentations.reduce((x, augment, i) => augment(keys[i], x), images);
  };

/** Two augmented views of each image as one [2N, C, H, W] batch: all first views, then all second views. */
export const twoViews = (key: Key, images: Images, augmentation: Augmentation): Images => {
  const [first, second] = split(key, 2);
  return concat([augmentation(first, images) as Tensor, augmentation(second, images) as Tensor], 0) as Images;
};
