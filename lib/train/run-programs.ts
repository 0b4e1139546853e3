// What a run computes with: the encoder, the objective and SGD, the compiled training step and
// the compiled evaluation-mode encoder, and the initial training state's structure. Compiling
// is lazy (kernels are built on the first call), so nothing here touches a device yet.

import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { TensorTree } from '../tree.ts';
import { trainAugmentation } from '../augment/train-augmentation.ts';
import type { NormalizeOptions } from '../augment/normalize.ts';
import { compile, type CompiledFunction } from '../compile/index.ts';
import { sgd } from '../optim/sgd.ts';
import type { LearningRate } from '../optim/optimizer.ts';
import { describeEncoder, encoderFor } from './encoder-choice.ts';
import { type FeatureExtractor, featureExtractor } from './features.ts';
import { isBuiltInObjective } from './objective-choice.ts';
import { isStatefulObjectiveName, loadRunObjective } from './stateful-objective-choice.ts';
import { statefulTrainingStep } from './stateful-training-step.ts';
import { augmentationText, type TrainOptions } from './options.ts';
import type { TrainingState } from './run-checkpoint.ts';
import type { RunKeys } from './run-keys.ts';
import { trainingStep } from './training-step.ts';

export interface RunPrograms {
  /** The training state's structure, with the initial parameters as graphs. */
  readonly template: TrainingState;
  readonly step: CompiledFunction<unknown, unknown>;
  /** Whether the step takes the batch's instance indices (a stateful objective's). */
  readonly takesIndices: boolean;
  /** Augmented views the step draws of each image: 2, or 1 for a one-view stateful objective. */
  readonly views: 1 | 2;
  readonly features: FeatureExtractor;
  /** The objective as the run names it: built-in by name, a file by its base name. */
  readonly objectiveName: string;
  /** One line on the model, objective and optimiser. */
  readonly description: string;
  readonly destroy: () => Promise<void>;
}

const milestonesText = (options: TrainOptions): string =>
  options.learningRateMilestones.length === 0 ? 'constant'
    : `x${options.learningRateDecay} after epoch${options.learningRateMilestones.length > 1 ? 's' : ''} ${options.learningRateMilestones.join(', ')}`;

export const runPrograms = async (
  options: TrainOptions,
  { keys, trainCount, largestSplit, side, normalization, onWarning, signal }: {
    readonly keys: RunKeys;
    /** N, the images the steps draw from: what a stateful objective's state is sized for. */
    readonly trainCount: number;
    readonly largestSplit: number;
    /** The stored images' height and width, and the statistics they are normalised by. */
    readonly side: number;
    readonly normalization: NormalizeOptions;
    readonly onWarning: (message: string) => void;
    /** Ctrl-C: stops an objective file's import. */
    readonly signal?: AbortSignal;
  },
): Promise<RunPrograms> => {
  const size = options.imageSize ?? side;
  const encoder = encoderFor(options);
  const objective = await loadRunObjective(options.objective, options.temperature, options.negativeWeight, { signal });
  if (E.isLeft(objective)) throw new Error(objective.left);
  const chosen = objective.right;
  const optimizer = (learningRate: LearningRate) => sgd({ learningRate, momentum: options.momentum, weightDecay: options.weightDecay });
  const initial = encoder.init(keys.initialisation);
  const objectiveVariables = chosen.kind === 'stateful'
    ? chosen.objective.init(keys.objectiveInitialisation, { count: trainCount, dimension: options.featureDimension }, chosen.options) : undefined;
  const template: TrainingState = {
    params: initial.params, state: initial.state, optimizerState: optimizer(0).init(initial.params),
    ...(objectiveVariables === undefined ? {} : { objective: { ...objectiveVariables, optimizerState: optimizer(0).init(objectiveVariables.params) } }),
  };
  const objectiveName = isBuiltInObjective(options.objective) || isStatefulObjectiveName(options.objective) ? options.objective : path.basename(options.objective);
  // Typed loosely: the trees' structure depends on the encoder chosen at run time.
  const augmentation = trainAugmentation({ augmentations: options.augmentations, size, normalize: normalization });
  const stepFunction = (chosen.kind === 'stateful'
    ? statefulTrainingStep<TensorTree, TensorTree>({ encoder, objective: chosen.objective, objectiveOptions: chosen.options, optimizer, augmentation })
    : trainingStep<TensorTree, TensorTree>({ encoder, objective: chosen.loss, optimizer, augmentation })) as (args: unknown) => unknown;
  const step = compile(stepFunction, { backend: options.backend, onWarning });
  let features: FeatureExtractor;
  try {
    features = featureExtractor(encoder, {
      chunkSize: Math.min(options.evalBatchSize, largestSplit), side, size, normalization, backend: options.backend, onWarning,
    });
  } catch (cause) {
    await step.destroy();
    throw cause;
  }
  return {
    template,
    step,
    takesIndices: chosen.kind === 'stateful',
    views: chosen.kind === 'stateful' ? chosen.objective.views : 2,
    features,
    objectiveName,
    description: `training the ${describeEncoder(options)} with ${objectiveName}` +
      `${options.objective === 'align-uniform' ? '' : ` (temperature ${options.temperature}` +
        `${options.objective === 'invariant-spreading' ? `, negative weight ${options.negativeWeight}` : ''})`}; ` +
      `augmentation ${augmentationText(options)}, views of ${size}x${size}${size === side ? '' : ` from ${side}x${side} images`}; SGD learning rate ${options.learningRate} ` +
      `(${milestonesText(options)}), momentum ${options.momentum}, weight decay ${options.weightDecay}; seed ${options.seed}`,
    destroy: async () => {
      await step.destroy();
      await features.destroy();
    },
  };
};
