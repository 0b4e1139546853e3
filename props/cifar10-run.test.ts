// The CIFAR-10 run end to end on small generated data in the official layout: as a library
// call (files, metrics lines, pictures, and a run interrupted mid-epoch and resumed twice ends
// bitwise equal to the uninterrupted one), and as the command examples/cifar10.ts (--help, a
// real run, Ctrl-C and --resume). With CIFAR10_DATA set, a short run on real images lowers the loss.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { makeSyntheticCifar10, writeCifar10Folder } from '../lib/data/synthetic.ts';
import type { Cifar10 } from '../lib/data/cifar10-types.ts';
import { readCheckpoint } from '../lib/checkpoint/checkpoint.ts';
import { encodeSafetensors, type StoredTensor } from '../lib/checkpoint/safetensors.ts';
import { BORDER, QUERY_COLOR, neighboursGridLayout } from '../lib/report/neighbours-grid.ts';
import { parseCliOptions } from '../lib/train/cli-options.ts';
import { loadObjective } from '../lib/train/objective-choice.ts';
import { loadObjective as loadCheckedObjective } from '../lib/check/load-objective.ts';
import { interpret, l2Normalize, ntXentLoss, tensor, type Tensor } from '../lib/index.ts';
import { defaultTrainOptions, resumedOptions, type TrainOptions } from '../lib/train/options.ts';
import type { EpochRecord } from '../lib/train/metrics.ts';
import { describeExecution, trainCifar10 } from '../lib/train/run.ts';
import { dataset, quiet, synthetic, temporaryFolder, tinyOptions } from './tiny-runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const example = path.join(root, 'examples', 'cifar10.ts');

const tensorsOf = async (file: string) => {
  const read = await readCheckpoint(file)();
  if (E.isLeft(read)) throw new Error(read.left.message);
  return read.right;
};

/** Every tensor of both checkpoints has the same name, shape and float32 bits. */
const assertSameTensors = async (a: string, b: string) => {
  const [x, y] = [await tensorsOf(a), await tensorsOf(b)];
  assert.deepEqual([...x.tensors.keys()].sort(), [...y.tensors.keys()].sort());
  assert.ok(x.tensors.size > 20, `only ${x.tensors.size} tensors`);
  for (const [name, tensor] of x.tensors) {
    const other = y.tensors.get(name)!;
    assert.deepEqual(other.shape, tensor.shape, name);
    assert.ok(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)
      .equals(Buffer.from(other.data.buffer, other.data.byteOffset, other.data.byteLength)), `${name} differs`);
  }
  return [x.metadata, y.metadata];
};

/** The fields that must agree between runs (times differ). */
const results = (records: readonly EpochRecord[]) => records.map(({ epoch, loss, knn_top1, knn_top5, learning_rate, steps }) => ({ epoch, loss, knn_top1, knn_top5, learning_rate, steps }));

const readMetrics = async (out: string): Promise<EpochRecord[]> =>
  (await fsp.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));

const decodePng = async (file: string) => PNG.sync.read(await fsp.readFile(file));

