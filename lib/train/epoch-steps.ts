// The training steps of one epoch: each gathers a batch in the epoch's order, runs the compiled
// step (two augmented views, the encoder, the objective, SGD) and moves the run's position on.
// A stop is seen after each step; the position then says where the epoch continues.

import type { CompiledFunction } from '../compile/index.ts';
import type { StepProgress, StepTimer } from './progress.ts';
import type { RunPosition, TrainingState } from './run-checkpoint.ts';
import type { RunKeys } from './run-keys.ts';
import { gatherImages, type TrainingData } from './training-data.ts';

export interface StepSetting {
  readonly data: TrainingData;
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  readonly epochs: number;
  readonly keys: RunKeys;
  readonly step: CompiledFunction<unknown, unknown>;
  /** Whether the step takes the batch's training-set indices (a stateful objective's step does). */
  readonly takesIndices: boolean;
  readonly progress: StepProgress;
  readonly timer: StepTimer;
  readonly stopped: () => boolean;
  /** Whether what ran the step was said; if not, it is said after the step's first run, above the progress bar. */
  readonly stepAnnounced: () => boolean;
  readonly announceStep: () => void;
  readonly onStep?: (step: { readonly epoch: number; readonly step: number; readonly loss: number }) => void;
  /** What to try when the loss is not finite: the option most likely to blame. */
  readonly divergenceHint: string;
}

type StepResult = TrainingState & { readonly loss: { readonly data: Float32Array } };

/** Runs `epoch`'s steps from `position.stepInEpoch` to the end of the epoch, or until a stop. */
export const runEpochSteps = async (
  setting: StepSetting,
  epoch: number,
  learningRate: number,
  start: { readonly training: TrainingState; readonly position: RunPosition },
): Promise<{ training: TrainingState; position: RunPosition }> => {
  const { data, batchSize, stepsPerEpoch, epochs, keys, step, progress, timer } = setting;
  const order = keys.epochOrder(epoch, data.steps.count);
  const { side } = data;
  const learningRateValue = { shape: [], data: Float32Array.of(learningRate) };
  let { training, position } = start;
  // At an epoch boundary these are 0; after a stop mid-epoch they continue the epoch.
  let { epochLossSum: lossSum, epochSeconds: seconds, epochBuildSteps: buildSteps, epochBuildSeconds: buildSeconds } = position;
  progress.start(epoch, epochs, stepsPerEpoch, position.stepInEpoch);
  for (let s = position.stepInEpoch; s < stepsPerEpoch; s++) {
    // A Ctrl-C that came while the last step ran, or before the first, is heard here: a step (and
    // the first one's trace, which calls the user's objective) starts only when none came.
    await new Promise((resolve) => setImmediate(resolve));
    if (setting.stopped()) break;
    const batch = order.subarray(s * batchSize, (s + 1) * batchSize);
    const images = gatherImages(data.steps, batch, 3 * side * side);
    const builtBefore = step.stats();
    const began = performance.now();
    const next = (await step({
      ...training,
      images: { shape: [batchSize, 3, side, side], data: images },
      key: keys.stepKey(epoch, s),
      learningRate: learningRateValue,
      ...(setting.takesIndices ? { indices: { shape: [batchSize], data: Float32Array.from(batch) } } : {}),
    })) as StepResult;
    const elapsed = (performance.now() - began) / 1000;
    // A step that traced or built kernels is timed apart: its seconds say how long building
    // took, not how fast the step runs.
    const builtAfter = step.stats();
    const built = builtAfter.traces > builtBefore.traces || builtAfter.kernelsBuilt > builtBefore.kernelsBuilt;
    if (!setting.stepAnnounced()) {
      progress.stop();
      setting.announceStep();
      progress.start(epoch, epochs, stepsPerEpoch, s);
    }
    const loss = next.loss.data[0];
    if (!Number.isFinite(loss)) {
      progress.stop();
      throw new Error(`the loss is ${loss} at epoch ${epoch}, step ${s + 1}; stopping with the last checkpoint intact. ${setting.divergenceHint}`);
    }
    training = { params: next.params, state: next.state, optimizerState: next.optimizerState, ...(next.objective === undefined ? {} : { objective: next.objective }) };
    lossSum += loss;
    if (built) {
      buildSteps += 1;
      buildSeconds += elapsed;
    } else {
      seconds += elapsed;
      timer.record(elapsed);
    }
    position = {
      epoch: epoch - 1, stepInEpoch: s + 1, optimizerStep: position.optimizerStep + 1,
      epochLossSum: lossSum, epochSeconds: seconds, epochBuildSteps: buildSteps, epochBuildSeconds: buildSeconds,
    };
    const secondsPerStep = timer.secondsPerStep();
    progress.update(s + 1, lossSum / (s + 1), batchSize / secondsPerStep, secondsPerStep * ((stepsPerEpoch - s - 1) + (epochs - epoch) * stepsPerEpoch));
    setting.onStep?.({ epoch, step: s, loss });
  }
  progress.stop();
  return { training, position };
};
