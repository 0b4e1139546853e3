// The deterministic colour adjustments behind colorJitter, with torchvision's semantics: each
// blends the image with a reference, factor * image + (1 - factor) * reference, and clamps to
// [0, 1]. The reference is black for brightness, the image's mean luma for contrast, and its
// luma per pixel for saturation; a factor of 1 is the identity, 0 gives the reference. A factor
// is a number or a tensor of shape [N] (one per image).

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import type { Operand } from '../primitives/elementwise.ts';
import { mul } from '../primitives/mul.ts';
import { sub } from '../primitives/sub.ts';
import { clip } from '../composites/comparisons.ts';
import { mean } from '../composites/statistics.ts';
import { luma } from './grayscale.ts';
import { imageShape, type Images, perImage } from './images.ts';

/** factor * image + (1 - factor) * reference, clamped to [0, 1]. */
export const blend = <S extends Images>(images: S, reference: Operand, factor: Operand): S => {
  const [count] = imageShape('blend', images);
  const f = perImage('blend', factor, count);
  const rest = typeof f === 'number' ? 1 - f : sub(1, f);
  return clip(add(mul(images as Tensor, f), mul(reference as Tensor, rest)), 0, 1) as Tensor as S;
};

export const adjustBrightness = <S extends Images>(images: S, factor: Operand): S => {
  const [count] = imageShape('adjustBrightness', images);
  return clip(mul(images as Tensor, perImage('adjustBrightness', factor, count)), 0, 1) as Tensor as S;
};

export const adjustContrast = <S extends Images>(images: S, factor: Operand): S => {
  imageShape('adjustContrast', images, 3);
  return blend(images, mean(luma(images), [1, 2, 3], true), factor);
};

export const adjustSaturation = <S extends Images>(images: S, factor: Operand): S => {
  imageShape('adjustSaturation', images, 3);
  return blend(images, luma(images), factor);
};
