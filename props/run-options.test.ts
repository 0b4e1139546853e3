// The paper's other evaluations and its ablation switches, wired into a run, on small generated
// data: --augment and --negative-weight change the training and are recorded (a resumed run
// refuses another value; a checkpoint older than the options reads as their defaults);
// --train-classes trains on those classes and scores the others' test images by Recall@K and NMI
// every epoch; --linear-eval, at the end of a run or from examples/linear-eval.ts on its
// checkpoint, writes the same linear_top1; --dataset stl10 reads generated files in the official
// layout, and --image-size sets the size the encoder sees.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { backendNames } from '../lib/compile/backend.ts';
import { readCheckpoint } from '../lib/checkpoint/checkpoint.ts';
import { writeStl10Folder } from '../lib/data/stl10-synthetic.ts';
import { thumbnailAt } from '../lib/train/report-files.ts';
import { encodeSafetensors } from '../lib/checkpoint/safetensors.ts';
import { parseCliOptions } from '../lib/train/cli-options.ts';
import { linearEvalOptions, parseLinearEvalArguments } from '../lib/train/linear-eval-command.ts';
import type { EpochRecord } from '../lib/train/metrics.ts';
import type { TrainOptions } from '../lib/train/options.ts';
import { runTitle } from '../lib/train/run-report.ts';
import { trainCifar10 } from '../lib/train/run.ts';
import { trainingData } from '../lib/train/training-data.ts';
import { dataset, inTemporaryFolder, quiet, tinyOptions } from './tiny-runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const readMetrics = async (out: string): Promise<EpochRecord[]> =>
  (await fsp.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));

const optionsOf = (argv: string[]): TrainOptions => {
  const parsed = parseCliOptions(argv);
  assert.ok(E.isRight(parsed) && parsed.right.kind === 'train', `${argv.join(' ')}: ${JSON.stringify(parsed)}`);
  return parsed.right.options;
};

const refusal = (argv: string[]): string => {
  const parsed = parseCliOptions(argv);
  assert.ok(E.isLeft(parsed), `${argv.join(' ')} was accepted`);
  return parsed.left;
};

test('the new flags parse, and their mistakes are refused in one line naming the flag', () => {
  const defaults = optionsOf([]);
  assert.deepEqual([defaults.augmentations, defaults.negativeWeight, defaults.trainClasses, defaults.linearEval], [['crop', 'jitter', 'gray', 'flip'], 1, undefined, false]);
  assert.deepEqual(optionsOf(['--augment', 'flip,jitter,gray']).augmentations, ['jitter', 'gray', 'flip']);
  assert.deepEqual(optionsOf(['--augment', 'none']).augmentations, []);
  assert.equal(optionsOf(['--negative-weight', '0.5']).negativeWeight, 0.5);
  assert.deepEqual(optionsOf(['--train-classes', '0-2,7']).trainClasses, [0, 1, 2, 7]);
  assert.equal(optionsOf(['--linear-eval']).linearEval, true);
  assert.equal(refusal(['--augment', 'crop,blur']), '--augment: augmentations "crop,blur": "blur" is not one of crop, jitter, gray, flip (or "none" alone)');
  assert.equal(refusal(['--negative-weight', '-1']), '--negative-weight: expected a number >= 0, got "-1"');
  assert.equal(refusal(['--negative-weight', '2', '--objective', 'nt-xent']),
    '--negative-weight weighs the invariant-spreading loss\'s negatives; --objective nt-xent has no such weight');
  assert.equal(refusal(['--train-classes', '0-9']), '--train-classes: classes "0-9": every class is named, so none is left unseen to evaluate on');
  assert.equal(refusal(['--train-classes', '3-1']), '--train-classes: classes "3-1": the range 3-1 runs backwards');
  assert.deepEqual(parseLinearEvalArguments([]), E.left('--run DIR is required: the folder of the run to evaluate'));
  assert.deepEqual(parseLinearEvalArguments(['--run', 'x', '--backend', 'tpu']), E.left(`--backend: expected one of ${backendNames.join(', ')}, got "tpu"`));
});

