// A CIFAR-10 training run as one library call: load the data, build the encoder, the objective
// and SGD, compile the training step and the evaluation-mode encoder, evaluate the random
// encoder (epoch 0), then train epoch by epoch, evaluating after each; after every epoch the
// metrics, the pictures and a checkpoint are rewritten in the run's folder. A run resumed from
// its checkpoint gives the same numbers as one never interrupted: every random draw is a
// function of the seed and the position (see run-keys.ts), and the checkpoint holds the whole
// training state in float32, as the compiled step sees it.

import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { evaluateNodes } from '../interpret.ts';
import { flattenTree, unflattenTree } from '../tree.ts';
import type { TensorTree } from '../tree.ts';
import { cifarTrainAugmentation } from '../augment/cifar-train-augmentation.ts';
import { compile, type ExecutionReport } from '../compile/index.ts';
import { CheckpointErrorException } from '../checkpoint/errors.ts';
import { treeOfTensors } from '../checkpoint/checkpoint.ts';
import { removeStaleTemporaryFiles, writeFileAtomic } from '../checkpoint/atomic-write.ts';
import type { Cifar10 } from '../data/cifar10-types.ts';
import { loadCifar10OrThrow } from '../data/cifar10.ts';
import { sgd } from '../optim/sgd.ts';
import { stepDecay } from '../optim/schedule.ts';
import type { LearningRate } from '../optim/optimizer.ts';
import { trainingStep } from './training-step.ts';
import { describeEncoder, encoderFor } from './encoder-choice.ts';
import { isBuiltInObjective, loadObjective } from './objective-choice.ts';
import { type FeatureExtractor, featureExtractor } from './features.ts';
import { knnAccuracy, nearestNeighbours, queryIndices } from './evaluation.ts';
import { describeRecord, type EpochRecord, metricsLines } from './metrics.ts';
import { flagName } from './cli-options.ts';
import { conflictsWithRecorded, recordedOptions, type TrainOptions } from './options.ts';
import { countProgress, StepTimer, stepProgress } from './progress.ts';
import { CURVES_FILE, NEIGHBOURS_FILE, writeCurves, writeNeighbours } from './report-files.ts';
import { runKeys } from './run-keys.ts';
import { checkpointPath, readRunCheckpoint, type RunPosition, type SavedRun, type TrainingState, writeRunCheckpoint } from './run-checkpoint.ts';
import { gatherImages, trainingData } from './training-data.ts';

export const METRICS_FILE = 'metrics.jsonl';

export interface RunHooks {
  /** Lines saying what happens (default: stdout). */
  readonly log?: (line: string) => void;
  /** Degradations and warnings (default: stderr). */
  readonly warn?: (line: string) => void;
  /** Progress bars on stderr (the download's and the steps'), when it is a terminal. */
  readonly progress?: boolean;
  /**
   * Once aborted, the run stops after the current step (or between chunks of an evaluation, which
   * a resumed run redoes), writes its checkpoint and report, and returns 'interrupted'; aborted
   * before its first checkpoint, it returns 'cancelled' and leaves nothing to resume.
   */
  readonly signal?: AbortSignal;
  /** Data already in memory (tests); otherwise `options.data`, the cache or a download. */
  readonly dataset?: Cifar10;
  /** Called after every training step. */
  readonly onStep?: (step: { readonly epoch: number; readonly step: number; readonly loss: number }) => void;
  /** Rows of the neighbours picture per class (default 2) and neighbours per row (default 8). */
  readonly queriesPerClass?: number;
  readonly neighboursPerQuery?: number;
}

export interface RunFiles {
  readonly metrics: string;
  readonly checkpoint: string;
  readonly curves: string;
  readonly neighbours: string;
}

export interface RunResult {
  readonly status: 'finished' | 'interrupted' | 'cancelled';
  readonly out: string;
  readonly position: RunPosition;
  readonly metrics: readonly EpochRecord[];
  readonly files: RunFiles;
  /** Which backend ran the training step (or, when no step ran, the evaluation), how, and why better ones were passed over. */
  readonly execution: string;
}

