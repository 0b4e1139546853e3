// Ctrl-C as a terminal gives it, to the README's own command: `npx tsx examples/cifar10.ts` runs
// under a pseudo-terminal (util-linux `script`), and ^C written to the terminal makes its line
// discipline send SIGINT to the whole foreground process group (npm, tsx, the run), as a real
// terminal does. At four points of a run (the evaluation's kernel build, the training step's
// kernel build, training steps, the last evaluation) the run must stop after its current step,
// write a checkpoint and say how to resume: ten times, every time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { writeCifar10Folder } from '../lib/data/synthetic.ts';
import { readRunCheckpoint } from '../lib/train/run-checkpoint.ts';
import { startedByTsxCommand, withoutTsxPreloads } from '../lib/train/tsx-relay.ts';
import { inTemporaryFolder, temporaryFolder } from './tiny-runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hasScript = spawnSync('script', ['--version']).status === 0;

/** Where ^C is typed: once the output shows this text. */
const points = [
  { name: 'the evaluation\'s kernel build', after: 'evaluating the random encoder' },
  { name: 'the training step\'s kernel build', after: 'epoch 0/2 (random encoder)' },
  { name: 'training steps', after: 'training step: backend' },
  { name: 'the evaluation of epoch 1', after: 'evaluating epoch 1' },
];

/** Runs `command` under a pseudo-terminal; types ^C once the output shows `after`, and `delay` ms more have passed. */
const runInTerminal = (command: string, after: string, delay = 0): Promise<{ code: number | null; output: string; typed: boolean; secondsAfterTyped: number }> =>
  new Promise((resolve, reject) => {
    // -e: script's status is the command's; the shell is told to exec it, so that the terminal's
    // session leader and foreground process group are npm's, as when a shell starts a job.
    const terminal = spawn('script', ['-q', '-e', '-c', `exec ${command}`, '/dev/null'], {
      cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' },
    });
    let output = '';
    let typed = false;
    let typedAt = 0;
    const timeout = setTimeout(() => terminal.kill('SIGTERM'), 180_000);
    terminal.stdout.on('data', (chunk) => {
      output += chunk;
      if (!typed && output.includes(after)) {
        typed = true;
        setTimeout(() => {
          typedAt = performance.now();
          terminal.stdin.write('\x03');
        }, delay);
      }
    });
    terminal.stderr.on('data', (chunk) => (output += chunk));
    terminal.on('error', reject);
    terminal.on('close', (code) => {
      clearTimeout(timeout);
      terminal.stdin.destroy();
      resolve({ code, output: output.replace(/\r/g, ''), typed, secondsAfterTyped: (performance.now() - typedAt) / 1000 });
    });
  });

