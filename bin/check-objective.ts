// npm run check-objective -- path/to/objective.ts [--runs N] [--seed S] [--backend NAME] [--time-limit SECONDS]
//
// Runs the objective battery (lib/check/objective-battery.ts) on an objective someone wrote and
// prints a line per property as it finishes, with the shrunk counterexample under a failure.
// Exit status: 0 when every required property holds, 1 when one does not or the objective did
// not return within the time limit, 2 for a usage error (bad arguments, a missing file, exports
// that are not an objective, an import that does not finish), 130 for Ctrl-C.

import { parseArgs } from 'node:util';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { backendNames, type BackendName, chooseBackend } from '../lib/compile/backend.ts';
import { checkObjective, defaultBatteryRuns } from '../lib/check/objective-battery.ts';
import { loadAnyObjective } from '../lib/check/load-objective.ts';
import { formatBatteryHeader, formatBatteryProperty, formatBatterySummary } from '../lib/check/objective-report.ts';
import { DEFAULT_TIME_LIMIT_SECONDS, UserCodeStopped } from '../lib/check/user-code.ts';

const usage = `Usage: npm run check-objective -- FILE [--runs N] [--seed S] [--backend NAME] [--time-limit SECONDS]
       (or: npx tsx bin/check-objective.ts FILE ...)

Checks an embedding objective written in the language: that its gradient is right and that it
behaves like an embedding objective should. FILE exports

  default (or objective)  (features: Tensor [2m, d], options) => scalar Tensor. Rows 0..m-1 are
                          the first views of m instances, rows m..2m-1 their second views.
  options                 optional: the object passed as the second argument ({} otherwise).
  temperatures            optional: more option objects to check, each merged over options, e.g.
                          [{ temperature: 0.05 }, { temperature: 0.5 }]. Without it, a
                          \`temperature\` option is detected (setting it changes the loss) and
                          0.05 and 0.5 are tried; [] turns that off.
  symmetric               optional, default true: whether swapping the two views must leave the
                          objective unchanged (false reports the swap for information only).
  properties              optional: extra properties, each { name, property: (features,
                          { m, d, rows, loss, options, lossAt }) => boolean | void }; false or a
                          throw is a failure.
  reference               optional: a second implementation of the objective (same arguments),
                          whose loss and gradient the objective's must equal. Finite
                          differences hold every stopGradient node fixed, so they cannot tell
                          where a stopGradient sits; the report says when the objective has
                          such nodes and no reference.

Each check is a fast-check property over random m (1..4), d (2..8) and L2-normalised features:
  1. the gradient against central finite differences (float64), at each option set, on random
     and on nearly coincident features (rows within 1e-6 of one another);
  2. the compiled loss and gradient against the interpreted ones (float32 tolerance);
  3. a finite loss and gradient on nearly coincident and on antipodal features;
  4. permuting the instances (both views alike) keeps the loss and permutes the gradient;
  5. swapping the two views keeps the loss and swaps the gradient;
  6. every extra property in \`properties\`;
  7. the loss and gradient against \`reference\`, when there is one.

Options:
  --runs N        runs of each property (default ${defaultBatteryRuns})
  --seed S        fast-check's seed (default: drawn, and printed); a failure's seed reruns it
  --backend NAME  the compiled check's backend: ${backendNames.join(', ')} (default: the best that runs here)
  --time-limit SECONDS
                  how long FILE's import, and each call of its objective, reference or
                  properties, may take before the check stops it (default ${DEFAULT_TIME_LIMIT_SECONDS})
  -h, --help      this text

Exit status: 0 every required property holds; 1 one does not, or the objective did not return
within the time limit; 2 usage error, or an import that does not finish; 130 Ctrl-C.`;

interface Arguments {
  readonly file: string;
  readonly runs?: number;
  readonly seed?: number;
  readonly backend?: BackendName;
  readonly timeLimitSeconds: number;
}

