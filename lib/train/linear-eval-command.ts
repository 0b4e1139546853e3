// The command line of examples/linear-eval.ts: the linear evaluation of a run's checkpoint. It is
// the run resumed with --linear-eval at the epochs it has done, so it holds the run's folder,
// checks the data against the checkpoint's md5s, and writes linear_top1 into the last epoch's
// record, in metrics.jsonl and in the checkpoint, as a run given --linear-eval would have.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { type BackendName, backendNamed, backendNames } from '../compile/backend.ts';
import type { TrainOptions } from './options.ts';
import { checkpointPath, readRunCheckpoint } from './run-checkpoint.ts';
import { trainCifar10 } from './run.ts';

export const linearEvalHelp = (command = 'tsx examples/linear-eval.ts'): string => [
  `Usage: ${command} --run DIR [--data PATH] [--backend NAME]`,
  '',
  'Trains a linear softmax classifier on the frozen, L2-normalised backbone features of the',
  'training images of the run in DIR (its checkpoint\'s encoder, options and data) and reports',
  'its test top-1, which joins the last epoch\'s line of DIR/metrics.jsonl as linear_top1.',
  '',
  '  --run DIR       the run\'s folder (it holds checkpoint.safetensors)',
  '  --data PATH     where the run\'s data is, if not where the run found it',
  `  --backend NAME  ${backendNames.join('|')} (default: the run's)`,
].join('\n');

type Request = { readonly kind: 'help' } | { readonly kind: 'evaluate'; readonly run: string; readonly data?: string; readonly backend?: BackendName };

export const parseLinearEvalArguments = (argv: readonly string[]): E.Either<string, Request> => {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv], strict: true, allowPositionals: false,
      options: { run: { type: 'string' }, data: { type: 'string' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (cause) {
    return E.left(`${(cause as Error).message.split('\n')[0]}; see --help`);
  }
  if (values.help) return E.right({ kind: 'help' });
  if (values.run === undefined) return E.left('--run DIR is required: the folder of the run to evaluate');
  const backend = values.backend === undefined ? undefined : backendNamed(values.backend);
  if (values.backend !== undefined && backend === undefined) return E.left(`--backend: expected one of ${backendNames.join(', ')}, got "${values.backend}"`);
  return E.right({
    kind: 'evaluate', run: path.resolve(values.run),
    data: values.data === undefined ? undefined : path.resolve(values.data), backend,
  });
};

/** The options that resume the run in `run` only to evaluate it: its own, at the epochs it has done. */
export const linearEvalOptions = async (request: Extract<Request, { kind: 'evaluate' }>): Promise<E.Either<string, TrainOptions>> => {
  const saved = await readRunCheckpoint(checkpointPath(request.run))();
  if (E.isLeft(saved)) return E.left(`--run: ${saved.left.message}`);
  const { position, metrics, options } = saved.right;
  if (metrics.length === 0) return E.left(`--run ${request.run}: the run stopped before its first evaluation; resume it (--resume) first`);
  // The checkpoint's encoder must be the one the last record measured.
  if (position.stepInEpoch > 0)
    return E.left(`--run ${request.run}: the run stopped at step ${position.stepInEpoch} of epoch ${position.epoch + 1}; resume it (--resume) to the end of an epoch first`);
  return E.right({
    ...options, out: request.run, resume: true, linearEval: true, epochs: position.epoch,
    data: request.data ?? options.data, backend: request.backend ?? options.backend,
  });
};

const fail = (message: string, code = 1): never => {
  console.error(`linear-eval: ${message}`);
  process.exit(code);
};

export const runLinearEvalCommand = async (argv: readonly string[], command = 'tsx examples/linear-eval.ts'): Promise<void> => {
  const request = parseLinearEvalArguments(argv);
  if (E.isLeft(request)) return fail(request.left, 2);
  if (request.right.kind === 'help') {
    console.log(linearEvalHelp(command));
    return;
  }
  const options = await linearEvalOptions(request.right);
  if (E.isLeft(options)) return fail(options.left);
  const stop = new AbortController();
  process.on('SIGINT', () => stop.abort());
  try {
    const result = await trainCifar10(options.right, { progress: true, signal: stop.signal });
    const last = result.metrics.at(-1);
    if (result.status === 'interrupted' || last?.linear_top1 === undefined) {
      console.log(`stopped before the linear evaluation ended; run the command again`);
      process.exitCode = 130;
    } else console.log(`linear_top1 ${last.linear_top1} (epoch ${last.epoch}) is in ${path.join(result.out, 'metrics.jsonl')}`);
  } catch (cause) {
    fail(cause instanceof Error ? cause.message : String(cause));
  }
};