test('a library run writes metrics, pictures and a checkpoint; interrupted and resumed, it ends bitwise equal', async () => {
  const folder = await temporaryFolder('library');
  try {
    const whole = path.join(folder, 'whole');
    const lines: string[] = [];
    const result = await trainCifar10(tinyOptions(whole), { ...quiet, log: (line) => lines.push(line), dataset });
    assert.equal(result.status, 'finished');
    // Each compiled program says once what ran: the evaluation at epoch 0, the step at its first call.
    const said = lines.filter((line) => /^(evaluation|training step): backend native\b/.test(line));
    assert.equal(said.length, 2, said.join('\n'));
    assert.match(said[0], /^evaluation: backend native \(kernels javascript, executor native-pool\), as requested with --backend$/);
    assert.equal(said[1], 'training step: backend native, as the evaluation');
    assert.deepEqual((await fsp.readdir(whole)).sort(), ['checkpoint.safetensors', 'curves.png', 'curves.vl.json', 'metrics.jsonl', 'neighbours.png']);
    assert.match(result.execution, /^backend native \(kernels javascript, executor native-pool\), as requested with --backend/);

    const metrics = await readMetrics(whole);
    assert.deepEqual(metrics.map((m) => m.epoch), [0, 1, 2]);
    assert.deepEqual(Object.keys(metrics[1]).slice(0, 7), ['epoch', 'loss', 'knn_top1', 'knn_top5', 'seconds', 'instances_per_second', 'backend']);
    assert.equal(metrics[0].loss, null);
    assert.equal(metrics[0].instances_per_second, null);
    for (const m of metrics) {
      assert.ok(m.knn_top1 >= 0 && m.knn_top1 <= m.knn_top5 && m.knn_top5 <= 1, JSON.stringify(m));
      assert.ok(m.knn_top1_backbone! >= 0 && m.knn_top1_backbone! <= m.knn_top5_backbone! && m.knn_top5_backbone! <= 1, JSON.stringify(m));
      assert.equal(m.backend, 'native');
    }
    for (const m of metrics.slice(1)) {
      assert.ok(Number.isFinite(m.loss) && m.seconds > 0 && m.instances_per_second! > 0 && m.steps === 12, JSON.stringify(m));
    }
    // The first step of the process built the kernels: its time is apart, and no later step builds.
    assert.ok(metrics[1].build_seconds! > 0 && metrics[2].build_seconds === 0, JSON.stringify(metrics.map((m) => m.build_seconds)));
    assert.ok(Math.abs(metrics[1].instances_per_second! - (11 * 16) / metrics[1].seconds) < 1e-9, 'speed over the 11 steps that only ran');
    assert.deepEqual(metrics.map((m) => m.learning_rate), [null, 0.03, 0.03 * 0.1]);
    assert.deepEqual(results(result.metrics), results(metrics));

    const curves = await decodePng(result.files.curves);
    assert.ok(curves.width >= 900 && curves.height === 400, `curves ${curves.width}x${curves.height}`);
    // Two queries per class (the first test images of each class), eight neighbours each.
    const neighbours = await decodePng(result.files.neighbours);
    const blank = new Uint8Array(3072);
    const layout = neighboursGridLayout({
      rows: Array.from({ length: 20 }, () => ({ query: { image: blank, label: 0 }, neighbours: Array.from({ length: 8 }, () => ({ image: blank, label: 0, similarity: 0.5 })) })),
      classNames: dataset.classNames,
      title: 'Nearest training images of test images, after epoch 2',
    });
    assert.deepEqual([neighbours.width, neighbours.height], [layout.width, layout.height]);
    const firstAirplane = synthetic.test.labels.indexOf(0);
    const box = layout.rows[0].query;
    const at = (x: number, y: number) => Array.from(neighbours.data.subarray((y * neighbours.width + x) * 4, (y * neighbours.width + x) * 4 + 3));
    assert.deepEqual(at(box.x, box.y), [...QUERY_COLOR]);
    const image = synthetic.test.images.subarray(firstAirplane * 3072, (firstAirplane + 1) * 3072);
    assert.deepEqual(at(box.x + BORDER, box.y + BORDER), [image[0], image[1024], image[2048]], 'the first row shows the first airplane');

    // Stopped before epoch 0's evaluation (a checkpoint of the initial state, no metrics), then
    // after step 5 of epoch 1, resumed to the end of epoch 1, resumed again to epoch 2.
    const pieces = path.join(folder, 'pieces');
    const early = new AbortController();
    early.abort();
    const beforeEpoch0 = await trainCifar10(tinyOptions(pieces), { ...quiet, dataset, signal: early.signal });
    assert.equal(beforeEpoch0.status, 'interrupted');
    assert.deepEqual([beforeEpoch0.metrics.length, beforeEpoch0.position.optimizerStep], [0, 0]);
    assert.deepEqual((await fsp.readdir(pieces)).sort(), ['checkpoint.safetensors', 'metrics.jsonl']);
    const stop = new AbortController();
    const stopped = await trainCifar10(tinyOptions(pieces, { resume: true }), {
      ...quiet, dataset, signal: stop.signal, onStep: ({ epoch, step }) => { if (epoch === 1 && step === 4) stop.abort(); },
    });
    assert.equal(stopped.status, 'interrupted');
    assert.deepEqual([stopped.position.epoch, stopped.position.stepInEpoch, stopped.position.optimizerStep], [0, 5, 5]);
    assert.equal((await readMetrics(pieces)).length, 1);
    const oneEpoch = await trainCifar10(tinyOptions(pieces, { epochs: 1, resume: true }), { ...quiet, dataset });
    assert.equal(oneEpoch.status, 'finished');
    // Resumed at step 6, the process built again: one step of each process is timed apart.
    assert.ok(Math.abs(oneEpoch.metrics[1].instances_per_second! - (10 * 16) / oneEpoch.metrics[1].seconds) < 1e-9, JSON.stringify(oneEpoch.metrics[1]));
    assert.deepEqual(results(oneEpoch.metrics), results(metrics.slice(0, 2)));
    // Stopped after the last step of epoch 2, before its evaluation: the resumed run only evaluates.
    const beforeEvaluation = new AbortController();
    const allSteps = await trainCifar10(tinyOptions(pieces, { resume: true }), {
      ...quiet, dataset, signal: beforeEvaluation.signal, onStep: ({ epoch, step }) => { if (epoch === 2 && step === 11) beforeEvaluation.abort(); },
    });
    assert.equal(allSteps.status, 'interrupted');
    assert.deepEqual([allSteps.position.epoch, allSteps.position.stepInEpoch], [1, 12]);
    let stepsAfterResume = 0;
    const twoEpochs = await trainCifar10(tinyOptions(pieces, { resume: true }), { ...quiet, dataset, onStep: () => stepsAfterResume++ });
    assert.equal(stepsAfterResume, 0);
    assert.equal(twoEpochs.position.optimizerStep, 24);
    assert.deepEqual(results(await readMetrics(pieces)), results(metrics));
    const [a, b] = await assertSameTensors(result.files.checkpoint, twoEpochs.files.checkpoint);
    for (const key of ['epoch', 'step_in_epoch', 'optimizer_step', 'seed', 'train_md5']) assert.equal(a[key], b[key], key);
    assert.equal(a.epoch, '2');
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('a run refuses a used folder, a checkpoint of other options, and a damaged checkpoint, saying why', async () => {
  const folder = await temporaryFolder('refusals');
  try {
    // A run of no epochs writes epoch 0 (the random encoder) and its checkpoint.
    const out = path.join(folder, 'run');
    const result = await trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, dataset });
    assert.deepEqual(result.metrics.map((m) => m.epoch), [0]);
    await assert.rejects(trainCifar10(tinyOptions(out, { epochs: 0, trainSize: 32 }), { ...quiet, dataset }), /already holds a run .*pass --resume/);
    // Refused, it left the run it found as it was.
    assert.deepEqual((await fsp.readdir(out)).sort(), ['checkpoint.safetensors', 'curves.png', 'curves.vl.json', 'metrics.jsonl', 'neighbours.png']);
    await assert.rejects(trainCifar10(tinyOptions(out, { trainSize: 32, batchSize: 8, resume: true }), { ...quiet, dataset }),
      /cannot resume .*--batch-size 8 differs from the checkpoint's 16/);
    await assert.rejects(trainCifar10(tinyOptions(path.join(folder, 'none'), { resume: true }), { ...quiet, dataset }), /checkpoint\.safetensors: no such checkpoint file/);
    const other = { ...dataset, train: makeSyntheticCifar10({ trainPerBatch: [40], test: 1, seed: 99 }).train };
    await assert.rejects(trainCifar10(tinyOptions(out, { trainSize: 32, resume: true }), { ...quiet, dataset: other }), /training images differ from the checkpoint's/);
    // Another test set: one curve must not mix two.
    const otherTest = { ...dataset, test: makeSyntheticCifar10({ trainPerBatch: [1], test: 40, seed: 98 }).test };
    await assert.rejects(trainCifar10(tinyOptions(out, { trainSize: 32, resume: true }), { ...quiet, dataset: otherTest }),
      /^Error: cannot resume .*: the test images differ from the checkpoint's \(md5 [0-9a-f]{32}, checkpoint [0-9a-f]{32}\); give the same --data$/);
    const file = path.join(out, 'checkpoint.safetensors');
    // A header that contradicts itself, and a tensor that is not finite, are refused at load, by name.
    const original = await tensorsOf(file);
    const rewritten = async (edit: (tensors: Map<string, StoredTensor>, metadata: Record<string, string>) => void) => {
      const tensors = new Map([...original.tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data.slice() }]));
      const metadata = { ...original.metadata };
      edit(tensors, metadata);
      await fsp.writeFile(file, encodeSafetensors(tensors, metadata));
      return trainCifar10(tinyOptions(out, { trainSize: 32, resume: true }), { ...quiet, dataset });
    };
    await assert.rejects(rewritten((_, metadata) => (metadata.epoch = '7')),
      new RegExp(`^CheckpointErrorException: ${file}: metadata "epoch" is 7 but "metrics" holds epochs \\[0\\], expected \\[0, 1, 2, 3, 4, 5, 6, 7\\] \\(edited or damaged\\?\\)$`));
    await assert.rejects(rewritten((_, metadata) => (metadata.optimizer_step = '16')), /metadata "optimizer_step" is 16, expected 0: the 0 steps of the epochs in "metrics" and "step_in_epoch" 0 \(edited or damaged\?\)$/);
    await assert.rejects(rewritten((_, metadata) => (metadata.seed = '6')), /metadata "seed" is "6" but "options" has seed 5/);
    const [firstName] = [...original.tensors.keys()].sort();
    const escapedName = firstName.replace(/[.[\]]/g, '\\$&');
    // A run that diverged writes NaN under a checksum that matches; one written before checksums has none.
    await assert.rejects(rewritten((tensors, metadata) => {
      tensors.get(firstName)!.data[3] = NaN;
      delete metadata.tensor_sha256;
    }), new RegExp(`${file}: tensor "${escapedName}" holds NaN at index 3; expected finite values`));
    // A flipped bit inside a tensor keeps it finite and the format whole: only the checksum sees it.
    await assert.rejects(rewritten((tensors) => {
      const bits = new Uint32Array(tensors.get(firstName)!.data.buffer);
      bits[2] ^= 1 << 4;
    }), new RegExp(`^CheckpointErrorException: ${file}: tensor "${escapedName}" does not match its checksum: its bytes were changed after it was written \\(damaged\\?\\)$`));
    // Options edited in the metadata pass the command line's own checks, in its words.
    const withOptions = (changes: Record<string, unknown>) => rewritten((_, metadata) => (metadata.options = JSON.stringify({ ...JSON.parse(original.metadata.options), ...changes })));
    for (const [changes, problem] of [
      [{ learningRate: -5 }, '--lr: expected a positive number, got "-5"'],
      [{ batchSize: 'abc' }, '--batch-size: expected an integer >= 2, got "abc"'],
      [{ batchSize: '16' }, '--batch-size: got "16", not a value the flag gives ("16" reads as 16)'],
      [{ temperature: 0 }, '--temperature: expected a positive number, got "0"'],
      [{ knnK: -3 }, '--knn-k: expected an integer >= 1, got "-3"'],
      [{ imageSize: 7 }, '--image-size 7 is smaller than the smallest input of the encoder, 8 (the small encoder\'s 3 stages each halve the size): give --image-size 8 or more'],
    ] as const)
      await assert.rejects(withOptions(changes), (error: Error) => {
        assert.equal(error.message, `${file}: metadata "options": ${problem} (edited or damaged?)`);
        return true;
      });
    await rewritten(() => undefined);
    const bytes = await fsp.readFile(file);
    await fsp.writeFile(file, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(trainCifar10(tinyOptions(out, { trainSize: 32, resume: true }), { ...quiet, dataset }),
      (error: Error) => error.message.startsWith(`${file}, byte offset `) && /truncated/.test(error.message));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

test('the command line: defaults, explicit flags, errors, and the options a resumed run keeps', () => {
  const parsed = parseCliOptions(['--epochs', '10', '--widths', '4,8,8', '--batch-size', '16', '--out', 'x'], new Date('2025-01-02T03:04:05.678Z'));
  assert.ok(E.isRight(parsed) && parsed.right.kind === 'train');
  const { options, explicit } = parsed.right;
  // The paper's milestones (120, 160) are not scaled to a short run: 10 epochs have none.
  assert.deepEqual([options.epochs, options.batchSize, options.widths, options.learningRateMilestones], [10, 16, [4, 8, 8], []]);
  assert.deepEqual([options.temperature, options.learningRate, options.knnK, options.knnSigma, options.objective], [0.1, 0.01, 200, 0.1, 'invariant-spreading']);
  const optionsOf = (argv: string[]) => {
    const result = parseCliOptions(argv);
    return E.isRight(result) && result.right.kind === 'train' ? result.right.options : undefined;
  };
  assert.deepEqual([120, 121, 150, 161].map((epochs) => optionsOf(['--epochs', String(epochs)])?.learningRateMilestones), [[], [120], [120], [120, 160]]);
  // Each encoder has its own default rate; an explicit --lr wins over either.
  assert.deepEqual([['--encoder', 'resnet18'], ['--encoder', 'small'], ['--encoder', 'resnet18', '--lr', '0.2']].map((argv) => optionsOf(argv)?.learningRate), [0.03, 0.01, 0.2]);
  assert.equal(options.out, path.resolve('x'));
  assert.deepEqual([...explicit].sort(), ['batchSize', 'epochs', 'out', 'widths']);
  const defaults = parseCliOptions([], new Date('2025-01-02T03:04:05.678Z'));
  assert.ok(E.isRight(defaults) && defaults.right.kind === 'train');
  assert.equal(defaults.right.options.out, path.join(process.cwd(), 'runs', '2025-01-02T03-04-05'));
  assert.deepEqual(defaults.right.options.learningRateMilestones, [120, 160]);
  assert.deepEqual(parseCliOptions(['--help']), E.right({ kind: 'help' }));
  const refuse = (argv: string[], pattern: RegExp) => {
    const result = parseCliOptions(argv);
    assert.ok(E.isLeft(result) && pattern.test(result.left), `${argv.join(' ')}: ${JSON.stringify(result)}`);
  };
  refuse(['--batch-size', '1'], /--batch-size: expected an integer >= 2, got "1"/);
  refuse(['--encoder', 'vgg'], /--encoder: expected one of small, resnet18, got "vgg"/);
  refuse(['--objective', 'no-such-objective.ts'], /--objective: expected one of invariant-spreading, nt-xent, align-uniform, memory-bank, exemplar or an existing/);
  refuse(['--lr-milestones', '5,3'], /expected increasing values/);
  refuse(['--train-size', '8', '--batch-size', '16'], /--train-size 8 is smaller than --batch-size 16/);
  refuse(['--epoch', '3'], /Unknown option '--epoch'; see --help/);
  // A negative number is the flag's value, checked by the flag's own rule, not "ambiguous".
  refuse(['--epochs', '-1'], /^--epochs: expected an integer >= 0, got "-1"$/);
  refuse(['--lr', '-0.5'], /^--lr: expected a positive number, got "-0.5"$/);
  assert.equal(optionsOf(['--seed', '-3'])?.seed, -3);
  refuse(['--out', '-x'], /^--out: expected a value after it, got "-x"; a value that starts with a dash is written --out=-x$/);
  // Resuming: unspecified options come from the checkpoint; --epochs may change, --batch-size may not.
  const recorded = { ...tinyOptions('ignored'), epochs: 3 };
  const { out: _out, resume: _resume, ...record } = recorded;
  const merged = resumedOptions({ ...defaultTrainOptions(9), out: 'o', resume: true, epochs: 9 }, new Set(['epochs', 'out', 'resume']), record);
  assert.ok('options' in merged);
  assert.deepEqual([merged.options.epochs, merged.options.batchSize, merged.options.widths, merged.options.out], [9, 16, [4, 8, 8], 'o']);
  const conflict = resumedOptions({ ...defaultTrainOptions(), out: 'o', resume: true, batchSize: 64 }, new Set(['batchSize']), record);
  assert.deepEqual(conflict, { conflicts: ['batchSize 64 differs from the checkpoint\'s 16'] });
  // An option the checkpoint recorded as unset (JSON drops undefined keys) cannot be set on resuming.
  const { testSize: _unset, ...withoutTestSize } = record as typeof record & { testSize?: number };
  const newSlice = resumedOptions({ ...defaultTrainOptions(), out: 'o', resume: true, testSize: 500 }, new Set(['testSize']), withoutTestSize as typeof record);
  assert.deepEqual(newSlice, { conflicts: ['testSize 500 differs from the checkpoint\'s null'] });
  // What the run prints about the backend, chosen by default or requested.
  const report = { backend: 'native', kernelMode: 'webasm', executorKind: 'fused-threaded', fallbackReason: null, hostSteps: [] } as const;
  assert.equal(describeExecution({ ...report, skipped: [{ backend: 'webgpu', reason: 'no adapter' }, { backend: 'headlessgl', reason: 'no GL context' }] }, false),
    'backend native (kernels webasm, executor fused-threaded); passed over: webgpu: no adapter; headlessgl: no GL context');
  assert.equal(describeExecution({ ...report, skipped: [], hostSteps: ['gather', 'gather'] }, true),
    'backend native (kernels webasm, executor fused-threaded), as requested with --backend; on the host between kernels: gather');
  // Native GEMMs without relaxed SIMD are named; with it, nothing is added.
  const native = (multiplyAdd: { fused: true; how: string } | { fused: false; reason: string }) => ({ ...report, skipped: [], native: { steps: 3, threads: 2, multiplyAdd } });
  assert.equal(describeExecution(native({ fused: false, reason: 'this engine does not validate relaxed SIMD' }), true),
    'backend native (kernels webasm, executor fused-threaded), as requested with --backend; native GEMM multiply-adds separate: this engine does not validate relaxed SIMD');
  assert.equal(describeExecution(native({ fused: true, how: 'relaxed SIMD, on by default' }), true), 'backend native (kernels webasm, executor fused-threaded), as requested with --backend');
});

test('an objective file is loaded, tried, and refused with a reason', async () => {
  const folder = await temporaryFolder('objective');
  try {
    const library = path.join(root, 'lib', 'index.ts');
    const good = path.join(folder, 'scaled-nt-xent.mts');
    await fsp.writeFile(good, `import { ntXentLoss, mul } from '${library}';\n` +
      'export const objective = (features, { temperature }) => mul(ntXentLoss(features, { temperature }), 2);\n');
    const bad = path.join(folder, 'per-row.mts');
    await fsp.writeFile(bad, `import { sum } from '${library}';\nexport default (features) => sum(features, 1);\n`);
    const none = path.join(folder, 'none.mts');
    await fsp.writeFile(none, 'export const something = 1;\n');
    assert.ok(E.isRight(await loadObjective(good, 0.5)));
    const refused = async (file: string) => {
      const result = await loadObjective(file, 0.5);
      assert.ok(E.isLeft(result));
      return result.left;
    };
    assert.match(await refused(bad), new RegExp(`^${bad}: the objective must return a scalar Tensor; for features \\[4, 3\\] it returned shape \\[4\\]$`));
    assert.match(await refused(none), /expected the objective, a function .* exported as `default` or as `objective`; the file exports `something`$/);
    assert.match(await refused(path.join(folder, 'missing.mts')), /missing\.mts: no such file/);

    // A file with both exports is checked and trained on the same one, by one loader.
    const both = path.join(folder, 'both.mts');
    await fsp.writeFile(both, `import { ntXentLoss, mul } from '${library}';\n` +
      'export const objective = (features, { temperature }) => ntXentLoss(features, { temperature });\n' +
      'export default (features, { temperature }) => mul(ntXentLoss(features, { temperature }), 3);\n');
    const checked = await loadCheckedObjective(both);
    assert.ok(E.isRight(checked));
    const trained = await loadObjective(both, 0.5);
    assert.ok(E.isRight(trained));
    const features = l2Normalize(tensor(Array.from({ length: 6 * 4 }, (_, i) => Math.cos(0.9 * i)), [6, 4])) as Tensor<readonly [number, number]>;
    const checkedValue = interpret(checked.right.objective(features, { ...checked.right.options, temperature: 0.5 })).data[0];
    assert.equal(interpret(trained.right(features)).data[0], checkedValue);
    assert.equal(checkedValue, interpret(ntXentLoss(features, { temperature: 0.5 })).data[0], 'the `objective` export, not the default');

    // Fine on the small tries, failing on a real batch: named, with the batch's shape, in training.
    const small = path.join(folder, 'small-only.mts');
    await fsp.writeFile(small, `import { ntXentLoss } from '${library}';\n` +
      'export default (features, o) => { if (features.shape[0] > 8) throw new Error(`cannot handle ${features.shape[0]} rows`); return ntXentLoss(features, o); };\n');
    const smallOnly = await loadObjective(small, 0.5);
    assert.ok(E.isRight(smallOnly));
    const batch = l2Normalize(tensor(Array.from({ length: 32 * 4 }, (_, i) => Math.sin(i)), [32, 4])) as Tensor<readonly [number, number]>;
    assert.throws(() => smallOnly.right(batch), new RegExp(`^Error: the objective in ${small} failed on \\[32, 4\\] features in training: cannot handle 32 rows$`));
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run examples/cifar10.ts; `onStdout` sees the output so far and may signal the child. */
const runExample = (args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', example, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

test('examples/cifar10.ts: --help, a real run with an objective file, Ctrl-C and --resume', async () => {
  const help = await runExample(['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const flag of ['--data', '--epochs', '--batch-size', '--train-size', '--test-size', '--encoder', '--widths', '--objective', '--temperature', '--lr', '--backend', '--seed', '--out', '--resume'])
    assert.match(help.stdout, new RegExp(`^  ${flag}\\b`, 'm'), flag);
  assert.match(help.stdout, /\(default: 128\)/);
  const bad = await runExample(['--encoder', 'vgg']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^cifar10: --encoder: expected one of small, resnet18, got "vgg"/);

  const folder = await temporaryFolder('command');
  try {
    const { folder: data } = await writeCifar10Folder(path.join(folder, 'data'), { trainPerBatch: [40, 40], test: 20, seed: 3 });
    const objective = path.join(folder, 'objective.mts');
    await fsp.writeFile(objective, `import { ntXentLoss } from '${path.join(root, 'lib', 'index.ts')}';\n` +
      'export default (features, { temperature }) => ntXentLoss(features, { temperature });\n');
    const args = (out: string) => ['--data', path.dirname(data), '--epochs', '2', '--train-size', '64', '--batch-size', '16', '--widths', '4,8,8',
      '--feature-dimension', '16', '--objective', objective, '--temperature', '0.2', '--seed', '3', '--backend', 'native', '--out', out];

    const whole = path.join(folder, 'whole');
    const run = await runExample(args(whole));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /10 classes/);
    assert.match(run.stdout, /using 64 of 80 training images and 20 of 20 test images/);
    assert.match(run.stdout, /^evaluation: backend native \(kernels javascript.*\n(.*\n)*training step: backend native, as the evaluation$/m);
    assert.match(run.stdout, /^epoch 0\/2 \(random encoder\): kNN top-1 [\d.]+%, top-5 [\d.]+%/m);
    assert.match(run.stdout, /^epoch 2\/2: loss [\d.]+, kNN top-1/m);
    assert.match(run.stdout, new RegExp(`curves\\.png .*${path.join(whole, 'curves.png')}`));
    assert.equal((await readMetrics(whole)).length, 3);

    // Ctrl-C once epoch 0 is written: the run stops after the current step, exit code 130.
    const pieces = path.join(folder, 'pieces');
    let signalled = false;
    const stopped = await runExample(args(pieces), (text, child) => {
      if (!signalled && text.includes('epoch 0/2')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    assert.equal(stopped.code, 130, stopped.stdout + stopped.stderr);
    assert.match(stopped.stderr, /Ctrl-C: stopping after the current step/);
    assert.match(stopped.stdout, new RegExp(`^interrupted after .*; to continue: tsx examples/cifar10\\.ts --out ${pieces} --resume$`, 'm'));
    // --resume alone takes the data, the objective and every other option from the checkpoint.
    const resumed = await runExample(['--out', pieces, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^resuming .* after epoch \d/m);
    await assertSameTensors(path.join(whole, 'checkpoint.safetensors'), path.join(pieces, 'checkpoint.safetensors'));
    assert.deepEqual(results(await readMetrics(pieces)), results(await readMetrics(whole)));
    const conflict = await runExample(['--out', pieces, '--resume', '--seed', '4']);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /cannot resume .*--seed 4 differs from the checkpoint's 3/);
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});

const realData = process.env.CIFAR10_DATA;
test('on real CIFAR-10 images the loss falls', {
  skip: realData ? false : 'CIFAR10_DATA is not set (CI sets it to the shared CIFAR-10 subset .tar.gz)',
}, async () => {
  const folder = await temporaryFolder('real');
  try {
    const lines: string[] = [];
    const result = await trainCifar10(
      tinyOptions(path.join(folder, 'run'), {
        data: realData, epochs: 3, trainSize: 512, testSize: 256, batchSize: 32, widths: [8, 16, 16], featureDimension: 32, learningRateMilestones: [],
      }),
      { log: (line) => lines.push(line), warn: () => undefined },
    );
    assert.match(lines.join('\n'), /CIFAR-10 from .*: \d+ training images/);
    const losses = result.metrics.slice(1).map((m) => m.loss!);
    assert.equal(losses.length, 3);
    assert.ok(losses[2] < losses[0] - 0.05, `loss per epoch ${losses.join(', ')}`);
    assert.ok(result.metrics.every((m) => m.knn_top1 > 0.1), `top-1 ${result.metrics.map((m) => m.knn_top1).join(', ')}`);
  } finally {
    await fsp.rm(folder, { recursive: true, force: true });
  }
});