test('a slip on the command line is refused in one line: an image too small for the encoder, a class or a flag given twice, a number not written in decimal digits', () => {
  assert.equal(refusal(['--image-size', '7']),
    '--image-size 7 is smaller than the smallest input of the encoder, 8 (the small encoder\'s 3 stages each halve the size): give --image-size 8 or more');
  assert.equal(optionsOf(['--image-size', '8']).imageSize, 8);
  assert.equal(optionsOf(['--image-size', '7', '--encoder', 'resnet18', '--widths', '4,4,4,4']).imageSize, 7);
  assert.equal(refusal(['--widths', '4,4,4,4,4,4']),
    '--widths 4,4,4,4,4,4: the small encoder\'s 6 stages each halve the size, so it needs images of at least 64x64, larger than the data set\'s 32x32; give fewer --widths or --image-size 64');
  assert.equal(refusal(['--train-classes', '1,1,2']), '--train-classes: classes "1,1,2": class 1 is named twice');
  assert.equal(refusal(['--train-classes', '0-4,3']), '--train-classes: classes "0-4,3": class 3 is named twice');
  assert.equal(refusal(['--lr', '0.1', '--lr', '0.2']), '--lr is given twice; give each flag once');
  assert.equal(refusal(['--negative-weight', '0x10']), '--negative-weight: expected a number >= 0, got "0x10"');
  assert.equal(refusal(['--temperature', '0b11']), '--temperature: expected a positive number, got "0b11"');
  assert.equal(optionsOf(['--temperature', '5e-2']).temperature, 0.05);
  assert.equal(refusal(['--epochs', '1e9']), '--epochs: expected an integer >= 0 written in digits, got "1e9"');
});

