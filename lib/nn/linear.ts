// A fully connected layer: y = x W + b, with W stored [in, out] so no transpose is needed.
// Initialised as PyTorch's nn.Linear weight, uniform in +-1/sqrt(in); the bias starts at zero.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { matmul } from '../primitives/matmul.ts';
import { uniform } from '../random/distributions.ts';
import type { Layer } from './layer.ts';
import { zerosConstant } from './filled-constant.ts';

export type LinearParams = { readonly weight: Tensor<readonly [number, number]>; readonly bias?: Tensor<readonly [number]> };

export interface LinearOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Default true. */
  readonly bias?: boolean;
}

export const linearLayer = ({ inFeatures, outFeatures, bias = true }: LinearOptions): Layer<LinearParams, Tensor<readonly [number, number]>, Tensor<readonly [number, number]>> => ({
  init: (key) => {
    const bound = 1 / Math.sqrt(inFeatures);
    const weight: Tensor<readonly [number, number]> = uniform(key, [inFeatures, outFeatures], -bound, bound);
    return bias ? { weight, bias: zerosConstant([outFeatures]) } : { weight };
  },
  apply: ({ weight, bias }, x) => {
    const product = matmul(x, weight) as Tensor<readonly [number, number]>;
    return bias === undefined ? product : (add(product, bias) as Tensor<readonly [number, number]>);
  },
});
