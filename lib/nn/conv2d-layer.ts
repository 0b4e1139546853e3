// A 2-D convolution layer on NCHW input with square kernels; the bias (optional: a convolution
// followed by batch norm does not need one) starts at zero.
// Initialisation: by default PyTorch's (uniform in +-1/sqrt(fan-in), std 1/sqrt(3 fan-in)), the
// one the authors' code trained with. Before batch norm the weights' scale does not change the
// function, but it sets the effective learning rate (a step moves a weight by about lr / |w|
// relative to its size), so the paper's learning rate means what it meant there only at this
// scale; He normal (std sqrt(2 / fan-in), sqrt(6) times larger, so a sixth of the effective
// rate) keeps the activations' scale through ReLUs where no normalisation follows.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { conv2d } from '../primitives/conv2d.ts';
import { reshape } from '../primitives/reshape.ts';
import { normal, uniform } from '../random/distributions.ts';
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
  /** 'uniform-fan-in' (default, PyTorch's) or 'he-normal'. */
  readonly initialisation?: ConvolutionInitialisation;
}

export type ConvolutionInitialisation = 'uniform-fan-in' | 'he-normal';

export const conv2dLayer = ({
  inChannels, outChannels, kernelSize, stride = 1, padding = Math.floor(kernelSize / 2), bias = true, initialisation = 'uniform-fan-in',
}: Conv2dLayerOptions): Layer<Conv2dLayerParams, Images, Images> => ({
  init: (key) => {
    const fanIn = inChannels * kernelSize * kernelSize;
    const shape = [outChannels, inChannels, kernelSize, kernelSize] as const;
    const weight: Tensor<readonly [number, number, number, number]> =
      initialisation === 'he-normal' ? normal(key, shape, 0, Math.sqrt(2 / fanIn)) : uniform(key, shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    return bias ? { weight, bias: zerosConstant([outChannels]) } : { weight };
  },
  apply: ({ weight, bias }, x) => {
    const y = conv2d(x, weight, { stride, padding }) as Images;
    return bias === undefined ? y : (add(y, reshape(bias, [1, outChannels, 1, 1])) as Images);
  },
});
