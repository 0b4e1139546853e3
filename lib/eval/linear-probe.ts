// Linear evaluation of frozen features: a softmax classifier (one weight matrix and a bias) is
// trained on L2-normalised training features and scored by its top-1 accuracy on the test
// features, the usual second measure of an embedding beside weighted kNN. The step (normalise,
// logits, cross-entropy, gradient by the language's autodiff, SGD from lib/optim) is one compiled
// program; the learning rate is its input, so the schedule changes no program.
//
// The default schedule, and why: the loss is convex and, on unit-norm features, smooth with a
// constant of at most 1/2 in the weights (the softmax's Hessian is at most 1/2, |x|^2 = 1), so
// SGD with momentum 0.9 is stable up to a rate of 2 (1 + 0.9) / (1/2) = 7.6; a rate of 1 sits
// well inside that and still moves weights that unit features need to be large (a logit margin
// of a few units from coordinates of size about 1/sqrt(d)). Unit features are also why the rate
// is far above an encoder's: MoCo's linear probe on small unnormalised features uses 30 for the
// same reason. 50 epochs at batch 256 (about 10,000 steps on 50,000 images), the rate divided by
// 10 after 60% and 80% of them as MoCo and InstDisc do to settle into the minimum, no weight
// decay (d x classes weights against tens of thousands of images do not overfit much). Weights
// start at zero: the problem is convex, and the probe is then a function of the data order alone.

import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { valueAndGrad } from '../autodiff.ts';
import { add } from '../primitives/add.ts';
import { equal } from '../primitives/equal.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { logsumexp } from '../composites/softmax.ts';
import { mean } from '../composites/statistics.ts';
import { foldIn, type Key } from '../random/key.ts';
import { permutation } from '../random/distributions.ts';
import { sgd } from '../optim/sgd.ts';
import { stepDecay } from '../optim/schedule.ts';
import type { OptimizerState } from '../optim/optimizer.ts';
import { type BackendName, compile } from '../compile/index.ts';
import { argmax } from './arg-extreme.ts';
import { chunkRanges, type HostArray, matrixShape, rowsOf } from './chunk-program.ts';

export interface LinearProbeOptions {
  readonly classes: number;
  /** The order of the training features each epoch: the same key, the same probe. */
  readonly key: Key;
  /** Passes over the training features (50). */
  readonly epochs?: number;
  /** Features per step (256; all of them when there are fewer); a last partial batch is dropped, so every step has one shape. */
  readonly batchSize?: number;
  /** The starting rate (1), divided by 10 after 60% and 80% of the epochs. */
  readonly learningRate?: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  /** Test rows per compiled prediction call (4096). */
  readonly chunkSize?: number;
  readonly backend?: BackendName;
  readonly onWarning?: (message: string) => void;
  /** Called after each epoch with its mean training loss. */
  readonly onEpoch?: (epoch: number, loss: number) => void;
  /** Stops between steps once aborted. */
  readonly signal?: AbortSignal;
}

export interface LinearProbeResult {
  /** The fraction of test rows whose largest logit is their label. */
  readonly top1: number;
  readonly predictions: Int32Array;
  /** Each epoch's mean training loss. */
  readonly losses: readonly number[];
}

type Classifier = { readonly weight: Tensor; readonly bias: Tensor };

/** The logits of features, L2-normalised first: [n, d] -> [n, classes]. */
export const linearLogits = (params: Classifier, features: Tensor): Tensor => add(matmul(l2Normalize(features), params.weight), params.bias);

/** The mean softmax cross-entropy of logits [n, classes] against labels [n] (as floats). */
export const crossEntropy = (logits: Tensor, labels: Tensor): Tensor => {
  const [n, classes] = logits.shape;
  const isLabel = equal(reshape(labels, [n, 1]), reshape(arange(classes), [1, classes]));
  return mean(sub(logsumexp(logits, 1), sum(mul(logits, isLabel), 1)));
};

/** The schedule's milestones: after 60% and 80% of the epochs, each at least one epoch in. */
export const linearProbeMilestones = (epochs: number): number[] =>
  [...new Set([Math.max(1, Math.round(0.6 * epochs)), Math.max(1, Math.round(0.8 * epochs))])].filter((m) => m < epochs);

const checkLabels = (name: string, labels: ArrayLike<number>, rows: number, classes: number): void => {
  if (labels.length !== rows) throw new RangeError(`linearProbe: ${labels.length} ${name} for ${rows} rows`);
  for (let i = 0; i < rows; i++)
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= classes)
      throw new RangeError(`linearProbe: ${name}[${i}] = ${labels[i]} is not a class in [0, ${classes})`);
};

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`linearProbe: ${name} = ${value} must be a positive integer`);
  return value;
};