/** One line on what really ran, from compile's report. */
export const describeExecution = (report: ExecutionReport, requested: boolean): string =>
  `backend ${report.backend} (${report.adapter === undefined ? '' : `adapter ${report.adapter}, `}kernels ${report.kernelMode ?? 'none'}, executor ${report.executorKind ?? 'none'})` +
  (requested ? ', as requested with --backend'
    : report.skipped.length > 0 ? `; passed over: ${report.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}` : ', the first choice') +
  (report.fallbackReason ? `; fell back: ${report.fallbackReason}` : '') +
  (report.hostSteps.length > 0 ? `; on the host between kernels: ${[...new Set(report.hostSteps)].join(', ')}` : '');

/** A tree of graphs evaluated once into float32 host values, as the compiled step takes and gives them. */
const hostValues = <T>(tree: T): unknown => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(tree, evaluateNodes(leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) })));
};

const orThrowCheckpoint = <A>(result: E.Either<{ file: string; message: string; offset?: number }, A>): A => {
  if (E.isLeft(result)) throw new CheckpointErrorException(result.left);
  return result.right;
};

const milestonesText = (options: TrainOptions): string =>
  options.learningRateMilestones.length === 0 ? 'constant'
    : `x${options.learningRateDecay} after epoch${options.learningRateMilestones.length > 1 ? 's' : ''} ${options.learningRateMilestones.join(', ')}`;

