// What a run says and writes: one line per compiled program on what really ran, and after every
// epoch (or a stop) its folder's files rewritten: the checkpoint, metrics.jsonl and curves.png
// (with its spec), each atomically, the checkpoint first, so that metrics.jsonl never runs ahead of
// it: a write that fails (a full disk) leaves the metrics of the last checkpoint, which a resumed
// run rewrites.

import * as path from 'node:path';
import type { ExecutionReport } from '../compile/index.ts';
import { type AtomicWriteIo, writeFileAtomic } from '../checkpoint/atomic-write.ts';
import { type EpochRecord, metricsLines } from './metrics.ts';
import { augmentationText, recordedOptions, type TrainOptions } from './options.ts';
import { CURVES_FILE, CURVES_SPEC_FILE, NEIGHBOURS_FILE, writeCurves } from './report-files.ts';
import { checkpointPath, type RunPosition, type TrainingState, writeRunCheckpoint } from './run-checkpoint.ts';
import type { TrainingData } from './training-data.ts';

export const METRICS_FILE = 'metrics.jsonl';

export interface RunFiles {
  readonly metrics: string;
  readonly checkpoint: string;
  readonly curves: string;
  readonly curvesSpec: string;
  readonly neighbours: string;
}

export const runFiles = (out: string): RunFiles => ({
  metrics: path.join(out, METRICS_FILE),
  checkpoint: checkpointPath(out),
  curves: path.join(out, CURVES_FILE),
  curvesSpec: path.join(out, CURVES_SPEC_FILE),
  neighbours: path.join(out, NEIGHBOURS_FILE),
});

/** One line on what really ran, from compile's report. */
export const describeExecution = (report: ExecutionReport, requested: boolean): string =>
  `backend ${report.backend} (${report.adapter === undefined ? '' : `adapter ${report.adapter}, `}kernels ${report.kernelMode ?? 'none'}, executor ${report.executorKind ?? 'none'})` +
  (requested ? ', as requested with --backend'
    : report.skipped.length > 0 ? `; passed over: ${report.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}` : ', the first choice') +
  (report.fallbackReason ? `; fell back: ${report.fallbackReason}` : '') +
  // The GEMM's slower form, where the engine has no relaxed SIMD, is a degradation to name.
  (report.native !== undefined && !report.native.multiplyAdd.fused ? `; native GEMM multiply-adds separate: ${report.native.multiplyAdd.reason}` : '') +
  (report.hostSteps.length > 0 ? `; on the host between kernels: ${[...new Set(report.hostSteps)].join(', ')}` : '');

/**
 * What ran, said once per compiled program when it first runs: the training step and the
 * evaluation may not get the same backend (a kernel one backend cannot build falls back).
 */
export const executionAnnouncer = (log: (line: string) => void, requested: boolean) => {
  const announced = new Map<string, string>();
  return {
    announce: (role: string, report: ExecutionReport | undefined): void => {
      if (announced.has(role) || report === undefined) return;
      const description = describeExecution(report, requested);
      const same = [...announced].find(([, said]) => said === description);
      announced.set(role, description);
      log(same === undefined ? `${role}: ${description}` : `${role}: backend ${report.backend}, as the ${same[0]}`);
    },
    said: (role: string): boolean => announced.has(role),
    /** The training step's line, or the evaluation's when no step ran. */
    execution: (): string => announced.get('training step') ?? announced.get('evaluation') ?? '',
  };
};

export interface RunSnapshot {
  readonly training: TrainingState;
  readonly position: RunPosition;
  readonly metrics: readonly EpochRecord[];
}

/** The curves picture's title: what was trained, on what. */
export const runTitle = (options: TrainOptions, objectiveName: string, trainCount: number): string =>
  `${objectiveName}${options.objective === 'invariant-spreading' ? ` negative weight ${options.negativeWeight}` : ''} | ` +
  `${options.encoder} encoder${options.widths ? ` ${options.widths.join(',')}` : ''} | ` +
  `augment ${augmentationText(options)} | ` +
  `${options.dataset === 'cifar10' ? '' : `${options.dataset} `}${trainCount} images${options.imageSize === undefined ? '' : ` at ${options.imageSize}px`}${options.trainClasses === undefined ? '' : ` of classes ${options.trainClasses.join(',')}`} | batch ${options.batchSize} | seed ${options.seed}`;

/** Rewrites the run's files from a snapshot (no curves before the first record: nothing to draw). */
export const persistRun = async (
  out: string,
  { options, data, title }: { readonly options: TrainOptions; readonly data: TrainingData; readonly title: string },
  { training, position, metrics }: RunSnapshot,
  io?: AtomicWriteIo,
): Promise<void> => {
  await writeRunCheckpoint(out, training, { position, options: recordedOptions(options), metrics: [...metrics], trainMd5: data.trainMd5, testMd5: data.testMd5 }, io);
  await writeFileAtomic(path.join(out, METRICS_FILE), metricsLines(metrics), io);
  if (metrics.length > 0) await writeCurves(out, metrics, title, io);
};
