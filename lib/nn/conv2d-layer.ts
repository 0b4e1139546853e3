// A 2-D convolution layer on NCHW input with square kernels. He (Kaiming) normal
// initialisation, std sqrt(2 / fan-in), keeps the activations' scale through ReLUs; the bias
// (optional: a convolution followed by batch norm does not need one) starts at zero.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { conv2d } from '../primitives/conv2d.ts';
import { reshape } from '../primitives/reshape.ts';
import { normal } from '../random/distributions.ts';
import type { Layer } from './layer.ts';
import { zerosConstant } from './filled-constant.ts';

import type { Images } from '../tensor.ts';
export type { Images };

export type Conv2dLayerParams = { readonly weight: Tensor<readonly [number, number, number, number]>; readonly bias?: Tensor<readonly [number]> };

export interface Conv2dLayerOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  /** Default 1. */
  readonly stride?: number;
  /** Default floor(kernelSize / 2): "same" size for odd kernels at stride 1. */
  readonly padding?: number;
  /** Default true. */
  readonly bias?: boolean;
}

export const conv2dLayer = ({
  inChannels, outChannels, kernelSize, stride = 1, padding = Math.floor(kernelSize / 2), bias = true,
}: Conv2dLayerOptions): Layer<Conv2dLayerParams, Images, Images> => ({
  init: (key) => {
    const std = Math.sqrt(2 / (inChannels * kernelSize * kernelSize));
    const weight: Tensor<readonly [number, number, number, number]> = normal(key, [outChannels, inChannels, kernelSize, kernelSize], 0, std);
    return bias ? { weight, bias: zerosConstant([outChannels]) } : { weight };
  },
  apply: ({ weight, bias }, x) => {
    const y = conv2d(x, weight, { stride, padding }) as Images;
    return bias === undefined ? y : (add(y, reshape(bias, [1, outChannels, 1, 1])) as Images);
  },
});
