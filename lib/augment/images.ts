// A batch of images: NCHW, values in [0, 1]. Every augmentation takes and returns one, and
// checks its rank (and, for colour, its channels) at trace time with its own name.

import { formatShape, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import type { Operand } from '../primitives/elementwise.ts';
import { reshape } from '../primitives/reshape.ts';
import { slice } from '../primitives/slice.ts';

import type { Images } from '../tensor.ts';
export type { Images };

/** The images' [N, C, H, W], or a ShapeError naming the augmentation. */
export const imageShape = (name: string, images: Tensor, channels?: number): readonly [number, number, number, number] => {
  const shape = images.shape;
  if (shape.length !== 4) throw new ShapeError(`${name}: images must be [N, C, H, W], got ${formatShape(shape)}`);
  if (channels !== undefined && shape[1] !== channels)
    throw new ShapeError(`${name}: images must have ${channels} channels, got ${formatShape(shape)}`);
  return shape as unknown as readonly [number, number, number, number];
};

/**
 * A per-image parameter as an operand that broadcasts over [N, C, H, W]: a number as it is,
 * a tensor of shape [N] reshaped to [N, 1, 1, 1].
 */
export const perImage = (name: string, parameter: Operand, count: number): Operand => {
  if (typeof parameter === 'number') return parameter;
  if (parameter.rank !== 1 || parameter.shape[0] !== count)
    throw new ShapeError(`${name}: a per-image parameter must be a number or have shape [${count}], got ${formatShape(parameter.shape)}`);
  return reshape(parameter, [count, 1, 1, 1]);
};

/** One channel of the images, kept as an axis of size 1: [N, 1, H, W]. */
export const channel = (images: Tensor, index: number): Tensor =>
  slice(images, [undefined, { start: index, stop: index + 1 }]);
