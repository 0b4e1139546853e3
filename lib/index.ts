// The public surface of the language, and nothing else.

export type { Shape, Broadcast, MatmulShape, ReduceShape, PermuteShape, ShapeMismatch } from './shape.ts';
export { ShapeError, sizeOf, formatShape } from './shape.ts';
export { Tensor, isTensor } from './tensor.ts';
export type { Value, Primitive, VjpRule, Cotangents } from './tensor.ts';
export type { TensorTree, MapLeaves } from './tree.ts';
export { tensor, scalar, zeros, ones, fill, eye, arange, zerosLike, onesLike, fillLike } from './constants.ts';

// Autodiff and evaluation.
export { grad, valueAndGrad, vjp, backpropagate } from './autodiff.ts';
export type { AutodiffOptions, VjpRules } from './autodiff.ts';
export { interpret, interpretScalar } from './interpret.ts';
export { primitives, primitiveByName } from './primitives/registry.ts';

// Primitive operations.
export { neg } from './primitives/neg.ts';
export { exp } from './primitives/exp.ts';
export { log } from './primitives/log.ts';
export { sqrt } from './primitives/sqrt.ts';
export { abs } from './primitives/abs.ts';
export { floor } from './primitives/floor.ts';
export { add } from './primitives/add.ts';
export { sub } from './primitives/sub.ts';
export { mul } from './primitives/mul.ts';
export { div } from './primitives/div.ts';
export { maximum } from './primitives/maximum.ts';
export { minimum } from './primitives/minimum.ts';
export { less } from './primitives/less.ts';
export { greater } from './primitives/greater.ts';
export { equal } from './primitives/equal.ts';
export { select, select as where } from './primitives/select.ts';
export { sum } from './primitives/sum.ts';
export { max } from './primitives/max.ts';
export { reshape } from './primitives/reshape.ts';
export { transpose, matrixTranspose } from './primitives/transpose.ts';
export { broadcastTo } from './primitives/broadcast-to.ts';
export { slice } from './primitives/slice.ts';
export type { AxisSlice } from './primitives/slice.ts';
export { concat } from './primitives/concat.ts';
export { pad } from './primitives/pad.ts';
export { flip } from './primitives/flip.ts';
export { matmul } from './primitives/matmul.ts';
export { conv2d } from './primitives/conv2d.ts';
export type { Conv2dOptions } from './primitives/conv2d.ts';
export { maxPool2d, avgPool2d } from './primitives/pool2d.ts';
export { maxPoolGradient } from './primitives/max-pool-gradient.ts';
export type { Pool2dOptions } from './primitives/pool2d.ts';
export { gather } from './primitives/gather.ts';
export { scatterAdd } from './primitives/scatter-add.ts';
export { stopGradient } from './primitives/stop-gradient.ts';
export { customVjp } from './primitives/custom-vjp.ts';

// Composites: plain functions of primitives, differentiated for free.
export { relu, sigmoid, logSigmoid, tanh, softplus, square } from './composites/activations.ts';
export { log1p } from './composites/log1p.ts';
export { expm1 } from './composites/expm1.ts';
export { logsumexp, logSoftmax, softmax } from './composites/softmax.ts';
export { mean, variance } from './composites/statistics.ts';
export { l2Normalize } from './composites/normalize.ts';
export { lessEqual, greaterEqual, notEqual, clip } from './composites/comparisons.ts';
export { dilate } from './primitives/slice.ts';

// The gradient-check harness.
export * from './check/index.ts';

// Ranking.
export { topKIndices } from './primitives/top-k-indices.ts';
export { topK } from './composites/top-k.ts';

// Evaluation of embeddings.
export * from './eval/index.ts';

// Embedding objectives.
export * from './objectives/index.ts';

// Randomness, layers and encoders, optimisers, augmentations.
export * from './random/index.ts';
export * from './nn/index.ts';
export * from './optim/index.ts';
export * from './augment/index.ts';

// Compiling (gpu.js on a GPU, the native kernels on a CPU), and the training step.
export * from './compile/index.ts';
export { trainingStep, trainingStepOnViews } from './train/training-step.ts';
export type { TrainingStepInputs, TrainingStepOptions, TrainingStepOutputs, ViewsStepInputs } from './train/training-step.ts';

// The CIFAR-10 training run and its checkpoints.
export { trainCifar10 } from './train/run.ts';
export * from './checkpoint/index.ts';
