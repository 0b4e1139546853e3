// A run holds its folder from its first moment: a second run into the same --out is refused by
// name while the first runs, a dead run's lock is taken over with a message, and a run that fails
// before its first checkpoint leaves the folder as it found it. A folder that holds anything but a
// run of this program is refused by name, and so is an --out that cannot be a run's folder: a file,
// a place under /proc, a read-only file system, an empty name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { webgpuDevice } from '../lib/compile/index.ts';
import { parseCliOptions } from '../lib/train/cli-options.ts';
import { trainCifar10 } from '../lib/train/run.ts';
import { dataset, quiet, temporaryFolder, tinyOptions } from './tiny-runs.ts';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a second run into the same folder is refused by name while the first runs; the first is untouched', async () => {
  const folder = await temporaryFolder('lock');
  try {
    const out = path.join(folder, 'run');
    const lock = path.join(out, 'run.lock');
    const first = trainCifar10(tinyOptions(out, { epochs: 1, trainSize: 32 }), { ...quiet, dataset });
    // The lock is there from the first moment, long before any checkpoint.
    while (!existsSync(lock)) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(!existsSync(path.join(out, 'checkpoint.safetensors')));
    await assert.rejects(trainCifar10(tinyOptions(out, { epochs: 1, trainSize: 32 }), { ...quiet, dataset }), (error: Error) => {
      assert.match(error.message, new RegExp(`^${escape(out)} is in use by another run \\(process ${process.pid} on ${escape(os.hostname())}, started \\S+; ` +
        `lock file ${escape(lock)}\\); wait for it to end or choose another --out$`));
      return true;
    });
    const result = await first;
    assert.equal(result.status, 'finished');
    assert.deepEqual(result.metrics.map((m) => m.epoch), [0, 1]);
    // Released at the end; the run's files are all there.
    assert.deepEqual((await fsp.readdir(out)).sort(), ['checkpoint.safetensors', 'curves.png', 'curves.vl.json', 'metrics.jsonl', 'neighbours.png']);
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('the lock of a run that no longer runs is taken over, and said so', async () => {
  const folder = await temporaryFolder('stale');
  try {
    const out = path.join(folder, 'run');
    await fsp.mkdir(out);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await fsp.writeFile(path.join(out, 'run.lock'), JSON.stringify({ pid: dead, host: os.hostname(), started: '2025-01-01T00:00:00.000Z' }));
    const lines: string[] = [];
    const result = await trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, log: (line) => lines.push(line), dataset });
    assert.equal(result.status, 'finished');
    assert.ok(lines.includes(`took over ${path.join(out, 'run.lock')} from process ${dead} on ${os.hostname()}, started 2025-01-01T00:00:00.000Z, which no longer runs`), lines.join('\n'));
    assert.ok(!existsSync(path.join(out, 'run.lock')));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('a run that fails before its first checkpoint leaves the folder as it found it', async () => {
  const folder = await temporaryFolder('debris');
  try {
    // A folder the run made goes; in a folder that was there, only the user's file stays.
    const made = path.join(folder, 'made', 'run');
    await assert.rejects(trainCifar10(tinyOptions(made, { testSize: 1000 }), { ...quiet, dataset }), /--test-size 1000: the data has only 40 test images/);
    assert.ok(!existsSync(made));
    // A folder that was there stays, empty.
    const existing = path.join(folder, 'existing');
    await fsp.mkdir(existing);
    await assert.rejects(trainCifar10(tinyOptions(existing, { testSize: 1000 }), { ...quiet, dataset }), /--test-size 1000/);
    assert.deepEqual(await fsp.readdir(existing), []);
    // A backend that cannot run fails at the first evaluation: no empty run folder stays behind.
    if (isLeft(await webgpuDevice())) {
      const gpu = path.join(folder, 'webgpu');
      await assert.rejects(trainCifar10(tinyOptions(gpu, { backend: 'webgpu', trainSize: 32 }), { ...quiet, dataset }), /webgpu/);
      assert.ok(!existsSync(gpu), `left behind: ${existsSync(gpu) ? (await fsp.readdir(gpu)).join(', ') : ''}`);
    }
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('a new run refuses a folder holding what is not a run of this program, naming it, and leaves it untouched', async () => {
  const folder = await temporaryFolder('foreign');
  try {
    // A user's notes under a name the run writes: before, the run replaced them.
    const out = path.join(folder, 'userdir');
    await fsp.mkdir(out);
    await fsp.writeFile(path.join(out, 'metrics.jsonl'), 'notes\n');
    await fsp.writeFile(path.join(out, 'plan.txt'), 'mine');
    await assert.rejects(trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, dataset }), (error: Error) => {
      assert.equal(error.message, `--out ${out} holds what is not a run of this program (metrics.jsonl, plan.txt); a new run writes into an empty or new folder: choose another --out`);
      return true;
    });
    assert.deepEqual((await fsp.readdir(out)).sort(), ['metrics.jsonl', 'plan.txt']);
    assert.equal(await fsp.readFile(path.join(out, 'metrics.jsonl'), 'utf8'), 'notes\n');
    // A stopped run's lock and half-written files are a run's: the folder is taken.
    const stopped = path.join(folder, 'stopped');
    await fsp.mkdir(stopped);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await fsp.writeFile(path.join(stopped, 'run.lock'), JSON.stringify({ pid: dead, host: os.hostname(), started: '2025-01-01T00:00:00.000Z' }));
    await fsp.writeFile(path.join(stopped, `.metrics.jsonl.${dead}.1.0.tmp`), 'half');
    assert.equal((await trainCifar10(tinyOptions(stopped, { epochs: 0, trainSize: 32 }), { ...quiet, dataset })).status, 'finished');
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

/** `promise`, or a failure naming `what` when it has not settled within `seconds`: the cases below once hung. */
const within = <T>(seconds: number, what: string, promise: Promise<T>): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still running after ${seconds} s`)), seconds * 1000).unref())]);

test('an --out that cannot be a run\'s folder is refused in one line: a file, a path through a file, /proc, an empty name', async () => {
  const folder = await temporaryFolder('not-a-folder');
  try {
    const file = path.join(folder, 'file.txt');
    await fsp.writeFile(file, 'x');
    const refusal = async (out: string) => {
      let message = '';
      await within(20, `--out ${out}`, trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, dataset })).then(
        () => assert.fail(`--out ${out} was accepted`), (error: Error) => (message = error.message));
      return message;
    };
    assert.equal(await refusal(file), `--out ${file} is a file, not a folder; choose a folder for the run`);
    assert.equal(await refusal(path.join(file, 'run')), `--out ${path.join(file, 'run')}: ${file} is a file, not a folder; choose another --out`);
    if (existsSync('/proc/self'))
      assert.equal(await refusal('/proc/runs/a'), '--out /proc/runs/a: cannot make the folder /proc/runs: /proc takes no new folders (a virtual file system, such as /proc?); choose another --out');
    const empty = parseCliOptions(['--out', '']);
    assert.ok(isLeft(empty) && empty.left === '--out: expected a folder, got ""', JSON.stringify(empty));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

const isRoot = process.getuid?.() === 0;

test('an --out on a read-only file system is refused as read-only', {
  skip: isRoot ? false : 'needs root to mount a read-only tmpfs (a read-only mount cannot be made otherwise)',
}, async () => {
  const folder = await temporaryFolder('read-only');
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', folder]);
    assert.equal(mounted.status, 0, String(mounted.stderr));
    try {
      const out = path.join(folder, 'runs', 'a');
      await assert.rejects(within(20, 'read-only --out', trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, dataset })), (error: Error) => {
        assert.equal(error.message, `--out ${out}: cannot make the folder ${path.join(folder, 'runs')}: the file system of ${folder} is read-only; choose another --out`);
        return true;
      });
    } finally {
      spawnSync('umount', [folder]);
    }
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});
