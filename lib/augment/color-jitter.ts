// ColorJitter with torchvision's semantics: per image, a brightness, contrast and saturation
// factor uniform in [max(0, 1 - s), 1 + s] and a hue shift uniform in [-h, h] turns, applied
// one after another, each clamped to [0, 1] (see color-adjustments.ts and hue.ts). An
// adjustment of strength 0 is left out, as torchvision leaves it out.
// Order: by default a random order per image, as torchvision's per-image transform gives: the
// order is the ranking of four uniforms per image, and stage k computes every adjustment and
// keeps, per image, the one ranked k. That costs four adjustments per stage instead of one;
// `order: 'fixed'` (brightness, contrast, saturation, hue) costs one.

import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { equal } from '../primitives/equal.ts';
import { less } from '../primitives/less.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { select } from '../primitives/select.ts';
import { slice } from '../primitives/slice.ts';
import { sum } from '../primitives/sum.ts';
import { uniform } from '../random/distributions.ts';
import { type Key, split } from '../random/key.ts';
import { adjustBrightness, adjustContrast, adjustSaturation } from './color-adjustments.ts';
import { adjustHue } from './hue.ts';
import { imageShape, type Images } from './images.ts';

export interface ColorJitterOptions {
  /** Brightness factors in [max(0, 1 - b), 1 + b]. Default 0.4. */
  readonly brightness?: number;
  /** Contrast factors in [max(0, 1 - c), 1 + c]. Default 0.4. */
  readonly contrast?: number;
  /** Saturation factors in [max(0, 1 - s), 1 + s]. Default 0.4. */
  readonly saturation?: number;
  /** Hue shifts in [-h, h] turns, h at most 1/2. Default 0.4. */
  readonly hue?: number;
  /** 'random' (default): a random order per image, as torchvision; 'fixed': brightness, contrast, saturation, hue. */
  readonly order?: 'random' | 'fixed';
}

type Adjustment = (images: Images) => Images;

/**
 * The rank of each of the k uniforms in its row, [N, k]: how many in the row are smaller (ties,
 * which have probability about 2^-24, go to the earlier column), so each row is a permutation.
 */
const ranks = (draws: Tensor, k: number): Tensor => {
  const count = draws.shape[0];
  const self = reshape(draws, [count, k, 1]);
  const other = reshape(draws, [count, 1, k]);
  const earlier = tensor(Array.from({ length: k * k }, (_, i) => (i % k < Math.floor(i / k) ? 1 : 0)), [k, k]);
  return sum(add(less(other, self), mul(equal(other, self), earlier)), 2);
};

export const colorJitter = (
  key: Key,
  images: Images,
  { brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.4, order = 'random' }: ColorJitterOptions = {},
): Images => {
  const [count] = imageShape('colorJitter', images, 3);
  for (const [name, strength] of Object.entries({ brightness, contrast, saturation, hue }))
    if (!(strength >= 0)) throw new RangeError(`colorJitter: ${name} ${strength} is not a non-negative strength`);
  if (hue > 0.5) throw new RangeError(`colorJitter: hue ${hue} is above 1/2 turn`);
  const [brightnessKey, contrastKey, saturationKey, hueKey, orderKey] = split(key, 5);
  const factor = (k: Key, strength: number) => uniform(k, [count], Math.max(0, 1 - strength), 1 + strength);
  // Each parameter is drawn once, outside the adjustments: a stage may apply any of them.
  const adjustments: Adjustment[] = [];
  if (brightness > 0) {
    const factors = factor(brightnessKey, brightness);
    adjustments.push((x) => adjustBrightness(x, factors));
  }
  if (contrast > 0) {
    const factors = factor(contrastKey, contrast);
    adjustments.push((x) => adjustContrast(x, factors));
  }
  if (saturation > 0) {
    const factors = factor(saturationKey, saturation);
    adjustments.push((x) => adjustSaturation(x, factors));
  }
  if (hue > 0) {
    const shifts = uniform(hueKey, [count], -hue, hue);
    adjustments.push((x) => adjustHue(x, shifts));
  }
  if (order === 'fixed' || adjustments.length <= 1) return adjustments.reduce((x, adjust) => adjust(x), images);
  const k = adjustments.length;
  const rank = ranks(uniform(orderKey, [count, k]), k);
  const rankOf = (j: number) => reshape(slice(rank, [undefined, { start: j, stop: j + 1 }]), [count, 1, 1, 1]);
  let x = images;
  for (let stage = 0; stage < k; stage++) {
    const input = x;
    x = adjustments.reduce<Tensor>((chosen, adjust, j) => select(equal(rankOf(j), stage), adjust(input), chosen), input) as Images;
  }
  return x;
};