export const trainCifar10 = async (options: TrainOptions, hooks: RunHooks = {}): Promise<RunResult> => {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const warn = hooks.warn ?? ((line: string) => console.error(line));
  const out = path.resolve(options.out);
  const files: RunFiles = {
    metrics: path.join(out, METRICS_FILE),
    checkpoint: checkpointPath(out),
    curves: path.join(out, CURVES_FILE),
    neighbours: path.join(out, NEIGHBOURS_FILE),
  };

  // Where the run starts: a fresh folder, or the checkpoint of the run being resumed.
  let saved: SavedRun | undefined;
  if (options.resume) {
    saved = orThrowCheckpoint(await readRunCheckpoint(files.checkpoint)());
    const conflicts = conflictsWithRecorded(options, saved.options);
    if (conflicts.length > 0)
      throw new Error(`cannot resume ${out}: ${conflicts.map(([name, given, recorded]) =>
        `${flagName(name)} ${JSON.stringify(given ?? null)} differs from the checkpoint's ${JSON.stringify(recorded ?? null)}`).join('; ')}`);
    if (options.epochs < saved.position.epoch)
      throw new Error(`cannot resume ${out}: its checkpoint has ${saved.position.epoch} epochs done, more than --epochs ${options.epochs}`);
  } else if (existsSync(files.checkpoint)) {
    throw new Error(`${out} already holds a run (${path.basename(files.checkpoint)}); pass --resume to continue it, or choose another --out`);
  }
  await fsp.mkdir(out, { recursive: true });
  const stale = await removeStaleTemporaryFiles(out);
  if (stale.length > 0) log(`removed ${stale.length} half-written file${stale.length === 1 ? '' : 's'} left by a stopped run: ${stale.join(', ')}`);

  const cifar = hooks.dataset ?? (await loadCifar10OrThrow({ data: options.data, progress: hooks.progress, onInfo: log }));
  const data = trainingData(cifar, options.trainSize, options.testSize);
  log(data.description);
  if (saved !== undefined && saved.trainMd5 !== data.trainMd5)
    throw new Error(`cannot resume ${out}: the training images differ from the checkpoint's (md5 ${data.trainMd5}, checkpoint ${saved.trainMd5}); give the same --data`);
  const batchSize = options.batchSize;
  const stepsPerEpoch = Math.floor(data.train.count / batchSize);
  if (stepsPerEpoch === 0) throw new RangeError(`${data.train.count} training images are fewer than ${flagName('batchSize')} ${batchSize}: an epoch would have no step`);
  const dropped = data.train.count - stepsPerEpoch * batchSize;

  const encoder = encoderFor(options);
  const objective = await loadObjective(options.objective, options.temperature);
  if (E.isLeft(objective)) throw new Error(objective.left);
  const optimizer = (learningRate: LearningRate) => sgd({ learningRate, momentum: options.momentum, weightDecay: options.weightDecay });
  const keys = runKeys(options.seed);
  const initial = encoder.init(keys.initialisation);
  const template: TrainingState = { params: initial.params, state: initial.state, optimizerState: optimizer(0).init(initial.params) };
  let training: TrainingState = saved === undefined
    ? (hostValues(template) as TrainingState)
    : orThrowCheckpoint(treeOfTensors(template, saved.tensors, files.checkpoint));
  const learningRateOf = stepDecay(options.learningRate, { milestones: options.learningRateMilestones, factor: options.learningRateDecay });
  const objectiveName = isBuiltInObjective(options.objective) ? options.objective : path.basename(options.objective);
  log(`training the ${describeEncoder(options)} with ${objectiveName}` +
    `${options.objective === 'align-uniform' ? '' : ` (temperature ${options.temperature})`}; SGD learning rate ${options.learningRate} ` +
    `(${milestonesText(options)}), momentum ${options.momentum}, weight decay ${options.weightDecay}; seed ${options.seed}`);
  log(`${options.epochs} epoch${options.epochs === 1 ? '' : 's'} of ${stepsPerEpoch} steps of ${batchSize} images (2 x ${batchSize} views)` +
    (dropped > 0 ? `; each epoch drops the last ${dropped} of its ${data.train.count} shuffled images so that every step has the same shapes` : ''));

  const progress = stepProgress(hooks.progress ?? false);
  const evaluationProgress = countProgress(hooks.progress ?? false, 'images');
  const warnings = (message: string) => {
    progress.breakLine();
    warn(`warning: ${message}`);
  };
  // Typed loosely: the trees' structure depends on the encoder chosen at run time.
  const stepFunction = trainingStep<TensorTree, TensorTree>({ encoder, objective: objective.right, optimizer, augmentation: cifarTrainAugmentation }) as (args: unknown) => unknown;
  const step = compile(stepFunction, { backend: options.backend, onWarning: warnings });
  // Made after the step, and the step's backend released if this throws: the try below
  // releases both only once both exist.
  let features: FeatureExtractor;
  try {
    features = featureExtractor(encoder, {
      chunkSize: Math.min(options.evalBatchSize, Math.max(data.train.count, data.test.count)),
      backend: options.backend,
      onWarning: warnings,
    });
  } catch (cause) {
    await step.destroy();
    throw cause;
  }
  // What ran, said once per compiled program when it first runs: the training step and the
  // evaluation may not get the same backend (a kernel one backend cannot build falls back).
  const announced = new Map<string, string>();
  const announce = (role: string, report: ExecutionReport | undefined) => {
    if (announced.has(role) || report === undefined) return;
    const description = describeExecution(report, options.backend !== undefined);
    const same = [...announced].find(([, said]) => said === description);
    announced.set(role, description);
    log(same === undefined ? `${role}: ${description}` : `${role}: backend ${report.backend}, as the ${same[0]}`);
  };
  const executionOf = () => announced.get('training step') ?? announced.get('evaluation') ?? '';
  const backendOf = () => (step.report() ?? features.report())?.backend ?? options.backend ?? 'unknown';

  const classes = data.classNames.length;
  const queries = queryIndices(data.test.labels, classes, hooks.queriesPerClass ?? 2);
  const neighboursPerQuery = Math.min(hooks.neighboursPerQuery ?? 8, data.train.count);
  const evaluate = async (epoch: number) => {
    const start = performance.now();
    const label = epoch === 0 ? 'evaluating the random encoder' : `evaluating epoch ${epoch}`;
    evaluationProgress.start(label, data.train.count + data.test.count);
    let trainFeatures, testFeatures;
    try {
      trainFeatures = await features.features(training.params, training.state, data.train.images, data.train.count, evaluationProgress.update, hooks.signal);
      testFeatures = await features.features(training.params, training.state, data.test.images, data.test.count,
        (done) => evaluationProgress.update(data.train.count + done), hooks.signal);
    } finally {
      evaluationProgress.stop();
    }
    announce('evaluation', features.report());
    const knn = { k: options.knnK, sigma: options.knnSigma, classes };
    const accuracy = knnAccuracy(trainFeatures.embedding, data.train.labels, testFeatures.embedding, data.test.labels, knn);
    const backbone = knnAccuracy(trainFeatures.backbone, data.train.labels, testFeatures.backbone, data.test.labels, knn);
    if (epoch === 0 && accuracy.k < options.knnK) log(`kNN with k = ${accuracy.k}: only ${data.train.count} training images`);
    await writeNeighbours(out, {
      lists: nearestNeighbours(trainFeatures.embedding, testFeatures.embedding, queries, neighboursPerQuery),
      trainBytes: data.train.bytes, trainLabels: data.train.labels, testBytes: data.test.bytes, testLabels: data.test.labels,
      classNames: data.classNames,
      title: `Nearest training images of test images, ${epoch === 0 ? 'random encoder (epoch 0)' : `after epoch ${epoch}`}`,
    });
    // The record's accuracy fields, written alike for epoch 0 and every later epoch.
    const accuracies = {
      knn_top1: accuracy.top1, knn_top5: accuracy.top5, knn_top1_backbone: backbone.top1, knn_top5_backbone: backbone.top5,
    } satisfies Partial<EpochRecord>;
    return { accuracies, seconds: (performance.now() - start) / 1000 };
  };

  const title = `${objectiveName} | ${options.encoder} encoder${options.widths ? ` ${options.widths.join(',')}` : ''} | ` +
    `${data.train.count} images | batch ${batchSize} | seed ${options.seed}`;
  let metrics: EpochRecord[] = saved?.metrics ?? [];
  let position: RunPosition = saved?.position ?? { epoch: 0, stepInEpoch: 0, optimizerStep: 0, epochLossSum: 0, epochSeconds: 0, epochBuildSteps: 0, epochBuildSeconds: 0 };
  const persist = async () => {
    await writeFileAtomic(files.metrics, metricsLines(metrics));
    await writeCurves(out, metrics, title);
    await writeRunCheckpoint(out, training, { position, options: recordedOptions(options), metrics, trainMd5: data.trainMd5 });
  };
  const result = (status: RunResult['status']): RunResult => ({ status, out, position, metrics, files, execution: executionOf() });

  try {
    const stopped = () => hooks.signal?.aborted === true;
    if (saved === undefined) {
      if (stopped()) return result('cancelled');
      const evaluation = await evaluate(0).catch((cause) => {
        if (stopped()) return undefined;
        throw cause;
      });
      if (evaluation === undefined) return result('cancelled');
      metrics = [{
        epoch: 0, loss: null, ...evaluation.accuracies, seconds: 0, instances_per_second: null,
        backend: backendOf(), learning_rate: null, steps: 0, eval_seconds: evaluation.seconds,
      }];
      await persist();
      log(describeRecord(metrics[0], options.epochs));
      if (stopped()) return result('interrupted');
    } else {
      // Lines written after the checkpoint (by a run killed between the two writes) are dropped.
      await writeFileAtomic(files.metrics, metricsLines(metrics));
      log(`resuming ${out} after epoch ${position.epoch}` +
        (position.stepInEpoch > 0 ? ` and ${position.stepInEpoch} of the ${stepsPerEpoch} steps of epoch ${position.epoch + 1}` : '') +
        ` (optimiser step ${position.optimizerStep})`);
      if (position.epoch >= options.epochs) {
        await writeCurves(out, metrics, title);
        log(`all ${options.epochs} epochs are done; give a larger --epochs to train further`);
        return result('finished');
      }
    }

    const timer = new StepTimer();
    for (let epoch = position.epoch + 1; epoch <= options.epochs; epoch++) {
      const order = keys.epochOrder(epoch, data.train.count);
      const learningRate = learningRateOf(epoch - 1);
      const learningRateValue = { shape: [], data: Float32Array.of(learningRate) };
      // At an epoch boundary these are 0; after a stop mid-epoch they continue the epoch.
      const first = position.stepInEpoch;
      let { epochLossSum: lossSum, epochSeconds: seconds, epochBuildSteps: buildSteps, epochBuildSeconds: buildSeconds } = position;
      progress.start(epoch, options.epochs, stepsPerEpoch, first);
      for (let s = first; s < stepsPerEpoch; s++) {
        const images = gatherImages(data.train.images, order.subarray(s * batchSize, (s + 1) * batchSize));
        const builtBefore = step.stats();
        const start = performance.now();
        const next = (await step({
          ...training,
          images: { shape: [batchSize, 3, 32, 32], data: images },
          key: keys.stepKey(epoch, s),
          learningRate: learningRateValue,
        } as never)) as unknown as TrainingState & { loss: { data: Float32Array } };
        const elapsed = (performance.now() - start) / 1000;
        // A step that traced or built kernels is timed apart: its seconds say how long building
        // took, not how fast the step runs.
        const builtAfter = step.stats();
        const built = builtAfter.traces > builtBefore.traces || builtAfter.kernelsBuilt > builtBefore.kernelsBuilt;
        if (!announced.has('training step')) {
          // Said above the bar, as soon as the step has run once.
          progress.stop();
          announce('training step', step.report());
          progress.start(epoch, options.epochs, stepsPerEpoch, s);
        }
        const loss = next.loss.data[0];
        if (!Number.isFinite(loss)) {
          progress.stop();
          throw new Error(`the loss is ${loss} at epoch ${epoch}, step ${s + 1}; stopping with the last checkpoint intact. A lower --lr may help`);
        }
        training = { params: next.params, state: next.state, optimizerState: next.optimizerState };
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
        progress.update(s + 1, lossSum / (s + 1), batchSize / secondsPerStep, secondsPerStep * ((stepsPerEpoch - s - 1) + (options.epochs - epoch) * stepsPerEpoch));
        hooks.onStep?.({ epoch, step: s, loss });
        if (stopped()) break;
      }
      progress.stop();
      // Stopped during the steps or the evaluation: the checkpoint holds the steps done; a
      // resumed run does the rest of the epoch (or only its evaluation).
      const evaluation = stopped() ? undefined : await evaluate(epoch).catch((cause) => {
        if (stopped()) return undefined;
        throw cause;
      });
      if (evaluation === undefined) {
        await persist();
        return result('interrupted');
      }
      const record: EpochRecord = {
        epoch, loss: lossSum / stepsPerEpoch, ...evaluation.accuracies, seconds,
        instances_per_second: stepsPerEpoch > buildSteps ? ((stepsPerEpoch - buildSteps) * batchSize) / seconds : null,
        backend: backendOf(), learning_rate: learningRate, steps: stepsPerEpoch, eval_seconds: evaluation.seconds, build_seconds: buildSeconds,
      };
      metrics = [...metrics, record];
      position = { epoch, stepInEpoch: 0, optimizerStep: position.optimizerStep, epochLossSum: 0, epochSeconds: 0, epochBuildSteps: 0, epochBuildSeconds: 0 };
      await persist();
      log(describeRecord(record, options.epochs));
      if (stopped() && epoch < options.epochs) return result('interrupted');
    }
    return result('finished');
  } finally {
    progress.stop();
    evaluationProgress.stop();
    await step.destroy();
    await features.destroy();
  }
};
