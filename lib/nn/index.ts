// Layers as pure (init, apply) pairs, and the encoders built from them.

export type { Layer, StatefulLayer, Mode } from './layer.ts';
export type { Encoder } from './encoder.ts';
export { linearLayer } from './linear.ts';
export type { LinearParams, LinearOptions } from './linear.ts';
export { conv2dLayer } from './conv2d-layer.ts';
export type { Conv2dLayerParams, Conv2dLayerOptions, Images } from './conv2d-layer.ts';
export { batchNorm, batchNormLayer, batchNormDefaults } from './batch-norm.ts';
export type { BatchNormParams, BatchNormState, BatchNormOptions } from './batch-norm.ts';
export { convolutionBatchNorm } from './convolution-batch-norm.ts';
export type { ConvolutionBatchNormParams, ConvolutionBatchNormOptions } from './convolution-batch-norm.ts';
export { maxPool, globalAveragePool } from './pooling.ts';
export { relu } from '../composites/activations.ts';
export { l2Normalize } from '../composites/normalize.ts';
export { smallCifarEncoder } from './small-cifar-encoder.ts';
export type { SmallCifarEncoderParams, SmallCifarEncoderState, SmallCifarEncoderOptions } from './small-cifar-encoder.ts';
export { resnet18Cifar, basicBlock } from './resnet18-cifar.ts';
export type { ResNet18CifarParams, ResNet18CifarState, ResNet18CifarOptions, BasicBlockParams, BasicBlockState } from './resnet18-cifar.ts';
export { countFlops, countParameters, encoderFlopsPerImage } from './counting.ts';
export { materialize } from './materialize.ts';
