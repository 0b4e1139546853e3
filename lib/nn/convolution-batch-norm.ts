// A convolution without bias followed by batch norm, the unit both encoders are made of (the
// batch norm subtracts any constant per channel, so a bias would be wasted).

import type { Key } from '../random/key.ts';
import { batchNormLayer, type BatchNormOptions, type BatchNormParams, type BatchNormState } from './batch-norm.ts';
import { conv2dLayer, type Conv2dLayerParams, type Images } from './conv2d-layer.ts';
import type { StatefulLayer } from './layer.ts';

export type ConvolutionBatchNormParams = { readonly convolution: Conv2dLayerParams; readonly batchNorm: BatchNormParams };

export interface ConvolutionBatchNormOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  /** Default 1. */
  readonly stride?: number;
  readonly batchNorm?: BatchNormOptions;
}

export const convolutionBatchNorm = ({
  inChannels, outChannels, kernelSize, stride = 1, batchNorm = {},
}: ConvolutionBatchNormOptions): StatefulLayer<ConvolutionBatchNormParams, BatchNormState, Images, Images> => {
  const convolution = conv2dLayer({ inChannels, outChannels, kernelSize, stride, bias: false });
  const normalisation = batchNormLayer<Images>(outChannels, batchNorm);
  return {
    init: (key: Key) => {
      const { params, state } = normalisation.init(key);
      return { params: { convolution: convolution.init(key), batchNorm: params }, state };
    },
    apply: (params, state, x, mode) => normalisation.apply(params.batchNorm, state, convolution.apply(params.convolution, x), mode),
  };
};
