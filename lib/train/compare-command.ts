// The command line of a comparison (examples/compare.ts): one run per objective, each with the
// same encoder, data, seed and schedule (every other flag is passed to each run as the training
// command reads it), in OUT/<objective>/, then comparison.png and comparison.md in OUT. With
// --resume, each run with a checkpoint continues and the others start; a finished run is only read.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { flagName, parseCliOptions } from './cli-options.ts';
import { writeComparison, type ComparedRun } from './comparison-report.ts';
import { checkpointPath } from './run-checkpoint.ts';
import { trainCifar10 } from './run.ts';

const usage = `Usage: tsx examples/compare.ts --objectives A,B,... [--out DIR] [training flags]

Trains one run per objective with the same flags otherwise (encoder, data, seed, schedule:
see tsx examples/cifar10.ts --help), each in DIR/<objective>/ with its metrics.jsonl,
pictures and checkpoint, then writes DIR/comparison.png (kNN top-1 per epoch, a line per
objective) and DIR/comparison.md (the same figures as a table).

  --objectives A,B  built-in names (invariant-spreading, nt-xent, align-uniform, memory-bank,
                    exemplar) or objective files; each takes its own default temperature
                    unless --temperature is given
  --out DIR         the comparison's folder (default runs/compare-<time>)
  --resume          continue each run from its checkpoint (a run without one starts)`;

export interface CompareArguments {
  readonly objectives: readonly string[];
  readonly out: string;
  readonly resume: boolean;
  /** The flags every run gets. */
  readonly shared: readonly string[];
}

/** The comparison's own flags taken out of argv; Left(what is wrong), or 'help'. */
export const parseCompareArguments = (argv: readonly string[], now = new Date()): E.Either<string, CompareArguments | 'help'> => {
  const shared: string[] = [];
  let objectives: string | undefined;
  let out: string | undefined;
  let resume = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') return E.right('help');
    else if (flag === '--objectives') objectives = value();
    else if (flag === '--out') out = value();
    else if (flag === '--resume') resume = true;
    else if (flag === '--objective') return E.left('--objective: a comparison takes its objectives as --objectives A,B,...');
    else shared.push(argv[i]);
  }
  if (objectives === undefined) return E.left('--objectives: name the objectives to compare, e.g. --objectives invariant-spreading,memory-bank,exemplar');
  const names = objectives.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) return E.left(`--objectives: expected a comma-separated list of objectives, got "${objectives}"`);
  if (new Set(names).size !== names.length) return E.left(`--objectives: "${objectives}" names an objective twice`);
  return E.right({ objectives: names, out: path.resolve(out ?? path.join('runs', `compare-${now.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-')}`)), resume, shared });
};

/** A run's folder name: a built-in's name, a file's base name without its extension. */
export const runFolderName = (objective: string): string => path.basename(objective).replace(/\.[cm]?[jt]s$/, '');

const fail = (message: string, code = 1): never => {
  console.error(`compare: ${message}`);
  process.exit(code);
};

export const runCompareCommand = async (argv: readonly string[]): Promise<void> => {
  const parsed = parseCompareArguments(argv);
  if (E.isLeft(parsed)) return fail(`${parsed.left}; see --help`, 2);
  if (parsed.right === 'help') {
    console.log(usage);
    return;
  }
  const { objectives, out, resume, shared } = parsed.right;
  const folders = objectives.map(runFolderName);
  if (new Set(folders).size !== folders.length) return fail(`--objectives: two objectives would share a folder (${folders.join(', ')})`, 2);
  // Every run's options are read before the first trains, so a bad flag stops the comparison at once.
  const runs = objectives.map((objective, i) => {
    const runOut = path.join(out, folders[i]);
    const request = parseCliOptions([...shared, '--objective', objective, '--out', runOut, ...(resume && existsSync(checkpointPath(runOut)) ? ['--resume'] : [])]);
    if (E.isLeft(request)) return fail(`${request.left} (for --objectives ${objective})`, 2);
    if (request.right.kind !== 'train') return fail('unexpected --help', 2);
    return { objective, options: request.right.options };
  });
  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    console.error('\ncompare: Ctrl-C: stopping after the current step; continue with --resume');
  });
  const compared: ComparedRun[] = [];
  for (const { objective, options } of runs) {
    console.log(`\n== ${objective}: ${options.out}`);
    try {
      const result = await trainCifar10(options, { progress: true, signal: stop.signal });
      if (result.status === 'interrupted') return fail(`interrupted in ${objective}'s run; to continue: tsx examples/compare.ts ${argv.join(' ')} --resume`, 130);
      compared.push({ objective: runFolderName(objective), metrics: result.metrics });
    } catch (cause) {
      return fail(`${objective}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  const first = runs[0].options;
  const title = `kNN top-1, ${first.encoder} encoder, ${first.trainSize ?? 'all'} training images, batch ${first.batchSize}, lr ${first.learningRate}, seed ${first.seed}`;
  const { chart, table } = await writeComparison(out, compared, title);
  console.log(`\nthe comparison: ${chart} and ${table} (${flagName('objective')}s ${objectives.join(', ')})`);
};
