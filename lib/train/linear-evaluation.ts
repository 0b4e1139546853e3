// The linear evaluation of a trained encoder (--linear-eval, examples/linear-eval.ts): the
// backbone features of the training and test images, computed once with the frozen encoder in
// evaluation mode, then a linear softmax classifier trained on the training features and scored
// on the test features (lib/eval/linear-probe.ts has the schedule and why). Its test top-1 goes
// into the last epoch's record, the one whose encoder it measured.

import type { BackendName } from '../compile/index.ts';
import { linearProbe } from '../eval/linear-probe.ts';
import type { Key } from '../random/key.ts';
import type { FeatureExtractor } from './features.ts';
import type { EpochRecord } from './metrics.ts';
import type { CountProgress } from './progress.ts';
import type { TrainingState } from './run-checkpoint.ts';
import type { TrainingData } from './training-data.ts';

export interface LinearEvaluationSetting {
  readonly data: TrainingData;
  readonly features: FeatureExtractor;
  readonly key: Key;
  readonly backend?: BackendName;
  readonly progress: CountProgress;
  readonly log: (line: string) => void;
  readonly onWarning: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** The test top-1 of a linear classifier on the frozen backbone of `training`. */
export const linearEvaluation = async (setting: LinearEvaluationSetting, training: TrainingState): Promise<number> => {
  const { data, features, progress, signal } = setting;
  const started = performance.now();
  progress.start('backbone features for the linear evaluation', data.train.count + data.test.count);
  let train, test;
  try {
    train = await features.features(training.params, training.state, data.train.bytes, data.train.count, progress.update, signal);
    test = await features.features(training.params, training.state, data.test.bytes, data.test.count, (done) => progress.update(data.train.count + done), signal);
  } finally {
    progress.stop();
  }
  setting.log(`linear evaluation: a softmax classifier on the ${train.backbone.shape[1]}-d backbone features of ${data.train.count} training images, ` +
    `scored on ${data.test.count} test images`);
  const { top1, losses } = await linearProbe(train.backbone, data.train.labels, test.backbone, data.test.labels, {
    classes: data.classNames.length, key: setting.key, backend: setting.backend, onWarning: setting.onWarning, signal,
    onEpoch: (epoch, loss) => { if (epoch % 10 === 0) setting.log(`  linear probe epoch ${epoch}: loss ${loss.toFixed(4)}`); },
  });
  setting.log(`linear evaluation: test top-1 ${(100 * top1).toFixed(2)}% after ${losses.length} epochs ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return top1;
};

/** The records with `linear_top1` on the last one. */
export const withLinearTop1 = (metrics: readonly EpochRecord[], top1: number): EpochRecord[] =>
  metrics.map((record, i) => (i === metrics.length - 1 ? { ...record, linear_top1: top1 } : record));
