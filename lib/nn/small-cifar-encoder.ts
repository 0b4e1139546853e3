// The small CIFAR encoder: three stages of conv3x3-BN-maxpool2-ReLU (3 -> 32 -> 64 -> 128
// channels), global average pooling, a linear layer to the feature dimension (128) and L2
// normalisation: [N, 3, 32, 32] -> [N, 128], about 21 MFLOP per image. Small enough to train
// on a CPU, deep enough to learn something from CIFAR-10.

import type { Tensor } from '../tensor.ts';
import { relu } from '../composites/activations.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { split } from '../random/key.ts';
import type { BatchNormState } from './batch-norm.ts';
import type { Images } from './conv2d-layer.ts';
import { convolutionBatchNorm, type ConvolutionBatchNormParams } from './convolution-batch-norm.ts';
import type { Encoder } from './encoder.ts';
import type { Mode } from './layer.ts';
import { linearLayer, type LinearParams } from './linear.ts';
import { globalAveragePool, maxPool } from './pooling.ts';

export type SmallCifarEncoderParams = { readonly stages: readonly ConvolutionBatchNormParams[]; readonly projection: LinearParams };
export type SmallCifarEncoderState = { readonly stages: readonly BatchNormState[] };

export interface SmallCifarEncoderOptions {
  /** Channels of the stages. Default [32, 64, 128]. */
  readonly widths?: readonly number[];
  /** Default 128. */
  readonly featureDimension?: number;
  /** Default 3 (RGB). */
  readonly inChannels?: number;
}

export const smallCifarEncoder = ({
  widths = [32, 64, 128], featureDimension = 128, inChannels = 3,
}: SmallCifarEncoderOptions = {}): Encoder<SmallCifarEncoderParams, SmallCifarEncoderState> => {
  const stages = widths.map((width, i) =>
    convolutionBatchNorm({ inChannels: i === 0 ? inChannels : widths[i - 1], outChannels: width, kernelSize: 3 }),
  );
  const projection = linearLayer({ inFeatures: widths[widths.length - 1], outFeatures: featureDimension });
  return {
    featureDimension,
    backboneDimension: widths[widths.length - 1],
    init: (key) => {
      const keys = split(key, stages.length + 1);
      const initialised = stages.map((stage, i) => stage.init(keys[i]));
      return {
        params: { stages: initialised.map(({ params }) => params), projection: projection.init(keys[stages.length]) },
        state: { stages: initialised.map(({ state }) => state) },
      };
    },
    apply: <N extends number>(params: SmallCifarEncoderParams, state: SmallCifarEncoderState, images: Tensor<readonly [N, number, number, number]>, mode: Mode) => {
      let x: Images = images;
      const nextStates: BatchNormState[] = [];
      stages.forEach((stage, i) => {
        const { y, state: next } = stage.apply(params.stages[i], state.stages[i], x, mode);
        nextStates.push(next);
        // ReLU after the pooling: max pooling commutes with a monotone function, so this is
        // maxPool(relu(y)) with the ReLU (and its gradient) over a quarter of the values, and
        // the pooling's comparisons, forward and backward, on y itself.
        x = relu(maxPool(y));
      });
      const pooled = globalAveragePool(x) as Tensor as Tensor<readonly [N, number]>;
      const features = l2Normalize(projection.apply(params.projection, pooled));
      return { features: features as Tensor as Tensor<readonly [N, number]>, pooled, state: { stages: nextStates } };
    },
  };
};
