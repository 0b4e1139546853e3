// Pooling for the encoders. Max pooling is the pool2d primitive; global average pooling is a
// mean over the spatial axes, [N, C, H, W] -> [N, C].

import type { Tensor } from '../tensor.ts';
import { mean } from '../composites/statistics.ts';
import { maxPool2d } from '../primitives/pool2d.ts';

/** Non-overlapping max pooling with a square window (2 halves each side). */
export const maxPool = (x: Tensor<readonly [number, number, number, number]>, window = 2): Tensor<readonly [number, number, number, number]> =>
  maxPool2d(x, { window });

export const globalAveragePool = (x: Tensor<readonly [number, number, number, number]>): Tensor<readonly [number, number]> =>
  mean(x, [2, 3]) as Tensor<readonly [number, number]>;
