// ResNet18, CIFAR variant, as the invariant-spreading paper trains it: a 3x3 stem convolution
// to 64 channels (no 7x7 stride-2 stem and no max pool: 32x32 images are small already), four
// stages of two BasicBlocks with 64/128/256/512 channels and strides 1/2/2/2, 1x1 convolution
// + batch norm shortcuts where a block changes size, global average pooling, a linear layer to
// 128 and L2 normalisation. About 11.2 million parameters and 1.1 GFLOP per 32x32 image.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { relu } from '../composites/activations.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { type Key, split } from '../random/key.ts';
import type { BatchNormState } from './batch-norm.ts';
import type { Images } from './conv2d-layer.ts';
import { convolutionBatchNorm, type ConvolutionBatchNormParams } from './convolution-batch-norm.ts';
import type { Encoder } from './encoder.ts';
import type { Mode, StatefulLayer } from './layer.ts';
import { linearLayer, type LinearParams } from './linear.ts';
import { globalAveragePool } from './pooling.ts';

export type BasicBlockParams = {
  readonly first: ConvolutionBatchNormParams;
  readonly second: ConvolutionBatchNormParams;
  readonly shortcut?: ConvolutionBatchNormParams;
};
export type BasicBlockState = { readonly first: BatchNormState; readonly second: BatchNormState; readonly shortcut?: BatchNormState };

/**
 * relu(bn(conv3x3(relu(bn(conv3x3(x, stride))))) + shortcut(x)), the shortcut being x itself
 * or, when the block changes the channels or the size, a strided 1x1 convolution + batch norm.
 */
export const basicBlock = (inChannels: number, outChannels: number, stride: number): StatefulLayer<BasicBlockParams, BasicBlockState, Images, Images> => {
  const first = convolutionBatchNorm({ inChannels, outChannels, kernelSize: 3, stride });
  const second = convolutionBatchNorm({ inChannels: outChannels, outChannels, kernelSize: 3 });
  const shortcut = stride !== 1 || inChannels !== outChannels ? convolutionBatchNorm({ inChannels, outChannels, kernelSize: 1, stride }) : undefined;
  return {
    init: (key: Key) => {
      const [k1, k2, k3] = split(key, 3);
      const a = first.init(k1);
      const b = second.init(k2);
      if (shortcut === undefined) return { params: { first: a.params, second: b.params }, state: { first: a.state, second: b.state } };
      const c = shortcut.init(k3);
      return { params: { first: a.params, second: b.params, shortcut: c.params }, state: { first: a.state, second: b.state, shortcut: c.state } };
    },
    apply: (params, state, x, mode) => {
      const a = first.apply(params.first, state.first, x, mode);
      const b = second.apply(params.second, state.second, relu(a.y), mode);
      if (shortcut === undefined || params.shortcut === undefined || state.shortcut === undefined)
        return { y: relu(add(b.y, x) as Images), state: { first: a.state, second: b.state } };
      const c = shortcut.apply(params.shortcut, state.shortcut, x, mode);
      return { y: relu(add(b.y, c.y) as Images), state: { first: a.state, second: b.state, shortcut: c.state } };
    },
  };
};

export type ResNet18CifarParams = {
  readonly stem: ConvolutionBatchNormParams;
  readonly stages: readonly (readonly BasicBlockParams[])[];
  readonly projection: LinearParams;
};
export type ResNet18CifarState = { readonly stem: BatchNormState; readonly stages: readonly (readonly BasicBlockState[])[] };

export interface ResNet18CifarOptions {
  /** Channels of the four stages. Default [64, 128, 256, 512]; narrower ones make quick tests. */
  readonly widths?: readonly number[];
  /** Default 128. */
  readonly featureDimension?: number;
  /** Default 3 (RGB). */
  readonly inChannels?: number;
}

const BLOCKS_PER_STAGE = 2;

export const resnet18Cifar = ({
  widths = [64, 128, 256, 512], featureDimension = 128, inChannels = 3,
}: ResNet18CifarOptions = {}): Encoder<ResNet18CifarParams, ResNet18CifarState> => {
  const stem = convolutionBatchNorm({ inChannels, outChannels: widths[0], kernelSize: 3 });
  const stages = widths.map((width, s) =>
    Array.from({ length: BLOCKS_PER_STAGE }, (_, b) =>
      b === 0 ? basicBlock(s === 0 ? widths[0] : widths[s - 1], width, s === 0 ? 1 : 2) : basicBlock(width, width, 1),
    ),
  );
  const projection = linearLayer({ inFeatures: widths[widths.length - 1], outFeatures: featureDimension });
  return {
    featureDimension,
    backboneDimension: widths[widths.length - 1],
    init: (key) => {
      const [stemKey, projectionKey, ...stageKeys] = split(key, stages.length + 2);
      const stemInit = stem.init(stemKey);
      const blockInits = stages.map((blocks, s) => {
        const keys = split(stageKeys[s], blocks.length);
        return blocks.map((block, b) => block.init(keys[b]));
      });
      return {
        params: {
          stem: stemInit.params,
          stages: blockInits.map((inits) => inits.map(({ params }) => params)),
          projection: projection.init(projectionKey),
        },
        state: { stem: stemInit.state, stages: blockInits.map((inits) => inits.map(({ state }) => state)) },
      };
    },
    apply: <N extends number>(params: ResNet18CifarParams, state: ResNet18CifarState, images: Tensor<readonly [N, number, number, number]>, mode: Mode) => {
      const stemOut = stem.apply(params.stem, state.stem, images, mode);
      let x: Images = relu(stemOut.y);
      const stageStates = stages.map((blocks, s) =>
        blocks.map((block, b) => {
          const out = block.apply(params.stages[s][b], state.stages[s][b], x, mode);
          x = out.y;
          return out.state;
        }),
      );
      const pooled = globalAveragePool(x) as Tensor as Tensor<readonly [N, number]>;
      const features = l2Normalize(projection.apply(params.projection, pooled));
      return { features: features as Tensor as Tensor<readonly [N, number]>, pooled, state: { stem: stemOut.state, stages: stageStates } };
    },
  };
};