test('--augment and --negative-weight change the training, are recorded, and a resumed run keeps them', async () => {
  await inTemporaryFolder('ablation', async (folder) => {
    const runOf = async (name: string, changes: Partial<TrainOptions>) => {
      const out = path.join(folder, name);
      const result = await trainCifar10(tinyOptions(out, { epochs: 1, trainSize: 32, ...changes }), { ...quiet, dataset });
      return { out, loss: result.metrics[1].loss };
    };
    const base = await runOf('base', {});
    const noCrop = await runOf('no-crop', { augmentations: ['jitter', 'gray', 'flip'] });
    const halfNegatives = await runOf('half-negatives', { negativeWeight: 0.5 });
    assert.notEqual(noCrop.loss, base.loss, 'the augmentation reached the step');
    assert.notEqual(halfNegatives.loss, base.loss, 'the weight reached the loss');

    const recorded = JSON.parse((await readCheckpointOf(noCrop.out)).metadata.options);
    assert.deepEqual([recorded.augmentations, recorded.negativeWeight], [['jitter', 'gray', 'flip'], 1]);
    await assert.rejects(trainCifar10(tinyOptions(noCrop.out, { epochs: 1, trainSize: 32, resume: true }), { ...quiet, dataset }),
      /^Error: cannot resume .*: --augment \["crop","jitter","gray","flip"\] differs from the checkpoint's \["jitter","gray","flip"\]$/);
    await assert.rejects(trainCifar10(tinyOptions(halfNegatives.out, { epochs: 1, trainSize: 32, resume: true }), { ...quiet, dataset }),
      /cannot resume .*: --negative-weight 1 differs from the checkpoint's 0\.5$/);

    // A checkpoint written before the switches existed was trained with their defaults.
    const file = path.join(base.out, 'checkpoint.safetensors');
    const { tensors, metadata } = await readCheckpointOf(base.out);
    const { augmentations: _a, negativeWeight: _n, linearEval: _l, ...older } = JSON.parse(metadata.options);
    await fsp.writeFile(file, encodeSafetensors(tensors, { ...metadata, options: JSON.stringify(older) }));
    const resumed = await trainCifar10(tinyOptions(base.out, { epochs: 1, trainSize: 32, resume: true }), { ...quiet, dataset });
    assert.equal(resumed.status, 'finished');

    const title = runTitle(tinyOptions('x', { augmentations: ['jitter', 'gray', 'flip'], negativeWeight: 0.5 }), 'invariant-spreading', 32);
    assert.match(title, /^invariant-spreading negative weight 0\.5 \| .* \| augment jitter,gray,flip \| 32 images \|/);
    assert.match(runTitle(tinyOptions('x', { augmentations: [] }), 'invariant-spreading', 32), /\| augment none \|/);
  });
});

const readCheckpointOf = async (out: string) => {
  const read = await readCheckpoint(path.join(out, 'checkpoint.safetensors'))();
  if (E.isLeft(read)) throw new Error(read.left.message);
  return read.right;
};

test('--train-classes trains on those classes and scores the unseen ones by Recall@K and NMI each epoch', async () => {
  const seen = [0, 1, 2, 3, 4];
  const data = trainingData(dataset, { trainClasses: seen });
  assert.ok(data.train.count > 0 && [...data.train.labels].every((label) => label < 5));
  assert.ok(data.test.count > 0 && [...data.test.labels].every((label) => label < 5));
  assert.ok(data.unseen !== undefined && [...data.unseen.labels].every((label) => label >= 5));
  assert.equal(data.test.count + data.unseen!.count, dataset.test.count);
  assert.equal(data.train.count, [...dataset.train.labels].filter((label) => label < 5).length);
  // The test md5 is the whole slice's, as without classes: it pins the unseen images too.
  assert.equal(data.testMd5, trainingData(dataset).testMd5);
  assert.throws(() => trainingData(dataset, { testSize: 3, trainClasses: seen }), /^RangeError: --train-classes 0,1,2,3,4: the 3 test images hold \d of the unseen classes 5,6,7,8,9; Recall@K and k-means need at least 5 \(a larger --test-size\)$/);

  await inTemporaryFolder('classes', async (folder) => {
    const out = path.join(folder, 'run');
    const lines: string[] = [];
    const result = await trainCifar10(tinyOptions(out, { epochs: 1, trainClasses: seen }), { ...quiet, log: (line) => lines.push(line), dataset });
    assert.equal(result.status, 'finished');
    assert.ok(lines.some((line) => /training on the \d+ training images of classes 0,1,2,3,4 .* test images of classes 5,6,7,8,9 are the unseen categories/.test(line)), lines.join('\n'));
    const metrics = await readMetrics(out);
    assert.deepEqual(metrics.map((m) => m.epoch), [0, 1]);
    assert.equal(metrics[1].steps, Math.floor(data.train.count / 16));
    for (const m of metrics)
      for (const suffix of ['', '_backbone']) {
        const record = m as unknown as Record<string, number>;
        const recalls = [1, 2, 4, 8].map((k) => record[`recall_at_${k}${suffix}`]);
        assert.ok(recalls.every((r, i) => r >= 0 && r <= 1 && (i === 0 || r >= recalls[i - 1])), `${suffix}: ${recalls}`);
        assert.ok(record[`nmi${suffix}`] >= 0 && record[`nmi${suffix}`] <= 1, JSON.stringify(m));
      }
    assert.ok(lines.some((line) => /^epoch 1\/1: .*; unseen classes: Recall@1 \d+\.\d\d%, NMI \d\.\d{3} \(backbone/.test(line)), lines.join('\n'));
    // Three panels: loss, kNN, and the unseen classes'.
    const curves = PNG.sync.read(await fsp.readFile(result.files.curves));
    assert.ok(curves.width >= 1350, `curves ${curves.width} wide`);
    await assert.rejects(trainCifar10(tinyOptions(out, { epochs: 1, trainClasses: [0, 1], resume: true }), { ...quiet, dataset }),
      /cannot resume .*: --train-classes \[0,1\] differs from the checkpoint's \[0,1,2,3,4\]$/);
    // Without --train-classes, no such field.
    assert.equal(Object.keys((await trainCifar10(tinyOptions(path.join(folder, 'all'), { epochs: 0 }), { ...quiet, dataset })).metrics[0]).some((key) => /recall|nmi/.test(key)), false);
  });
});

test('--linear-eval at the end of a run and examples/linear-eval.ts on its checkpoint give the same linear_top1', async () => {
  await inTemporaryFolder('linear', async (folder) => {
    const withProbe = path.join(folder, 'with');
    const lines: string[] = [];
    const result = await trainCifar10(tinyOptions(withProbe, { epochs: 1, linearEval: true }), { ...quiet, log: (line) => lines.push(line), dataset });
    assert.equal(result.status, 'finished');
    const metrics = await readMetrics(withProbe);
    assert.equal(metrics[0].linear_top1, undefined);
    const top1 = metrics[1].linear_top1!;
    assert.ok(top1 >= 0 && top1 <= 1, String(top1));
    assert.ok(lines.some((line) => line.startsWith(`linear evaluation: test top-1 ${(100 * top1).toFixed(2)}% after 50 epochs (`)), lines.join('\n'));
    assert.deepEqual(JSON.parse((await readCheckpointOf(withProbe)).metadata.metrics).map((m: EpochRecord) => m.linear_top1), [undefined, top1]);

    // The same run without the probe, then the command's options on its checkpoint.
    const without = path.join(folder, 'without');
    await trainCifar10(tinyOptions(without, { epochs: 1 }), { ...quiet, dataset });
    assert.equal((await readMetrics(without))[1].linear_top1, undefined);
    const options = await linearEvalOptions({ kind: 'evaluate', run: without });
    assert.ok(E.isRight(options), JSON.stringify(options));
    assert.deepEqual([options.right.epochs, options.right.linearEval, options.right.resume], [1, true, true]);
    await trainCifar10(options.right, { ...quiet, dataset });
    assert.deepEqual((await readMetrics(without)).map((m) => m.linear_top1), [undefined, top1]);

    // A checkpoint taken mid-epoch is not what the last record measured.
    const stop = new AbortController();
    const partial = path.join(folder, 'partial');
    await trainCifar10(tinyOptions(partial, { epochs: 1 }), { ...quiet, dataset, signal: stop.signal, onStep: ({ step }) => { if (step === 2) stop.abort(); } });
    assert.deepEqual(await linearEvalOptions({ kind: 'evaluate', run: partial }),
      E.left(`--run ${partial}: the run stopped at step 3 of epoch 1; resume it (--resume) to the end of an epoch first`));

    // The command itself: its refusal of a folder without a run, in one line.
    const missing = path.join(folder, 'none');
    const stderr = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples', 'linear-eval.ts'), '--run', missing], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      child.stderr.on('data', (chunk) => (text += chunk));
      child.on('close', (code) => resolve(`${code} ${text}`));
    });
    assert.match(stderr, new RegExp(`^1 linear-eval: --run: ${missing.replace(/[.[\]]/g, '\\$&')}/checkpoint\\.safetensors: no such checkpoint file`));
  });
});

test('--dataset stl10 trains on the labelled and unlabeled images of generated files, and --image-size sets the views\' size', async () => {
  assert.equal(refusal(['--dataset', 'stl10', '--train-classes', '0-4']),
    '--train-classes: STL-10\'s unlabeled training images have no class to choose by; use it with --dataset cifar10');
  assert.equal(refusal(['--image-size', '0']), '--image-size: expected an integer >= 1, got "0"');
  assert.deepEqual([optionsOf(['--dataset', 'stl10', '--image-size', '64']).dataset, optionsOf(['--image-size', '64']).imageSize], ['stl10', 64]);

  await inTemporaryFolder('stl10', async (folder) => {
    const written = await writeStl10Folder(folder, { train: 30, test: 20, unlabeled: 40, seed: 3 });
    // 30 labelled images and the first 18 unlabeled ones: 3 steps of 16, at 32x32 views of the 96x96 images.
    const out = path.join(folder, 'run');
    const lines: string[] = [];
    const result = await trainCifar10(tinyOptions(out, { dataset: 'stl10', data: written.folder, trainSize: 48, imageSize: 32, epochs: 1 }),
      { ...quiet, log: (line) => lines.push(line) });
    assert.equal(result.status, 'finished');
    assert.ok(lines.includes('using 48 of 70 training images (30 labelled, 18 unlabeled) at 96x96 and 20 of 20 test images; kNN classifies the test images among the 30 labelled ones'), lines.join('\n'));
    assert.ok(lines.some((line) => /augmentation crop,jitter,gray,flip, views of 32x32 from 96x96 images;/.test(line)), lines.join('\n'));
    assert.equal(result.metrics[1].steps, 3);
    for (const m of result.metrics) assert.ok(m.knn_top1 >= 0 && m.knn_top1 <= 1, JSON.stringify(m));
    const saved = JSON.parse((await readCheckpointOf(out)).metadata.options);
    assert.deepEqual([saved.dataset, saved.imageSize], ['stl10', 32]);
    await assert.rejects(trainCifar10(tinyOptions(out, { dataset: 'stl10', data: written.folder, trainSize: 48, epochs: 1, resume: true }), quiet),
      /cannot resume .*: --image-size null differs from the checkpoint's 32$/);
    // The neighbours picture shows the 96x96 images as 32x32 block means.
    assert.ok((await fsp.stat(result.files.neighbours)).size > 0);

    // At the images' own 96x96, on labelled images only.
    const native = await trainCifar10(tinyOptions(path.join(folder, 'native'), { dataset: 'stl10', data: written.folder, trainSize: 16, epochs: 1, batchSize: 8 }), quiet);
    assert.ok(Number.isFinite(native.metrics[1].loss));

    // CIFAR-10 views resized whole to 40x40 (no crop), evaluated at 40x40 too.
    const flipOnly = (name: string, changes: Partial<TrainOptions>) =>
      trainCifar10(tinyOptions(path.join(folder, name), { augmentations: ['flip'], trainSize: 32, epochs: 1, ...changes }), { ...quiet, dataset });
    const [resized, native32] = [await flipOnly('resized', { imageSize: 40 }), await flipOnly('native32', {})];
    assert.ok(Number.isFinite(resized.metrics[1].loss) && resized.metrics[1].loss !== native32.metrics[1].loss, 'the size reached the step');
  });
});

test('a thumbnail of a 96x96 image is its 3x3 block means', () => {
  const side = 96;
  const bytes = Uint8Array.from({ length: 2 * 3 * side * side }, (_, i) => (i * 7) % 251);
  const thumbnail = thumbnailAt(bytes, 1, side);
  const image = bytes.subarray(3 * side * side);
  for (const [c, y, x] of [[0, 0, 0], [1, 5, 31], [2, 31, 17]]) {
    let sum = 0;
    for (let v = 0; v < 3; v++) for (let u = 0; u < 3; u++) sum += image[(c * side + 3 * y + v) * side + 3 * x + u];
    assert.equal(thumbnail[(c * 32 + y) * 32 + x], Math.round(sum / 9));
  }
  assert.equal(thumbnailAt(bytes.subarray(0, 2 * 3072), 1, 32).length, 3072);
});
