// A full disk, as the run's file-system calls see it: the calls are passed in (RunHooks.io), and
// a write fails with ENOSPC half way through its bytes, as on a full tmpfs, without needing root
// to mount one. The failure names the file, says that the previous checkpoint is intact, and
// leaves the metrics at that checkpoint; a full disk before anything is written leaves nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { AtomicWriteIo } from '../lib/checkpoint/atomic-write.ts';
import { readRunCheckpoint } from '../lib/train/run-checkpoint.ts';
import { RunWriteFailure, trainCifar10 } from '../lib/train/run.ts';
import { dataset, inTemporaryFolder, quiet, tinyOptions } from './tiny-runs.ts';

/** Node's calls, except that the `failing`-th write (from 1) of a file whose name matches `name` runs out of space half way. */
const fullDiskAt = (name: RegExp, failing: number): AtomicWriteIo => {
  let writes = 0;
  const open = (async (...args: Parameters<typeof fsp.open>) => {
    const handle = await fsp.open(...args);
    if (!name.test(path.basename(String(args[0]))) || ++writes !== failing) return handle;
    return Object.assign(Object.create(handle), {
      writeFile: async (bytes: Uint8Array | string) => {
        const all = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
        await handle.write(all.subarray(0, all.length >> 1));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    });
  }) as typeof fsp.open;
  return { open, rename: fsp.rename, rm: fsp.rm };
};

const readMetricsEpochs = async (out: string): Promise<number[]> =>
  (await fsp.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).epoch);

test('a full disk at the checkpoint after epoch 2 names the file, keeps the checkpoint of epoch 1 and metrics that match it; --resume finishes', async () => {
  await inTemporaryFolder('full-disk', async (folder) => {
    const out = path.join(folder, 'run');
    // Checkpoints are written after epochs 0, 1 and 2: the third write fails.
    await assert.rejects(trainCifar10(tinyOptions(out, { trainSize: 64 }), { ...quiet, dataset, io: fullDiskAt(/^\.checkpoint\.safetensors\./, 3) }), (error: Error) => {
      assert.ok(error instanceof RunWriteFailure && error.resumable && error.full);
      assert.equal(error.message, `cannot write ${path.join(out, 'checkpoint.safetensors')}: no space left on the device (ENOSPC); ` +
        `the checkpoint in ${out} (after epoch 1) is intact, and the metrics match it`);
      return true;
    });
    const saved = await readRunCheckpoint(path.join(out, 'checkpoint.safetensors'))();
    assert.ok(E.isRight(saved), E.isLeft(saved) ? saved.left.message : '');
    assert.equal(saved.right.position.epoch, 1);
    // Before, metrics.jsonl was written first, and held epoch 2 beside a checkpoint of epoch 1.
    assert.deepEqual(await readMetricsEpochs(out), [0, 1]);
    assert.deepEqual((await fsp.readdir(out)).sort(), ['checkpoint.safetensors', 'curves.png', 'curves.vl.json', 'metrics.jsonl', 'neighbours.png']);
    const resumed = await trainCifar10(tinyOptions(out, { trainSize: 64, resume: true }), { ...quiet, dataset });
    assert.equal(resumed.status, 'finished');
    assert.deepEqual(await readMetricsEpochs(out), [0, 1, 2]);
  });
});

test('a full disk before anything is written leaves neither a folder nor an empty lock', async () => {
  await inTemporaryFolder('full-disk-start', async (folder) => {
    const made = path.join(folder, 'new', 'run');
    await assert.rejects(trainCifar10(tinyOptions(made, { epochs: 0, trainSize: 32 }), { ...quiet, dataset, io: fullDiskAt(/^\.run\.lock\./, 1) }), (error: Error) => {
      assert.equal(error.message, `cannot write the run's lock ${path.join(made, 'run.lock')}: no space left on the device (ENOSPC); choose another --out`);
      return true;
    });
    assert.ok(!existsSync(path.join(folder, 'new')), 'the folders made for the run stayed');
    // In a folder that was there, nothing is left either; the first checkpoint failing undoes the run's files.
    const existing = path.join(folder, 'existing');
    await fsp.mkdir(existing);
    await assert.rejects(trainCifar10(tinyOptions(existing, { epochs: 0, trainSize: 32 }), { ...quiet, dataset, io: fullDiskAt(/^\.run\.lock\./, 1) }), /no space left/);
    assert.deepEqual(await fsp.readdir(existing), []);
    await assert.rejects(trainCifar10(tinyOptions(existing, { epochs: 0, trainSize: 32 }), { ...quiet, dataset, io: fullDiskAt(/^\.checkpoint\.safetensors\./, 1) }), (error: Error) => {
      assert.equal(error.message, `cannot write ${path.join(existing, 'checkpoint.safetensors')}: no space left on the device (ENOSPC); the run had written no checkpoint yet, and kept nothing`);
      return true;
    });
    assert.deepEqual(await fsp.readdir(existing), []);
  });
});
