// Instances per second of one full training step of the small CIFAR encoder with the
// invariant-spreading objective (two augmented views, forward, backward, SGD update, batch-norm
// statistics), compiled, at batch 2 x N. Median of several steps after a warm-up step (which
// traces and builds the kernels; its time is printed separately). The last line is one JSON
// object: instances_per_second, backend, batch.
//
//   npm run bench:step -- [--backend native] [--encoder small|resnet18] [--batch 128] [--steps 3] [--profile] [--segments] [--without-native] [--gpujs-kernels]
//
// --segments lists the last step's pipelines and native steps by time, as they ran.
// --without-native runs the native backend's kernels, convolutions and matmuls included, as gpu.js's own
// kernels and pipelines (the baseline of the native GEMMs and JavaScript kernels, side by side
// on the same build); --gpujs-kernels keeps the native GEMMs and only the other kernels in gpu.js.

import { parseArgs } from 'node:util';
import {
  cifarTrainAugmentation, invariantSpreadingLoss, key, materialize, resnet18Cifar, sgd, smallCifarEncoder, split,
} from '../lib/index.ts';
import type { Encoder } from '../lib/nn/encoder.ts';
import type { Tensor } from '../lib/tensor.ts';
import type { TensorTree } from '../lib/tree.ts';
import { type BackendName, compile } from '../lib/compile/index.ts';
import { trainingStep } from '../lib/train/training-step.ts';
import { flattenTree, unflattenTree } from '../lib/tree.ts';
import { evaluateNodes } from '../lib/interpret.ts';

const { values: flags } = parseArgs({
  options: {
    backend: { type: 'string' },
    encoder: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    segments: { type: 'boolean', default: false },
    'without-native': { type: 'boolean', default: false },
    'gpujs-kernels': { type: 'boolean', default: false },
  },
});
const batch = Number(flags.batch);
const steps = Number(flags.steps);

if (flags.encoder !== 'small' && flags.encoder !== 'resnet18') throw new Error(`--encoder must be small or resnet18; got "${flags.encoder}"`);
// Typed loosely: the parameter trees' structure depends on the encoder chosen at run time.
const encoder = (flags.encoder === 'small' ? smallCifarEncoder() : resnet18Cifar()) as unknown as Encoder<TensorTree, TensorTree>;
const step = trainingStep({
  encoder,
  objective: (features) => invariantSpreadingLoss(features),
  optimizer: (learningRate) => sgd({ learningRate }),
  augmentation: cifarTrainAugmentation,
});

// Concrete starting values: the initialised parameters, zero momentum, random images.
const initial = materialize(encoder.init(key(0)));
const optimizerState = materialize(sgd({ learningRate: 0.03 }).init(initial.params));
const toValues = (tree: unknown) => {
  const { leaves } = flattenTree(tree);
  return unflattenTree(tree, evaluateNodes(leaves).map((v) => ({ shape: [...v.shape], data: Float32Array.from(v.data) })));
};
const images = { shape: [batch, 3, 32, 32], data: Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2) };
let args = {
  params: toValues(initial.params),
  state: toValues(initial.state),
  optimizerState: toValues(optimizerState),
  images,
  key: toValues(key(1)),
  learningRate: { shape: [], data: Float32Array.of(0.03) },
};

const compiled = compile(step as (args: unknown) => { loss: Tensor; params: unknown; state: unknown; optimizerState: unknown }, {
  backend: flags.backend as BackendName | undefined,
  profile: flags.profile,
  limits: { nativeKernels: !flags['without-native'], javascriptKernels: !flags['gpujs-kernels'] },
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const startWarm = performance.now();
let out = await compiled(args as never);
const warmUp = performance.now() - startWarm;
console.log(`warm-up step (trace + ${compiled.stats().kernelsBuilt} kernels + run): ${(warmUp / 1000).toFixed(1)} s, loss ${out.loss.data[0].toFixed(4)}`);
const times: number[] = [];
let stepKey = key(2);
for (let s = 0; s < steps; s++) {
  [stepKey] = split(stepKey, 2);
  args = { ...args, params: out.params as never, state: out.state as never, optimizerState: out.optimizerState as never, key: toValues(stepKey) };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  out = await compiled(args as never);
  times.push(performance.now() - start);
  // CPU time of every thread of the process: on a busy machine it shows the work a step takes when wall time cannot.
  const cpu = process.cpuUsage(cpuStart);
  console.log(`step ${s + 1}: ${(times[s] / 1000).toFixed(2)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s of CPU time, loss ${out.loss.data[0].toFixed(4)}`);
}
const seconds = median(times) / 1000;
const report = compiled.report()!;
if (flags.segments && report.segments) {
  // Pipelines and native steps as they ran in the last step (pipelined, unlike --profile).
  console.log('segments of the last step, slowest first:');
  for (const s of [...report.segments].sort((a, b) => b.milliseconds - a.milliseconds).slice(0, 15))
    console.log(`${s.milliseconds.toFixed(1).padStart(9)} ms  ${s.kind.padEnd(8)} ${s.nodes.length} node(s): ${s.nodes.join(' ').slice(0, 140)}`);
}
if (flags.profile) {
  // Kernels run one by one here (each input copied in, each output read back), so the total is
  // above a pipelined step's; the ranking shows where the time goes.
  const profile = compiled.report()!.profile!;
  const total = profile.reduce((a, k) => a + k.milliseconds, 0);
  console.log(`profile of the last step: ${profile.length} kernels, ${total.toFixed(0)} ms in all; the slowest:`);
  for (const k of profile.slice(0, 15)) console.log(`${k.milliseconds.toFixed(1).padStart(9)} ms  ${k.node}  <- ${k.fused.slice(0, 150)}`);
}
console.log(
  `backend ${report.backend} (${report.adapter ? `adapter ${report.adapter}, ` : ''}kernels ${report.kernelMode}, executor ${report.executorKind}` +
    `${report.skipped.length ? `; passed over: ${report.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ')}` : ''})`,
);
const native = report.native ? `; native GEMM steps ${report.native.steps} on ${report.native.threads} worker threads` : '';
const kernelThreads = report.executorKind === 'native-pool' ? 'JavaScript kernels on the native pool' : 'gpu.js pipelines';
console.log(`threads: ${kernelThreads} ${report.pipelineThreads ?? 'none ran'}${native}; last step ${report.milliseconds?.pipelines} ms in kernels, ${report.milliseconds?.native} ms in native steps`);
console.log(`${flags.encoder} encoder, batch 2 x ${batch}: ${(batch / seconds).toFixed(2)} instances/s (${((2 * batch) / seconds).toFixed(2)} views/s), median of ${steps} steps`);
console.log(JSON.stringify({ benchmark: 'step', encoder: flags.encoder, instances_per_second: Number((batch / seconds).toFixed(3)), backend: report.backend, kernels: report.kernelMode, ...(report.adapter ? { adapter: report.adapter } : {}), batch, steps, seconds_per_step: Number(seconds.toFixed(3)), pipeline_threads: report.pipelineThreads, native_threads: report.native?.threads ?? 0 }));
await compiled.destroy();
