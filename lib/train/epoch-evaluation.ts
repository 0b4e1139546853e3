// Evaluating the encoder after an epoch (epoch 0: the random encoder): the evaluation-mode
// features of every training and test image, a weighted kNN of the test images among the
// training images (on the embedding and on the backbone), and the neighbours picture; with
// --train-classes, also Recall@K and NMI of the unseen classes' test images. A stop is seen
// between chunks of features; the caller keeps the steps done and redoes the evaluation.

import type { CountProgress } from './progress.ts';
import type { FeatureExtractor } from './features.ts';
import { knnAccuracy, nearestNeighbours, queryIndices } from './evaluation.ts';
import type { EpochRecord } from './metrics.ts';
import type { TrainOptions } from './options.ts';
import { writeNeighbours } from './report-files.ts';
import type { TrainingState } from './run-checkpoint.ts';
import type { TrainingData } from './training-data.ts';
import type { Key } from '../random/key.ts';
import type { UnseenClassRecord } from './metrics.ts';
import { unseenClassRecord } from './unseen-classes.ts';

/** An epoch's evaluation: the record's accuracy fields, written alike for epoch 0 and every later epoch. */
export interface EpochEvaluation {
  readonly accuracies: Pick<EpochRecord, 'knn_top1' | 'knn_top5' | 'knn_top1_backbone' | 'knn_top5_backbone'> & UnseenClassRecord;
  readonly seconds: number;
}

export interface EvaluationSetting {
  readonly out: string;
  readonly options: TrainOptions;
  readonly data: TrainingData;
  readonly features: FeatureExtractor;
  readonly progress: CountProgress;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Called once the features are computed (to say what ran, once the program has run). */
  readonly featuresComputed: () => void;
  /** Rows of the neighbours picture per class and neighbours per row. */
  readonly queriesPerClass: number;
  readonly neighboursPerQuery: number;
  /** The k-means seeding of an epoch's unseen-class clustering. */
  readonly clusteringKey: (epoch: number) => Key;
  readonly onWarning: (message: string) => void;
}

export const epochEvaluator = (setting: EvaluationSetting) => {
  const { out, options, data, features, progress, signal } = setting;
  const unseenCount = data.unseen?.count ?? 0;
  const classes = data.classNames.length;
  const queries = queryIndices(data.test.labels, classes, setting.queriesPerClass);
  const neighboursPerQuery = Math.min(setting.neighboursPerQuery, data.train.count);
  // The kNN is compiled afresh each epoch: what it says about where it ran is said once a run.
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (!warned.has(message)) {
      warned.add(message);
      setting.log(message);
    }
  };
  return async (epoch: number, training: TrainingState): Promise<EpochEvaluation> => {
    const start = performance.now();
    progress.start(epoch === 0 ? 'evaluating the random encoder' : `evaluating epoch ${epoch}`, data.train.count + data.test.count + unseenCount);
    let trainFeatures, testFeatures, unseenFeatures;
    try {
      trainFeatures = await features.features(training.params, training.state, data.train.bytes, data.train.count, progress.update, signal);
      testFeatures = await features.features(training.params, training.state, data.test.bytes, data.test.count,
        (done) => progress.update(data.train.count + done), signal);
      if (data.unseen !== undefined)
        unseenFeatures = await features.features(training.params, training.state, data.unseen.bytes, data.unseen.count,
          (done) => progress.update(data.train.count + data.test.count + done), signal);
    } finally {
      progress.stop();
    }
    setting.featuresComputed();
    const knn = { k: options.knnK, sigma: options.knnSigma, classes, backend: options.backend, onWarning: warnOnce };
    const accuracy = await knnAccuracy(trainFeatures.embedding, data.train.labels, testFeatures.embedding, data.test.labels, knn);
    const backbone = await knnAccuracy(trainFeatures.backbone, data.train.labels, testFeatures.backbone, data.test.labels, knn);
    const unseen = data.unseen === undefined || unseenFeatures === undefined ? {}
      : await unseenClassRecord(unseenFeatures, data.unseen.labels, { key: setting.clusteringKey(epoch), backend: options.backend, onWarning: setting.onWarning });
    if (epoch === 0 && accuracy.k < options.knnK) setting.log(`kNN with k = ${accuracy.k}: only ${data.train.count} training images`);
    await writeNeighbours(out, {
      lists: nearestNeighbours(trainFeatures.embedding, testFeatures.embedding, queries, neighboursPerQuery),
      trainBytes: data.train.bytes, trainLabels: data.train.labels, testBytes: data.test.bytes, testLabels: data.test.labels,
      classNames: data.classNames, side: data.side,
      title: `Nearest training images of test images, ${epoch === 0 ? 'random encoder (epoch 0)' : `after epoch ${epoch}`}`,
    });
    return {
      accuracies: { knn_top1: accuracy.top1, knn_top5: accuracy.top5, knn_top1_backbone: backbone.top1, knn_top5_backbone: backbone.top5, ...unseen },
      seconds: (performance.now() - start) / 1000,
    };
  };
};

export type EvaluateEpoch = ReturnType<typeof epochEvaluator>;