test('Ctrl-C in a terminal under npx tsx stops after the current step with a checkpoint and the resume command, 10 times in 10', {
  skip: hasScript ? false : 'util-linux `script` is not installed: no pseudo-terminal to type Ctrl-C into',
}, async (t) => {
  const folder = await temporaryFolder('terminal');
  try {
    const { folder: data } = await writeCifar10Folder(path.join(folder, 'data'), { trainPerBatch: [64], test: 20, seed: 3 });
    const tryOnce = async (i: number): Promise<string> => {
      const point = points[i % points.length];
      const out = path.join(folder, `run-${i}`);
      const { code, output, typed } = await runInTerminal(`npx tsx examples/cifar10.ts --data ${data} --epochs 2 --train-size 64 --test-size 20 ` +
        `--batch-size 16 --widths 4,8,8 --feature-dimension 16 --eval-batch-size 4 --backend native --seed ${i} --out ${out}`, point.after);
      const where = `try ${i + 1}, Ctrl-C during ${point.name}:\n${output}`;
      assert.ok(typed, `never saw "${point.after}": ${where}`);
      assert.equal(code, 130, where);
      assert.equal(output.split('cifar10: Ctrl-C: stopping after the current step').length, 2, where);
      assert.doesNotMatch(output, /second Ctrl-C|quitting/, where);
      const stopped = new RegExp(`^interrupted (before the evaluation of the random encoder|after [\\w ]+); to continue: tsx examples/cifar10\\.ts --out ${out} --resume$`, 'm').exec(output);
      assert.ok(stopped !== null, where);
      const saved = await readRunCheckpoint(path.join(out, 'checkpoint.safetensors'))();
      assert.ok(E.isRight(saved), `${E.isLeft(saved) ? saved.left.message : ''} ${where}`);
      assert.ok(!existsSync(path.join(out, 'run.lock')), `the lock stayed: ${where}`);
      return `${point.name}: interrupted ${stopped[1]}`;
    };
    // Two at a time: quicker, and each run's main thread is the busier for the other's load.
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i += 2) outcomes.push(...(await Promise.all([tryOnce(i), tryOnce(i + 1)])));
    t.diagnostic(outcomes.join('; '));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('Ctrl-C in a terminal stops a run whose objective never returns, within seconds, at import, at its trial and in training', {
  skip: hasScript ? false : 'util-linux `script` is not installed: no pseudo-terminal to type Ctrl-C into',
}, async (t) => {
  // Before the objective ran where it could be stopped, each of these ran on through any number of Ctrl-C.
  await inTemporaryFolder('terminal-objective', async (folder) => {
    const { folder: data } = await writeCifar10Folder(path.join(folder, 'data'), { trainPerBatch: [64], test: 20, seed: 3 });
    const cases = [
      { fixture: 'loops-at-import.ts', after: 'using 64 of 64 training images', delay: 1000, stopped: /^cifar10: Ctrl-C while \S+loops-at-import\.ts was being imported: stopped it there; nothing was trained$/m, trained: false },
      { fixture: 'loops-when-called.ts', after: 'the objective loops from here', delay: 1000, stopped: /^cifar10: Ctrl-C while the objective in \S+loops-when-called\.ts ran: stopped it there; nothing was trained$/m, trained: false },
      { fixture: 'loops-in-training.ts', after: 'epoch 1/1 [', delay: 2000, stopped: /^Ctrl-C while the objective in \S+loops-in-training\.ts ran: stopped it there\ninterrupted after epoch 0; to continue: tsx examples\/cifar10\.ts --out \S+ --resume$/m, trained: true },
    ];
    const outcomes = await Promise.all(cases.map(async ({ fixture, after, delay, stopped, trained }) => {
      const out = path.join(folder, fixture);
      const { code, output, typed, secondsAfterTyped } = await runInTerminal(`npx tsx examples/cifar10.ts --data ${data} --epochs 1 --train-size 64 --test-size 20 ` +
        `--batch-size 16 --widths 4,8,8 --feature-dimension 16 --eval-batch-size 4 --backend native --objective props/fixtures/${fixture} --out ${out}`, after, delay);
      const where = `${fixture}:\n${output}`;
      assert.ok(typed, `never saw "${after}": ${where}`);
      assert.equal(code, 130, where);
      assert.match(output, stopped, where);
      assert.doesNotMatch(output, /second Ctrl-C|quitting/, where);
      assert.ok(secondsAfterTyped < 5, `ended ${secondsAfterTyped.toFixed(1)} s after Ctrl-C: ${where}`);
      assert.ok(!existsSync(path.join(out, 'run.lock')), `the lock stayed: ${where}`);
      // A stop in training keeps the checkpoint of epoch 0; one before any training leaves nothing.
      if (trained) assert.ok(E.isRight(await readRunCheckpoint(path.join(out, 'checkpoint.safetensors'))()), where);
      else assert.ok(!existsSync(out), `left ${out}: ${where}`);
      return `${fixture}: ended ${secondsAfterTyped.toFixed(1)} s after Ctrl-C`;
    }));
    t.diagnostic(outcomes.join('; '));
  });
});

test('behind tsx, a run whose starting process is killed outright stops with a checkpoint instead of training on', async () => {
  await inTemporaryFolder('orphan', async (folder) => {
    const { folder: data } = await writeCifar10Folder(path.join(folder, 'data'), { trainPerBatch: [64], test: 20, seed: 3 });
    const out = path.join(folder, 'run');
    const started = spawn('npx', ['tsx', 'examples/cifar10.ts', '--data', data, '--epochs', '200', '--train-size', '64', '--test-size', '20',
      '--batch-size', '16', '--widths', '4,8,8', '--feature-dimension', '16', '--eval-batch-size', '4', '--backend', 'native', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    started.stdout.on('data', (chunk) => (output += chunk));
    started.stderr.on('data', (chunk) => (output += chunk));
    const ended = new Promise((resolve) => started.on('close', resolve));
    let run: number | undefined;
    try {
      // The run's process names itself in its lock; its parent is the process tsx started.
      const deadline = performance.now() + 120_000;
      while (!output.includes('epoch 1/200') && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(output.includes('epoch 1/200'), `the run never finished an epoch:\n${output}`);
      run = Number(JSON.parse(await fsp.readFile(path.join(out, 'run.lock'), 'utf8')).pid);
      const starter = Number((await fsp.readFile(`/proc/${run}/stat`, 'utf8')).split(') ')[1].split(' ')[1]);
      process.kill(starter, 'SIGKILL');
      const gone = performance.now() + 60_000;
      while (existsSync(`/proc/${run}`) && performance.now() < gone) await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(!existsSync(`/proc/${run}`), `the run's process ${run} still trains a minute after ${starter} was killed`);
      await ended;
      assert.match(output, /the process that started this run ended: stopping after the current step/);
      assert.match(output, new RegExp(`^interrupted after [\\w ]+; to continue: tsx examples/cifar10\\.ts --out ${out} --resume$`, 'm'));
      assert.ok(E.isRight(await readRunCheckpoint(path.join(out, 'checkpoint.safetensors'))()));
      assert.ok(!existsSync(path.join(out, 'run.lock')), 'the lock stayed');
    } finally {
      started.kill('SIGKILL');
      // A run left training on (the failure this test is for) is not left behind by the test.
      if (run !== undefined && existsSync(`/proc/${run}`)) process.kill(run, 'SIGKILL');
    }
  });
});

test('behind tsx, the run\'s own process drops only tsx\'s preloads, and starts no further one', () => {
  const execArgv = ['--require', '/p/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///p/node_modules/tsx/dist/loader.mjs', '--max-old-space-size=4096'];
  assert.ok(startedByTsxCommand(execArgv, {}));
  assert.ok(!startedByTsxCommand(execArgv, { TENSORSPREAD_RUN_BEHIND_TSX: '1' }));
  assert.ok(!startedByTsxCommand(['--import', 'tsx'], {}));
  assert.deepEqual(withoutTsxPreloads(execArgv), ['--import', 'file:///p/node_modules/tsx/dist/loader.mjs', '--max-old-space-size=4096']);
  assert.deepEqual(withoutTsxPreloads(['--require=/p/node_modules/tsx/dist/patch-repl.cjs', '-r', '/p/node_modules/tsx/dist/preflight.cjs']), []);
});
