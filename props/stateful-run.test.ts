// Runs with a stateful objective: the memory bank and the exemplar weights are saved in the
// checkpoint under their own names, a run interrupted mid-epoch and resumed ends bitwise equal to
// the uninterrupted one, and the bank after one epoch holds its initial rows exactly where the
// epoch dropped the images and new ones everywhere it visited.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { interpret } from '../lib/interpret.ts';
import { readCheckpoint } from '../lib/checkpoint/checkpoint.ts';
import { randomUnitRows } from '../lib/objectives/instance-rows.ts';
import { trainCifar10 } from '../lib/train/run.ts';
import { runKeys } from '../lib/train/run-keys.ts';
import { dataset, inTemporaryFolder, quiet, tinyOptions } from './tiny-runs.ts';

const tensorsOf = async (out: string) => {
  const read = await readCheckpoint(path.join(out, 'checkpoint.safetensors'))();
  if (read._tag === 'Left') assert.fail(read.left.message);
  return read.right.tensors;
};

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const objectiveTensors: Record<string, Record<string, number[]>> = {
  'memory-bank': { 'objective.state.bank': [200, 16] },
  exemplar: { 'objective.params.weights': [200, 16], 'objective.optimizerState.velocity.weights': [200, 16] },
};

for (const objective of ['memory-bank', 'exemplar'])
  test(`${objective}: its state is checkpointed under its own names, and a run interrupted and resumed ends bitwise equal`, () =>
    inTemporaryFolder(objective, async (folder) => {
      const [whole, pieces] = [path.join(folder, 'whole'), path.join(folder, 'pieces')];
      const finished = await trainCifar10(tinyOptions(whole, { objective }), { ...quiet, dataset });
      assert.equal(finished.status, 'finished');
      assert.ok(finished.metrics.slice(1).every((record) => Number.isFinite(record.loss)), JSON.stringify(finished.metrics));
      const stop = new AbortController();
      const stopped = await trainCifar10(tinyOptions(pieces, { objective }), {
        ...quiet, dataset, signal: stop.signal, onStep: ({ epoch, step }) => { if (epoch === 1 && step === 4) stop.abort(); },
      });
      assert.equal(stopped.status, 'interrupted');
      const resumed = await trainCifar10(tinyOptions(pieces, { objective, resume: true }), { ...quiet, dataset });
      assert.equal(resumed.status, 'finished');
      const [a, b] = [await tensorsOf(whole), await tensorsOf(pieces)];
      for (const [name, shape] of Object.entries(objectiveTensors[objective])) assert.deepEqual(a.get(name)?.shape, shape, name);
      assert.deepEqual([...a.keys()].filter((name) => name.startsWith('objective.')).sort(), Object.keys(objectiveTensors[objective]).sort());
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      for (const [name, tensor] of a) assert.ok(sameBits(tensor.data, b.get(name)!.data), `${name} differs after the resume`);
      assert.deepEqual(resumed.metrics.map((r) => [r.loss, r.knn_top1]), finished.metrics.map((r) => [r.loss, r.knn_top1]));
    }));

test('memory-bank: after one epoch the bank has new rows where the epoch visited and its initial rows where it dropped images', () =>
  inTemporaryFolder('bank-rows', async (folder) => {
    const out = path.join(folder, 'run');
    await trainCifar10(tinyOptions(out, { objective: 'memory-bank', epochs: 1 }), { ...quiet, dataset });
    const bank = (await tensorsOf(out)).get('objective.state.bank')!;
    const keys = runKeys(5);
    const initial = Float32Array.from(interpret(randomUnitRows(keys.objectiveInitialisation, { count: 200, dimension: 16 })).data);
    const order = keys.epochOrder(1, 200);
    // 12 steps of 16: the first 192 images of the order are visited, the last 8 dropped.
    const row = (data: Float32Array, i: number) => data.subarray(i * 16, (i + 1) * 16);
    for (const i of order.subarray(192)) assert.ok(sameBits(row(bank.data, i), row(initial, i)), `dropped image ${i}'s row changed`);
    for (const i of order.subarray(0, 192)) {
      assert.ok(!sameBits(row(bank.data, i), row(initial, i)), `visited image ${i}'s row is unchanged`);
      assert.ok(Math.abs(Math.hypot(...row(bank.data, i)) - 1) < 1e-5, `row ${i} is not a unit vector`);
    }
  }));
