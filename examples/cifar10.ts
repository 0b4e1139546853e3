// Train and evaluate an embedding on CIFAR-10: `tsx examples/cifar10.ts --help` lists the
// options. The work is done by trainCifar10 (lib/train/run.ts); this file reads the command
// line, finds the run to resume, turns Ctrl-C into a clean stop, and says what was written.

import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { flagName, helpText, parseCliOptions } from '../lib/train/cli-options.ts';
import { resumedOptions, type TrainOptions } from '../lib/train/options.ts';
import { checkpointPath, readRunCheckpoint } from '../lib/train/run-checkpoint.ts';
import { latestRunFolder } from '../lib/train/run-folder.ts';
import { trainCifar10 } from '../lib/train/run.ts';

const command = 'tsx examples/cifar10.ts';

const fail = (message: string, code = 1): never => {
  console.error(`cifar10: ${message}`);
  process.exit(code);
};

const request = parseCliOptions(process.argv.slice(2));
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
      '(only --epochs, --data, --backend and --eval-batch-size may change); drop the flag or start a new --out');
  else options = merged.options;
}

// Ctrl-C: finish the current step, write the checkpoint and the report, say how to resume.
const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) {
    console.error('\ncifar10: second Ctrl-C, quitting without a checkpoint of the steps since the last one');
    process.exit(130);
  }
  stop.abort();
  console.error('\ncifar10: Ctrl-C: stopping after the current step (Ctrl-C again quits at once)');
});

const started = performance.now();
try {
  const result = await trainCifar10(options, { progress: true, signal: stop.signal });
  if (result.status === 'cancelled') fail('stopped before the first checkpoint; there is nothing to resume', 130);
  const minutes = ((performance.now() - started) / 60000).toFixed(1);
  const { files } = result;
  console.log(`${result.status === 'finished' ? 'finished' : 'stopped'} after ${minutes} min; the run's folder is ${result.out}:`);
  console.log(`  ${path.basename(files.metrics).padEnd(24)}one JSON line per epoch (epoch 0 = the random encoder)`);
  console.log(`  ${path.basename(files.checkpoint).padEnd(24)}parameters, batch-norm statistics, optimiser state, options and metrics`);
  console.log(`  ${path.basename(files.curves).padEnd(24)}training loss and kNN accuracy per epoch: ${files.curves}`);
  console.log(`  ${path.basename(files.neighbours).padEnd(24)}test images and their nearest training images: ${files.neighbours}`);
  if (result.status === 'interrupted') {
    const { epoch, stepInEpoch } = result.position;
    console.log(`interrupted after ${stepInEpoch > 0 ? `step ${stepInEpoch} of epoch ${epoch + 1}` : `epoch ${epoch}`}; ` +
      `to continue: ${command} --out ${result.out} --resume`);
    process.exitCode = 130;
  }
} catch (cause) {
  fail(cause instanceof Error ? cause.message : String(cause));
}
