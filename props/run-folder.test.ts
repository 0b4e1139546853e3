// A run holds its folder from its first moment: a second run into the same --out is refused by
// name while the first runs, a dead run's lock is taken over with a message, and a run that fails
// before its first checkpoint leaves the folder as it found it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { webgpuDevice } from '../lib/compile/index.ts';
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
    const existing = path.join(folder, 'existing');
    await fsp.mkdir(existing);
    await fsp.writeFile(path.join(existing, 'notes.txt'), 'mine');
    await assert.rejects(trainCifar10(tinyOptions(existing, { testSize: 1000 }), { ...quiet, dataset }), /--test-size 1000/);
    assert.deepEqual(await fsp.readdir(existing), ['notes.txt']);
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