type StepArgs = { params: Classifier; optimizerState: OptimizerState<Classifier>; features: Tensor; labels: Tensor; learningRate: Tensor<readonly []> };
type HostTree<T> = { [K in keyof T]: T[K] extends Tensor ? HostArray : HostTree<T[K]> };

/**
 * Trains a linear softmax classifier on `train` features [n, d] and their labels, and reports its
 * top-1 accuracy on `test` [m, d]. Features are normalised inside the compiled programs.
 */
export const linearProbe = async (
  train: HostArray,
  trainLabels: ArrayLike<number>,
  test: HostArray,
  testLabels: ArrayLike<number>,
  options: LinearProbeOptions,
): Promise<LinearProbeResult> => {
  const [n, d] = matrixShape('linearProbe', 'train', train);
  const [m, testDimension] = matrixShape('linearProbe', 'test', test);
  if (d !== testDimension) throw new RangeError(`linearProbe: training features of dimension ${d}, test features of dimension ${testDimension}`);
  const classes = positiveInteger('classes', options.classes);
  const epochs = positiveInteger('epochs', options.epochs ?? 50);
  const batchSize = Math.min(n, positiveInteger('batchSize', options.batchSize ?? 256));
  const chunkSize = positiveInteger('chunkSize', options.chunkSize ?? 4096);
  const { learningRate = 1, momentum = 0.9, weightDecay = 0, signal } = options;
  if (n === 0 || m === 0) throw new RangeError(`linearProbe: ${n} training and ${m} test rows; both must be some`);
  checkLabels('trainLabels', trainLabels, n, classes);
  checkLabels('testLabels', testLabels, m, classes);

  const optimizer = (rate: Tensor<readonly []>) => sgd({ learningRate: rate, momentum, weightDecay });
  const step = compile(({ params, optimizerState, features, labels, learningRate: rate }: StepArgs) => {
    const [loss, grads] = valueAndGrad((p: Classifier) => crossEntropy(linearLogits(p, features), labels))(params);
    const updated = optimizer(rate).update(params, optimizerState, grads);
    return { params: updated.params, optimizerState: updated.state, loss };
  }, { backend: options.backend, onWarning: options.onWarning });
  const predict = compile(({ params, features }: { params: Classifier; features: Tensor }) => argmax(linearLogits(params, features)),
    { backend: options.backend, onWarning: options.onWarning });
  try {
    const zeros = (shape: number[]): HostArray => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    let params: HostTree<Classifier> = { weight: zeros([d, classes]), bias: zeros([classes]) };
    let optimizerState = { velocity: { weight: zeros([d, classes]), bias: zeros([classes]) } } as HostTree<OptimizerState<Classifier>>;
    const rateOf = stepDecay(learningRate, { milestones: linearProbeMilestones(epochs) });
    const steps = Math.floor(n / batchSize);
    const features = new Float32Array(batchSize * d);
    const labels = new Float32Array(batchSize);
    const losses: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(foldIn(options.key, epoch), n).params as { data: ArrayLike<number> };
      let total = 0;
      for (let s = 0; s < steps; s++) {
        signal?.throwIfAborted();
        for (let i = 0; i < batchSize; i++) {
          const row = order.data[s * batchSize + i];
          features.set(rowsOf(train, row, row + 1).data as ArrayLike<number>, i * d);
          labels[i] = trainLabels[row];
        }
        const result = await step({
          params, optimizerState, features: { shape: [batchSize, d], data: features }, labels: { shape: [batchSize], data: labels },
          learningRate: { shape: [], data: Float32Array.of(rateOf(epoch)) },
        } as never) as unknown as { params: HostTree<Classifier>; optimizerState: HostTree<OptimizerState<Classifier>>; loss: HostArray };
        ({ params, optimizerState } = result);
        total += result.loss.data[0];
      }
      losses.push(total / steps);
      options.onEpoch?.(epoch + 1, total / steps);
    }
    const predictions = new Int32Array(m);
    for (const [start, stop] of chunkRanges(m, chunkSize)) {
      const classesOf = (await predict({ params, features: rowsOf(test, start, stop) } as never)).data;
      predictions.set(classesOf, start);
    }
    const hits = predictions.reduce((count, predicted, i) => count + (predicted === testLabels[i] ? 1 : 0), 0);
    return { top1: hits / m, predictions, losses };
  } finally {
    await step.destroy();
    await predict.destroy();
  }
};