const integerArgument = (name: string, text: string | undefined, least: number): Either<string, number | undefined> => {
  if (text === undefined) return right(undefined);
  const value = Number(text);
  return /^-?\d+$/.test(text.trim()) && Number.isSafeInteger(value) && value >= least
    ? right(value)
    : left(`--${name} must be an integer of at least ${least}; got "${text}"`);
};

/** Right(the arguments), Right('help'), or Left(what is wrong with them). */
const parseArguments = (args: readonly string[]): Either<string, Arguments | 'help'> => {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        runs: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' }, 'time-limit': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return left(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return right('help');
  if (positionals.length !== 1)
    return left(positionals.length === 0 ? 'name the objective file to check' : `expected one objective file; got ${positionals.length}: ${positionals.join(' ')}`);
  const runs = integerArgument('runs', values.runs, 1);
  if (isLeft(runs)) return runs;
  const seed = integerArgument('seed', values.seed, -0x80000000);
  if (isLeft(seed)) return seed;
  const backend = values.backend;
  if (backend !== undefined && !(backendNames as readonly string[]).includes(backend))
    return left(`--backend must be one of ${backendNames.join(', ')}; got "${backend}"`);
  const limitText = values['time-limit'];
  const limit = limitText === undefined ? DEFAULT_TIME_LIMIT_SECONDS : Number(limitText);
  if (limitText !== undefined && !(limitText.trim() !== '' && Number.isFinite(limit) && limit > 0))
    return left(`--time-limit must be a positive number of seconds; got "${limitText}"`);
  return right({ file: positionals[0], runs: runs.right, seed: seed.right, backend: backend as BackendName | undefined, timeLimitSeconds: limit });
};

const usageError = (message: string): number => {
  console.error(`check-objective: ${message}\n(npm run check-objective -- --help for the usage)`);
  return 2;
};

const stoppedByCtrlC = (message = 'Ctrl-C: stopped'): never => {
  console.error(`check-objective: ${message}; nothing further was checked`);
  process.exit(130);
};

const main = async (args: readonly string[]): Promise<number> => {
  const parsed = parseArguments(args);
  if (isLeft(parsed)) return usageError(parsed.left);
  if (parsed.right === 'help') {
    console.log(usage);
    return 0;
  }
  const { file, runs, seed, backend, timeLimitSeconds } = parsed.right;
  if (backend !== undefined) {
    // A backend that cannot run here is the caller's mistake, not a finding about the objective.
    const choice = await chooseBackend(backend);
    if (isLeft(choice)) return usageError(`--backend ${backend}: ${choice.left}`);
    await choice.right.release();
  }
  const loaded = await loadAnyObjective(file, { timeLimitSeconds });
  if (isLeft(loaded)) return usageError(/within/.test(loaded.left) ? `${loaded.left}; --time-limit SECONDS gives it longer` : loaded.left);
  const rerunCommand = `npm run check-objective -- ${file}${runs === undefined ? '' : ` --runs ${runs}`}${backend === undefined ? '' : ` --backend ${backend}`}`;
  let report;
  try {
    report = await checkObjective(loaded.right, {
    runs,
    seed,
    backend,
    onStart: (plan) => console.log(formatBatteryHeader(plan)),
      onProperty: (result) => console.log(formatBatteryProperty(result, { rerunCommand })),
    });
  } catch (cause) {
    if (!(cause instanceof UserCodeStopped)) throw cause;
    if (cause.reason === 'ctrl-c') return stoppedByCtrlC(cause.message);
    console.error(`check-objective: ${cause.message}; nothing further was checked (--time-limit SECONDS gives it longer)`);
    return 1;
  }
  console.log(formatBatterySummary(report));
  return report.passed ? 0 : 1;
};

// Ctrl-C ends the check at once: there is nothing to write. While one of the objective file's
// functions runs, the loader stops that code first and passes the Ctrl-C on (lib/check/user-code.ts).
process.on('SIGINT', () => stoppedByCtrlC());

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
