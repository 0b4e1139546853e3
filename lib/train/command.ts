// The command line of a CIFAR-10 run (examples/cifar10.ts): read the flags, find the run to
// resume, turn Ctrl-C into a clean stop, and say what was written. The work is done by
// trainCifar10 (run.ts).

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { isStoppedByCtrlC } from '../check/user-code.ts';
import { flagName, helpText, parseCliOptions } from './cli-options.ts';
import { resumedOptions, type TrainOptions } from './options.ts';
import { checkpointPath, readRunCheckpoint } from './run-checkpoint.ts';
import { latestRunFolder } from './run-folder.ts';
import { describePosition, RunWriteFailure, trainCifar10 } from './run.ts';
import { whenStarterEnds } from './tsx-relay.ts';

const fail = (message: string, code = 1): never => {
  console.error(`cifar10: ${message}`);
  process.exit(code);
};

/** Runs the command with `argv` (the arguments after the script); `command` is how the resume hint names it. */
export const runCifar10Command = async (argv: readonly string[], command = 'tsx examples/cifar10.ts'): Promise<void> => {
  const request = parseCliOptions(argv);
  if (E.isLeft(request)) fail(request.left, 2);
  const parsed = (request as E.Right<Exclude<ReturnType<typeof parseCliOptions>, E.Left<string>>['right']>).right;
  if (parsed.kind === 'help') {
    console.log(helpText(command));
    process.exit(0);
  }
  if (parsed.kind !== 'train') throw new Error('unreachable');
  let options: TrainOptions = parsed.options;

  if (options.resume) {
    // Without --out, the newest run under runs/; the options come from its checkpoint.
    if (!parsed.explicit.has('out')) {
      const latest = await latestRunFolder(path.resolve('runs'));
      if (latest === undefined) fail(`--resume: no run with a checkpoint under ${path.resolve('runs')}; give its folder with --out DIR`);
      console.log(`resuming the newest run, ${latest}`);
      options = { ...options, out: latest! };
    }
    const saved = await readRunCheckpoint(checkpointPath(options.out))();
    if (E.isLeft(saved)) fail(`--resume: ${saved.left.message}`);
    const merged = resumedOptions(options, parsed.explicit, (saved as E.Right<{ options: Omit<TrainOptions, 'out' | 'resume'> }>).right.options, flagName);
    if ('conflicts' in merged)
      fail(`cannot resume ${options.out}: ${merged.conflicts.join('; ')}. A resumed run keeps its checkpoint's options ` +
        '(only --epochs, --data, --backend, --eval-batch-size and --linear-eval may change); drop the flag or start a new --out');
    else options = merged.options;
  }

  // Ctrl-C: finish the current step, write the checkpoint and the report, say how to resume.
  // SIGTERM (kill, a service manager, a batch system's time limit) stops the same way.
  const stop = new AbortController();
  for (const [signal, name] of [['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM']] as const)
    process.on(signal, () => {
      if (stop.signal.aborted) {
        console.error(`\ncifar10: second ${name}, quitting without a checkpoint of the steps since the last one`);
        process.exit(130);
      }
      stop.abort();
      console.error(`\ncifar10: ${name}: stopping after the current step (${name} again quits at once)`);
    });

  // Under tsx's command line the run is a child of the process tsx started (tsx-relay.ts); if
  // that one is killed outright, the run stops as at SIGTERM instead of training on unseen.
  whenStarterEnds(() => {
    if (stop.signal.aborted) return;
    stop.abort();
    console.error('\ncifar10: the process that started this run ended: stopping after the current step');
  });

  const started = performance.now();
  try {
    const result = await trainCifar10(options, { progress: true, signal: stop.signal });
    const minutes = ((performance.now() - started) / 60000).toFixed(1);
    const { files } = result;
    console.log(`${result.status === 'finished' ? 'finished' : 'stopped'} after ${minutes} min; the run's folder is ${result.out}:`);
    // Only what is there: a run stopped before epoch 0's evaluation has no pictures yet.
    const listed: Array<[string, string]> = [
      [files.metrics, 'one JSON line per epoch (epoch 0 = the random encoder)'],
      [files.checkpoint, 'parameters, batch-norm statistics, optimiser state, options and metrics'],
      [files.curves, `training loss and kNN accuracy per epoch: ${files.curves}`],
      [files.curvesSpec, 'the same chart as a Vega-Lite spec, data included, to open and restyle'],
      [files.neighbours, `test images and their nearest training images: ${files.neighbours}`],
    ];
    for (const [file, what] of listed) if (existsSync(file)) console.log(`  ${path.basename(file).padEnd(24)}${what}`);
    if (result.stopReason !== undefined) console.log(result.stopReason);
    if (result.status === 'interrupted') {
      console.log(`interrupted ${describePosition(result.position, result.metrics.length > 0)}; ` +
        `to continue: ${command} --out ${result.out} --resume`);
      process.exitCode = 130;
    }
  } catch (cause) {
    // Ctrl-C while an objective file was imported or first tried: nothing was trained.
    if (isStoppedByCtrlC(cause))
      fail(`${(cause as Error).message}; nothing was trained` + (existsSync(checkpointPath(options.out))
        ? `, and the checkpoint in ${options.out} is as it was; to continue: ${command} --out ${options.out} --resume` : ''), 130);
    if (cause instanceof RunWriteFailure && cause.resumable)
      fail(`${cause.message}; ${cause.full ? 'free some space' : 'once the file can be written'}, then continue with: ${command} --out ${options.out} --resume`);
    fail(cause instanceof Error ? cause.message : String(cause));
  }
};
