// A training run (CIFAR-10 or STL-10) as one library call: load the data, build the encoder, the
// objective and SGD, compile the training step and the evaluation-mode encoder, evaluate the
// random encoder (epoch 0), then train epoch by epoch, evaluating after each, and with
// --linear-eval probe the last encoder; after every epoch the metrics, the pictures and a
// checkpoint are rewritten in the run's folder. A run resumed from
// its checkpoint gives the same numbers as one never interrupted: every random draw is a
// function of the seed and the position (see run-keys.ts), and the checkpoint holds the whole
// training state in float32, as the compiled step sees it.

import * as path from 'node:path';
import { type AtomicWriteIo, removeStaleTemporaryFiles, writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { FileWriteError } from '../checkpoint/file-errors.ts';
import { isStoppedByCtrlC } from '../check/user-code.ts';
import { stepDecay } from '../optim/schedule.ts';
import { flagName } from './cli-options.ts';
import { epochEvaluator, type EpochEvaluation } from './epoch-evaluation.ts';
import { runEpochSteps } from './epoch-steps.ts';
import { linearEvaluation, withLinearTop1 } from './linear-evaluation.ts';
import { describeRecord, type EpochRecord, metricsLines } from './metrics.ts';
import type { TrainOptions } from './options.ts';
import { countProgress, StepTimer, stepProgress } from './progress.ts';
import { writeCurves } from './report-files.ts';
import type { RunPosition } from './run-checkpoint.ts';
import { runKeys } from './run-keys.ts';
import { claimRunFolder } from './run-lock.ts';
import { runPrograms } from './run-programs.ts';
import { executionAnnouncer, persistRun, type RunFiles, runFiles, type RunSnapshot, runTitle } from './run-report.ts';
import { checkResumedData, savedRunToContinue, startingState, startPosition } from './run-start.ts';
import { loadRunDataset } from './run-dataset.ts';
import { type RunDataset, trainingData } from './training-data.ts';

export { describeExecution, METRICS_FILE, type RunFiles } from './run-report.ts';

export interface RunHooks {
  /** Lines saying what happens (default: stdout). */
  readonly log?: (line: string) => void;
  /** Degradations and warnings (default: stderr). */
  readonly warn?: (line: string) => void;
  /** Progress bars on stderr (the download's and the steps'), when it is a terminal. */
  readonly progress?: boolean;
  /**
   * Once aborted, the run stops after the current step (or between chunks of an evaluation, which
   * a resumed run redoes), writes its checkpoint and report, and returns 'interrupted'. Aborted
   * before epoch 0's evaluation, its checkpoint holds the initial state and no metrics.
   */
  readonly signal?: AbortSignal;
  /** Data already in memory (tests), CIFAR-10 or STL-10 as `options.dataset` says; otherwise `options.data`, the cache or a download. */
  readonly dataset?: RunDataset;
  /** Called after every training step. */
  readonly onStep?: (step: { readonly epoch: number; readonly step: number; readonly loss: number }) => void;
  /** Rows of the neighbours picture per class (default 2) and neighbours per row (default 8). */
  readonly queriesPerClass?: number;
  readonly neighboursPerQuery?: number;
  /** The file-system calls the run writes its lock and files with (default node's), so that a test can fill the disk. */
  readonly io?: AtomicWriteIo;
}

export interface RunResult {
  readonly status: 'finished' | 'interrupted';
  /** Why an interrupted run stopped where a plain Ctrl-C does not say it: the user code that Ctrl-C stopped. */
  readonly stopReason?: string;
  readonly out: string;
  readonly position: RunPosition;
  readonly metrics: readonly EpochRecord[];
  readonly files: RunFiles;
  /** Which backend ran the training step (or, when no step ran, the evaluation), how, and why better ones were passed over. */
  readonly execution: string;
}

/** A write that failed (a full disk, say): which file, and where the run can continue from. */
export class RunWriteFailure extends Error {
  /** Whether the folder holds a checkpoint to resume from. */
  readonly resumable: boolean;
  /** Whether freeing space is what lets the file be written. */
  readonly full: boolean;
  constructor(cause: FileWriteError, checkpoint: { readonly out: string; readonly position: RunPosition; readonly evaluated: boolean } | undefined) {
    super(`${cause.message}; ` + (checkpoint === undefined ? 'the run had written no checkpoint yet, and kept nothing'
      : `the checkpoint in ${checkpoint.out} (${describePosition(checkpoint.position, checkpoint.evaluated)}) is intact, and the metrics match it`));
    this.name = 'RunWriteFailure';
    this.resumable = checkpoint !== undefined;
    this.full = cause.code === 'ENOSPC' || cause.code === 'EDQUOT';
  }
}

/** Where a checkpoint stands, in words: `evaluated` says whether epoch 0 was. */
export const describePosition = ({ epoch, stepInEpoch }: RunPosition, evaluated: boolean): string =>
  !evaluated ? 'before the evaluation of the random encoder' : `after ${stepInEpoch > 0 ? `step ${stepInEpoch} of epoch ${epoch + 1}` : `epoch ${epoch}`}`;

/**
 * Trains and evaluates in `options.out`, which the run holds (a lock file) from its first moment
 * to its end. A new run that fails before its first checkpoint removes what it wrote, and the
 * folder if it made it; a later failure keeps the last checkpoint to resume from, and a write
 * that fails says so (RunWriteFailure).
 */
export const trainCifar10 = async (options: TrainOptions, hooks: RunHooks = {}): Promise<RunResult> => {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const out = path.resolve(options.out);
  const claim = await claimRunFolder(out, log, { resume: options.resume, io: hooks.io });
  const files = runFiles(out);
  // The checkpoint in the folder, once there is one (this run's, or the one it resumes).
  let checkpoint: { out: string; position: RunPosition; evaluated: boolean } | undefined;
  try {
    const result = await trainInClaimedFolder(options, hooks, out, files, (position, evaluated) => (checkpoint = { out, position, evaluated }));
    await claim.release();
    return result;
  } catch (cause) {
    await claim.release({ undo: checkpoint === undefined, files: Object.values(files) });
    throw cause instanceof FileWriteError ? new RunWriteFailure(cause, checkpoint) : cause;
  }
};

const trainInClaimedFolder = async (
  options: TrainOptions, hooks: RunHooks, out: string, files: RunFiles, checkpointAt: (position: RunPosition, evaluated: boolean) => void,
): Promise<RunResult> => {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const warn = hooks.warn ?? ((line: string) => console.error(line));
  const stopped = () => hooks.signal?.aborted === true;

  // Load or resume.
  const saved = await savedRunToContinue(options, out);
  if (saved !== undefined) checkpointAt(saved.position, saved.metrics.length > 0);
  const stale = await removeStaleTemporaryFiles(out);
  if (stale.length > 0) log(`removed ${stale.length} half-written file${stale.length === 1 ? '' : 's'} left by a stopped run: ${stale.join(', ')}`);
  const dataset = hooks.dataset ?? (await loadRunDataset(options, { progress: hooks.progress, onInfo: log }));
  const data = trainingData(dataset, options);
  log(data.description);
  const { batchSize } = options;
  const stepsPerEpoch = Math.floor(data.steps.count / batchSize);
  if (stepsPerEpoch === 0) throw new RangeError(`${data.steps.count} training images are fewer than ${flagName('batchSize')} ${batchSize}: an epoch would have no step`);
  if (saved !== undefined) checkResumedData(saved, data, stepsPerEpoch, out, log);
  const dropped = data.steps.count - stepsPerEpoch * batchSize;

  const progress = stepProgress(hooks.progress ?? false);
  const evaluationProgress = countProgress(hooks.progress ?? false, 'images');
  const onWarning = (message: string) => {
    progress.breakLine();
    warn(`warning: ${message}`);
  };
  const keys = runKeys(options.seed);
  const programs = await runPrograms(options, {
    keys, trainCount: data.steps.count, largestSplit: Math.max(data.train.count, data.test.count, data.unseen?.count ?? 0), side: data.side, normalization: data.normalization, onWarning, signal: hooks.signal,
  });
  log(programs.description);
  log(`${options.epochs} epoch${options.epochs === 1 ? '' : 's'} of ${stepsPerEpoch} steps of ${batchSize} images (${programs.views === 1 ? `1 view each` : `2 x ${batchSize} views`})` +
    (dropped > 0 ? `; each epoch drops the last ${dropped} of its ${data.steps.count} shuffled images so that every step has the same shapes` : ''));

  const { step, features } = programs;
  const announcer = executionAnnouncer(log, options.backend !== undefined);
  const evaluate = epochEvaluator({
    out, options, data, features, progress: evaluationProgress, log, signal: hooks.signal,
    featuresComputed: () => announcer.announce('evaluation', features.report()),
    queriesPerClass: hooks.queriesPerClass ?? 2, neighboursPerQuery: hooks.neighboursPerQuery ?? 8,
    clusteringKey: keys.clusteringKey, onWarning,
  });
  // A stop during an evaluation is no failure: the evaluation is redone by the resumed run.
  const evaluateUnlessStopped = (epoch: number, snapshot: RunSnapshot): Promise<EpochEvaluation | undefined> =>
    evaluate(epoch, snapshot.training).catch((cause) => {
      if (stopped()) return undefined;
      throw cause;
    });
  const backendOf = () => (step.report() ?? features.report())?.backend ?? options.backend ?? 'unknown';
  const learningRateOf = stepDecay(options.learningRate, { milestones: options.learningRateMilestones, factor: options.learningRateDecay });
  const reportSetting = { options, data, title: runTitle(options, programs.objectiveName, data.steps.count) };

  let run: RunSnapshot = {
    training: startingState(programs.template, saved, out),
    position: saved?.position ?? startPosition,
    metrics: saved?.metrics ?? [],
  };
  const persist = async () => {
    await persistRun(out, reportSetting, run, hooks.io);
    checkpointAt(run.position, run.metrics.length > 0);
  };
  const result = (status: RunResult['status'], stopReason?: string): RunResult =>
    ({ status, out, position: run.position, metrics: run.metrics, files, execution: announcer.execution(), ...(stopReason === undefined ? {} : { stopReason }) });
  const interrupted = async (stopReason?: string) => {
    await persist();
    return result('interrupted', stopReason);
  };
  // --linear-eval, once the last epoch is evaluated; a stop during it leaves the record without
  // linear_top1, and the resumed run does it.
  const finished = async (): Promise<RunResult> => {
    if (options.linearEval && run.metrics.at(-1)?.linear_top1 === undefined) {
      const setting = { data, features, key: keys.linearProbe, backend: options.backend, progress: evaluationProgress, log, onWarning, signal: hooks.signal };
      const top1 = stopped() ? undefined : await linearEvaluation(setting, run.training).catch((cause) => {
        if (stopped()) return undefined;
        throw cause;
      });
      if (top1 === undefined) return await interrupted();
      run = { ...run, metrics: withLinearTop1(run.metrics, top1) };
      await persist();
    }
    return result('finished');
  };

  try {
    if (saved !== undefined) {
      // Lines written after the checkpoint (by a run killed between the two writes) are dropped.
      await writeFileAtomic(files.metrics, metricsLines(run.metrics), hooks.io);
      const { position } = run;
      log(`resuming ${out} ` + (run.metrics.length === 0 ? 'before the evaluation of the random encoder (epoch 0)'
        : `after epoch ${position.epoch}` + (position.stepInEpoch > 0 ? ` and ${position.stepInEpoch} of the ${stepsPerEpoch} steps of epoch ${position.epoch + 1}` : '') +
          ` (optimiser step ${position.optimizerStep})`));
      if (run.metrics.length > 0 && position.epoch >= options.epochs) {
        await writeCurves(out, run.metrics, reportSetting.title);
        log(`all ${options.epochs} epochs are done; give a larger --epochs to train further`);
        return await finished();
      }
    }

    // Epoch 0: the random encoder, evaluated once before any step.
    if (run.metrics.length === 0) {
      if (stopped()) return await interrupted();
      const evaluation = await evaluateUnlessStopped(0, run);
      if (evaluation === undefined) return await interrupted();
      const record: EpochRecord = {
        epoch: 0, loss: null, ...evaluation.accuracies, seconds: 0, instances_per_second: null,
        backend: backendOf(), learning_rate: null, steps: 0, eval_seconds: evaluation.seconds,
      };
      run = { ...run, metrics: [record] };
      await persist();
      log(describeRecord(record, options.epochs));
      if (stopped()) return result('interrupted');
    }

    const stepSetting = {
      data, batchSize, stepsPerEpoch, epochs: options.epochs, keys, step, takesIndices: programs.takesIndices, progress, timer: new StepTimer(), stopped,
      stepAnnounced: () => announcer.said('training step'),
      announceStep: () => announcer.announce('training step', step.report()),
      onStep: hooks.onStep,
      // Unit features' similarities lie in [-1, 1]: divided by a temperature below about 0.012
      // their exponentials overflow float32, whatever the learning rate.
      divergenceHint: options.objective !== 'align-uniform' && options.temperature < 0.012
        ? `--temperature ${options.temperature} is so small that exp(similarity / temperature) overflows float32; a larger --temperature may help`
        : 'A lower --lr may help',
    };
    for (let epoch = run.position.epoch + 1; epoch <= options.epochs; epoch++) {
      const learningRate = learningRateOf(epoch - 1);
      const trained = await runEpochSteps(stepSetting, epoch, learningRate, run);
      run = { ...run, ...trained };
      // Stopped during the steps or the evaluation: the checkpoint holds the steps done; a
      // resumed run does the rest of the epoch (or only its evaluation).
      const evaluation = stopped() ? undefined : await evaluateUnlessStopped(epoch, run);
      if (evaluation === undefined) return await interrupted();
      const { epochLossSum, epochSeconds: seconds, epochBuildSteps: buildSteps, epochBuildSeconds, optimizerStep } = run.position;
      const record: EpochRecord = {
        epoch, loss: epochLossSum / stepsPerEpoch, ...evaluation.accuracies, seconds,
        instances_per_second: stepsPerEpoch > buildSteps ? ((stepsPerEpoch - buildSteps) * batchSize) / seconds : null,
        backend: backendOf(), learning_rate: learningRate, steps: stepsPerEpoch, eval_seconds: evaluation.seconds, build_seconds: epochBuildSeconds,
      };
      const position: RunPosition = { ...startPosition, epoch, optimizerStep };
      run = { ...run, position, metrics: [...run.metrics, record] };
      await persist();
      log(describeRecord(record, options.epochs));
      if (stopped() && epoch < options.epochs) return result('interrupted');
    }
    return await finished();
  } catch (cause) {
    // Ctrl-C while the objective traced (its first call in this process): no step of it ran, and
    // the run stops as after a step.
    if (isStoppedByCtrlC(cause)) return await interrupted((cause as Error).message);
    throw cause;
  } finally {
    progress.stop();
    evaluationProgress.stop();
    await programs.destroy();
  }
};
